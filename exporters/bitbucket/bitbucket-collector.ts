/**
 * The Bitbucket collector (Cloud or Data Center): per repository, merged pull requests and
 * pipelines are folded into checkpointed counters (incremental-state.ts, state-file.ts);
 * open pull requests and Code Insights coverage are read fresh each refresh. One failing
 * repository is logged once and skipped; the collection fails only when no repository's
 * pull requests could be read, or the credentials are refused.
 */
import { durationSeconds } from '../../src/core/config-primitives.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_PIPELINE_DURATION_BUCKETS } from './metrics.js';
import { SourceError, type CollectContext, type Collector, type SourceDeps, type Snapshot } from '../../src/core/source.js';
import { HttpClient, type HttpAuth, type HttpClientOptions } from '../../src/core/http-client.js';
import type { BitbucketApi, CoverageOptions, RepoRef } from './bitbucket-api.js';
import { buildSnapshot, type RepoLive } from './bitbucket-snapshot.js';
import { BitbucketCloudApi } from './cloud-client.js';
import type { BitbucketConfig } from './config.js';
import { BitbucketDataCenterApi } from './datacenter-client.js';
import {
  foldMergedPullRequests,
  foldPipelines,
  newPipelineState,
  newRepoState,
  pullRequestQueryStart,
} from './incremental-state.js';
import { loadState, saveState, type BitbucketState } from './state-file.js';
import { BitbucketDeploymentsApi } from './deployments-client.js';
import { BitbucketDeploymentFeed } from './deployments-feed.js';

export const CLOUD_API_URL = 'https://api.bitbucket.org/2.0';

/** Test seams: time, and HttpClient's sleep/random so retries take no wall time. */
export interface BitbucketCollectorHooks {
  sleep?: HttpClientOptions['sleep'];
  random?: HttpClientOptions['random'];
}

interface RepoOutcome {
  live: RepoLive;
  /** The pull request step failed: nothing cumulative was learnt for this repository. */
  prsFailed: boolean;
  errors: unknown[];
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
  private readonly backfillMs: number;
  private readonly teamByRepo = new Map<string, string>();
  private readonly coverage: CoverageOptions | undefined;
  private state: BitbucketState | undefined;
  /** Last error message per failing repository, so each failure is logged once. */
  private readonly failing = new Map<string, string>();
  /** Production deployments for the delivery source (sources.bitbucket.deployments). */
  private readonly deployments: { api: BitbucketDeploymentsApi; feed: BitbucketDeploymentFeed } | undefined;

  constructor(
    private readonly deps: SourceDeps<BitbucketConfig>,
    hooks: BitbucketCollectorHooks = {},
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
      credentialSetting = cfg.flavor === 'cloud' ? 'sources.bitbucket.api_token and sources.bitbucket.email' : 'sources.bitbucket.api_token and sources.bitbucket.username';
    } else {
      throw new Error('sources.bitbucket: no credentials (access_token, or api_token with email)');
    }
    const baseUrl = cfg.url ?? CLOUD_API_URL;
    this.http = new HttpClient({
      source: 'bitbucket',
      baseUrl,
      auth,
      maxConcurrency: cfg.max_concurrency,
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
        const settings = cfg.deployments === true || !cfg.deployments.environments ? {} : { environments: cfg.deployments.environments };
        this.deployments = { api, feed: new BitbucketDeploymentFeed(api, { stateDir: deps.stateDir, scope: this.scope, settings, backfillMs: durationSeconds(cfg.backfill) * 1000, logger: deps.logger }) };
      }
    } else {
      this.api = new BitbucketDataCenterApi(this.http, cfg.project!);
      this.scope = `datacenter ${baseUrl} ${cfg.project}`;
    }
    this.backfillMs = durationSeconds(cfg.backfill) * 1000;
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
  historyAccess(): { api: BitbucketApi; repositories: (ctx: CollectContext) => Promise<RepoRef[]>; teamOf: (slug: string) => string; deployments?: BitbucketDeploymentsApi } {
    return { api: this.api, repositories: (ctx) => this.repositories(ctx), teamOf: (slug) => this.teamByRepo.get(slug) ?? '', ...(this.deployments ? { deployments: this.deployments.api } : {}) };
  }

