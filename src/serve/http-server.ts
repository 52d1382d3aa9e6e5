/**
 * The exporter's HTTP server: /metrics from cached snapshots (never waits on a source),
 * /healthz (alive), /readyz (every source collected once or failed with a reason).
 * `start()`/`stop()` so tests run it in-process on port 0.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import express from 'express';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Snapshot } from '../core/source.js';
import { redact } from '../core/secrets.js';
import type { SourceHealth } from './source-runner.js';
import { authenticator, authMiddleware, clientCertMiddleware, clientCertProblem, type ServerAuth } from './auth.js';
import type { WebConfig } from '../config/web-config.js';
import { ExpositionRegistry } from './exposition.js';

/** Process metrics are read at most once per this many milliseconds. */
const PROCESS_METRICS_TTL_MS = 1000;
const gzipAsync = promisify(gzip);

export interface ServerOptions {
  host: string;
  port: number;
  logger: Logger;
  auth?: ServerAuth;
  /** TLS from a web config file (exporter-toolkit format). */
  tls?: WebConfig['tls'];
  /** Response headers from the web config file's http_server_config. */
  headers?: Record<string, string>;
  /** Called when the data changed (see `version`); must return cached values. */
  snapshot: () => Snapshot;
  /**
   * Changes whenever `snapshot()` may return something else (a source refreshed, the engine
   * evaluated, a source's health changed). Default: always re-render.
   */
  version?: () => string;
  health: () => SourceHealth[];
  ready: () => boolean;
  /** `active` or `standby` (docs/high-availability.md), shown by /readyz. */
  role?: () => string;
  /** Extra routes (e.g. /report) mounted after auth. */
  extraRoutes?: (app: express.Express) => void;
  /** Node process metrics (process_*, nodejs_*); on by default. */
  processMetrics?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  // Process metrics change at every scrape and are cheap; the snapshot families change when the
  // data does and are most of the bytes: rendered apart, the latter from a cache.
  const processRegistry = new Registry();
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: processRegistry });
    // Gauges named like counters fail `promtool check metrics`; the per-type gauges without
    // the suffix (nodejs_active_handles{type}) carry the same information.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) processRegistry.removeSingleMetric(n);
  }
  const exposition = new ExpositionRegistry(new Registry(), new Set(processRegistry.getMetricsAsArray().map((m) => m.name)), opts.logger);
  exposition.addProvider(opts.snapshot);
  let unversioned = 0;
  const version = opts.version ?? (() => String(++unversioned));
  // Reading the process metrics costs ~2 ms (/proc reads): scrapes within the same second
  // (HA Prometheus pairs, several scrapers) share one reading.
  let processText: { at: number; body: Promise<Buffer>; gzip?: Promise<Buffer> } | undefined;
  const processMetrics = (compressed: boolean): Promise<Buffer> => {
    const now = performance.now();
    if (!processText || now - processText.at >= PROCESS_METRICS_TTL_MS) {
      const entry: { at: number; body: Promise<Buffer>; gzip?: Promise<Buffer> } = {
        at: now,
        body: processRegistry.metrics().then((t: string) => Buffer.from(t, 'utf8')),
      };
      processText = entry;
      entry.body.catch(() => {
        if (processText === entry) processText = undefined;
      });
    }
    if (!compressed) return processText.body;
    processText.gzip ??= processText.body.then((b) => gzipAsync(b));
    return processText.gzip;
  };

  const app = express();
  app.disable('x-powered-by');
  // An ETag would hash the whole exposition on every scrape; Prometheus does not use it.
  app.set('etag', false);
  const headers = Object.entries(opts.headers ?? {});
  const headerMap = Object.fromEntries(headers);
  if (headers.length > 0) {
    app.use((_req, res, next) => {
      for (const [k, v] of headers) res.set(k, v);
      next();
    });
  }
  if (opts.tls && (opts.tls.clientAuth === 'RequireAnyClientCert' || opts.tls.clientAuth === 'VerifyClientCertIfGiven'))
    app.use(clientCertMiddleware(opts.tls.clientAuth));
  app.use(authMiddleware(opts.auth));

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const sources = opts.health().map((h) => ({
      source: h.source,
      up: h.up,
      last_success: h.lastSuccess > 0 ? new Date(h.lastSuccess * 1000).toISOString() : null,
      error: h.lastError ? { reason: h.lastError.reason, message: h.lastError.message } : null,
    }));
    const ready = opts.ready();
    res.status(ready ? 200 : 503).json({ ready, ...(opts.role ? { role: opts.role() } : {}), sources });
  });
  opts.extraRoutes?.(app);
  app.get('/', (_req, res) => {
    res
      .type('text/html')
      .send(
        '<!doctype html><title>okr-metrics</title><h1>okr-metrics</h1><ul><li><a href="metrics">/metrics</a></li><li><a href="readyz">/readyz</a></li><li><a href="healthz">/healthz</a></li></ul>\n',
      );
  });

  const tls = opts.tls;
  // GET /metrics is answered before express: a scrape of unchanged data is then a header check
  // and two buffer writes (express' routing and response helpers cost ~0.3 ms per request,
  // which 20 concurrent scrapers would queue up). Every other path goes through express.
  const auth = opts.auth ? authenticator(opts.auth) : undefined;
  const certCheck = tls && (tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'VerifyClientCertIfGiven') ? tls.clientAuth : undefined;
  const plain = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...headerMap, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
    res.end(`${text}\n`);
  };
  const sendMetrics = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      // Prometheus asks for gzip: ~10× fewer bytes per scrape, compressed once per change. Two
      // gzip members back to back are one valid gzip body (RFC 1952; Go's reader takes it).
      const compressed = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
      const v = version();
      const [snapshot, process] = await Promise.all([compressed ? exposition.renderedGzip(v) : exposition.rendered(v), processMetrics(compressed)]);
      res.writeHead(200, {
        ...headerMap,
        'Content-Type': exposition.contentType,
        'Content-Length': snapshot.length + process.length,
        Vary: 'Accept-Encoding',
        ...(compressed ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.write(snapshot);
      res.end(process);
    } catch (e) {
      // Should not happen (families never throw); keep the reason out of the body.
      opts.logger.error({ err: redact(String(e)) }, 'rendering /metrics failed');
      plain(res, 500, 'metrics rendering failed');
    }
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      app(req, res);
      return;
    }
    if (certCheck) {
      const problem = clientCertProblem(certCheck, req.socket as TLSSocket);
      if (problem) return plain(res, 403, problem);
    }
    if (!auth) {
      void sendMetrics(req, res);
      return;
    }
    const refuse = () => plain(res, 401, 'unauthorized', { 'WWW-Authenticate': `${auth.scheme} realm="okr-metrics"` });
    const ok = auth.check(String(req.headers.authorization ?? ''));
    if (ok === true) void sendMetrics(req, res);
    else if (ok === false) refuse();
    else ok.then((yes) => (yes ? void sendMetrics(req, res) : refuse()), refuse);
  };
  const server: Server = tls ? createHttpsServer(tls.options, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  opts.logger.info({ host: opts.host, port, tls: tls !== undefined }, 'listening');
  if (!opts.auth && !isLoopback(opts.host)) {
    opts.logger.warn(
      { host: opts.host, port },
      `listening beyond this machine (${opts.host}:${port}) without authentication: anyone who can reach the port reads /metrics and /report (objectives, key results, figures). Protect it with basic_auth_users in a web config file (--web.config.file or server.web_config_file) or server.auth, or listen on 127.0.0.1`,
    );
  }
  const reload = tls && tls.files.length > 0 ? watchCertificates(server as HttpsServer, tls, opts.logger) : undefined;
  return {
    url: `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (reload) clearInterval(reload);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Renewed certificates (cert-manager, certbot) are picked up without a restart. */
function watchCertificates(server: HttpsServer, tls: NonNullable<WebConfig['tls']>, logger: Logger): NodeJS.Timeout {
  const stamp = () => tls.files.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0).join(',');
  let last = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === last) return;
    last = now;
    try {
      const reread = (inline: unknown, file: string | undefined) => (file ? readFileSync(file, 'utf8') : inline) as string;
      const { cert, key, ca } = tls.sources;
      server.setSecureContext({
        ...tls.options,
        cert: reread(tls.options.cert, cert),
        key: reread(tls.options.key, key),
        ...(tls.options.ca ? { ca: reread(tls.options.ca, ca) } : {}),
      });
      logger.info('TLS certificate files changed; reloaded');
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'TLS certificate files changed but cannot be loaded; keeping the previous ones');
    }
  }, 30_000);
  timer.unref();
  return timer;
}
