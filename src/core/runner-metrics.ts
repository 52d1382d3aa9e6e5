/**
 * The source runner's own series and the bounded reasons a collection fails: shared by the
 * runner, every source's HTTP client, the KR engine's staleness check, alerts and dashboards.
 */

/** The exporter's own health, one series per source (node_exporter's scrape_collector_* idea). */
export const RUNNER_METRICS = {
  up: 'okr_source_up',
  lastSuccess: 'okr_source_last_success_timestamp_seconds',
  collectDuration: 'okr_source_collect_duration_seconds',
  errors: 'okr_source_errors_total',
  requests: 'okr_source_requests_total',
  refreshInterval: 'okr_source_refresh_interval_seconds',
  info: 'okr_metrics_build_info',
  /** 1 while this process holds the state directory (collects, evaluates), 0 as a standby. */
  active: 'okr_metrics_active',
} as const;

/**
 * A source's data is stale once its last success is older than this many refresh intervals:
 * the KR engine then shows its KRs as no_data, and OkrSourceStale fires.
 */
export const STALE_AFTER_INTERVALS = 3;

/** Why a collection failed: the `reason` label of okr_source_errors_total. Bounded set. */
export const ERROR_REASONS = ['timeout', 'error', 'invalid_output', 'auth', 'rate_limited', 'not_found', 'http'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];
