/**
 * Bitbucket history: merged pull requests counted at their merge time (Cloud: updated_on, the
 * live collector's proxy) and completed pipelines at their completion time, folded into the
 * live collector's own state (foldMergedPullRequests, the same buckets) and rendered by its
 * buildSnapshot. Counting starts at --from, as the live counters start at their first refresh.
 *
 * Not backfilled: open pull requests and Code Insights coverage (Bitbucket keeps no history of
 * either).
 *
 * With deployments on, the production deployments of the range (and of the month before it, the
 * releases they follow) are published as the `bitbucket` delivery feed for the delivery source's
 * backfill, exactly as the live collector reads them (deployments-feed.ts).
 */
import { SourceError } from '../../src/core/source.js';
import type { MergedPullRequest, PipelineRun } from './bitbucket-api.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { buildSnapshot, type RepoLive } from './bitbucket-snapshot.js';
import { foldMergedPullRequests, newPipelineState, newRepoState, observe } from './incremental-state.js';
import type { BitbucketState } from './state-file.js';
import { BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_PIPELINE_DURATION_BUCKETS, BITBUCKET_PIPELINE_RESULTS, type BitbucketPipelineResult } from './metrics.js';
import type { BitbucketConfig } from './config.js';
import type { BackfillContext } from '../../src/core/source.js';
import { writeDeliveryFeed } from '../../src/core/delivery-feed.js';
import type { BitbucketDeploymentsApi } from './deployments-client.js';
import { deploymentFeed, deploymentSettings, readRepoDeployments } from './deployments-feed.js';
import { emptyDeploymentsState, newRepoDeployments } from './deployments-state.js';

interface RepoHistory {
  slug: string;
  prs: MergedPullRequest[];
  /** Completed runs, by completion time; undefined when the flavour has no pipelines. */
  runs?: PipelineRun[];
}

export async function backfillBitbucket(b: BackfillContext<BitbucketConfig>): Promise<void> {
  const { timeline: tl, collect: ctx, progress, range } = b;
  const collector = createBitbucketCollector(b);
  const { api, repositories, teamOf, deployments } = collector.historyAccess();
  const repos = await repositories(ctx);
  progress.setTotal(repos.length);
  const { lastMs } = tl.grid;
  const from = range.fromMs;

  const histories: RepoHistory[] = [];
  for (const repo of repos) {
    try {
      const prs = (await api.mergedPullRequestsSince(ctx, repo.slug, from))
        .filter((p) => p.mergedMs >= from && p.mergedMs <= lastMs)
        .sort((a, b) => a.mergedMs - b.mergedMs || a.id - b.id);
      const runs = api.pipelinesAfter
        ? (await api.pipelinesAfter(ctx, repo.slug, 0, from))
            .filter((r) => r.result !== undefined && r.completedMs !== undefined && r.completedMs <= lastMs)
            .sort((a, b) => a.completedMs! - b.completedMs! || a.buildNumber - b.buildNumber)
        : undefined;
      histories.push({ slug: repo.slug, prs, runs });
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.reason, `bitbucket: repository ${repo.slug}: ${e.message}`, e.status);
      throw e;
    }
    progress.advance(1);
  }

  const state: BitbucketState = {
    version: 1,
    scope: 'backfill',
    cycleBounds: [...BITBUCKET_CYCLE_TIME_BUCKETS],
    durationBounds: [...BITBUCKET_PIPELINE_DURATION_BUCKETS],
    repos: {},
  };
  const live = new Map<string, RepoLive>();
  for (const h of histories) {
    state.repos[h.slug] = newRepoState(from, BITBUCKET_CYCLE_TIME_BUCKETS);
    if (h.runs) state.repos[h.slug]!.pipelines = newPipelineState(BITBUCKET_PIPELINE_DURATION_BUCKETS);
    live.set(h.slug, { team: teamOf(h.slug) });
  }

  const changes = histories.flatMap((h) => [...h.prs.map((p) => p.mergedMs), ...(h.runs ?? []).map((r) => r.completedMs!)]);
  const next = histories.map(() => ({ pr: 0, run: 0 }));
  // Instants come oldest first: each folds in what merged or completed since the previous one.
  tl.holdFromChanges(changes, (t) => {
    histories.forEach((h, i) => {
      const n = next[i]!;
      const rs = state.repos[h.slug]!;
      const batch: MergedPullRequest[] = [];
      while (n.pr < h.prs.length && h.prs[n.pr]!.mergedMs <= t) batch.push(h.prs[n.pr++]!);
      if (batch.length > 0) foldMergedPullRequests(rs, batch, BITBUCKET_CYCLE_TIME_BUCKETS);
      // Counted as foldPipelines counts a completed run: known results only, duration created → completed.
      while (h.runs && n.run < h.runs.length && h.runs[n.run]!.completedMs! <= t) {
        const r = h.runs[n.run++]!;
        if (!(BITBUCKET_PIPELINE_RESULTS as readonly string[]).includes(r.result!)) continue;
        rs.pipelines!.results[r.result as BitbucketPipelineResult] += 1;
        observe(rs.pipelines!.duration, BITBUCKET_PIPELINE_DURATION_BUCKETS, Math.max(0, (r.completedMs! - r.createdMs) / 1000));
      }
    });
    return buildSnapshot(state, live, 0);
  });

  if (deployments && b.feedDirs?.[0] !== undefined) await publishDeploymentHistory(b, deployments, repos);
}

/** Releases deployed this long before the range are read too: a deployment's changes are counted from the release before it. */
const DEPLOYMENT_CONTEXT_MS = 30 * 86_400_000;

async function publishDeploymentHistory(b: BackfillContext<BitbucketConfig>, api: BitbucketDeploymentsApi, repos: Array<{ slug: string }>): Promise<void> {
  const settings = deploymentSettings(b.settings.deployments);
  const state = emptyDeploymentsState('backfill');
  const upTo = b.range.toMs;
  for (const repo of repos) {
    const rs = (state.repos[repo.slug] = newRepoDeployments(b.range.fromMs - DEPLOYMENT_CONTEXT_MS));
    try {
      await readRepoDeployments(b.collect, api, repo.slug, rs, settings, upTo);
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.reason, `bitbucket: deployments of ${repo.slug}: ${e.message}`, e.status);
      throw e;
    }
    rs.completeMs = upTo;
  }
  writeDeliveryFeed(b.feedDirs![0]!, {
    version: 1,
    origin: 'bitbucket',
    deployments: deploymentFeed(
      state,
      repos.map((r) => r.slug),
    ),
  });
}
