/**
 * `okr-metrics backfill`: each requested source rebuilds its history into a SeriesTimeline,
 * written as one OpenMetrics file per month, `<out>/<source>/YYYY-MM.om`, and, with promtool,
 * turned into TSDB blocks under `<out>/blocks/<source>/`. Sources run side by side (those that join delivery
 * feeds after the others, whose feeds they read); one failing source does not stop the
 * others, and a rerun redoes only what is not finished (backfill-manifest.json). Every finished
 * source is recorded in the KR ledger.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CollectContext } from '../core/source.js';
import { SourceError } from '../core/source.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { Ledger } from '../engine/ledger.js';
import { fingerprint, loadManifest, saveManifest, type ChunkEntry, type Manifest, type ManifestEntry } from './backfill-manifest.js';
import { OpenMetricsWriter } from './openmetrics-writer.js';
import type { BackfillProgress } from './progress-bar.js';
import type { SourceProgress } from '../core/source.js';
import { SeriesTimeline } from '../core/series-timeline.js';
import { monthChunks, stepGrid, type StepGrid } from '../core/step-grid.js';
import type { Clock } from '../core/clock.js';
import type { AnySourcePlugin } from '../core/source.js';
import { sourceSettings } from '../config/okr-schema.js';
import { sourceDeps } from '../config/source-deps.js';
import { stateDir as liveStateDir } from '../config/state-paths.js';
import { feedsDigest } from '../core/delivery-feed.js';

/** A source name whose plugin has a backfill. */
export type BackfillSource = string;

/** The sources of the loaded file that can rebuild their history. */
export function backfillSources(loaded: LoadedConfig): AnySourcePlugin[] {
  return loaded.sources.filter((p) => p.backfill !== undefined);
}

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
  /**
   * A Prometheus data directory to copy the blocks into (a running Prometheus loads them within
   * a minute); blocks already there (same ULID) are left alone.
   */
  loadInto?: string;
  /** Rebuild every source even when an earlier run finished it with the same inputs (the sources' data may have been edited since). */
  force?: boolean;
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
  /** The live collectors' notion of now (closed sprints, current period), and the ledger's created_at. */
  clock: Clock;
}

