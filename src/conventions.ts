/**
 * Every metric, label, rule and dashboard-uid name okr-metrics uses, in one place.
 * Collectors, generators, dashboards and tests import names from here instead of
 * repeating strings, so a rename is one edit and a typo is a compile error.
 */

/** Key-result evaluation results, exported by `serve` for the current period. */
export const KR_METRICS = {
  value: 'okr_key_result_value',
  target: 'okr_key_result_target',
  baseline: 'okr_key_result_baseline',
  progress: 'okr_key_result_progress_ratio',
  expectedProgress: 'okr_key_result_expected_progress_ratio',
  forecast: 'okr_key_result_forecast_value',
  /** 1 when the linear forecast reaches the target by the period's end: the pace alerts read it. */
  forecastOnTarget: 'okr_key_result_forecast_on_target',
  status: 'okr_key_result_status',
  objectiveProgress: 'okr_objective_progress_ratio',
  lastEvaluation: 'okr_engine_last_evaluation_timestamp_seconds',
} as const;

export const KR_STATUSES = ['done', 'on_track', 'at_risk', 'off_track', 'no_data'] as const;
export type KrStatus = (typeof KR_STATUSES)[number];

/** Prefix of every recording rule okr-metrics generates (sloth's `slo:` idea, our namespace). */
export const RULE_PREFIX = 'okr';

/** Rolling windows the generated recording rules precompute for API availability and latency. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '6h', '1d', '3d', '30d'] as const;

/** Stable dashboard uids: Grafana links and provisioning depend on them never changing. */
export const DASHBOARD_UID = {
  overview: 'okr-overview',
  api: 'okr-api',
  delivery: 'okr-delivery',
  quality: 'okr-code-quality',
  bitbucket: 'okr-bitbucket',
  deliveryPerformance: 'okr-delivery-performance',
  health: 'okr-exporter-health',
} as const;

/** Fixed uid of the provisioned Prometheus datasource, referenced by every panel. */
export const DATASOURCE_UID = 'okr-prometheus';

/** Defaults the CLI and docs agree on. */
export const DEFAULTS = {
  configFile: 'okrs.yaml',
  port: 9797,
  /** This machine only: reaching /metrics and /report from elsewhere is a choice (README "Threat model"). */
  host: '127.0.0.1',
  prometheusUrl: 'http://127.0.0.1:9090',
} as const;

/**
 * Multi-window, multi-burn-rate SLO alerts over a rolling 30 days (Google SRE workbook ch. 5,
 * the windows of sloth's google-30d.yaml), kept as data: an alert fires when the error ratio
 * over both windows exceeds `factor` × the error budget. No `for:`: the short window already
 * keeps a blip quiet, and a `for:` would only add its length to the detection time (a total
 * outage then pages after 0.144 × 1h ≈ 8.6 min, and the alert clears once the short window
 * is clean again).
 */
export const SLO_PERIOD = '30d';
export const SLO_BURN_RATE_WINDOWS = [
  { id: 'page-fast', severity: 'page', factor: 14.4, long: '1h', short: '5m' },
  { id: 'page-slow', severity: 'page', factor: 6, long: '6h', short: '30m' },
  { id: 'ticket-fast', severity: 'ticket', factor: 3, long: '1d', short: '2h' },
  { id: 'ticket-slow', severity: 'ticket', factor: 1, long: '3d', short: '6h' },
] as const;
/**
 * Low-traffic guard of the four burn-rate alerts: each needs at least this many requests over its
 * own LONG window (1h, 6h, 1d, 3d), so the ratio moves in steps of at most 5% there and a single
 * failed request of a nearly idle API does not page. A total outage below it is
 * OkrNoSuccessfulRequests's (NO_SUCCESS below).
 */
export const SLO_MIN_REQUESTS_LONG_WINDOW = 20;
/**
 * OkrNoSuccessfulRequests: over `window` the service received at least `minRequests` requests and
 * answered none of them successfully. Independent of the ratio and of the traffic level, so the
 * burn-rate guard can never hide a total outage of an API with at least minRequests per window.
 */
export const NO_SUCCESS = { window: '30m', minRequests: 3 } as const;
/**
 * Rolling windows from this length up are computed from the recorded 5-minute series
 * (sum_over_time / avg_over_time over one series per service) instead of raw counters over days:
 * bench/rules measures the difference.
 */
export const DERIVED_WINDOW_MIN = '1d';

