/**
 * `okr-metrics backfill`: each requested source rebuilds its history into a SeriesTimeline,
 * written as `<out>/<source>.om` and, with promtool, turned into TSDB blocks under
 * `<out>/blocks/<source>/`. Sources run side by side; one failing source does not stop the
 * others, and a rerun redoes only what is not finished (backfill-manifest.json). Every finished
 * source is recorded in the KR ledger.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CollectContext } from '../../exporters/collector.js';
import { SourceError } from '../../exporters/collector.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { SourceName } from '../conventions.js';
import type { Ledger } from '../okr/ledger.js';
import { archivedFiles, backfillApilogs } from './apilogs-backfill.js';
import { backfillBitbucket } from './bitbucket-backfill.js';
import { fingerprint, loadManifest, saveManifest, type ManifestEntry } from './backfill-manifest.js';
import { backfillJira } from './jira-backfill.js';
import { OpenMetricsWriter } from './openmetrics-writer.js';
import type { BackfillProgress, SourceProgress } from './progress-bar.js';
import { SeriesTimeline } from './series-timeline.js';
import { backfillSonarqube } from './sonarqube-backfill.js';
import { stepGrid, type StepGrid } from './step-grid.js';

export const BACKFILL_SOURCES = ['jira', 'sonarqube', 'bitbucket', 'apilogs'] as const satisfies readonly SourceName[];
export type BackfillSource = (typeof BACKFILL_SOURCES)[number];

/** Blocks as long as Prometheus' own largest compaction (31 days): few blocks, few passes over the file. */
export const MAX_BLOCK_DURATION = '744h';

export interface BackfillOptions {
  loaded: LoadedConfig;
  /** [fromMs, toMs): the grid instants inside are backfilled. */
  fromMs: number;
  toMs: number;
  stepMs: number;
  outDir: string;
  sources: readonly BackfillSource[];
  /** promtool's path; null writes OpenMetrics only. */
  promtool: string | null;
  /** apilogs: service → archived files (globs) to read instead of the configured paths. */
  logFiles?: Record<string, string[]>;
  /**
   * Labels Prometheus attaches to the live exporter's samples (job, instance), put on every
   * backfilled series so history and live data are one series each. Empty: none.
   */
  targetLabels?: Record<string, string>;
  logger: Logger;
  progress: BackfillProgress;
  ledger?: Ledger;
  signal?: AbortSignal;
  now?: () => number;
}

export interface SourceOutcome {
  source: BackfillSource;
  /** written: new output; unchanged: finished by an earlier run with the same inputs; skipped: not configured. */
  status: 'written' | 'unchanged' | 'failed' | 'skipped';
  samples: number;
  file?: string;
  blocksDir?: string;
  /** Grid instants with samples, Unix ms. */
  span?: { fromMs: number; toMs: number };
  message?: string;
}

export interface BackfillResult {
  grid: StepGrid;
  outcomes: SourceOutcome[];
}

export async function runBackfill(o: BackfillOptions): Promise<BackfillResult> {
  mkdirSync(o.outDir, { recursive: true });
  const grid = stepGrid(o.fromMs, o.toMs, o.stepMs);
  const manifest = loadManifest(o.outDir);
  const outcomes = await Promise.all(
    o.sources.map(async (source): Promise<SourceOutcome> => {
      const progress = o.progress.source(source);
      try {
        const out = await runSource(o, source, grid, manifest.sources, progress);
        saveManifest(o.outDir, manifest);
        progress.finish(out.status === 'unchanged' ? 'unchanged (finished by an earlier run)' : out.status === 'skipped' ? `skipped: ${out.message}` : `done, ${out.samples.toLocaleString('en-US')} samples`);
        return out;
      } catch (e) {
        const message = failureMessage(source, e, o.outDir);
        progress.finish('FAILED');
        return { source, status: 'failed', samples: 0, message };
      }
    }),
  );
  o.progress.close();
  for (const out of outcomes) {
    if ((out.status === 'written' || out.status === 'unchanged') && o.ledger && out.file) {
      const entry = manifest.sources[out.source]!;
      o.ledger.recordBackfill({ source: out.source, from_ms: grid.firstMs, to_ms: grid.lastMs, samples: entry.samples, output: out.blocksDir ?? out.file, created_at: (o.now ?? Date.now)() });
    }
  }
  return { grid, outcomes };
}

function failureMessage(source: string, e: unknown, outDir: string): string {
  const what = e instanceof Error ? e.message : String(e);
  const fix =
    e instanceof SourceError && e.status === 401
      ? 'check the credentials in sources.' + source
      : e instanceof SourceError
        ? 'fix the source or wait for it to come back'
        : 'fix the cause';
  return `${what}\n  ${fix}, then run the same command again: finished sources are skipped${source === 'jira' ? `, and sprints already read are kept in ${join(outDir, 'state', 'jira')}` : ''}.`;
}

