/**
 * The cumulative part of the Bitbucket metrics, folded in one refresh at a time. Counters
 * and histograms only ever grow, and each pull request or pipeline is counted once across
 * refreshes and restarts: the state (watermarks, counted ids, counts, bucket counts) lives
 * in a JSON file (state-file.ts) and every fold is a pure function of (state, new records).
 */
import { BITBUCKET_PIPELINE_RESULTS, type BitbucketPipelineResult } from './metrics.js';
import type { CoverageReport, MergedPullRequest, PipelineRun } from './bitbucket-api.js';

/** Per-bucket (not cumulative) counts; the last slot is +Inf. */
export interface HistogramState {
  buckets: number[];
  sum: number;
  count: number;
}

/** Sorted, disjoint, inclusive [first, last] id ranges: pull request ids compress well. */
export type IdRanges = Array<[number, number]>;

export interface PullRequestState {
  /** Latest merge time counted (epoch ms), or the tracking start before any was counted. */
  watermark: number;
  /**
   * Every pull request id counted. The ones near the watermark guard the overlap re-read;
   * the older ones matter on Cloud, where a comment after the merge moves `updated_on` (our
   * merge-time proxy) past the watermark and the pull request shows up again.
   */
  counted: IdRanges;
  merged: number;
  cycleTime: HistogramState;
}

export interface PipelineState {
  /** Every build at or below this number is finished with (counted, or left behind as stale). */
  watermark: number;
  /** Builds above the watermark already counted (they finished before an older one did). */
  countedAbove: number[];
  results: Record<BitbucketPipelineResult, number>;
  duration: HistogramState;
}

/** The last complete read of a repository: what is served while it is not read again (refresh-plan.ts). */
export interface RepoRead {
  /** When (epoch ms). */
  at: number;
  /** The listing's `updated_on` then (epoch ms); undefined when the listing has none. */
  listedUpdatedMs?: number;
  /** Open pull requests then. */
  open?: number;
  coverage?: CoverageReport[];
  /** A pipeline was still running: read again next refresh. */
  running?: boolean;
  /** Read once more at or after this instant (what lands after a push). */
  settleAfter?: number;
}

export interface RepoState {
  /**
   * Nothing that finished before this instant (epoch ms) is counted: the repository's first
   * refresh. What merged or completed before is context (remembered so it is never counted
   * later), its figures come from `okr-metrics backfill`. Counting it at the first refresh would
   * show Prometheus months of merges at the first scrape, read as a counter reset on top of a
   * backfill and counted a second time by increase(). (State files written before kept
   * `backfill` earlier; they keep counting from there.)
   */
  since: number;
  pullRequests: PullRequestState;
  pipelines?: PipelineState;
  read?: RepoRead;
}

/** Re-read this far behind the watermark: Bitbucket's search index lags behind writes. */
export const OVERLAP_MS = 10 * 60 * 1000;
/** A pipeline unfinished for longer than this no longer holds the watermark back. */
export const STALE_PIPELINE_MS = 24 * 3600 * 1000;

export function emptyHistogram(bounds: readonly number[]): HistogramState {
  return { buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

export function observe(h: HistogramState, bounds: readonly number[], value: number): void {
  let i = bounds.findIndex((b) => value <= b);
  if (i === -1) i = bounds.length;
  h.buckets[i] = (h.buckets[i] ?? 0) + 1;
  h.sum += value;
  h.count += 1;
}

export function hasId(ranges: IdRanges, id: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (id < a) hi = mid - 1;
    else if (id > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Add one id, merging with neighbouring ranges. Returns a new array. */
export function addId(ranges: IdRanges, id: number): IdRanges {
  if (hasId(ranges, id)) return ranges;
  const out: IdRanges = [...ranges.map((r) => [r[0], r[1]] as [number, number]), [id, id]];
  out.sort((x, y) => x[0] - y[0]);
  const merged: IdRanges = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function newRepoState(since: number, cycleBounds: readonly number[]): RepoState {
  return { since, pullRequests: { watermark: since, counted: [], merged: 0, cycleTime: emptyHistogram(cycleBounds) } };
}

export function newPipelineState(durationBounds: readonly number[]): PipelineState {
  const results = Object.fromEntries(BITBUCKET_PIPELINE_RESULTS.map((r) => [r, 0])) as Record<BitbucketPipelineResult, number>;
  return { watermark: 0, countedAbove: [], results, duration: emptyHistogram(durationBounds) };
}

/** Where the next merged-pull-request query starts. */
export function pullRequestQueryStart(repo: RepoState): number {
  return Math.max(repo.since, repo.pullRequests.watermark - OVERLAP_MS);
}

/**
 * Count merged pull requests not counted before. Returns how many were new. One merged before
 * `repo.since` is context: its id is remembered, uncounted, so that on Cloud (merge time read
 * from `updated_on`) a comment after the start does not count it as a new merge.
 */
export function foldMergedPullRequests(repo: RepoState, prs: MergedPullRequest[], cycleBounds: readonly number[]): number {
  const st = repo.pullRequests;
  let added = 0;
  for (const pr of prs) {
    if (hasId(st.counted, pr.id)) continue;
    st.counted = addId(st.counted, pr.id);
    if (pr.mergedMs < repo.since) continue;
    st.merged += 1;
    observe(st.cycleTime, cycleBounds, Math.max(0, (pr.mergedMs - pr.openedMs) / 1000));
    st.watermark = Math.max(st.watermark, pr.mergedMs);
    added++;
  }
  return added;
}

function isKnownResult(r: string | undefined): r is BitbucketPipelineResult {
  return (BITBUCKET_PIPELINE_RESULTS as readonly string[]).includes(r ?? '');
}

/**
 * Count finished pipelines above the watermark not counted before, then move the watermark
 * up to just below the oldest pipeline still running (stale ones excepted), so a slow build
 * that finishes after a newer one is still counted exactly once. One that completed before
 * `sinceMs` (the repository's first refresh) is context: passed, not counted.
 */
export function foldPipelines(st: PipelineState, runs: PipelineRun[], durationBounds: readonly number[], nowMs: number, sinceMs: number): number {
  const above = new Set(st.countedAbove);
  let added = 0;
  let highest = st.watermark;
  let oldestRunning = Number.POSITIVE_INFINITY;
  for (const run of runs) {
    if (run.buildNumber <= st.watermark) continue;
    highest = Math.max(highest, run.buildNumber);
    if (run.result === undefined) {
      if (nowMs - run.createdMs < STALE_PIPELINE_MS) oldestRunning = Math.min(oldestRunning, run.buildNumber);
      continue;
    }
    if (above.has(run.buildNumber)) continue;
    above.add(run.buildNumber);
    // A finished run without a completion time, first seen then, is taken as finished before.
    if ((run.completedMs ?? run.createdMs) < sinceMs) continue;
    added++;
    // Results outside the documented five are remembered (not re-read) but not exported.
    if (!isKnownResult(run.result)) continue;
    st.results[run.result] += 1;
    if (run.completedMs !== undefined) observe(st.duration, durationBounds, Math.max(0, (run.completedMs - run.createdMs) / 1000));
  }
  const watermark = Number.isFinite(oldestRunning) ? Math.max(st.watermark, oldestRunning - 1) : highest;
  st.watermark = watermark;
  st.countedAbove = [...above].filter((b) => b > watermark).sort((a, b) => a - b);
  return added;
}
