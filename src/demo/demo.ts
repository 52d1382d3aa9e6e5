/**
 * `okr-metrics demo`: the whole system on one machine with nothing to configure. Simulated
 * Jira, SonarQube and Bitbucket servers (the fakes the tests use, fed a moving data set), a
 * synthetic access log, and the example OKRs go through the real collectors, exporter and KR
 * engine; with the Debian `prometheus` and `prometheus-alertmanager` installed, the generated
 * rules and Alertmanager routing run too, and alerts arrive at a receiver that prints them.
 * Everything listens on 127.0.0.1 unless told otherwise, and `stop()` ends all of it.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { lockStateDir } from '../core/state-lock.js';
import { UsageError } from '../config/config-error.js';
import { join, resolve } from 'node:path';
import type { Document } from 'yaml';
import { SOURCES } from '../../exporters/index.js';
import { DEMO_LOG_FILE } from '../../exporters/apilogs/simulator/apilogs-simulator.js';
import { startService, type RunningService } from '../serve/service.js';
import { loadConfig, type LoadedConfig } from '../config/load-config.js';
import { DATASOURCE_UID, DEFAULTS } from '../conventions.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { RunningSimulation } from '../core/source.js';
import type { AlertReceiver } from './alert-receiver.js';
import { demoCalendarOf, demoConfigDocument, writeDemoConfig, type DemoTiming } from './demo-config.js';
import { loadDemoHistory, type DemoHistory } from './demo-history.js';
import { demoWorld } from './demo-world.js';
import { findBinary, portOr, type RunningProcess } from '../prometheus-tools.js';
import { startLocalStack, type LocalStack } from './local-stack.js';

const PROMETHEUS_INSTALL_HINT =
  'install them with `sudo apt-get install -y prometheus prometheus-alertmanager` (Debian/Ubuntu), or run the whole stack with `docker compose up`';

export interface ExternalPrometheus {
  url: string;
  dataDir?: string;
  instance?: string;
}

export interface DemoOptions {
  /** Working directory: the OKR file, logs, state, generated files. Its demo subfolders are recreated. */
  dir: string;
  /** Where the exporter listens (default 127.0.0.1:9797; port 0 = any free port). */
  host?: string;
  port?: number;
  /**
   * `start` (default): run Prometheus and Alertmanager when installed; `off`: exporter only;
   * `{ url }`: an existing Prometheus (docker compose) that scrapes the exporter itself as
   * `instance` (default okr-metrics:9797, the compose target); with `dataDir` (its
   * --storage.tsdb.path, mounted here) the history goes there.
   */
  prometheus?: 'start' | 'off' | ExternalPrometheus;
  /** Preferred ports (default 9090 and 9093); a busy one is replaced by a free one. 0 = any. */
  prometheusPort?: number;
  alertmanagerPort?: number;
  /** Mean time between random incidents in the access log (default 30 min; 0 = none). */
  incidentEveryMs?: number;
  /** Multiplies the access log's request rate. */
  rateScale?: number;
  timing?: DemoTiming & {
    /** Prometheus scrape and rule evaluation interval (default 5s). */
    evaluation?: string;
    /** Alertmanager group_wait (default 5s). */
    groupWait?: string;
  };
  /**
   * Rebuild the past (previous quarter to 3 hours ago) with the real backfill and load it into
   * the demo's Prometheus, in the background (default true; needs promtool).
   */
  history?: boolean;
  /** End of the history (default: three hours ago). */
  historyUntil?: number;
  /** Edits to the demo OKR file before it is written (tests shorten delays, move the calendar). */
  edit?: (doc: Document) => void;
  logger: Logger;
  /** The demo runs in real time (Prometheus scrapes in real time): the system clock, or a test's. */
  clock: Clock;
  /** Progress and alert lines for the person watching (default: none). */
  say?: (line: string) => void;
}