export interface SourceOutcome {
  source: BackfillSource;
  /** written: new output; unchanged: finished by an earlier run with the same inputs; skipped: not configured. */
  status: 'written' | 'unchanged' | 'failed' | 'skipped';
  samples: number;
  /** The OpenMetrics files, one per month with samples. */
  files: string[];
  blocksDir?: string;
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
  // Sources that join delivery feeds read what the others publish in this run: they go second.
  const joins = (s: BackfillSource) => o.loaded.sources.find((p) => p.name === s)?.joinsFeeds === true;
  const run = (sources: readonly BackfillSource[]) =>
    Promise.all(
      sources.map(async (source): Promise<SourceOutcome> => {
        const progress = o.progress.source(source);
        try {
          const out = await runSource(o, source, grid, manifest, progress);
          progress.finish(
            out.status === 'unchanged'
              ? 'unchanged (finished by an earlier run)'
              : out.status === 'skipped'
                ? `skipped: ${out.message}`
                : `done, ${out.samples.toLocaleString('en-US')} samples`,
          );
          return out;
        } catch (e) {
          const message = failureMessage(source, e, o.outDir);
          progress.finish('FAILED');
          return { source, status: 'failed', samples: 0, files: [], message };
        }
      }),
    );
  const first = await run(o.sources.filter((s) => !joins(s)));
  const second = await run(o.sources.filter(joins));
  const outcomes = o.sources.map((s) => [...first, ...second].find((x) => x.source === s)!);
  o.progress.close();
  for (const out of outcomes) {
    if ((out.status === 'written' || out.status === 'unchanged') && o.ledger) {
      const entry = manifest.sources[out.source]!;
      o.ledger.recordBackfill({
        source: out.source,
        from_ms: grid.firstMs,
        to_ms: grid.lastMs,
        samples: entry.samples,
        output: out.blocksDir ?? join(o.outDir, out.source),
        created_at: o.clock.now(),
      });
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

/** Saves the manifest itself, after each step that changes it (sources run side by side and share it). */
async function runSource(o: BackfillOptions, source: BackfillSource, grid: StepGrid, manifest: Manifest, progress: SourceProgress): Promise<SourceOutcome> {
  const plugin = o.loaded.sources.find((p) => p.name === source);
  const settings = sourceSettings(o.loaded.config, source);
  if (!plugin?.backfill || !settings || settings.enabled === false)
    return { source, status: 'skipped', samples: 0, files: [], message: `sources.${source} is not configured or not enabled` };
  const deps = sourceDeps(o.loaded, plugin, { stateDir: join(o.outDir, 'state', source), clock: o.clock, logger: o.logger });
  const feedDirs = [join(o.outDir, 'state', 'feeds'), liveStateDir(o.loaded)];
  const fp = fingerprint({
    source,
    settings,
    teams: o.loaded.config.teams,
    calendar: o.loaded.config.calendar,
    grid,
    target: o.targetLabels ?? {},
    inputs: plugin.backfillInputs?.(deps, o.logFiles) ?? null,
    ...(plugin.joinsFeeds ? { feeds: feedsDigest(feedDirs) } : {}),
  });
  let entry = manifest.sources[source];
  let status: SourceOutcome['status'] = 'unchanged';
  const finished = (e: ManifestEntry) => e.chunks.every((c) => existsSync(join(o.outDir, c.file)) && statSync(join(o.outDir, c.file)).size === c.bytes);
  if (o.force || !(entry && entry.fingerprint === fp && finished(entry))) {
    status = 'written';
    const tl = new SeriesTimeline(grid);
    const ctx: CollectContext = { signal: o.signal ?? new AbortController().signal, logger: o.logger, countRequest: () => progress.request() };
    await plugin.backfill({ ...deps, timeline: tl, range: { fromMs: o.fromMs, toMs: o.toMs }, collect: ctx, progress, files: o.logFiles, feedDirs });
    const previous = new Map((entry?.chunks ?? []).map((c) => [c.name, c]));
    const chunks: ChunkEntry[] = [];
    mkdirSync(join(o.outDir, source), { recursive: true });
    for (const c of monthChunks(grid)) {
      o.signal?.throwIfAborted();
      const rel = join(source, `${c.name}.om`);
      const file = join(o.outDir, rel);
      // Written aside and renamed: an interrupted run never leaves a file that looks finished.
      const w = new OpenMetricsWriter(`${file}.tmp`);
      await w.timeline(tl, o.targetLabels, { fromMs: c.firstMs, toMs: c.lastMs });
      await w.close();
      if (w.samples === 0) {
        rmSync(`${file}.tmp`);
        rmSync(file, { force: true });
        continue;
      }
      renameSync(`${file}.tmp`, file);
      const old = previous.get(c.name);
      chunks.push({ name: c.name, file: rel, samples: w.samples, bytes: w.bytes, sha256: w.digest, ...(old?.blocks ? { blocks: old.blocks } : {}) });
    }
    entry = { fingerprint: fp, from_ms: grid.firstMs, to_ms: grid.lastMs, step_ms: grid.stepMs, samples: chunks.reduce((n, c) => n + c.samples, 0), chunks };
    manifest.sources[source] = entry;
    // Saved before promtool runs: if it fails, the rerun only makes the blocks.
    saveManifest(o.outDir, manifest);
  }
  const out: SourceOutcome = { source, status, samples: entry.samples, files: entry.chunks.map((c) => join(o.outDir, c.file)) };
  if (o.promtool) {
    const dir = join(o.outDir, 'blocks', source);
    mkdirSync(dir, { recursive: true });
    for (const c of entry.chunks) {
      // Blocks are kept while they were made from this very file (promtool's ULIDs differ per run).
      if (c.blocks?.sha256 === c.sha256 && c.blocks.ulids.every((u) => existsSync(join(dir, u)))) continue;
      const tmp = join(o.outDir, 'blocks', `.${source}-${c.name}.tmp`);
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await createBlocks(o.promtool, join(o.outDir, c.file), tmp, o.signal);
      for (const u of c.blocks?.ulids ?? []) rmSync(join(dir, u), { recursive: true, force: true });
      const ulids = readdirSync(tmp)
        .filter((d) => /^[0-9A-Z]{26}$/.test(d))
        .sort();
      for (const u of ulids) renameSync(join(tmp, u), join(dir, u));
      rmSync(tmp, { recursive: true, force: true });
      c.blocks = { sha256: c.sha256, ulids };
      // Saved after every chunk: an interrupted promtool run redoes only the chunks left.
      saveManifest(o.outDir, manifest);
    }
    // Blocks of months that no longer have data (or of an older layout) would duplicate samples.
    const keep = new Set(entry.chunks.flatMap((c) => c.blocks?.ulids ?? []));
    for (const d of readdirSync(dir)) if (!keep.has(d)) rmSync(join(dir, d), { recursive: true, force: true });
    out.blocksDir = dir;
    if (o.loadInto) {
      mkdirSync(o.loadInto, { recursive: true });
      for (const u of keep) {
        if (existsSync(join(o.loadInto, u))) continue;
        // Copied aside and renamed: a running Prometheus (it reloads blocks every minute) never
        // sees half a block; it skips and removes `*.tmp-for-creation` directories itself.
        const aside = join(o.loadInto, `${u}.tmp-for-creation`);
        rmSync(aside, { recursive: true, force: true });
        cpSync(join(dir, u), aside, { recursive: true });
        renameSync(aside, join(o.loadInto, u));
      }
    }
  }
  return out;
}

/** promtool's block step; an aborted `signal` kills promtool. */
export function createBlocks(promtool: string, file: string, dir: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', `--max-block-duration=${MAX_BLOCK_DURATION}`, file, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`promtool tsdb create-blocks-from openmetrics ${file} failed (exit ${code}): ${output.trim()}`)),
    );
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
