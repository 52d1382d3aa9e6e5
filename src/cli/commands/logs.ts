/**
 * `okr-metrics logs`: one-shot mode (like `mtail --one_shot`). Reads the files to their end
 * and returns the Prometheus exposition of the apilogs metrics; nothing is followed or saved.
 */
import { countFiles } from '../../../exporters/apilogs/one-shot.js';
import { apilogsSnapshot } from '../../../exporters/apilogs/apilogs-snapshot.js';
import { ApiService } from '../../../exporters/apilogs/config.js';
import { createServiceCounters } from '../../../exporters/apilogs/service-setup.js';
import { renderSnapshot } from '../../server/exposition.js';

export interface LogsOptions {
  format?: 'nginx' | 'json' | 'regex';
  logFormat?: string;
  regex?: string;
  durationUnit?: 's' | 'ms' | 'us' | 'ns';
  service?: string;
  routes?: string[];
  maxRoutes?: number;
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

export async function runLogs(files: string[], opts: LogsOptions = {}): Promise<LogsResult> {
  const parsed = ApiService.safeParse({
    name: opts.service ?? 'api',
    files,
    format: opts.format,
    log_format: opts.logFormat,
    regex: opts.regex,
    duration_unit: opts.durationUnit,
    routes: opts.routes,
    max_routes: opts.maxRoutes,
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new LogsUsageError(`${i.path.join('.') || 'options'}: ${i.message}`);
  }
  let counters;
  try {
    counters = createServiceCounters(parsed.data);
  } catch (e) {
    throw new LogsUsageError((e as Error).message);
  }
  const started = performance.now();
  const { failed } = countFiles(files, counters);
  const countSeconds = (performance.now() - started) / 1000;
  const exposition = await renderSnapshot(apilogsSnapshot([counters], { files: false }));
  return { exposition: exposition.endsWith('\n') ? exposition : `${exposition}\n`, failed, lines: counters.parsed + counters.malformed, requests: counters.requests, bytes: counters.bytesRead, countSeconds };
}
