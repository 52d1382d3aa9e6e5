/** The delivery source's counters and histograms as metric families, for the configured production streams only. */
import { LABEL } from '../../src/core/labels.js';
import { family, histogramSamples } from '../../src/core/snapshot.js';
import type { Sample, Snapshot } from '../../src/core/source.js';
import { streamKey, streamsOf, type DeliveryState, type FoldReport, type FoldSettings } from './delivery-fold.js';
import {
  DELIVERY_METRICS as M,
  DEPLOYMENT_OUTCOMES,
  DEPLOYMENT_STATUSES,
  FAILURE_CAUSES,
  LEAD_TIME_BUCKETS,
  LEAD_TIME_FROM,
  RECOVERY_TIME_BUCKETS,
} from './metrics.js';

const CACHED = 'Joined from the delivery feeds on the source schedule (see okr_source_last_success_timestamp_seconds{source="delivery"}).';

/** Label names of the delivery source beyond the shared ones. */
export const DELIVERY_LABEL = { environment: 'environment', outcome: 'outcome', from: 'from', cause: 'cause', origin: 'origin', feed: 'feed' } as const;

export function renderDeliverySnapshot(state: DeliveryState, settings: FoldSettings, report: FoldReport): Snapshot {
  const deployments: Sample[] = [];
  const outcomes: Sample[] = [];
  const lead: Sample[] = [];
  const recovery: Sample[] = [];
  for (const st of streamsOf(settings)) {
    const c = state.counters[streamKey(st.service, st.environment)];
    if (!c) continue;
    const labels = { [LABEL.service]: st.service, [DELIVERY_LABEL.environment]: st.environment, [LABEL.team]: st.team };
    for (const status of DEPLOYMENT_STATUSES) deployments.push({ labels: { ...labels, [LABEL.status]: status }, value: c.deployments[status] });
    for (const outcome of DEPLOYMENT_OUTCOMES) outcomes.push({ labels: { ...labels, [DELIVERY_LABEL.outcome]: outcome }, value: c.outcomes[outcome] });
    for (const from of LEAD_TIME_FROM) {
      const h = c.leadTime[from];
      lead.push(...histogramSamples({ ...labels, [DELIVERY_LABEL.from]: from }, LEAD_TIME_BUCKETS, h.buckets, h.sum));
    }
    for (const cause of FAILURE_CAUSES) {
      const h = c.recoveryTime[cause];
      recovery.push(...histogramSamples({ ...labels, [DELIVERY_LABEL.cause]: cause }, RECOVERY_TIME_BUCKETS, h.buckets, h.sum));
    }
  }
  const complete = Object.entries(report.complete)
    .filter(([, ms]) => Number.isFinite(ms))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([feed, ms]) => ({ labels: { [DELIVERY_LABEL.feed]: feed }, value: Math.floor(ms / 1000) }));
  const unmatched = Object.entries(report.unmatched)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([origin, n]) => ({ labels: { [DELIVERY_LABEL.origin]: origin }, value: n }));
  return [
    family(
      M.deployments,
      `Production deployments by status (successful; failed; rollback: a successful deployment of an earlier release), counted when they finish. ${CACHED}`,
      'counter',
      deployments,
    ),
    family(
      M.leadTime,
      `Lead time of each change (a pull request, or a commit pushed without one) to its first successful production deployment, from its first commit (from="first_commit") or its pull request's opening (from="pull_request"). ${CACHED}`,
      'histogram',
      lead,
    ),
    family(
      M.outcomes,
      `Production deployments (rollbacks aside) by what they led to: failed, rolled_back or incident within the change failure window (change failures), or none; counted when settled. ${CACHED}`,
      'counter',
      outcomes,
    ),
    family(
      M.recoveryTime,
      `Change failures from the failure to the recovery: a failed deployment to the next successful one (cause="failed"), a rolled-back one to its rollback, an incident from its opening to its resolution; observed at the recovery. ${CACHED}`,
      'histogram',
      recovery,
    ),
    family(
      M.feedComplete,
      'Up to when each delivery feed the join needs holds every record (Unix seconds); deployments are settled only behind the oldest.',
      'gauge',
      complete,
    ),
    family(
      M.unmatched,
      'Deployments in a feed that match no configured service and production environment (sources.delivery.services, environments): not counted.',
      'gauge',
      unmatched,
    ),
  ];
}
