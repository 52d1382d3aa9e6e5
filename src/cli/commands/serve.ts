/**
 * `okr-metrics serve`: every enabled source on its schedule, cached, behind /metrics.
 * `startService` is the whole service as a function so tests run it in-process.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { COLLECTOR_FACTORIES } from '../../../exporters/registry.js';
import type { LoadedConfig } from '../../config/load-config.js';
import { resolveSecret } from '../../config/secrets.js';
import { DEFAULTS, SOURCE_NAMES } from '../../conventions.js';
import type { ServerAuth } from '../../server/auth.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { Scheduler, timing, type ScheduledCollector } from '../../scheduler/scheduler.js';

export interface ServiceOptions {
  host?: string;
  port?: number;
  logger: Logger;
}

export interface RunningService extends RunningServer {
  scheduler: Scheduler;
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

export function stateDir(loaded: LoadedConfig): string {
  const dir = loaded.config.server.state_dir;
  return isAbsolute(dir) ? dir : resolve(loaded.baseDir, dir);
}

/** Collectors for every source that is configured and enabled. */
export function enabledCollectors(loaded: LoadedConfig, logger: Logger): ScheduledCollector[] {
  const out: ScheduledCollector[] = [];
  const dir = stateDir(loaded);
  for (const name of SOURCE_NAMES) {
    const settings = loaded.config.sources[name];
    if (!settings || settings.enabled === false) continue;
    const factory = COLLECTOR_FACTORIES[name];
    if (!factory) {
      logger.warn({ source: name }, 'source is configured but this build has no collector for it; skipped');
      continue;
    }
    mkdirSync(dir, { recursive: true });
    out.push({ collector: factory.create({ loaded, logger: logger.child({ source: name }), stateDir: dir }), ...timing(factory, settings) });
  }
  return out;
}

export async function startService(loaded: LoadedConfig, opts: ServiceOptions): Promise<RunningService> {
  const scheduler = new Scheduler(enabledCollectors(loaded, opts.logger), opts.logger);
  const server = await startServer({
    host: opts.host ?? loaded.config.server.host ?? DEFAULTS.host,
    port: opts.port ?? loaded.config.server.port ?? DEFAULTS.port,
    logger: opts.logger,
    auth: serverAuth(loaded),
    snapshot: () => scheduler.snapshot(),
    health: () => scheduler.health(),
    ready: () => scheduler.ready(),
  });
  scheduler.start();
  opts.logger.info({ sources: scheduler.runners.map((r) => r.source) }, 'collecting');
  return {
    ...server,
    scheduler,
    stop: async () => {
      await scheduler.stop();
      await server.stop();
    },
  };
}