export interface RunningDemo {
  dir: string;
  configFile: string;
  loaded: LoadedConfig;
  exporterUrl: string;
  prometheusUrl: string;
  prometheus?: RunningProcess;
  alertmanager?: RunningProcess;
  receiver?: AlertReceiver;
  /** Every source's simulation, by source name (their servers record the requests they answered). */
  simulations: Map<string, RunningSimulation>;
  /** Start an incident in every simulated source that takes one (the access log): `errorShare` of requests fail. */
  incident(durationMs: number, errorShare: number): void;
  service: RunningService;
  /** The background history load: undefined when off or impossible. */
  history?: Promise<DemoHistory>;
  /** The lines a newcomer needs: where everything is. */
  summary(): string[];
  stop(): Promise<void>;
}

/** Subfolders the demo owns inside its directory (removed at each start). */
const OWNED = ['logs', 'state', 'prometheus', 'alertmanager', 'generated', 'secrets', 'history'];
/** Written into every directory the demo makes: only such a directory (or an empty one) is reused. */
export const DEMO_MARKER = '.okr-metrics-demo';

/**
 * The demo recreates its subfolders at each start: it deletes `logs/`, `state/`, `secrets/`...
 * Only in a directory it made itself (the marker) or an empty one, never in someone's project.
 */
