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
import { StateDirLocker, StateLockError, type StateLock } from '../core/state-lock.js';
import type { DeliveryConfig } from '../../exporters/delivery/config.js';
import { DEPLOYMENT_EVENTS_PATH, mountDeploymentEvents } from './deployment-events-route.js';
import express from 'express';
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
  /** --standby: wait for the state directory's lock instead of refusing (default: server.standby). */
  standby?: boolean;
  /**
   * The lock was lost (another process took it over while this one was frozen, or the lock file
   * was removed). By then collection and evaluation have stopped and writes to the state
   * directory are refused; the CLI exits 1 so that the orchestrator restarts it as a standby.
   */
  onLockLost?: (reason: string) => void;
}

export interface RunningService extends RunningServer {
  /** The sources' runners; empty while a standby. */
  readonly scheduler: Scheduler;
  readonly engine: EngineLoop | undefined;
  /** Whether this process holds the state directory (collects and evaluates). */
  active(): boolean;
  /** Resolves once this process holds the state directory (at once unless a standby). */
  activated: Promise<void>;
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

/** `okr_metrics_active`: which replica collects (1) and which waits (0). */
function activeGauge(active: boolean): MetricFamily {
  return {
    name: RUNNER_METRICS.active,
    help: 'Whether this process holds the state directory and collects (1), or waits as a standby (0).',
    type: 'gauge',
    samples: [{ labels: {}, value: active ? 1 : 0 }],
  };
}

/** What runs while this process holds the state directory. */
interface ActiveParts {
  lock: StateLock;
  scheduler: Scheduler;
  kr: ReturnType<typeof engineLoop>;
  /** `POST /api/v1/deployments`, when the delivery source takes events. */
  events?: express.Router;
  heartbeat?: NodeJS.Timeout;
}

/** The delivery source's settings when it takes deployment events from CIs. */
function eventsOn(loaded: LoadedConfig): DeliveryConfig | undefined {
  const delivery = sourceSettings(loaded.config, 'delivery') as DeliveryConfig | undefined;
  return delivery && delivery.enabled !== false && delivery.deployments_from.includes('events') ? delivery : undefined;
}

/**
 * Collectors, the engine and the deployment-event store read their checkpoints, the ledger and
 * the stored events only once the lock is ours.
 */
function buildActive(loaded: LoadedConfig, opts: ServiceOptions, lock: StateLock, auth: ServerAuth): ActiveParts {
  const collectors = enabledCollectors(loaded, opts.logger, opts.clock);
  try {
    const delivery = eventsOn(loaded);
    let events: express.Router | undefined;
    if (delivery) {
      events = express.Router();
      mountDeploymentEvents(events, {
        stateDir: stateDir(loaded),
        settings: delivery,
        auth,
        clock: opts.clock,
        logger: opts.logger.child({ component: 'deployment-events' }),
      });
    }
    return { lock, scheduler: new Scheduler(collectors, opts.logger, opts.clock), kr: engineLoop(loaded, opts), ...(events ? { events } : {}) };
  } catch (e) {
    void Promise.allSettled(collectors.map(async (c) => c.collector.close?.()));
    throw e;
  }
}

export async function startService(loaded: LoadedConfig, opts: ServiceOptions): Promise<RunningService> {
  for (const w of loaded.warnings) opts.logger.warn(formatIssue(w));
  const dir = stateDir(loaded);
  const standby = opts.standby ?? loaded.config.server.standby;
  const leaseMs = durationSeconds(loaded.config.server.lock_lease) * 1000;
  const locker = new StateDirLocker(dir, {
    command: `okr-metrics serve -c ${loaded.file}`,
    clock: opts.clock,
    leaseMs,
    onStale: (reason, holder) => opts.logger.warn({ state_dir: dir, holder }, `took over a stale lock of the state directory (${reason})`),
  });
  const info = buildInfo();
  const empty = new Scheduler([], opts.logger, opts.clock);
  let parts: ActiveParts | undefined;
  let stopped = false;
  /** Bumped when this process becomes active or stops being so: /metrics re-renders. */
  let roleChanges = 0;

  // The web config is only read: a mistake in it stops the start before anything is locked.
  const web =
    opts.webConfigFile !== undefined
      ? loadWebConfig(opts.webConfigFile, process.cwd())
      : loaded.config.server.web_config_file !== undefined
        ? loadWebConfig(loaded.config.server.web_config_file, loaded.baseDir)
        : undefined;
  if (web?.basicAuthUsers && loaded.config.server.auth)
    throw new ConfigError([
      { file: web.file, line: 1, col: 1, path: ['basic_auth_users'], message: `give either basic_auth_users here or server.auth in ${loaded.file}, not both` },
    ]);
  const auth: ServerAuth = web?.basicAuthUsers ? { basicUsers: web.basicAuthUsers } : serverAuth(loaded);

  // First of all: a second process on the same state directory must not touch its files.
  if (!standby) {
    const lock = await acquireOrRefuse(locker, opts.logger, dir);
    try {
      parts = buildActive(loaded, opts, lock, auth);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  let server: RunningServer;
  try {
    server = await startServer({
      host: opts.host ?? loaded.config.server.host ?? DEFAULTS.host,
      port: opts.port ?? loaded.config.server.port ?? DEFAULTS.port,
      logger: opts.logger,
      auth,
      tls: web?.tls,
      headers: web?.headers,
      // A standby exports no source or KR series: Prometheus scrapes both replicas, and only
      // the active one's data exists, so nothing is counted twice.
      snapshot: () => [info, activeGauge(parts !== undefined), ...(parts ? [...parts.scheduler.snapshot(), ...(parts.kr?.loop.snapshot() ?? [])] : [])],
      version: () => `${roleChanges}/${parts?.scheduler.generation ?? 0}/${parts?.kr?.loop.generation ?? 0}`,
      health: () => (parts ? parts.scheduler.health() : []),
      // A standby is ready: it does its job (waiting), and a rolling update of two replicas
      // needs the new standby ready before it replaces the old one.
      ready: () => parts?.scheduler.ready() ?? true,
      role: () => (parts ? 'active' : 'standby'),
      extraRoutes: (app) => {
        // Deployment events from any CI, joined by the delivery source; only the active replica
        // stores them (the events file is under the state directory it holds).
        if (eventsOn(loaded))
          app.all(DEPLOYMENT_EVENTS_PATH, (req, res, next) => {
            if (parts?.events) return void parts.events(req, res, next);
            res.status(503).json({ error: 'this replica is a standby: post deployment events to the active one' });
          });
        // The current quarter's review, from the engine's last evaluation.
        app.get('/report', (_req, res) => {
          const kr = parts?.kr;
          const ev = kr?.loop.lastEvaluation();
          if (!kr || !ev) {
            res
              .status(503)
              .type('text/plain')
              .send(
                !parts
                  ? 'this replica is a standby: the active one serves the report\n'
                  : kr
                    ? 'no evaluation yet; retry shortly\n'
                    : 'the KR engine is off (no objectives or engine.enabled: false)\n',
              );
            return;
          }
          const period = periodContaining('quarter', ev.evaluatedAt, calendarOf(loaded.config.calendar));
          res.type('text/html').send(htmlReport(ev, reportContext(loaded, period, kr.prom.baseUrl)));
        });
      },
    });
  } catch (e) {
    // Files the collectors and the engine opened are released before the lock is.
    if (parts) await stopActive(parts, true);
    throw e;
  }

  const heartbeatMs = Math.max(50, leaseMs / 3);
  const activate = (p: ActiveParts) => {
    parts = p;
    roleChanges++;
    p.scheduler.start();
    p.kr?.loop.start();
    p.heartbeat = setInterval(() => {
      const lost = p.lock.renew();
      if (lost && parts === p) void demote(lost);
    }, heartbeatMs);
    p.heartbeat.unref();
    opts.logger.info({ sources: p.scheduler.runners.map((r) => r.source), state_dir: dir }, 'collecting');
  };
  const demote = async (reason: string) => {
    const p = parts;
    if (!p) return;
    parts = undefined;
    roleChanges++;
    opts.logger.error({ state_dir: dir }, `lost the state directory's lock (${reason}): collection and evaluation stopped, nothing more is written there`);
    // The lock's problem() now fences writes: stopping cannot overwrite the new holder's files.
    await stopActive(p, false);
    opts.onLockLost?.(reason);
  };

  let wake: (() => void) | undefined;
  let waited = 0;
  const activated = (async () => {
    if (parts) {
      activate(parts);
      return;
    }
    opts.logger.info({ state_dir: dir }, 'standby: waiting for the state directory lock');
    while (!stopped) {
      try {
        const lock = locker.acquire();
        if (stopped) {
          lock.release();
          break;
        }
        try {
          activate(buildActive(loaded, opts, lock, auth));
        } catch (e) {
          lock.release();
          throw e;
        }
        opts.logger.info({ state_dir: dir, waited_ms: waited }, 'took over the state directory: now active');
        return;
      } catch (e) {
        if (!(e instanceof StateLockError)) throw e;
      }
      await new Promise<void>((ok) => {
        wake = ok;
        setTimeout(ok, heartbeatMs).unref();
      });
      waited += heartbeatMs;
    }
  })();
  // A standby's failure to take over (a damaged ledger) is logged; the CLI exits on it.
  activated.catch((e: unknown) => opts.logger.error({ err: (e as Error).message }, 'could not take over the state directory'));

  return {
    ...server,
    get scheduler() {
      return parts?.scheduler ?? empty;
    },
    get engine() {
      return parts?.kr?.loop;
    },
    active: () => parts !== undefined,
    activated,
    stop: async () => {
      stopped = true;
      wake?.();
      await activated.catch(() => undefined);
      const p = parts;
      parts = undefined;
      await server.stop();
      if (p) await stopActive(p, true);
    },
  };
}

/**
 * The lock, or StateLockError. A lock from another host that renews a lease is watched for one
 * lease first: its pod may be gone (a node failure, a forced delete) and the new pod, with
 * another host name, would otherwise refuse to start until someone removed the file.
 */
async function acquireOrRefuse(locker: StateDirLocker, logger: Logger, dir: string): Promise<StateLock> {
  for (let attempt = 0; ; attempt++) {
    try {
      return locker.acquire();
    } catch (e) {
      if (!(e instanceof StateLockError) || e.leaseMs === undefined || attempt >= 5) throw e;
      if (attempt === 0) logger.warn({ state_dir: dir }, `${e.message.split(':')[0]}: watching its heartbeat for one lease before giving up`);
      await new Promise((ok) => setTimeout(ok, e.leaseMs! / 4));
    }
  }
}

/** Stop collecting and evaluating, close the ledger, and (when `release`) free the lock. */
async function stopActive(p: ActiveParts, release: boolean): Promise<void> {
  if (p.heartbeat) clearInterval(p.heartbeat);
  p.kr?.loop.stop();
  // Each runner closes its collector (one that never ran included).
  await p.scheduler.stop();
  p.kr?.ledger.close();
  if (release) p.lock.release();
}
