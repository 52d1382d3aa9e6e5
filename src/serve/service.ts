/**
 * `okr-metrics serve`: every enabled source on its schedule, cached, behind /metrics.
 * `startService` is the whole service as a function so tests run it in-process.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load-config.js';
import { resolveSecret } from '../core/secrets.js';
import { DEFAULTS } from '../conventions.js';
import { RUNNER_METRICS } from '../core/runner-metrics.js';
import type { MetricFamily } from '../core/source.js';
import { VERSION } from '../version.js';
import { enabledSources, sourceSettings } from '../config/okr-schema.js';
import { sourceDeps } from '../config/source-deps.js';
import type { ServerAuth } from './auth.js';
import { startServer, type RunningServer } from './http-server.js';
import { Scheduler, timing, type ScheduledCollector } from './scheduler.js';
import { durationSeconds } from '../core/config-primitives.js';
import { KrEngine } from '../engine/engine.js';
import { EngineLoop } from '../engine/kr-metrics.js';
import { Ledger } from '../engine/ledger.js';
import { calendarOf, periodContaining } from '../core/periods.js';
import { PrometheusClient, type PromQueryClient } from '../engine/prometheus-client.js';
import { reportContext } from '../report/report-context.js';
import { htmlReport } from '../report/html-report.js';
import { ledgerPath, stateDir } from '../config/state-paths.js';
import type { Clock } from '../core/clock.js';
import type { DeliveryConfig } from '../../exporters/delivery/config.js';
import { mountDeploymentEvents } from './deployment-events-route.js';
import { lockStateDir, type StateLock } from '../core/state-lock.js';
import { loadWebConfig } from '../config/web-config.js';
import { ledgerLostPerPrometheus, missingLedgerProblem, updateLedgerMarker } from '../engine/ledger-marker.js';
import { ConfigError, formatIssue } from '../config/config-error.js';

export interface ServiceOptions {
  host?: string;
  port?: number;
  logger: Logger;
  /** Injected for tests; default: prometheus.url of the file. */
  prom?: PromQueryClient;
  /** The process' clock (systemClock from the CLI; tests inject theirs). */
  clock: Clock;
  /** --web.config.file: wins over server.web_config_file (relative to the working directory). */
  webConfigFile?: string;
}

export interface RunningService extends RunningServer {
  scheduler: Scheduler;
  engine?: EngineLoop;
}

export function serverAuth(loaded: LoadedConfig): ServerAuth {
  const auth = loaded.config.server.auth;
  if (!auth) return undefined;
  const ctx = { env: loaded.env, baseDir: loaded.baseDir };
  const bearer = resolveSecret(auth, 'bearer_token', ctx);
  if (bearer) return { bearerToken: bearer };
  if (auth.basic_auth) {
    const password = resolveSecret(auth.basic_auth, 'password', ctx);
    if (password) return { basic: { username: auth.basic_auth.username, password } };
  }
  return undefined;
}

/** Collectors for every source that is configured and enabled. */
export function enabledCollectors(loaded: LoadedConfig, logger: Logger, clock: Clock): ScheduledCollector[] {
  const out: ScheduledCollector[] = [];
  const dir = stateDir(loaded);
  for (const name of enabledSources(loaded.config, loaded.sources)) {
    const plugin = loaded.sources.find((p) => p.name === name)!;
    mkdirSync(dir, { recursive: true });
    const deps = sourceDeps(loaded, plugin, { stateDir: dir, clock, logger: logger.child({ source: name }) });
    out.push({ collector: plugin.create(deps), ...timing(plugin, sourceSettings(loaded.config, name)!) });
  }
  return out;
}

/** The KR engine loop, when the file has objectives and the engine is on. */
function engineLoop(loaded: LoadedConfig, opts: ServiceOptions): { loop: EngineLoop; ledger: Ledger; prom: PromQueryClient } | undefined {
  const cfg = loaded.config.engine;
  if (!cfg.enabled || loaded.config.objectives.length === 0) return undefined;
  const ledger = new Ledger(ledgerPath(loaded));
  const lost = missingLedgerProblem(stateDir(loaded), ledger);
  if (lost) opts.logger.error({ ledger: ledger.file }, lost);
  const prom = opts.prom ?? PrometheusClient.fromConfig(loaded);
  if (!lost && ledger.created) {
    // No marker (the state directory may have gone with the ledger): ask Prometheus' history.
    const now = opts.clock.now();
    ledgerLostPerPrometheus(ledger, prom, now, periodContaining('quarter', now, calendarOf(loaded.config.calendar)).start).then(
      (problem) => {
        if (problem) opts.logger.error({ ledger: ledger.file }, problem);
      },
      () => undefined,
    );
  }
  const logger = opts.logger.child({ component: 'engine' });
  const engine = new KrEngine({ loaded, prom, ledger, clock: opts.clock, logger });
  const onEvaluated = () => {
    try {
      updateLedgerMarker(stateDir(loaded), ledger);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'cannot update the ledger marker');
    }
  };
  return { loop: new EngineLoop(engine, durationSeconds(cfg.interval), logger, onEvaluated), ledger, prom };
}

