/** The metric names and fixed label values of the Bitbucket source: collectors, generators, dashboards and tests import them. */

export const BITBUCKET_METRICS = {
  prsMerged: 'bitbucket_pull_requests_merged_total',
  prCycleTime: 'bitbucket_pull_request_cycle_time_seconds',
  prsOpen: 'bitbucket_pull_requests_open',
  pipelines: 'bitbucket_pipelines_total',
  pipelineDuration: 'bitbucket_pipeline_duration_seconds',
  insightsCoverage: 'bitbucket_code_insights_coverage_ratio',
  /** Repositories with a part that could not be read in the last refresh (skipped, logged once). */
  reposSkipped: 'bitbucket_repositories_skipped',
} as const;

/** Pipeline results counted by bitbucket_pipelines_total (Bitbucket's state.result.name, lower-cased). */
export const BITBUCKET_PIPELINE_RESULTS = ['successful', 'failed', 'error', 'stopped', 'expired'] as const;
export type BitbucketPipelineResult = (typeof BITBUCKET_PIPELINE_RESULTS)[number];

/** Pull request cycle time buckets (opened → merged), seconds: 1h, 4h, 8h, 1d, 2d, 3d, 1w, 2w, 30d. */
export const BITBUCKET_CYCLE_TIME_BUCKETS = [3600, 14400, 28800, 86400, 172800, 259200, 604800, 1209600, 2592000] as const;

/** Pipeline wall-clock duration buckets (created → completed), seconds: 30s … 2h. */
export const BITBUCKET_PIPELINE_DURATION_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200] as const;