export function claimDemoDir(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') entries = [];
    else throw e;
  }
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new UsageError(
      `--dir ${dir} is not empty and was not made by okr-metrics demo (no ${DEMO_MARKER} in it); the demo deletes and recreates ${OWNED.join(', ')} there. Give a new or empty directory (a directory made by an older demo: delete it first)`,
    );
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'made by okr-metrics demo: its subfolders are deleted and recreated at each start\n');
}

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const say = opts.say ?? (() => undefined);
  const dir = resolve(opts.dir);
  claimDemoDir(dir);
  // A demo already running here holds state/'s lock: refuse before deleting its files.
  if (existsSync(join(dir, 'state'))) lockStateDir(join(dir, 'state'), 'okr-metrics demo', new Date(opts.clock.now()).toISOString()).release();
  for (const sub of OWNED) rmSync(join(dir, sub), { recursive: true, force: true });
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    // The file's calendar first: the simulated sources answer for its quarters.
    const doc = demoConfigDocument(opts.timing, opts.edit);
    const world = demoWorld(demoCalendarOf(doc), opts.clock.now());
    const simulations = new Map<string, RunningSimulation>();
    for (const plugin of SOURCES) {
      if (!plugin.simulator) continue;
      const sim = await plugin.simulator.start({ world, dir, clock: opts.clock, incidentEveryMs: opts.incidentEveryMs, rateScale: opts.rateScale });
      cleanups.push(() => sim.close());
      simulations.set(plugin.name, sim);
    }
    // The simulated sources move on their own clock: new issues, analyses, merges, pipelines.
    const ticker = setInterval(() => {
      const t = opts.clock.now();
      for (const sim of simulations.values()) sim.tick?.(t);
    }, 5000);
    cleanups.push(() => clearInterval(ticker));
    const servers = [...simulations].flatMap(([name, sim]) => (sim.server ? [`${name} ${sim.server.url}`] : []));
    say(`simulated sources: ${servers.join(', ')}`);

    const mode = opts.prometheus ?? 'start';
    const binaries = mode === 'start' ? { prometheus: findBinary('prometheus'), alertmanager: findBinary('prometheus-alertmanager') } : undefined;
    const startLocal = binaries?.prometheus !== undefined && binaries.alertmanager !== undefined;
    const promPort = startLocal ? await portOr(opts.prometheusPort ?? 9090) : 0;
    const prometheusUrl = typeof mode === 'object' ? mode.url : startLocal ? `http://127.0.0.1:${promPort}` : 'http://127.0.0.1:9090';

    const configFile = writeDemoConfig(dir, doc, simulations, prometheusUrl, opts.timing);
    const loaded = loadConfig(configFile, { env: process.env });

    const host = opts.host ?? '127.0.0.1';
    const port = opts.port === 0 ? 0 : await portOr(opts.port ?? DEFAULTS.port, host);
    const service = await startService(loaded, { host, port, logger: opts.logger, clock: opts.clock });
    cleanups.push(() => service.stop());
    const exporterUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${service.port}`;
    say(`exporter: ${exporterUrl}/metrics (sources: ${service.scheduler.runners.map((r) => r.source).join(', ')})`);

    let stack: LocalStack | undefined;
    if (startLocal) {
      stack = await startLocalStack({
        loaded,
        dir,
        binaries: { prometheus: binaries.prometheus!, alertmanager: binaries.alertmanager! },
        exporterPort: service.port,
        prometheusPort: promPort,
        alertmanagerPort: opts.alertmanagerPort ?? 9093,
        evaluation: opts.timing?.evaluation ?? '5s',
        groupWait: opts.timing?.groupWait ?? '5s',
        say,
      });
      cleanups.push(() => stack!.stop());
    } else if (mode === 'start') {
      const missing = Object.entries(binaries ?? {})
        .filter(([, p]) => p === undefined)
        .map(([name]) => (name === 'alertmanager' ? 'prometheus-alertmanager' : name));
      say(`${missing.join(' and ')} not found: the exporter runs alone, and the KR engine has no Prometheus to ask; ${PROMETHEUS_INSTALL_HINT}`);
    }

    const prometheus = stack?.prometheus;
    let history: Promise<DemoHistory> | undefined;
    const promtool = findBinary('promtool');
    const external = typeof mode === 'object' ? mode : undefined;
    const historyTarget = prometheus
      ? { dataDir: prometheus.dataDir, instance: `127.0.0.1:${service.port}` }
      : external?.dataDir
        ? { dataDir: external.dataDir, instance: external.instance ?? `okr-metrics:${DEFAULTS.port}` }
        : undefined;
    if (historyTarget && opts.history !== false && !promtool) say(`promtool not found: no history; ${PROMETHEUS_INSTALL_HINT}`);
    if (external && !external.dataDir && opts.history !== false)
      say(`no history: pass --prometheus-data-dir (the --storage.tsdb.path of ${external.url}) to load the previous quarter into it`);
    if (historyTarget && opts.history !== false && promtool) {
      const abort = new AbortController();
      history = loadDemoHistory({
        loaded,
        dir,
        prometheusDataDir: historyTarget.dataDir,
        instance: historyTarget.instance,
        promtool,
        logger: opts.logger,
        untilMs: opts.historyUntil,
        progress: {
          write: (text: string) => (
            abort.signal.aborted ||
              text
                .split('\n')
                .filter(Boolean)
                .forEach((l) => say(`history: ${l.trim()}`)),
            true
          ),
        },
        simulations,
        signal: abort.signal,
        clock: opts.clock,
      });
      // Stopping waits for the aborted run: promtool children must not outlive the demo.
      const pending = history.catch(() => undefined);
      cleanups.push(async () => {
        abort.abort();
        await pending;
      });
    }

    const demo: RunningDemo = {
      dir,
      configFile,
      loaded,
      exporterUrl,
      prometheusUrl,
      prometheus,
      alertmanager: stack?.alertmanager,
      receiver: stack?.receiver,
      simulations,
      incident: (durationMs, errorShare) => {
        for (const sim of simulations.values()) sim.incident?.(durationMs, errorShare);
      },
      service,
      history,
      summary: () => [
        `  metrics       ${exporterUrl}/metrics`,
        `  KR review     ${exporterUrl}/report   (or: okr-metrics report -c ${configFile})`,
        ...(prometheus ? [`  Prometheus    ${prometheus.url}   (alerts: ${prometheus.url}/alerts)`] : []),
        ...(stack ? [`  Alertmanager  ${stack.alertmanager.url}   (notifications are printed here)`] : []),
        `  OKR file      ${configFile}`,
        `  access log    ${join(dir, DEMO_LOG_FILE)}`,
        ...(prometheus ? [`  dashboards    ${join(dir, 'generated', 'dashboards')} (import into Grafana; datasource uid ${DATASOURCE_UID})`] : []),
      ],
      stop,
    };
    return demo;
  } catch (e) {
    await stop();
    throw e;
  }
}
