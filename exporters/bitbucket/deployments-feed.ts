/**
 * Bitbucket Cloud deployments → the `bitbucket` delivery feed, which the delivery source joins
 * into the DORA keys. Per repository, each refresh reads the environments and the deployments
 * completed since the last one (newest first, overlapping a little), and for each production
 * deployment (environments of type Production, or the ones named in sources.bitbucket.deployments):
 * - its commit: the release's, else the target of the pipeline it ran in;
 * - what it brought: the commits between the release running in that environment and its own
 *   (`/commits?include=<new>&exclude=<running>`), grouped into changes: a merged pull request
 *   whose merge commit is among them (its first commit among the commits it merged, its opening
 *   from the pull request list, read once per refresh), or a commit pushed without one;
 * - a rollback when it deploys an earlier release (no commit between the running release and it,
 *   but not the same commit).
 * Deployments are read in completion order and each once; STOPPED ones are not deployments.
 */
import type { Logger } from 'pino';
import type { FeedChange, FeedDeployment } from '../../src/core/delivery-feed.js';
import { writeDeliveryFeed } from '../../src/core/delivery-feed.js';
import { durationSeconds } from '../../src/core/duration.js';
import type { CollectContext } from '../../src/core/source.js';
import type { RepoRef } from './bitbucket-api.js';
import type { BitbucketConfig } from './config.js';
import type { BitbucketDeploymentsApi, CloudCommit, CloudEnvironment, CloudMergedPr } from './deployments-client.js';
import { loadDeploymentsState, newRepoDeployments, saveDeploymentsState, type DeploymentsState, type RepoDeployments } from './deployments-state.js';

/**
 * sources.bitbucket.deployments.settle's default: Bitbucket Cloud lists a deployment some time
 * after it completes (its list is an eventually consistent index), so a refresh takes its list as
 * complete only up to this long before it started, and re-reads from there.
 */
export const DEFAULT_DEPLOYMENTS_SETTLE_MS = 10 * 60_000;
/** Deployment records older than this are dropped (the delivery source keeps no more). */
const RETENTION_MS = 400 * 86_400_000;
/** Pull requests merged this long before a release's oldest commit are still matched to it. */
const PR_LOOKBACK_MS = 3_600_000;

export interface DeploymentSettings {
  /** Environment names (case-insensitive) to read; undefined: the environments of type Production. */
  environments?: string[];
  /** How long after completing a deployment is surely listed (sources.bitbucket.deployments.settle); default DEFAULT_DEPLOYMENTS_SETTLE_MS. */
  settleMs?: number;
}

/** The feed's settings from sources.bitbucket.deployments (when on). */
export function deploymentSettings(cfg: BitbucketConfig['deployments']): DeploymentSettings {
  if (typeof cfg === 'boolean') return {};
  return { ...(cfg.environments ? { environments: cfg.environments } : {}), settleMs: durationSeconds(cfg.settle) * 1000 };
}

export function isWanted(env: CloudEnvironment, s: DeploymentSettings): boolean {
  if (s.environments) return s.environments.some((e) => e.toLowerCase() === env.name.toLowerCase());
  return env.type?.toLowerCase() === 'production';
}

/** Merged pull requests by merge commit, listed once per refresh from the oldest commit asked about. */
export class MergedPullRequests {
  private since = Number.POSITIVE_INFINITY;
  private byMerge = new Map<string, CloudMergedPr>();

  constructor(
    private readonly api: BitbucketDeploymentsApi,
    private readonly slug: string,
  ) {}

  async byMergeCommit(ctx: CollectContext, sinceMs: number): Promise<Map<string, CloudMergedPr>> {
    if (sinceMs < this.since) {
      const prs = await this.api.mergedPullRequestsSince(ctx, this.slug, sinceMs - PR_LOOKBACK_MS);
      this.byMerge = new Map(prs.filter((p) => p.mergeCommit !== undefined).map((p) => [p.mergeCommit!, p]));
      this.since = sinceMs;
    }
    return this.byMerge;
  }
}

