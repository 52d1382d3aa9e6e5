/** The metric names, fixed label values and buckets of the delivery source (the four DORA keys). */

export const DELIVERY_METRICS = {
  /** Production deployments by status (successful, failed, rollback), counted when they finish. */
  deployments: 'delivery_deployments_total',
  /** Changes (pull requests, commits pushed without one) from their start to their first successful production deployment. */
  leadTime: 'delivery_lead_time_seconds',
  /** Production deployments by what they led to (failed, rolled_back, incident, none), counted when settled. */
  outcomes: 'delivery_deployment_outcomes_total',
  /** Failed deployments from the failure to the recovery, by cause. */
  recoveryTime: 'delivery_recovery_time_seconds',
  /** Up to when each feed the join reads is complete (Unix seconds). */
  feedComplete: 'delivery_feed_complete_timestamp_seconds',
  /** Deployments in the feeds that match no configured service and production environment, by origin. */
  unmatched: 'delivery_unmatched_deployments',
} as const;

/** `status` of delivery_deployments_total: a rollback is a successful deployment of an earlier release. */
export const DEPLOYMENT_STATUSES = ['successful', 'failed', 'rollback'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** `outcome` of delivery_deployment_outcomes_total: every value but `none` is a change failure. */
export const DEPLOYMENT_OUTCOMES = ['failed', 'rolled_back', 'incident', 'none'] as const;
export type DeploymentOutcome = (typeof DEPLOYMENT_OUTCOMES)[number];
export type FailureCause = Exclude<DeploymentOutcome, 'none'>;
export const FAILURE_CAUSES = ['failed', 'rolled_back', 'incident'] as const satisfies readonly FailureCause[];

/** `from` of delivery_lead_time_seconds: where a change's lead time starts. */
export const LEAD_TIME_FROM = ['first_commit', 'pull_request'] as const;
export type LeadTimeFrom = (typeof LEAD_TIME_FROM)[number];

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;
/**
 * Lead time buckets, seconds: 10m … 180d. 1 day, 1 week, 30 days and 180 days are edges, the
 * bounds of the DORA performance levels (2024), so a level read from the buckets is exact.
 */
export const LEAD_TIME_BUCKETS = [
  10 * MIN,
  30 * MIN,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  90 * DAY,
  180 * DAY,
] as const;
/** Recovery time buckets, seconds: 5m … 30d, with the DORA level bounds 1 hour, 1 day, 1 week and 30 days as edges. */
export const RECOVERY_TIME_BUCKETS = [5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY] as const;
