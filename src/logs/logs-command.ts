/**
 * `okr-metrics logs`: one-shot mode (like `mtail --one_shot`). Reads the files to their end
 * and returns the Prometheus exposition of the apilogs metrics; nothing is followed or saved.
 *
 * Deliberately free of the config schema (zod): this command is benchmarked end to end
 * against mtail, so it loads only the parser, the counters and the exposition. The checks
 * that matter here are the ones compiling the format, which are the same code the schema runs.
 */
import { apilogsSnapshot } from '../../exporters/apilogs/apilogs-snapshot.js';
import { DEFAULT_NGINX_LOG_FORMAT } from '../../exporters/apilogs/nginx-format.js';
import { countFilesParallel } from '../../exporters/apilogs/parallel-one-shot.js';
import { DURATION_UNITS, type DurationUnit } from '../../exporters/apilogs/parsed-request.js';
import { createServiceCounters } from '../../exporters/apilogs/service-setup.js';
import { DEFAULT_LATENCY_BUCKETS } from '../../exporters/apilogs/metrics.js';
import { snapshotProblem } from '../core/snapshot.js';
import { renderSnapshot } from '../serve/exposition.js';

export interface LogsOptions {
  format?: 'nginx' | 'json' | 'regex';
  logFormat?: string;
  regex?: string;
  durationUnit?: DurationUnit;
  service?: string;
  routes?: string[];
  maxRoutes?: number;
  /**
   * Counting threads (default 1). More pay off only for large inputs on a machine with idle
   * cores: a thread costs ~0.1 s to start, and on a busy machine it only competes.
   */
  threads?: number;
}

export interface LogsResult {
  exposition: string;
  /** Files that could not be read (reported; the others are still counted). */
  failed: Array<{ file: string; error: string }>;
  lines: number;
  requests: number;
  bytes: number;
  /** Time spent reading and counting, without start-up and rendering. */
  countSeconds: number;
}

export class LogsUsageError extends Error {}

const FORMATS = ['nginx', 'json', 'regex'];

export async function runLogs(files: string[], opts: LogsOptions = {}): Promise<LogsResult> {
  const format = opts.format ?? 'nginx';
  const durationUnit = opts.durationUnit ?? 's';
  const maxRoutes = opts.maxRoutes ?? 200;
  if (!FORMATS.includes(format)) throw new LogsUsageError(`--format: must be one of ${FORMATS.join(', ')}`);
  if (!DURATION_UNITS.includes(durationUnit)) throw new LogsUsageError(`--duration-unit: must be one of ${DURATION_UNITS.join(', ')}`);
  if (!Number.isInteger(maxRoutes) || maxRoutes < 1) throw new LogsUsageError('--max-routes: must be a whole number of at least 1');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64)) throw new LogsUsageError('--threads: must be a whole number from 1 to 64');
  if (format === 'regex' && !opts.regex) throw new LogsUsageError('--regex: format regex needs a regex with named groups');
  for (const r of opts.routes ?? []) if (!r.startsWith('/')) throw new LogsUsageError(`--route ${r}: route templates start with /`);
  const logFormat = opts.logFormat ?? DEFAULT_NGINX_LOG_FORMAT;
  const settings = {
    name: opts.service ?? 'api',
    format,
    log_format: logFormat,
    regex: opts.regex,
    duration_unit: durationUnit,
    routes: opts.routes ?? [],
    max_routes: maxRoutes,
    buckets: DEFAULT_LATENCY_BUCKETS,
  };
  let counters;
  try {
    // Compiles the log_format (or the regex) once: its errors are the usage errors.
    counters = createServiceCounters(settings);
  } catch (e) {
    throw new LogsUsageError(`${format === 'regex' ? '--regex' : '--log-format'}: ${(e as Error).message}`);
  }
  const started = performance.now();
  const { failed } = await countFilesParallel(files, settings, counters, { threads: opts.threads ?? 1 });
  const countSeconds = (performance.now() - started) / 1000;
  const snapshot = apilogsSnapshot([counters], { files: false });
  // The same check serve's runner applies: never print an exposition Prometheus would reject.
  const problem = snapshotProblem(snapshot);
  if (problem) throw new Error(`internal error, refusing to print an invalid exposition: ${problem}`);
  const exposition = await renderSnapshot(snapshot);
  return { exposition: exposition.endsWith('\n') ? exposition : `${exposition}\n`, failed, lines: counters.parsed + counters.malformed, requests: counters.requests, bytes: counters.bytesRead, countSeconds };
}