/** Commits of `range` reachable from `from` (itself included) without leaving the range. */
function reachable(byHash: Map<string, CloudCommit>, from: string): Set<string> {
  const out = new Set<string>();
  const todo = [from];
  while (todo.length > 0) {
    const h = todo.pop()!;
    if (out.has(h) || !byHash.has(h)) continue;
    out.add(h);
    todo.push(...byHash.get(h)!.parents);
  }
  return out;
}

/**
 * The changes among `range` (a release's new commits): merged pull requests, then commits pushed
 * without one. A pull request merged with a merge commit brings the range's commits reachable
 * from its second parent and not from its first (read from the range, no request); one merged
 * otherwise (squash, fast-forward) has its commits listed.
 */
export async function changesOf(
  ctx: CollectContext,
  api: BitbucketDeploymentsApi,
  slug: string,
  range: CloudCommit[],
  merged: MergedPullRequests,
): Promise<FeedChange[]> {
  if (range.length === 0) return [];
  const byHash = new Map(range.map((c) => [c.hash, c]));
  const byMerge = await merged.byMergeCommit(ctx, Math.min(...range.map((c) => c.dateMs)));
  const covered = new Set<string>();
  const changes: FeedChange[] = [];
  const prs = range.flatMap((c) => (byMerge.has(c.hash) ? [{ pr: byMerge.get(c.hash)!, merge: c }] : [])).sort((a, b) => a.pr.id - b.pr.id);
  for (const { pr, merge } of prs) {
    let own: CloudCommit[];
    if (merge.parents.length >= 2) {
      const main = reachable(byHash, merge.parents[0]!);
      own = [...reachable(byHash, merge.parents[1]!)].filter((h) => !main.has(h)).map((h) => byHash.get(h)!);
    } else own = await api.pullRequestCommits(ctx, slug, pr.id);
    for (const c of own) covered.add(c.hash);
    covered.add(merge.hash);
    const first = own.length > 0 ? Math.min(...own.map((c) => c.dateMs)) : pr.createdMs;
    changes.push({ key: `pr:${pr.id}`, firstCommitMs: Math.min(first, pr.createdMs), pullRequestMs: pr.createdMs });
  }
  for (const c of [...range].sort((a, b) => a.dateMs - b.dateMs || (a.hash < b.hash ? -1 : 1))) {
    // A merge commit no pull request claims brings its parents' commits, which are in the range themselves.
    if (covered.has(c.hash) || c.parents.length > 1) continue;
    changes.push({ key: `commit:${c.hash}`, firstCommitMs: c.dateMs });
  }
  return changes;
}

