/**
 * `okr-metrics backfill`: arguments → runBackfill. Dates, the default end and the sources are
 * decided here; the work is in src/backfill/.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load-config.js';
import { stateDir, ledgerPath } from '../config/state-paths.js';
import { DEFAULTS, EXPORTER_JOB } from '../conventions.js';
import { enabledSources } from '../config/okr-schema.js';
import { Ledger } from '../engine/ledger.js';
import { PrometheusClient } from '../engine/prometheus-client.js';
import { firstLiveSamples } from './live-boundary.js';
import { localMidnight } from '../core/periods.js';
import { backfillSources, loadingInstructions, runBackfill, type BackfillResult, type BackfillSource } from './backfill-run.js';
import { BackfillProgress, type ProgressOptions } from './progress-bar.js';
import { parseStep } from '../core/step-grid.js';
import { UsageError } from '../config/config-error.js';
import { findBinary } from '../prometheus-tools.js';
import type { Clock } from '../core/clock.js';

export interface BackfillCliOptions {
  from: string;
  to?: string;
  out?: string;
  sources?: string;
  step?: string;
  logFiles?: string[];
  blocks?: boolean;
  job?: string;
  instance?: string;
  loadInto?: string;
  force?: boolean;
  /** Prometheus to check the live boundary against (default prometheus.url); false skips the check. */
  prometheus?: string | false;
}

/** Prometheus' head block holds about the last 3 hours: blocks must stay out of it. */
export const HEAD_MARGIN_MS = 3 * 3600_000;

/** `YYYY-MM-DD` (midnight in the OKR calendar's time zone), an ISO date-time, or `now`. */
export function parseInstant(text: string, tz: string, now: number, what: string): number {
  if (text === 'now') return now - HEAD_MARGIN_MS;
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (d) return localMidnight(Number(d[1]), Number(d[2]), Number(d[3]), tz);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${what} ${text}: expected YYYY-MM-DD, an ISO 8601 date-time or now`);
  return ms;
}

/**
 * Default end: the last midnight (calendar time zone) at least 3 hours ago. A fixed end makes
 * reruns on the same day idempotent; the live exporter owns everything after it.
 */
export function defaultEnd(tz: string, now: number): number {
  const t = now - HEAD_MARGIN_MS;
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(t));
  const get = (k: string) => Number(parts.find((p) => p.type === k)!.value);
  return localMidnight(get('year'), get('month'), get('day'), tz);
}

export function parseSources(text: string | undefined, loaded: LoadedConfig): BackfillSource[] {
  const known = backfillSources(loaded).map((p) => p.name);
  if (text === undefined) return known.filter((s) => enabledSources(loaded.config, loaded.sources).includes(s));
  const out: BackfillSource[] = [];
  for (const s of text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!known.includes(s)) throw new UsageError(`--sources ${s}: expected some of ${known.join(', ')}`);
    if (!out.includes(s)) out.push(s);
  }
  if (out.length === 0) throw new UsageError('--sources: name at least one source');
  return out;
}

function parseLogFiles(values: string[] | undefined): Record<string, string[]> | undefined {
  if (!values) return undefined;
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`--log-files ${v}: expected <service>=<path or glob>`);
    (out[v.slice(0, i)] ??= []).push(v.slice(i + 1));
  }
  return out;
}

/**
 * Refuse a range the live exporter already covers (its counters would interleave with the
 * backfilled ones). An unreachable Prometheus only warns: a first backfill often runs before
 * Prometheus exists.
 */
async function checkLiveBoundary(
  loaded: LoadedConfig,
  url: string | undefined,
  sources: readonly string[],
  fromMs: number,
  toMs: number,
  logger: Logger,
): Promise<void> {
  const prom = PrometheusClient.fromConfig(loaded, url);
  let first: Map<string, number>;
  try {
    first = await firstLiveSamples(prom, sources, fromMs, toMs);
  } catch (e) {
    logger.warn(
      `backfill: could not ask Prometheus at ${prom.baseUrl} where the live exporter's samples start (${(e as Error).message}); make sure --to is before its first scrape`,
    );
    return;
  }
  const clash = [...first].sort((a, b) => a[1] - b[1])[0];
  if (clash)
    throw new UsageError(
      `--to ${new Date(toMs).toISOString()}: Prometheus at ${prom.baseUrl} already has live ${clash[0]} samples from ${new Date(clash[1]).toISOString()} (okr_source_up); backfill up to the exporter's first scrape: --to ${new Date(clash[1] - (clash[1] % 60_000)).toISOString()}`,
    );
}

