/**
 * The demo's past: from the start of the previous quarter to three hours ago, rebuilt by the
 * real `backfill` from the simulated sources (Jira sprints and queries, SonarQube analyses,
 * Bitbucket pull requests and pipelines) and from an archived access log the demo writes
 * (thinned to a few requests a minute), then loaded into the running Prometheus, which picks
 * the blocks up within a minute. Quarter-over-quarter KRs then have their baselines, and the
 * dashboards show months of trend on the first visit.
 */
import { chownSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { backfillSources, runBackfill, type SourceOutcome } from '../backfill/backfill-run.js';
import type { RunningSimulation } from '../core/source.js';
import { BackfillProgress } from '../backfill/progress-bar.js';
import { HEAD_MARGIN_MS } from '../backfill/backfill-command.js';
import type { LoadedConfig } from '../config/load-config.js';
import { EXPORTER_JOB } from '../conventions.js';
import { calendarOf, periodContaining } from '../core/periods.js';
import type { Clock } from '../core/clock.js';

const STEP_MS = 300_000;
/**
 * The DORA keys move a few times a day and are read over 30-day windows: hourly samples show the
 * same figures, and keep the delivery histograms (about 170 series) from doubling the history's
 * samples and load time, as 5-minute ones would.
 */
const JOINED_STEP_MS = 3_600_000;

export interface DemoHistoryOptions {
  loaded: LoadedConfig;
  dir: string;
  /** The running Prometheus' --storage.tsdb.path. */
  prometheusDataDir: string;
  /** The `instance` label Prometheus gives the live exporter (host:port), so history and live join. */
  instance: string;
  promtool: string;
  logger: Logger;
  /** Progress lines (plain, one every few seconds). */
  progress: { write(s: string): boolean };
  /** End of the history (default and latest: three hours ago, where Prometheus' head begins). */
  untilMs?: number;
  /** Stops the run early (the demo is stopping). */
  signal?: AbortSignal;
  /** The demo's simulations: those that are files write their archive. */
  simulations: Map<string, RunningSimulation>;
  clock: Clock;
}

export interface DemoHistory {
  fromMs: number;
  toMs: number;
  lines: number;
  outcomes: SourceOutcome[];
  seconds: number;
}

export async function loadDemoHistory(o: DemoHistoryOptions): Promise<DemoHistory> {
  const now = o.clock.now();
  const calendar = calendarOf(o.loaded.config.calendar);
  const fromMs = periodContaining('quarter', periodContaining('quarter', now, calendar).start - 1, calendar).start;
  const toMs = Math.floor(Math.min(o.untilMs ?? Infinity, now - HEAD_MARGIN_MS) / STEP_MS) * STEP_MS;

  // Sources that are files (the access log) write their past for the backfill to read.
  let lines = 0;
  const files: Record<string, string[]> = {};
  for (const sim of o.simulations.values()) {
    if (!sim.archive) continue;
    const a = await sim.archive(fromMs, toMs, join(o.dir, 'history', 'archive'), o.signal);
    Object.assign(files, a.files);
    lines += a.lines;
  }

  // The sources that join the others' feeds (delivery) read them from the same output directory, after them.
  const sources = backfillSources(o.loaded);
  const outcomes: SourceOutcome[] = [];
  for (const [names, stepMs] of [
    [sources.filter((p) => !p.joinsFeeds).map((p) => p.name), STEP_MS],
    [sources.filter((p) => p.joinsFeeds).map((p) => p.name), JOINED_STEP_MS],
  ] as const) {
    if (names.length === 0) continue;
    const result = await runBackfill({
      loaded: o.loaded,
      fromMs,
      toMs,
      stepMs,
      outDir: join(o.dir, 'history'),
      sources: names,
      promtool: o.promtool,
      loadInto: o.prometheusDataDir,
      logFiles: files,
      targetLabels: { job: EXPORTER_JOB, instance: o.instance },
      logger: o.logger,
      progress: new BackfillProgress({ stream: o.progress, intervalMs: 10_000 }),
      signal: o.signal,
      clock: o.clock,
    });
    outcomes.push(...result.outcomes);
    o.signal?.throwIfAborted();
  }
  handOver(o.prometheusDataDir);
  return { fromMs, toMs, lines, outcomes, seconds: (o.clock.now() - now) / 1000 };
}

/**
 * Blocks copied into another process' data directory (the compose Prometheus runs as its own
 * uid) are given to the directory's owner, so Prometheus can compact and delete them.
 */
function handOver(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(dataDir);
  const walk = (path: string) => {
    const st = statSync(path);
    if (st.uid !== uid || st.gid !== gid) chownSync(path, uid, gid);
    if (st.isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
  };
  for (const e of readdirSync(dataDir)) if (/^[0-9A-Z]{26}$/.test(e)) walk(join(dataDir, e));
}