/** Read one repository's deployments completed at or after the watermark into `rs`; returns nothing, throws on failure (rs keeps what was folded). */
export async function readRepoDeployments(
  ctx: CollectContext,
  api: BitbucketDeploymentsApi,
  slug: string,
  rs: RepoDeployments,
  s: DeploymentSettings,
  upToMs: number,
): Promise<void> {
  const envs = new Map((await api.environments(ctx, slug)).map((e) => [e.uuid, e]));
  const merged = new MergedPullRequests(api, slug);
  const settleMs = s.settleMs ?? DEFAULT_DEPLOYMENTS_SETTLE_MS;
  const from = Math.max(rs.sinceMs, (rs.completeMs ?? rs.sinceMs) - settleMs);
  const listed = await api.deployments(ctx, slug, from);
  const due = listed
    .filter((d) => {
      const env = envs.get(d.environmentUuid);
      return (
        env !== undefined &&
        isWanted(env, s) &&
        d.state === 'COMPLETED' &&
        d.completedMs !== undefined &&
        d.completedMs >= from &&
        d.completedMs <= upToMs &&
        rs.seen[d.uuid] === undefined
      );
    })
    .sort((a, b) => a.completedMs! - b.completedMs! || (a.uuid < b.uuid ? -1 : 1));
  for (const d of due) {
    const env = envs.get(d.environmentUuid)!;
    const finishedMs = d.completedMs!;
    const status = d.status === 'SUCCESSFUL' ? 'successful' : d.status === 'FAILED' ? 'failed' : undefined;
    if (status === undefined) {
      rs.seen[d.uuid] = finishedMs; // STOPPED: nothing was deployed
      continue;
    }
    const record: FeedDeployment = { key: d.uuid, repo: slug, environment: env.name, status, rollback: false, finishedMs };
    if (status === 'successful') {
      const commit = d.commit ?? (d.pipelineUuid ? await api.pipelineCommit(ctx, slug, d.pipelineUuid) : undefined);
      const running = rs.running[d.environmentUuid];
      if (commit !== undefined) {
        if (running && running.commit === commit) record.changes = [];
        else if (running) {
          const range = await api.commitsBetween(ctx, slug, commit, running.commit);
          if (range.length === 0) record.rollback = true;
          else record.changes = await changesOf(ctx, api, slug, range, merged);
        }
        rs.running[d.environmentUuid] = { commit, finishedMs };
      }
    }
    // Folded one deployment at a time: a failure later in the list keeps what is done.
    rs.records.push(record);
    rs.seen[d.uuid] = finishedMs;
  }
  rs.completeMs = Math.max(rs.completeMs ?? -Infinity, upToMs - settleMs);
  // Looked-at uuids below the next re-read are never listed as due again.
  const floor = rs.completeMs - 2 * settleMs;
  for (const [uuid, ms] of Object.entries(rs.seen)) if (ms < floor) delete rs.seen[uuid];
  rs.records = rs.records.filter((r) => r.finishedMs >= upToMs - RETENTION_MS);
}

/** The `bitbucket` feed from the repositories configured now: complete up to the least advanced one. */
export function deploymentFeed(state: DeploymentsState, slugs: string[]): { completeMs: number; items: FeedDeployment[] } {
  const repos = slugs.map((s) => state.repos[s]);
  const completeMs = repos.length === 0 ? 0 : Math.min(...repos.map((r) => r?.completeMs ?? 0));
  const items = repos.flatMap((r) => r?.records ?? []).sort((a, b) => a.finishedMs - b.finishedMs || (a.key < b.key ? -1 : 1));
  return { completeMs, items };
}

/** The live side: checkpointed per repository, published to server.state_dir after each refresh. */
export class BitbucketDeploymentFeed {
  private state: DeploymentsState | undefined;
  private readonly failing = new Map<string, string>();

  constructor(
    private readonly api: BitbucketDeploymentsApi,
    private readonly o: { stateDir: string; scope: string; settings: DeploymentSettings; backfillMs: number; logger: Logger },
  ) {}

  /** Read every repository's new deployments and publish the feed; a repository that fails is logged once and stays behind. */
  async refresh(ctx: CollectContext, repos: RepoRef[], nowMs: number): Promise<void> {
    const state = (this.state ??= loadDeploymentsState(this.o.stateDir, this.o.scope, this.o.logger));
    await Promise.all(
      repos.map(async (r) => {
        const rs = (state.repos[r.slug] ??= newRepoDeployments(nowMs - this.o.backfillMs));
        try {
          await readRepoDeployments(ctx, this.api, r.slug, rs, this.o.settings, nowMs);
          if (this.failing.delete(r.slug)) ctx.logger.info({ source: 'bitbucket', repo: r.slug }, 'bitbucket: deployments readable again');
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          const msg = e instanceof Error ? e.message : String(e);
          if (this.failing.get(r.slug) !== msg)
            ctx.logger.warn(
              { source: 'bitbucket', repo: r.slug, err: msg },
              'bitbucket: deployments could not be read this refresh; the delivery figures wait for them',
            );
          this.failing.set(r.slug, msg);
        }
      }),
    );
    saveDeploymentsState(this.o.stateDir, state);
    writeDeliveryFeed(this.o.stateDir, {
      version: 1,
      origin: 'bitbucket',
      deployments: deploymentFeed(
        state,
        repos.map((r) => r.slug),
      ),
    });
  }
}