  private async repositories(ctx: CollectContext): Promise<RepoRef[]> {
    const list = this.cfg.repositories === 'all' ? await this.api.listRepositories(ctx) : this.cfg.repositories.map((r) => (typeof r === 'string' ? { slug: r } : r.main_branch ? { slug: r.slug, mainBranch: r.main_branch } : { slug: r.slug }));
    const bySlug = new Map<string, RepoRef>();
    for (const r of list) if (!bySlug.has(r.slug)) bySlug.set(r.slug, r);
    return [...bySlug.values()];
  }

  async collect(ctx: CollectContext): Promise<Snapshot> {
    this.state ??= await loadState(this.deps.stateDir, this.scope, BITBUCKET_CYCLE_TIME_BUCKETS, BITBUCKET_PIPELINE_DURATION_BUCKETS, ctx.logger);
    const state = this.state;
    const repos = await this.repositories(ctx);
    const outcomes = await Promise.all(repos.map((r) => this.collectRepo(ctx, state, r)));
    if (ctx.signal.aborted) {
      // Keep what the repositories that finished have folded in: a first refresh with a long
      // backfill that outlives its timeout then still progresses instead of starting over.
      // Nothing is served, and a checkpoint ahead of the served values is safe.
      await saveState(this.deps.stateDir, state).catch(() => undefined);
      throw ctx.signal.reason;
    }

    const refused = outcomes.flatMap((o) => o.errors).find((e): e is SourceError => e instanceof SourceError && e.status === 401);
    if (refused) throw refused;
    if (repos.length > 0 && outcomes.every((o) => o.prsFailed)) throw outcomes[0]!.errors[0];
    this.logFailures(ctx, repos, outcomes);
    // Published for the delivery source; a repository whose deployments fail only holds the join back.
    await this.deployments?.feed.refresh(ctx, repos, this.deps.clock.now());

    // Persist before serving: the counters Prometheus sees never run ahead of the checkpoint,
    // so a restart can only repeat values already seen, never count a pull request twice.
    try {
      await saveState(this.deps.stateDir, state);
    } catch (e) {
      throw new SourceError('error', `bitbucket: cannot write the state file in ${this.deps.stateDir} (check server.state_dir is writable): ${messageOf(e)}`);
    }
    const live = new Map<string, RepoLive>();
    repos.forEach((r, i) => live.set(r.slug, outcomes[i]!.live));
    return buildSnapshot(state, live, outcomes.filter((o) => o.errors.length > 0).length);
  }

  private async collectRepo(ctx: CollectContext, state: BitbucketState, repo: RepoRef): Promise<RepoOutcome> {
    const now = this.deps.clock.now();
    const live: RepoLive = { team: this.teamByRepo.get(repo.slug) ?? '' };
    const errors: unknown[] = [];
    const known = state.repos[repo.slug];
    const rs = known ?? newRepoState(now - this.backfillMs, BITBUCKET_CYCLE_TIME_BUCKETS);
    let prsFailed = false;
    try {
      // Fetch everything first, then fold synchronously: an abort mid-listing changes nothing.
      const prs = await this.api.mergedPullRequestsSince(ctx, repo.slug, pullRequestQueryStart(rs));
      foldMergedPullRequests(rs, prs, BITBUCKET_CYCLE_TIME_BUCKETS);
      state.repos[repo.slug] = rs;
    } catch (e) {
      prsFailed = true;
      errors.push(e);
    }
    try {
      live.open = await this.api.openPullRequestCount(ctx, repo.slug);
    } catch (e) {
      errors.push(e);
    }
    // A repository never read successfully has no counters yet: exporting zeros would claim
    // a count we do not have. Its gauges below are still worth exporting.
    if (this.cfg.pipelines && this.api.pipelinesAfter && state.repos[repo.slug]) {
      try {
        const ps = rs.pipelines ?? newPipelineState(BITBUCKET_PIPELINE_DURATION_BUCKETS);
        const runs = await this.api.pipelinesAfter(ctx, repo.slug, ps.watermark, rs.since);
        foldPipelines(ps, runs, BITBUCKET_PIPELINE_DURATION_BUCKETS, now);
        rs.pipelines = ps;
      } catch (e) {
        errors.push(e);
      }
    }
    if (this.coverage) {
      try {
        live.coverage = await this.api.coverageReports(ctx, repo, this.coverage);
      } catch (e) {
        errors.push(e);
      }
    }
    return { live, prsFailed, errors };
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
