/**
 * The Bitbucket collector (Cloud or Data Center): per repository, merged pull requests and
 * pipelines are folded into checkpointed counters (incremental-state.ts, state-file.ts);
 * open pull requests and Code Insights coverage are read with them. Which repositories a
 * refresh reads is refresh-plan.ts's choice (on Cloud, those whose `updated_on` moved, plus a
 * share of the rest), within a request budget per hour; the others serve their last read.
 * One failing repository is logged once and skipped; the collection fails only when no
 * repository's pull requests could be read, or the credentials are refused.
 */
import pLimit from 'p-limit';
import { durationSeconds } from '../../src/core/config-primitives.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_PIPELINE_DURATION_BUCKETS } from './metrics.js';
import { SourceError, type CollectContext, type Collector, type SourceDeps, type Snapshot } from '../../src/core/source.js';
import { HeldBackError, HttpClient, requestBudget, type HttpAuth, type HttpClientOptions } from '../../src/core/http-client.js';
import type { BitbucketApi, CoverageOptions, RepoRef } from './bitbucket-api.js';
import { buildSnapshot, type RepoLive } from './bitbucket-snapshot.js';
import { BitbucketCloudApi } from './cloud-client.js';
import { BITBUCKET_CLOUD_DEFAULT_BUDGET, BITBUCKET_DEFAULT_INTERVAL, type BitbucketConfig } from './config.js';
import { BitbucketDataCenterApi } from './datacenter-client.js';
import {
  foldMergedPullRequests,
  foldPipelines,
  newPipelineState,
  newRepoState,
  pullRequestQueryStart,
  STALE_PIPELINE_MS,
  type RepoState,
} from './incremental-state.js';
import { planRefresh, SETTLE_MS, type PlannedRead } from './refresh-plan.js';
import { loadState, saveState, type BitbucketState } from './state-file.js';
import { BitbucketDeploymentsApi } from './deployments-client.js';
import { BitbucketDeploymentFeed, deploymentSettings } from './deployments-feed.js';

export const CLOUD_API_URL = 'https://api.bitbucket.org/2.0';

/**
 * Bitbucket Cloud documents no Retry-After on its 429s and counts its limit over a rolling
 * hour, so a 429 means "minutes, not seconds": the rest of the refresh is held back (its
 * repositories keep their last values) instead of retrying into the limit, spending more of it.
 */
export const CLOUD_429_PAUSE_SECONDS = 300;

/**
 * Between full listings (and always after a start) a Cloud refresh lists only what moved since
 * the newest `updated_on` it has seen (newest first: one request for up to 100 moved
 * repositories, instead of one per 100 in the workspace). The full listing, once an hour, drops
 * deleted repositories and picks up any the short listing missed.
 */
export const FULL_LISTING_MS = 60 * 60 * 1000;
/**
 * The short listing reaches this far behind the newest `updated_on` seen: an update committed
 * with an earlier time than one already listed (clock skew, replication) is still caught. The
 * repositories in the overlap are listed again at no cost: their `updated_on` did not move.
 */
export const LISTING_OVERLAP_MS = 5 * 60 * 1000;

/** Test seams: time, and HttpClient's sleep/random so retries take no wall time. */
export interface BitbucketCollectorHooks {
  sleep?: HttpClientOptions['sleep'];
  random?: HttpClientOptions['random'];
  /**
   * When counting started for a repository with no saved state (default: its first refresh).
   * For tests whose fake's records are older than their clock: they count as a deployment
   * started that long ago would.
   */
  countFromMs?: number;
}

