/**
 * `okr-metrics logs`: one-shot mode (like `mtail --one_shot`). Reads the files to their end
 * and returns the Prometheus exposition of the apilogs metrics; nothing is followed or saved.
 *
 * Deliberately free of the config schema (zod): this command is benchmarked end to end
 * against mtail, so it loads only the parser, the counters and the exposition. The checks
 * that matter here are the ones compiling the format, which are the same code the schema runs.
 */
import { apilogsSnapshot } from '../../exporters/apilogs/apilogs-snapshot.js';
import { describeWarning, formatName, type FormatWarning } from '../../exporters/apilogs/format-detection.js';
import { FORMAT_NAMES, type FormatName, resolveFormat } from '../../exporters/apilogs/log-presets.js';
import { countFilesParallel } from '../../exporters/apilogs/parallel-one-shot.js';
import { ONE_SHOT_ROUTE_CAP } from '../../exporters/apilogs/route-table.js';
import { DURATION_UNITS, type DurationUnit } from '../../exporters/apilogs/parsed-request.js';
import { createServiceCounters } from '../../exporters/apilogs/service-setup.js';
import { DEFAULT_LATENCY_BUCKETS } from '../../exporters/apilogs/metrics.js';
import { snapshotProblem } from '../core/snapshot.js';
import { renderSnapshot } from '../serve/exposition.js';

export interface LogsOptions {
  /** A preset (default combined_rt), nginx (with logFormat; the default when it is given), or regex. */
  format?: FormatName;
  logFormat?: string;
  regex?: string;
  durationUnit?: DurationUnit;
  service?: string;
  routes?: string[];
  maxRoutes?: number;
  /** Called with each format warning (one line) as soon as it is found; they are also in the result. */
  onFormatWarning?: (line: string) => void;
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
  /** One line per file whose first lines mostly do not fit the format (for stderr). */
  formatWarnings: string[];
  bytes: number;
  /** Time spent reading and counting, without start-up and rendering. */
  countSeconds: number;
}

export class LogsUsageError extends Error {}

export async function runLogs(files: string[], opts: LogsOptions = {}): Promise<LogsResult> {
  const durationUnit = opts.durationUnit ?? 's';
  const maxRoutes = opts.maxRoutes ?? 200;
  if (opts.format !== undefined && !(FORMAT_NAMES as readonly string[]).includes(opts.format))
    throw new LogsUsageError(`--format: must be one of ${FORMAT_NAMES.join(', ')}`);
  if (!DURATION_UNITS.includes(durationUnit)) throw new LogsUsageError(`--duration-unit: must be one of ${DURATION_UNITS.join(', ')}`);
  if (!Number.isInteger(maxRoutes) || maxRoutes < 1) throw new LogsUsageError('--max-routes: must be a whole number of at least 1');
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64))
    throw new LogsUsageError('--threads: must be a whole number from 1 to 64');
  if (opts.format === 'regex' && !opts.regex) throw new LogsUsageError('--regex: format regex needs a regex with named groups');
  for (const r of opts.routes ?? []) if (!r.startsWith('/')) throw new LogsUsageError(`--route ${r}: route templates start with /`);
  let resolved;
  try {
    resolved = resolveFormat(opts.format, opts.logFormat);
  } catch (e) {
    throw new LogsUsageError(`--log-format: ${(e as Error).message}`);
  }
  const format = resolved.format;
  const settings = {
    name: opts.service ?? 'api',
    format,
    log_format: resolved.log_format,
    regex: opts.regex,
    duration_unit: durationUnit,
    routes: opts.routes ?? [],
    max_routes: maxRoutes,
    buckets: DEFAULT_LATENCY_BUCKETS,
  };
  let counters;
  try {
    // Compiles the log_format (or the regex) once: its errors are the usage errors.
    counters = createServiceCounters(settings, ONE_SHOT_ROUTE_CAP);
  } catch (e) {
    throw new LogsUsageError(`${format === 'regex' ? '--regex' : '--log-format'}: ${(e as Error).message}`);
  }
  const started = performance.now();
  const describe = (w: FormatWarning) => describeWarning(w, formatName(settings));
  const onWarning = opts.onFormatWarning && ((w: FormatWarning) => opts.onFormatWarning!(describe(w)));
  const { failed, formatWarnings } = await countFilesParallel(files, settings, counters, {
    threads: opts.threads ?? 1,
    detect: true,
    onWarning,
    cap: ONE_SHOT_ROUTE_CAP,
  });
  const countSeconds = (performance.now() - started) / 1000;
  const snapshot = apilogsSnapshot([counters], { files: false });
  // The same check serve's runner applies: never print an exposition Prometheus would reject.
  const problem = snapshotProblem(snapshot);
  if (problem) throw new Error(`internal error, refusing to print an invalid exposition: ${problem}`);
  const exposition = await renderSnapshot(snapshot);
  return {
    exposition: exposition.endsWith('\n') ? exposition : `${exposition}\n`,
    failed,
    lines: counters.parsed + counters.malformed,
    requests: counters.requests,
    formatWarnings: formatWarnings.map(describe),
    bytes: counters.bytesRead,
    countSeconds,
  };
}
