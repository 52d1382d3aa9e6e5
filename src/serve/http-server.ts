/**
 * The exporter's HTTP server: /metrics from cached snapshots (never waits on a source),
 * /healthz (alive), /readyz (every source collected once or failed with a reason).
 * `start()`/`stop()` so tests run it in-process on port 0.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import type { Snapshot } from '../core/source.js';
import { redact } from '../core/secrets.js';
import type { SourceHealth } from './source-runner.js';
import { authMiddleware, type ServerAuth } from './auth.js';
import { ExpositionRegistry } from './exposition.js';

export interface ServerOptions {
  host: string;
  port: number;
  logger: Logger;
  auth?: ServerAuth;
  /** Called on every scrape; must return cached values. */
  snapshot: () => Snapshot;
  health: () => SourceHealth[];
  ready: () => boolean;
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
  const exposition = new ExpositionRegistry(undefined, opts.logger);
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: exposition.registry });
    // Gauges named like counters fail `promtool check metrics`; the per-type gauges without
    // the suffix (nodejs_active_handles{type}) carry the same information.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) exposition.registry.removeSingleMetric(n);
  }
  exposition.addProvider(opts.snapshot);

  const app = express();
  app.disable('x-powered-by');
  app.use(authMiddleware(opts.auth));

  app.get('/metrics', async (_req: Request, res: Response) => {
    try {
      const body = await exposition.metrics();
      res.set('Content-Type', exposition.contentType).send(body);
    } catch (e) {
      // Should not happen (families never throw); keep the reason out of the body.
      opts.logger.error({ err: redact(String(e)) }, 'rendering /metrics failed');
      res.status(500).type('text/plain').send('metrics rendering failed\n');
    }
  });
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
    res.status(opts.ready() ? 200 : 503).json({ ready: opts.ready(), sources });
  });
  opts.extraRoutes?.(app);
  app.get('/', (_req, res) => {
    res
      .type('text/html')
      .send('<!doctype html><title>okr-metrics</title><h1>okr-metrics</h1><ul><li><a href="metrics">/metrics</a></li><li><a href="readyz">/readyz</a></li><li><a href="healthz">/healthz</a></li></ul>\n');
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  opts.logger.info({ host: opts.host, port }, 'listening');
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