/** Alert names okr-metrics generates; each has a section in docs/runbooks.md (anchor = lower-case name). */
export const ALERT_NAMES = {
  availabilityBelowTarget: 'OkrAvailabilityBelowTarget',
  noSuccessfulRequests: 'OkrNoSuccessfulRequests',
  keyResultOffTarget: 'OkrKeyResultOffTarget',
  latencyRegression: 'OkrLatencyRegression',
  errorBudgetBurnPageFast: 'OkrErrorBudgetBurnPageFast',
  errorBudgetBurnPageSlow: 'OkrErrorBudgetBurnPageSlow',
  errorBudgetBurnTicketFast: 'OkrErrorBudgetBurnTicketFast',
  errorBudgetBurnTicketSlow: 'OkrErrorBudgetBurnTicketSlow',
  sourceDown: 'OkrSourceDown',
  sourceStale: 'OkrSourceStale',
  sourceAbsent: 'OkrSourceAbsent',
  exporterDown: 'OkrExporterDown',
  measureDataAbsent: 'OkrMeasureDataAbsent',
  paceWarning: 'OkrKeyResultPaceWarning',
  paceCritical: 'OkrKeyResultPaceCritical',
} as const;
export const ALERT_SEVERITIES = ['page', 'ticket', 'info'] as const;
/** Prometheus job name of the exporter in the generated scrape config. */
export const EXPORTER_JOB = 'okr-metrics';
/** Where generated alerts link to: docs/runbooks.md#<alert name in lower case>. */
export const RUNBOOK_BASE_URL = 'https://github.com/okr-metrics/okr-metrics/blob/main/docs/runbooks.md';

/** Latency quantiles the generated rules and the API dashboard precompute. */
export const LATENCY_QUANTILES = [
  { name: 'p50', q: 0.5 },
  { name: 'p95', q: 0.95 },
  { name: 'p99', q: 0.99 },
] as const;
export type LatencyQuantileName = (typeof LATENCY_QUANTILES)[number]['name'];

/** Quantiles of the DORA lead and recovery times the generated rules and the Delivery performance dashboard show. */
export const DELIVERY_QUANTILES = [
  { name: 'p50', q: 0.5 },
  { name: 'p90', q: 0.9 },
] as const;
export type DeliveryQuantileName = (typeof DELIVERY_QUANTILES)[number]['name'];

/** Recording rule names (`level:metric:operations`); generators, dashboards and tests import them. */
export const RECORDING_RULES = {
  apiRequestsRate: (w: string) => `${RULE_PREFIX}:api_requests:rate${w}`,
  /** Failed requests per second; recorded over 5m, the base the long windows are summed from. */
  apiErrorsRate: (w: string) => `${RULE_PREFIX}:api_errors:rate${w}`,
  apiErrorsRatio: (w: string) => `${RULE_PREFIX}:api_errors:ratio_rate${w}`,
  apiAvailability: (w: string) => `${RULE_PREFIX}:api_availability:ratio_rate${w}`,
  /** Per-service histogram bucket rates (label `le`): over 5m, and the long windows averaged from it. */
  apiDurationBucketsRate: (w: string) => `${RULE_PREFIX}:api_request_duration_seconds_bucket:rate${w}`,
  apiLatency: (q: LatencyQuantileName, w: string) => `${RULE_PREFIX}:api_request_duration_seconds:${q}_rate${w}`,
  apiRouteRequestsRate: `${RULE_PREFIX}:api_route_requests:rate5m`,
  apiRouteErrorsRatio: `${RULE_PREFIX}:api_route_errors:ratio_rate5m`,
  apiRouteLatency: (q: LatencyQuantileName) => `${RULE_PREFIX}:api_route_request_duration_seconds:${q}_rate5m`,
  availabilityObjective: `${RULE_PREFIX}:api_availability_objective:ratio`,
  errorBudgetRemaining: `${RULE_PREFIX}:api_error_budget_remaining:ratio_rate30d`,
  sprintCompletedPoints: `${RULE_PREFIX}:jira_sprint_completed_story_points:sum`,
  boardCompletedPointsQuarter: `${RULE_PREFIX}:jira_completed_story_points:increase90d`,
  coverage: `${RULE_PREFIX}:sonarqube_coverage:ratio`,
  /** The four DORA keys per production stream (service, environment, team) over the last 30 days. */
  deliveryDeploymentsPerDay: `${RULE_PREFIX}:delivery_deployments:per_day_30d`,
  deliveryLeadTime: (q: DeliveryQuantileName) => `${RULE_PREFIX}:delivery_lead_time_seconds:${q}_30d`,
  deliveryChangeFailureRatio: `${RULE_PREFIX}:delivery_change_failures:ratio_30d`,
  deliveryRecoveryTime: (q: DeliveryQuantileName) => `${RULE_PREFIX}:delivery_recovery_time_seconds:${q}_30d`,
  keyResultMeasure: `${RULE_PREFIX}:key_result_measure:rolling_period`,
  /** Info series (value 1) recorded from the OKR file: which team owns what; dashboards' variables and joins use them. */
  teamInfo: `${RULE_PREFIX}:team:info`,
  serviceInfo: `${RULE_PREFIX}:service:info`,
  boardInfo: `${RULE_PREFIX}:board:info`,
  projectInfo: `${RULE_PREFIX}:project:info`,
  repoInfo: `${RULE_PREFIX}:repo:info`,
  keyResultInfo: `${RULE_PREFIX}:key_result:info`,
} as const;