interface RepoOutcome {
  live: RepoLive;
  /** The pull request step failed: nothing cumulative was learnt for this repository. */
  prsFailed: boolean;
  errors: unknown[];
  /** The rate limit (budget, or the API's) stopped it: it keeps its last read, not a failure. */
  heldBack?: HeldBackError;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class BitbucketCollector implements Collector {
  readonly source = 'bitbucket' as const;
  private readonly cfg: BitbucketConfig;
  private readonly http: HttpClient;
  private readonly api: BitbucketApi;
  private readonly scope: string;
  /** `backfill`: how far back the first refresh of a repository reads, as context, never counted. */
  private readonly contextMs: number;
  private readonly teamByRepo = new Map<string, string>();
  private readonly coverage: CoverageOptions | undefined;
  private state: BitbucketState | undefined;
  /** Last error message per failing repository, so each failure is logged once. */
  private readonly failing = new Map<string, string>();
  private readonly budgeted: boolean;
  private readonly fullRefreshMs: number;
  private readonly intervalMs: number;
  /** Whether the last refresh had repositories held back by the rate limit (logged once per streak). */
  private heldBackStreak = false;
  /** Cloud: the workspace's repositories as last listed, when the full listing ran, the newest `updated_on` seen. */
  private listing: { repos: Map<string, RepoRef>; fullAt: number; newestMs: number } | undefined;
  /** Production deployments for the delivery source (sources.bitbucket.deployments). */
  private readonly deployments: { api: BitbucketDeploymentsApi; feed: BitbucketDeploymentFeed } | undefined;

  constructor(
    private readonly deps: SourceDeps<BitbucketConfig>,
    private readonly hooks: BitbucketCollectorHooks = {},
  ) {
    const cfg = deps.settings;
    this.cfg = cfg;
    const secretCtx = { env: deps.env, baseDir: deps.baseDir };
    const bearer = resolveSecret(cfg, 'access_token', secretCtx);
    const basic = resolveSecret(cfg, 'api_token', secretCtx);
    let auth: HttpAuth;
    let credentialSetting: string;
    if (bearer) {
      auth = { type: 'bearer', token: bearer };
      credentialSetting = 'sources.bitbucket.access_token';
    } else if (basic) {
      const username = cfg.flavor === 'cloud' ? cfg.email : cfg.username;
      auth = { type: 'basic', username: username ?? '', password: basic };
      credentialSetting =
        cfg.flavor === 'cloud' ? 'sources.bitbucket.api_token and sources.bitbucket.email' : 'sources.bitbucket.api_token and sources.bitbucket.username';
    } else {
      throw new Error('sources.bitbucket: no credentials (access_token, or api_token with email)');
    }
    const baseUrl = cfg.url ?? CLOUD_API_URL;
    this.intervalMs = durationSeconds(cfg.refresh_interval ?? BITBUCKET_DEFAULT_INTERVAL) * 1000;
    this.fullRefreshMs = durationSeconds(cfg.full_refresh) * 1000;
    const budget = requestBudget(cfg.max_requests_per_hour ?? (cfg.flavor === 'cloud' ? BITBUCKET_CLOUD_DEFAULT_BUDGET : 0), this.intervalMs / 1000);
    this.budgeted = budget !== undefined;
    this.http = new HttpClient({
      source: 'bitbucket',
      baseUrl,
      auth,
      maxConcurrency: cfg.max_concurrency,
      budget,
      budgetSetting: 'sources.bitbucket.max_requests_per_hour',
      ...(cfg.flavor === 'cloud' ? { missingRetryAfterSeconds: CLOUD_429_PAUSE_SECONDS } : {}),
      credentialSetting,
      clock: deps.clock,
      ...(hooks.sleep ? { sleep: hooks.sleep } : {}),
      ...(hooks.random ? { random: hooks.random } : {}),
    });
    if (cfg.flavor === 'cloud') {
      this.api = new BitbucketCloudApi(this.http, {
        baseUrl: baseUrl.replace(/\/+$/, ''),
        workspace: cfg.workspace!,
        ...(cfg.project ? { project: cfg.project } : {}),
        credentialSetting,
      });
      this.scope = `cloud ${baseUrl} ${cfg.workspace}`;
      if (cfg.deployments !== false) {
        const api = new BitbucketDeploymentsApi(this.http, { baseUrl: baseUrl.replace(/\/+$/, ''), workspace: cfg.workspace!, credentialSetting });
        const settings = deploymentSettings(cfg.deployments);
        this.deployments = {
          api,
          feed: new BitbucketDeploymentFeed(api, {
            stateDir: deps.stateDir,
            scope: this.scope,
            settings,
            backfillMs: durationSeconds(cfg.backfill) * 1000,
            logger: deps.logger,
          }),
        };
      }
    } else {
      this.api = new BitbucketDataCenterApi(this.http, cfg.project!);
      this.scope = `datacenter ${baseUrl} ${cfg.project}`;
    }
    this.contextMs = durationSeconds(cfg.backfill) * 1000;
    this.coverage = cfg.code_insights === false ? undefined : cfg.code_insights === true ? {} : cfg.code_insights;
    const prefix = cfg.flavor === 'cloud' ? cfg.workspace : cfg.project;
    for (const [team, t] of Object.entries(deps.teams)) {
      for (const r of t.repos) {
        // teams.<team>.repos may name a repository by slug or as workspace/slug (project/slug).
        const slash = r.lastIndexOf('/');
        if (slash === -1) this.teamByRepo.set(r, team);
        else if (r.slice(0, slash).toLowerCase() === String(prefix).toLowerCase()) this.teamByRepo.set(r.slice(slash + 1), team);
      }
    }
    if (Array.isArray(cfg.repositories))
      for (const r of cfg.repositories) if (typeof r !== 'string' && r.team !== undefined) this.teamByRepo.set(r.slug, r.team);
  }

  /** For the backfill: the flavour's API, the configured repositories and the team of each (and the deployments API when on). */
  historyAccess(): {
    api: BitbucketApi;
    repositories: (ctx: CollectContext) => Promise<RepoRef[]>;
    teamOf: (slug: string) => string;
    deployments?: BitbucketDeploymentsApi;
  } {
    return {
      api: this.api,
      repositories: (ctx) => this.repositories(ctx),
      teamOf: (slug) => this.teamByRepo.get(slug) ?? '',
      ...(this.deployments ? { deployments: this.deployments.api } : {}),
    };
  }

  /**
   * The repositories to collect. On Cloud always from the workspace listing, even for a
   * configured list: it is cheap (100 a request) and its `updated_on` tells which moved. A
   * configured repository missing from the listing is still read (and fails if it is not there).
   */
  private async repositories(ctx: CollectContext): Promise<RepoRef[]> {
    const configured =
      this.cfg.repositories === 'all'
        ? undefined
        : this.cfg.repositories.map((r) =>
            typeof r === 'string' ? { slug: r } : r.main_branch ? { slug: r.slug, mainBranch: r.main_branch } : { slug: r.slug },
          );
    const bySlug = this.cfg.flavor === 'cloud' ? await this.cloudListing(ctx) : new Map<string, RepoRef>();
    if (this.cfg.flavor !== 'cloud' && configured === undefined)
      for (const r of await this.api.listRepositories(ctx)) if (!bySlug.has(r.slug)) bySlug.set(r.slug, r);
    if (!configured) return [...bySlug.values()];
    const out = new Map<string, RepoRef>();
    for (const r of configured) {
      const l = bySlug.get(r.slug);
      if (!out.has(r.slug)) out.set(r.slug, { ...l, ...r, ...(l?.updatedMs !== undefined ? { updatedMs: l.updatedMs } : {}) });
    }
    return [...out.values()];
  }

  /** Cloud: the workspace listing, in full once every FULL_LISTING_MS, otherwise what moved since. */
  private async cloudListing(ctx: CollectContext): Promise<Map<string, RepoRef>> {
    const now = this.deps.clock.now();
    const newest = (rs: RepoRef[], from: number) => rs.reduce((m, r) => (r.updatedMs !== undefined && r.updatedMs > m ? r.updatedMs : m), from);
    const known = this.listing;
    if (!known || now - known.fullAt >= FULL_LISTING_MS) {
      const listed = await this.api.listRepositories(ctx);
      const repos = new Map<string, RepoRef>();
      for (const r of listed) if (!repos.has(r.slug)) repos.set(r.slug, r);
      this.listing = { repos, fullAt: now, newestMs: newest(listed, Number.NEGATIVE_INFINITY) };
      return repos;
    }
    const moved = await this.api.listRepositories(ctx, { changedSinceMs: known.newestMs - LISTING_OVERLAP_MS });
    // Newest first, a repository listed twice (it moved while the pages were read) counts by its first, newer entry.
    const seen = new Set<string>();
    for (const r of moved)
      if (!seen.has(r.slug)) {
        seen.add(r.slug);
        known.repos.set(r.slug, r);
      }
    known.newestMs = newest(moved, known.newestMs);
    return known.repos;
  }

  async collect(ctx: CollectContext): Promise<Snapshot> {
    this.state ??= await loadState(this.deps.stateDir, this.scope, BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_PIPELINE_DURATION_BUCKETS, ctx.logger);
    const state = this.state;
    const repos = await this.repositories(ctx);
    const plan = planRefresh(repos, state.repos, this.deps.clock.now(), { fullRefreshMs: this.fullRefreshMs, intervalMs: this.intervalMs });
    // Under a budget one repository at a time, most urgent first: the budget then runs out
    // between repositories, and the ones it did not reach are the least urgent.
    const limit = pLimit(this.budgeted ? 1 : this.cfg.max_concurrency);
    const outcomes = new Map<string, RepoOutcome>();
    await Promise.all(plan.reads.map((r) => limit(async () => outcomes.set(r.repo.slug, await this.collectRepo(ctx, state, r)))));
    if (ctx.signal.aborted) {
      // Keep what the repositories that finished have folded in: a first refresh with a long
      // backfill that outlives its timeout then still progresses instead of starting over.
      // Nothing is served, and a checkpoint ahead of the served values is safe.
      await saveState(this.deps.stateDir, state).catch(() => undefined);
      throw ctx.signal.reason;
    }

    const read = plan.reads.map((r) => ({ repo: r.repo, outcome: outcomes.get(r.repo.slug)! }));
    const failed = read.filter((r) => !r.outcome.heldBack);
    const refused = failed.flatMap((r) => r.outcome.errors).find((e): e is SourceError => e instanceof SourceError && e.status === 401);
    if (refused) throw refused;
    const nothingRead = repos.length > 0 && failed.length > 0 && failed.every((r) => r.outcome.prsFailed) && plan.kept.every((r) => !state.repos[r.slug]?.read);
    if (nothingRead) throw failed[0]!.outcome.errors[0];
    this.logFailures(
      ctx,
      failed.map((r) => r.repo),
      failed.map((r) => r.outcome),
    );
    this.logHeldBack(
      ctx,
      read.flatMap((r) => (r.outcome.heldBack ? [r.outcome.heldBack] : [])),
      plan.reads.length,
    );
    // Published for the delivery source; a repository whose deployments fail only holds the join back.
    // Deployments are read for every repository at each refresh (not yet planned by the budget).
    await this.deployments?.feed.refresh(ctx, repos, this.deps.clock.now());

    // Persist before serving: the counters Prometheus sees never run ahead of the checkpoint,
    // so a restart can only repeat values already seen, never count a pull request twice.
    try {
      await saveState(this.deps.stateDir, state);
    } catch (e) {
      throw new SourceError('error', `bitbucket: cannot write the state file in ${this.deps.stateDir} (check server.state_dir is writable): ${messageOf(e)}`);
    }
    const live = new Map<string, RepoLive>();
    for (const r of repos) {
      const o = outcomes.get(r.slug);
      live.set(r.slug, o && !o.heldBack ? o.live : this.lastRead(r.slug, state.repos[r.slug]));
    }
    return buildSnapshot(state, live, failed.filter((r) => r.outcome.errors.length > 0).length);
  }

  /** The gauges of a repository's last complete read, served while it is not read again. */
  private lastRead(slug: string, rs: RepoState | undefined): RepoLive {
    const r = rs?.read;
    return { team: this.teamByRepo.get(slug) ?? '', ...(r?.open !== undefined ? { open: r.open } : {}), ...(r?.coverage ? { coverage: r.coverage } : {}) };
  }

  private async collectRepo(ctx: CollectContext, state: BitbucketState, planned: PlannedRead): Promise<RepoOutcome> {
    const { repo } = planned;
    const now = this.deps.clock.now();
    const live: RepoLive = { team: this.teamByRepo.get(repo.slug) ?? '' };
    if (this.budgeted && this.http.requestsAvailable() < 1) {
      // Not started: its first request would be held back.
      ctx.countRequest('rate_limited');
      return {
        live,
        prsFailed: false,
        errors: [],
        heldBack: new HeldBackError(`bitbucket: ${repo.slug} held back: the request budget (sources.bitbucket.max_requests_per_hour) is spent for now`),
      };
    }
    const errors: unknown[] = [];
    const known = state.repos[repo.slug];
    // First refresh of a repository: counting starts now. The `backfill` window before is read
    // as context only (ids remembered, not counted); its figures are the backfill command's.
    const rs = known ?? newRepoState(Math.min(now, this.hooks.countFromMs ?? now), BITBUCKET_CYCLE_TIME_BUCKETS);
    let prsFailed = false;
    let running = false;
    try {
      // Fetch everything first, then fold synchronously: an abort mid-listing changes nothing.
      const prs = await this.api.mergedPullRequestsSince(ctx, repo.slug, known ? pullRequestQueryStart(rs) : Math.min(rs.since, now - this.contextMs));
      foldMergedPullRequests(rs, prs, BITBUCKET_CYCLE_TIME_BUCKETS);
      state.repos[repo.slug] = rs;
    } catch (e) {
      prsFailed = true;
      errors.push(e);
    }
    // A 429 the client stopped retrying (its wait is longer than a refresh waits) is the rate
    // limit too: what it stopped keeps its last read, like what the client did not send.
    const heldBack = (): HeldBackError | undefined => {
      const e = errors.find((x) => x instanceof HeldBackError || (x instanceof SourceError && x.status === 429));
      return e === undefined || e instanceof HeldBackError ? e : new HeldBackError((e as SourceError).message);
    };
    if (!heldBack()) {
      try {
        live.open = await this.api.openPullRequestCount(ctx, repo.slug);
      } catch (e) {
        errors.push(e);
      }
    }
    // A repository never read successfully has no counters yet: exporting zeros would claim
    // a count we do not have. Its gauges below are still worth exporting.
    if (!heldBack() && this.cfg.pipelines && this.api.pipelinesAfter && state.repos[repo.slug]) {
      try {
        const ps = rs.pipelines ?? newPipelineState(BITBUCKET_PIPELINE_DURATION_BUCKETS);
        // Back to a day before the start: a build running then is counted when it completes.
        const runs = await this.api.pipelinesAfter(ctx, repo.slug, ps.watermark, rs.since - STALE_PIPELINE_MS);
        foldPipelines(ps, runs, BITBUCKET_PIPELINE_DURATION_BUCKETS, now, rs.since);
        rs.pipelines = ps;
        running = runs.some((r) => r.result === undefined && now - r.createdMs < STALE_PIPELINE_MS);
      } catch (e) {
        errors.push(e);
      }
    }
    if (!heldBack() && this.coverage) {
      try {
        live.coverage = await this.api.coverageReports(ctx, repo, this.coverage);
      } catch (e) {
        errors.push(e);
      }
    }
    const held = heldBack();
    if (held) return { live, prsFailed: false, errors: [], heldBack: held };
    if (errors.length === 0 && state.repos[repo.slug]) {
      // A complete read: what is served until the next one. A repository that moved less than
      // SETTLE_MS ago is read once more then, for what lands after a push.
      const settleAfter = repo.updatedMs !== undefined && now < repo.updatedMs + SETTLE_MS ? repo.updatedMs + SETTLE_MS : undefined;
      rs.read = {
        at: now,
        ...(repo.updatedMs !== undefined ? { listedUpdatedMs: repo.updatedMs } : {}),
        ...(live.open !== undefined ? { open: live.open } : {}),
        ...(live.coverage ? { coverage: live.coverage } : {}),
        ...(running ? { running } : {}),
        ...(settleAfter !== undefined ? { settleAfter } : {}),
      };
    }
    return { live, prsFailed, errors };
  }

  private logHeldBack(ctx: CollectContext, heldBack: HeldBackError[], planned: number): void {
    const streak = heldBack.length > 0;
    if (streak && !this.heldBackStreak)
      ctx.logger.warn(
        { source: this.source, repositories: heldBack.length, of: planned, err: heldBack[0]!.message },
        'bitbucket: the rate limit held some repositories back; they keep their last values and are read first in the next refreshes',
      );
    else if (!streak && this.heldBackStreak) ctx.logger.info({ source: this.source }, 'bitbucket: no repository is held back by the rate limit any more');
    this.heldBackStreak = streak;
  }

  private logFailures(ctx: CollectContext, repos: RepoRef[], outcomes: RepoOutcome[]): void {
    repos.forEach((r, i) => {
      const errs = outcomes[i]!.errors;
      const prev = this.failing.get(r.slug);
      if (errs.length === 0) {
        if (prev !== undefined) ctx.logger.info({ source: this.source, repo: r.slug }, 'bitbucket: repository readable again');
        this.failing.delete(r.slug);
        return;
      }
      const msg = errs.map(messageOf).join('; ');
      if (msg !== prev) ctx.logger.warn({ source: this.source, repo: r.slug, err: msg }, 'bitbucket: skipping part of a repository this refresh');
      this.failing.set(r.slug, msg);
    });
  }
}

export function createBitbucketCollector(deps: SourceDeps<BitbucketConfig>, hooks: BitbucketCollectorHooks = {}): BitbucketCollector {
  return new BitbucketCollector(deps, hooks);
}
