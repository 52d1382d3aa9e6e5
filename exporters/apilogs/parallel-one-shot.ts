/**
 * One-shot counting on several cores: the files are cut into ranges at line starts, the
 * main thread counts the first share while worker threads count the others, and their
 * counts are merged by label value (`okr-metrics logs --threads N`). Worth it only for large
 * inputs on a machine with idle cores: a worker costs about 0.1 s to start. Counts equal a single-threaded pass, except that with more
 * distinct routes than max_routes each thread's cap decides on its own share (its busiest routes).
 */
import { Worker } from 'node:worker_threads';
import { FormatDetector, type FormatWarning } from './format-detection.js';
import { readBuffer } from './line-splitter.js';
import { countFileRange, countFiles, type FileRange, type OneShotResult, splitFiles, STDIN } from './one-shot.js';
import type { RouteCapPolicy } from './route-table.js';
import type { ExportedCounts, ServiceCounters } from './service-counters.js';
import type { ServiceSettings } from './service-setup.js';

export interface ParallelOptions {
  threads: number;
  /** The route cap's policy of `counters`, for the threads' own counters (no clock: it does not cross threads). */
  cap: RouteCapPolicy;
  /** Check the first lines of each file against the format (warnings in the result). */
  detect?: boolean;
  /** Called as soon as a warning is found (a worker's once the main thread is free to hear it). */
  onWarning?: (w: FormatWarning) => void;
}

export interface WorkerInput {
  settings: ServiceSettings;
  /** Structured cloning keeps `end: Infinity` as it is. */
  ranges: FileRange[];
  detect: boolean;
  cap: RouteCapPolicy;
}

/** A worker posts each format warning when found, then its counts. */
export type WorkerMessage = { warning: FormatWarning } | { counts: ExportedCounts };

export async function countFilesParallel(
  files: readonly string[],
  settings: ServiceSettings,
  counters: ServiceCounters,
  opts: ParallelOptions,
): Promise<OneShotResult> {
  const detector = opts.detect ? new FormatDetector(settings) : undefined;
  // Standard input cannot be cut into ranges.
  if (opts.threads <= 1 || files.includes(STDIN)) return countFiles(files, counters, detector, opts.onWarning);
  const { ranges, failed } = splitFiles(files, opts.threads);
  const formatWarnings: FormatWarning[] = [];
  const report = (w: FormatWarning) => {
    formatWarnings.push(w);
    opts.onWarning?.(w);
  };
  const workers = ranges
    .slice(1)
    .filter((r) => r.length > 0)
    .map((r) => runWorker({ settings, ranges: r, detect: opts.detect ?? false, cap: opts.cap }, report));
  const buf = readBuffer();
  for (const range of ranges[0] ?? []) countFileRange(range, counters, buf, detector, report);
  for (const counts of await Promise.all(workers)) counters.mergeCounts(counts);
  return { files: files.length - failed.length, failed, formatWarnings };
}

function runWorker(input: WorkerInput, report: (w: FormatWarning) => void): Promise<ExportedCounts> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./one-shot-worker.js', import.meta.url), { workerData: input });
    let result: ExportedCounts | undefined;
    w.on('message', (m: WorkerMessage) => {
      if ('warning' in m) report(m.warning);
      else result = m.counts;
    });
    w.once('error', reject);
    w.once('exit', (code) => (result ? resolve(result) : reject(new Error(`counting thread exited with code ${code}`))));
  });
}
