/**
 * One-shot counting on several cores: the files are cut into ranges at line starts, the
 * main thread counts the first share while worker threads count the others, and their
 * counts are merged by label value (`okr-metrics logs --threads N`). Worth it only for large
 * inputs on a machine with idle cores: a worker costs about 0.1 s to start. Counts equal a single-threaded pass, except that with more
 * distinct routes than max_routes the routes kept are those seen first per share.
 */
import { Worker } from 'node:worker_threads';
import { readBuffer } from './line-splitter.js';
import { countFileRange, countFiles, type FileRange, type OneShotResult, splitFiles, STDIN } from './one-shot.js';
import type { ExportedCounts, ServiceCounters } from './service-counters.js';
import type { ServiceSettings } from './service-setup.js';

export interface ParallelOptions {
  threads: number;
}

export interface WorkerInput {
  settings: ServiceSettings;
  /** Structured cloning keeps `end: Infinity` as it is. */
  ranges: FileRange[];
}

export async function countFilesParallel(files: readonly string[], settings: ServiceSettings, counters: ServiceCounters, opts: ParallelOptions): Promise<OneShotResult> {
  // Standard input cannot be cut into ranges.
  if (opts.threads <= 1 || files.includes(STDIN)) return countFiles(files, counters);
  const { ranges, failed } = splitFiles(files, opts.threads);
  const workers = ranges.slice(1).filter((r) => r.length > 0).map((r) => runWorker({ settings, ranges: r }));
  const buf = readBuffer();
  for (const range of ranges[0] ?? []) countFileRange(range, counters, buf);
  for (const exported of await Promise.all(workers)) counters.mergeCounts(exported);
  return { files: files.length - failed.length, failed };
}

function runWorker(input: WorkerInput): Promise<ExportedCounts> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./one-shot-worker.js', import.meta.url), { workerData: input });
    let result: ExportedCounts | undefined;
    w.once('message', (m: ExportedCounts) => (result = m));
    w.once('error', reject);
    w.once('exit', (code) => (result ? resolve(result) : reject(new Error(`counting thread exited with code ${code}`))));
  });
}