export interface BackfillCommandResult extends BackfillResult {
  outDir: string;
  instructions: string;
  loadedInto?: string;
  failed: boolean;
}

export async function runBackfillCommand(
  loaded: LoadedConfig,
  opts: BackfillCliOptions,
  deps: { logger: Logger; clock: Clock; progress?: ProgressOptions; promtool?: string | null },
): Promise<BackfillCommandResult> {
  const now = deps.clock.now();
  const tz = loaded.config.calendar.timezone;
  const fromMs = parseInstant(opts.from, tz, now, '--from');
  const toMs = opts.to === undefined ? defaultEnd(tz, now) : parseInstant(opts.to, tz, now, '--to');
  if (!(toMs > fromMs)) throw new UsageError(`--to (${new Date(toMs).toISOString()}) must be after --from (${new Date(fromMs).toISOString()})`);
  if (toMs > now - HEAD_MARGIN_MS) throw new UsageError(`--to ${opts.to}: must be at least 3 hours ago (Prometheus' head block); use --to now for that`);
  let stepMs: number;
  try {
    stepMs = parseStep(opts.step ?? '5m');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const sources = parseSources(opts.sources, loaded);
  if (opts.prometheus !== false) await checkLiveBoundary(loaded, opts.prometheus, sources, fromMs, toMs, deps.logger);
  const outDir = resolve(opts.out ?? join(stateDir(loaded), 'backfill'));
  const promtool = opts.blocks === false ? null : deps.promtool !== undefined ? deps.promtool : (findBinary('promtool') ?? null);
  const ledger = new Ledger(ledgerPath(loaded));
  try {
    const result = await runBackfill({
      loaded,
      fromMs,
      toMs,
      stepMs,
      outDir,
      sources,
      promtool,
      logFiles: parseLogFiles(opts.logFiles),
      loadInto: opts.loadInto ? resolve(opts.loadInto) : undefined,
      force: opts.force,
      targetLabels: { job: opts.job ?? EXPORTER_JOB, instance: opts.instance ?? `okr-metrics:${DEFAULTS.port}` },
      logger: deps.logger,
      progress: new BackfillProgress(deps.progress),
      ledger,
      clock: deps.clock,
    });
    const loadedInto = opts.loadInto && promtool ? resolve(opts.loadInto) : undefined;
    return {
      ...result,
      outDir,
      instructions: loadingInstructions(outDir, result.outcomes),
      loadedInto,
      failed: result.outcomes.some((o) => o.status === 'failed'),
    };
  } finally {
    ledger.close();
  }
}

/** The summary printed on stdout. */
export function summary(r: BackfillCommandResult): string {
  const lines = [
    `backfill ${new Date(r.grid.firstMs).toISOString()} .. ${new Date(r.grid.lastMs).toISOString()} every ${r.grid.stepMs / 1000}s into ${r.outDir}`,
  ];
  for (const o of r.outcomes) {
    if (o.status === 'failed') lines.push(`  ${o.source}: FAILED: ${o.message}`);
    else if (o.status === 'skipped') lines.push(`  ${o.source}: skipped (${o.message})`);
    else lines.push(`  ${o.source}: ${o.status}, ${o.samples.toLocaleString('en-US')} samples, ${o.blocksDir ?? join(r.outDir, o.source)}`);
  }
  if (r.loadedInto) lines.push('', `Blocks copied into ${r.loadedInto}: restart Prometheus (or wait for its next block reload).`, '');
  else if (r.instructions) lines.push('', r.instructions);
  else if (r.outcomes.some((o) => o.files.length > 0))
    lines.push(
      '',
      'No blocks (promtool is not on the PATH, or --no-blocks): turn each .om file into blocks with `promtool tsdb create-blocks-from openmetrics --max-block-duration=744h <file> <dir>`.',
      '',
    );
  return `${lines.join('\n')}\n`;
}
