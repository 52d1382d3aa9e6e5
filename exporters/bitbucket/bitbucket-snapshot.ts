/**
 * Turning the checkpointed counts and this refresh's gauges into metric families. Names,
 * labels and buckets come from the conventions module; HELP says the values are cached.
 */
import { LABEL } from '../../src/core/labels.js';
import { BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_METRICS, BITBUCKET_PIPELINE_DURATION_BUCKETS, BITBUCKET_PIPELINE_RESULTS } from './metrics.js';
import type { Sample, Snapshot } from '../../src/core/source.js';
import { family, histogramSamples } from '../../src/core/snapshot.js';
import type { CoverageReport } from './bitbucket-api.js';
import type { BitbucketState } from './state-file.js';

export interface RepoLive {
  team: string;
  open?: number;
  coverage?: CoverageReport[];
}

const CACHED = 'Refreshed on the source schedule, not at scrape time (see okr_source_last_success_timestamp_seconds).';

/**
 * Families for the repositories in `live` (the ones configured now), in a stable order;
 * `skipped` counts the repositories with a part that could not be read this refresh.
 */
export function buildSnapshot(state: BitbucketState, live: Map<string, RepoLive>, skipped: number): Snapshot {
  const merged: Sample[] = [];
  const cycle: Sample[] = [];
  const open: Sample[] = [];
  const pipelines: Sample[] = [];
  const duration: Sample[] = [];
  const coverage: Sample[] = [];
  for (const slug of [...live.keys()].sort()) {
    const l = live.get(slug)!;
    const labels = { [LABEL.repo]: slug, [LABEL.team]: l.team };
    const rs = state.repos[slug];
    if (rs) {
      merged.push({ labels, value: rs.pullRequests.merged });
      const h = rs.pullRequests.cycleTime;
      cycle.push(...histogramSamples(labels, BITBUCKET_CYCLE_TIME_BUCKETS, h.buckets, h.sum));
      if (rs.pipelines) {
        for (const result of BITBUCKET_PIPELINE_RESULTS) pipelines.push({ labels: { ...labels, [LABEL.result]: result }, value: rs.pipelines.results[result] });
        const d = rs.pipelines.duration;
        duration.push(...histogramSamples(labels, BITBUCKET_PIPELINE_DURATION_BUCKETS, d.buckets, d.sum));
      }
    }
    if (l.open !== undefined) open.push({ labels, value: l.open });
    const seen = new Set<string>();
    for (const c of l.coverage ?? []) {
      if (seen.has(c.report)) continue; // two reports with one id would be one series twice
      seen.add(c.report);
      coverage.push({ labels: { ...labels, [LABEL.report]: c.report }, value: c.ratio });
    }
  }
  return [
    family(BITBUCKET_METRICS.prsMerged, `Pull requests merged, counted once each since tracking began. ${CACHED}`, 'counter', merged),
    family(
      BITBUCKET_METRICS.prCycleTime,
      `Pull request cycle time from opened to merged (Cloud: updated_on of the merged pull request as merge time). ${CACHED}`,
      'histogram',
      cycle,
    ),
    family(BITBUCKET_METRICS.prsOpen, `Pull requests open now. ${CACHED}`, 'gauge', open),
    family(BITBUCKET_METRICS.pipelines, `Completed Bitbucket Pipelines runs by result. ${CACHED}`, 'counter', pipelines),
    family(BITBUCKET_METRICS.pipelineDuration, `Completed pipeline wall-clock duration, created to completed. ${CACHED}`, 'histogram', duration),
    family(
      BITBUCKET_METRICS.insightsCoverage,
      `Coverage reported through Code Insights on the latest commit of the main branch, 0..1. ${CACHED}`,
      'gauge',
      coverage,
    ),
    family(
      BITBUCKET_METRICS.reposSkipped,
      'Repositories with a part (merged or open pull requests, pipelines, coverage) that could not be read in the last refresh; see the logs.',
      'gauge',
      [{ labels: {}, value: skipped }],
    ),
  ];
}