async function runSource(o: BackfillOptions, source: BackfillSource, grid: StepGrid, entries: Record<string, ManifestEntry>, progress: SourceProgress): Promise<SourceOutcome> {
  const settings = o.loaded.config.sources[source];
  if (!settings || settings.enabled === false) return { source, status: 'skipped', samples: 0, message: `sources.${source} is not configured or not enabled` };
  const rel = `${source}.om`;
  const file = join(o.outDir, rel);
  const fp = fingerprint({ source, settings, teams: o.loaded.config.teams, calendar: o.loaded.config.calendar, grid, target: o.targetLabels ?? {}, inputs: inputsOf(o, source) });
  let entry = entries[source];
  let status: SourceOutcome['status'] = 'unchanged';
  if (!(entry && entry.fingerprint === fp && existsSync(file) && statSync(file).size === entry.bytes)) {
    status = 'written';
    const tl = new SeriesTimeline(grid);
    const ctx: CollectContext = { signal: o.signal ?? new AbortController().signal, logger: o.logger, countRequest: () => progress.request() };
    if (source === 'jira') await backfillJira(o.loaded, tl, ctx, progress, join(o.outDir, 'state', 'jira'));
    else if (source === 'sonarqube') await backfillSonarqube(o.loaded, tl, ctx, progress);
    else if (source === 'bitbucket') await backfillBitbucket(o.loaded, tl, ctx, progress, { fromMs: o.fromMs }, join(o.outDir, 'state', 'bitbucket'));
    else await backfillApilogs(o.loaded, tl, progress, { fromMs: o.fromMs, toMs: o.toMs }, { files: o.logFiles });
    // Written aside and renamed: an interrupted run never leaves a file that looks finished.
    const w = new OpenMetricsWriter(`${file}.tmp`);
    await w.timeline(tl, o.targetLabels);
    await w.close();
    renameSync(`${file}.tmp`, file);
    entry = { fingerprint: fp, from_ms: grid.firstMs, to_ms: grid.lastMs, step_ms: grid.stepMs, samples: w.samples, bytes: w.bytes, sha256: w.digest, file: rel };
    entries[source] = entry;
  }
  const out: SourceOutcome = { source, status, samples: entry.samples, file };
  if (o.promtool && entry.samples > 0) {
    const dir = join('blocks', source);
    const abs = join(o.outDir, dir);
    if (!(entry.blocks?.sha256 === entry.sha256 && entry.blocks.ulids.every((u) => existsSync(join(abs, u))))) {
      rmSync(abs, { recursive: true, force: true });
      mkdirSync(abs, { recursive: true });
      await createBlocks(o.promtool, file, abs);
      entry.blocks = { dir, sha256: entry.sha256, ulids: readdirSync(abs).filter((d) => /^[0-9A-Z]{26}$/.test(d)).sort() };
    }
    out.blocksDir = abs;
  }
  return out;
}

/** Inputs beyond the config that decide the output: the archived files, by size and mtime. */
function inputsOf(o: BackfillOptions, source: BackfillSource): unknown {
  if (source !== 'apilogs') return null;
  const svcs = o.loaded.config.sources.apilogs?.services ?? [];
  return svcs.map((s) => ({
    service: s.name,
    files: archivedFiles(s, o.loaded.baseDir, o.logFiles?.[s.name])
      .sort()
      .map((f) => {
        const st = statSync(f);
        return [f, st.size, st.mtimeMs];
      }),
  }));
}

export function createBlocks(promtool: string, file: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', `--max-block-duration=${MAX_BLOCK_DURATION}`, file, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`promtool tsdb create-blocks-from openmetrics ${file} failed (exit ${code}): ${output.trim()}`))));
  });
}

/** How to load the blocks, for a plain Prometheus and for this repository's docker-compose stack. */
export function loadingInstructions(outDir: string, outcomes: SourceOutcome[]): string {
  const dirs = outcomes.filter((o) => o.blocksDir).map((o) => o.blocksDir!);
  if (dirs.length === 0) return '';
  return [
    'To load the blocks into Prometheus (2.39 or later merges overlapping blocks by itself):',
    `  cp -r ${dirs.map((d) => `${d}/*`).join(' ')} <prometheus --storage.tsdb.path>/`,
    '  then restart Prometheus (or wait for its next block reload); check with: promtool tsdb list <storage.tsdb.path>',
    "For this repository's docker-compose stack (volume okr-metrics_prometheus-data, Prometheus runs as nobody):",
    `  docker run --rm -v okr-metrics_prometheus-data:/prometheus -v ${outDir}/blocks:/blocks:ro busybox sh -c 'cp -r /blocks/*/* /prometheus/ && chown -R 65534:65534 /prometheus'`,
    '  docker compose restart prometheus',
    '',
  ].join('\n');
}