/** `okr_metrics_build_info`: which build is running, as Prometheus exporters do. */
function buildInfo(): MetricFamily {
  return {
    name: RUNNER_METRICS.info,
    help: 'Build of the okr-metrics exporter (value 1): version and Node.js release.',
    type: 'gauge',
    samples: [{ labels: { version: VERSION, nodejs: process.version }, value: 1 }],
  };
}

export async function startService(loaded: LoadedConfig, opts: ServiceOptions): Promise<RunningService> {
  for (const w of loaded.warnings) opts.logger.warn(formatIssue(w));
  // First of all: a second process on the same state directory must not touch its files.
  const lock = lockStateDir(stateDir(loaded), `okr-metrics serve -c ${loaded.file}`, new Date(opts.clock.now()).toISOString(), (reason, holder) =>
    opts.logger.warn({ state_dir: stateDir(loaded), holder }, `took over a stale lock of the state directory (${reason})`),
  );
  try {
    return await startLocked(loaded, opts, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function startLocked(loaded: LoadedConfig, opts: ServiceOptions, lock: StateLock): Promise<RunningService> {
  const info = buildInfo();
  const delivery = sourceSettings(loaded.config, 'delivery') as DeliveryConfig | undefined;
  const collectors = enabledCollectors(loaded, opts.logger, opts.clock);
  const scheduler = new Scheduler(collectors, opts.logger, opts.clock);
  let kr: ReturnType<typeof engineLoop> | undefined;
  let server: RunningServer;
  try {
    kr = engineLoop(loaded, opts);
    const web = opts.webConfigFile !== undefined ? loadWebConfig(opts.webConfigFile, process.cwd()) : loaded.config.server.web_config_file !== undefined ? loadWebConfig(loaded.config.server.web_config_file, loaded.baseDir) : undefined;
    if (web?.basicAuthUsers && loaded.config.server.auth) throw new ConfigError([{ file: web.file, line: 1, col: 1, path: ['basic_auth_users'], message: `give either basic_auth_users here or server.auth in ${loaded.file}, not both` }]);
    const auth: ServerAuth = web?.basicAuthUsers ? { basicUsers: web.basicAuthUsers } : serverAuth(loaded);
    server = await startServer({
    host: opts.host ?? loaded.config.server.host ?? DEFAULTS.host,
    port: opts.port ?? loaded.config.server.port ?? DEFAULTS.port,
    logger: opts.logger,
    auth,
    tls: web?.tls,
    headers: web?.headers,
    snapshot: () => [info, ...scheduler.snapshot(), ...(kr?.loop.snapshot() ?? [])],
    version: () => `${scheduler.generation}/${kr?.loop.generation ?? 0}`,
    health: () => scheduler.health(),
    ready: () => scheduler.ready(),
    extraRoutes: (app) => {
      // Deployment events from any CI, joined by the delivery source.
      if (delivery && delivery.enabled !== false && delivery.deployments_from.includes('events'))
        mountDeploymentEvents(app, { stateDir: stateDir(loaded), settings: delivery, auth, clock: opts.clock, logger: opts.logger.child({ component: 'deployment-events' }) });
      // The current quarter's review, from the engine's last evaluation.
      app.get('/report', (_req, res) => {
        const ev = kr?.loop.lastEvaluation();
        if (!kr || !ev) {
          res.status(503).type('text/plain').send(kr ? 'no evaluation yet; retry shortly\n' : 'the KR engine is off (no objectives or engine.enabled: false)\n');
          return;
        }
        const period = periodContaining('quarter', ev.evaluatedAt, calendarOf(loaded.config.calendar));
        res.type('text/html').send(htmlReport(ev, reportContext(loaded, period, kr.prom.baseUrl)));
      });
    },
  });
  } catch (e) {
    // Files the collectors and the engine opened are released before the lock is.
    await Promise.allSettled(collectors.map(async (c) => c.collector.close?.()));
    kr?.ledger.close();
    throw e;
  }
  scheduler.start();
  kr?.loop.start();
  opts.logger.info({ sources: scheduler.runners.map((r) => r.source) }, 'collecting');
  return {
    ...server,
    scheduler,
    engine: kr?.loop,
    stop: async () => {
      kr?.loop.stop();
      await scheduler.stop();
      await server.stop();
      kr?.ledger.close();
      lock.release();
    },
  };
}
