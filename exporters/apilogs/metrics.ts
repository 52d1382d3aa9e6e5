/** The metric names and fixed label values of the API access-log source: collectors, generators, dashboards and tests import them. */

export const APILOGS_METRICS = {
  requests: 'api_requests_total',
  duration: 'api_request_duration_seconds',
  lines: 'api_log_lines_total',
  routesOverflow: 'api_routes_overflow_total',
  files: 'api_log_files_watched',
  bytesRead: 'api_log_read_bytes_total',
  rotations: 'api_log_rotations_total',
  /** Configured paths/globs that currently match no file (missing files are retried every poll). */
  filesMissing: 'api_log_files_missing',
} as const;

/** `result` label values of api_log_lines_total. */
export const LOG_LINE_RESULTS = ['parsed', 'malformed'] as const;
/** HTTP methods kept as their own `method` label value; anything else becomes OTHER_METHOD. */
export const STANDARD_HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export const OTHER_METHOD = 'OTHER';

/** Default histogram buckets for request latency, in seconds. */
export const DEFAULT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Label value that absorbs routes past the per-service cap. */
export const OVERFLOW_ROUTE = 'other';
