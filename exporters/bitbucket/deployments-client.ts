/**
 * Bitbucket Cloud's Deployments API and what a deployment's changes need, through the `bitbucket`
 * npm client (requests still go through HttpClient: auth, concurrency, retries, request counts):
 * environments (`/environments`, their type: Test, Staging, Production), deployments
 * (`/deployments`, state and status, release commit, the pipeline it ran in), a pipeline's target
 * commit, the commits between two releases (`/commits?include=&exclude=`), merged pull requests
 * and a pull request's commits. Every answer is checked with a zod schema (an unexpected shape
 * fails with reason invalid_output), and every listing is paged: `next` links, or, when a page
 * says there are more but gives no `next` (as pipelines' pages are known to), by page number.
 *
 * Shapes: the Bitbucket Cloud OpenAPI spec (deployment_state_completed: name, status.name,
 * start_date, completion_date; deployment_environment_type) and recorded answers (commits:
 * atlassian-python-api tests/responses/bitbucket/cloud/.../pullrequests/1/commits/GET).
 */
import { z } from 'zod';
import { type HttpClient } from '../../src/core/http-client.js';
import { CloudLibrary } from './cloud-library.js';
import { SourceError, type CollectContext } from '../../src/core/source.js';
import { MAX_PAGES } from './bitbucket-api.js';

/** Bitbucket's default page size is 10; these lists take up to 100 (pull requests: 50). */
const PAGELEN = 100;
const PR_PAGELEN = 50;

export interface CloudEnvironment {
  uuid: string;
  name: string;
  /** Test, Staging or Production. */
  type?: string;
}

export interface CloudDeployment {
  uuid: string;
  environmentUuid: string;
  /** COMPLETED, IN_PROGRESS, UNDEPLOYED. */
  state: string;
  /** Once COMPLETED: SUCCESSFUL, FAILED or STOPPED. */
  status?: string;
  completedMs?: number;
  /** The release's commit when the answer carries it. */
  commit?: string;
  /** The pipeline the deployment ran in. */
  pipelineUuid?: string;
}

export interface CloudCommit {
  hash: string;
  dateMs: number;
  parents: string[];
}

export interface CloudMergedPr {
  id: number;
  createdMs: number;
  mergeCommit?: string;
}

const Page = z.looseObject({
  values: z.array(z.unknown()).default([]),
  next: z.string().optional(),
  page: z.number().optional(),
  pagelen: z.number().optional(),
  size: z.number().optional(),
});
type Page = z.infer<typeof Page>;

/** Epoch milliseconds of an ISO-8601 date-time, or undefined when there is none or it does not parse. */
function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

const Time = z.string().refine((s) => parseTime(s) !== undefined, 'not a date-time');
const CommitRef = z.looseObject({ hash: z.string().min(1) });

const EnvironmentSchema = z.looseObject({
  uuid: z.string().min(1),
  name: z.string().min(1),
  environment_type: z.looseObject({ name: z.string() }).nullish(),
});

const DeploymentSchema = z.looseObject({
  uuid: z.string().min(1),
  environment: z.looseObject({ uuid: z.string().min(1) }),
  state: z.looseObject({
    name: z.string(),
    status: z.looseObject({ name: z.string() }).nullish(),
    completion_date: Time.nullish(),
  }),
  release: z.looseObject({ commit: CommitRef.nullish() }).nullish(),
  deployable: z.looseObject({ commit: CommitRef.nullish(), pipeline: z.looseObject({ uuid: z.string().min(1) }).nullish() }).nullish(),
});

const PipelineSchema = z.looseObject({ target: z.looseObject({ commit: CommitRef.nullish() }).nullish() });

const CommitSchema = z.looseObject({ hash: z.string().min(1), date: Time, parents: z.array(CommitRef).default([]) });

const PullRequestSchema = z.looseObject({ id: z.number().int(), created_on: Time, merge_commit: CommitRef.nullish() });

type Call = (params: Record<string, unknown>) => Promise<{ data: unknown }>;
interface CloudClient {
  repositories: { listEnvironments: Call; listDeployments: Call; listCommits: Call };
  pipelines: { get: Call };
  pullrequests: { list: Call; listCommits: Call };
  hasNextPage(data: unknown): boolean;
  getNextPage(data: unknown): Promise<{ data: unknown }>;
}
export interface DeploymentsClientOptions {
  baseUrl: string;
  workspace: string;
  /** The setting to name when credentials are refused. */
  credentialSetting: string;
}

export class BitbucketDeploymentsApi {
  private readonly lib: CloudLibrary<CloudClient>;

  constructor(
    http: HttpClient,
    private readonly opts: DeploymentsClientOptions,
  ) {
    const cred = opts.credentialSetting;
    this.lib = new CloudLibrary(http, opts.baseUrl, {
      401: `the credentials were refused; check ${cred}`,
      403: `the credentials lack permission; give ${cred} read access to pipelines and deployments`,
      404: 'not found; check sources.bitbucket.workspace, the repository slug, and that Pipelines is enabled',
    });
  }

  /** Run `fn` with this collection's client; the library's HTTPError becomes a SourceError saying what to fix. */
  private call<T>(ctx: CollectContext, fn: (bb: CloudClient) => Promise<T>): Promise<T> {
    return this.lib.call(ctx, fn);
  }

  /**
   * Every value of a listing, each checked by `item`, page after page; stops early when `stop`
   * says so. A page without `next` whose `size` says there are more is followed by page number.
   */
  private async pages<T>(
    bb: CloudClient,
    list: Call,
    params: Record<string, unknown>,
    what: string,
    item: z.ZodType<T>,
    stop: (values: T[]) => boolean = () => false,
  ): Promise<T[]> {
    const out: T[] = [];
    let data = parsePage((await list(params)).data, what);
    for (let n = 1; n <= MAX_PAGES; n++) {
      const values = data.values.map((v, i) => parseItem(item, v, `${what}, page ${n}, item ${i}`));
      out.push(...values);
      if (values.length === 0 || stop(values)) return out;
      if (typeof data.next === 'string' && bb.hasNextPage(data)) data = parsePage((await bb.getNextPage(data)).data, what);
      else if (typeof data.size === 'number' && out.length < data.size) data = parsePage((await list({ ...params, page: (data.page ?? n) + 1 })).data, what);
      else return out;
    }
    throw new SourceError('invalid_output', `bitbucket: ${what} kept returning pages past ${MAX_PAGES}; giving up`);
  }

  environments(ctx: CollectContext, slug: string): Promise<CloudEnvironment[]> {
    return this.call(ctx, async (bb) =>
      (
        await this.pages(
          bb,
          bb.repositories.listEnvironments,
          { workspace: this.opts.workspace, repo_slug: slug, pagelen: PAGELEN },
          `environments of ${slug}`,
          EnvironmentSchema,
        )
      ).map((e) => ({ uuid: e.uuid, name: e.name, ...(e.environment_type?.name ? { type: e.environment_type.name } : {}) })),
    );
  }

  /**
   * Deployments of a repository, newest first as asked; the listing stops at the first page
   * that is in that order and ends before `stopBeforeMs` (a server that ignores the order is
   * read to the end).
   */
  deployments(ctx: CollectContext, slug: string, stopBeforeMs: number): Promise<CloudDeployment[]> {
    let previous = Number.POSITIVE_INFINITY;
    let ordered = true;
    return this.call(ctx, async (bb) =>
      (
        await this.pages(
          bb,
          bb.repositories.listDeployments,
          { workspace: this.opts.workspace, repo_slug: slug, pagelen: PAGELEN, sort: '-state.started_on' },
          `deployments of ${slug}`,
          DeploymentSchema,
          (values) => {
            const times = values.map((v) => parseTime(v.state.completion_date) ?? Number.POSITIVE_INFINITY);
            for (const t of times) {
              if (t > previous) ordered = false;
              previous = Math.min(previous, t);
            }
            return ordered && times.every((t) => t < stopBeforeMs);
          },
        )
      ).map((d) => {
        const commit = d.release?.commit?.hash ?? d.deployable?.commit?.hash;
        const completed = parseTime(d.state.completion_date);
        return {
          uuid: d.uuid,
          environmentUuid: d.environment.uuid,
          state: d.state.name,
          ...(d.state.status?.name ? { status: d.state.status.name } : {}),
          ...(completed !== undefined ? { completedMs: completed } : {}),
          ...(commit ? { commit } : {}),
          ...(d.deployable?.pipeline?.uuid ? { pipelineUuid: d.deployable.pipeline.uuid } : {}),
        };
      }),
    );
  }

  /** The commit a pipeline ran on (its target). */
  pipelineCommit(ctx: CollectContext, slug: string, pipelineUuid: string): Promise<string | undefined> {
    return this.call(ctx, async (bb) => {
      const { data } = await bb.pipelines.get({ workspace: this.opts.workspace, repo_slug: slug, pipeline_uuid: pipelineUuid });
      return parseItem(PipelineSchema, data, `pipeline ${pipelineUuid} of ${slug}`).target?.commit?.hash;
    });
  }

  /** Commits reachable from `include` and not from `exclude`: what a release brings over the one before. */
  commitsBetween(ctx: CollectContext, slug: string, include: string, exclude: string): Promise<CloudCommit[]> {
    return this.call(ctx, async (bb) =>
      (
        await this.pages(
          bb,
          bb.repositories.listCommits,
          { workspace: this.opts.workspace, repo_slug: slug, include, exclude, pagelen: PAGELEN },
          `commits of ${slug}`,
          CommitSchema,
        )
      ).map(commitOf),
    );
  }

  /** Merged pull requests updated at or after `sinceMs` (a merge moves updated_on; older ones may come too). */
  mergedPullRequestsSince(ctx: CollectContext, slug: string, sinceMs: number): Promise<CloudMergedPr[]> {
    const since = new Date(Math.floor(sinceMs / 1000) * 1000).toISOString().slice(0, 19);
    return this.call(ctx, async (bb) =>
      (
        await this.pages(
          bb,
          bb.pullrequests.list,
          { workspace: this.opts.workspace, repo_slug: slug, state: 'MERGED', q: `updated_on >= ${since}+00:00`, sort: '-updated_on', pagelen: PR_PAGELEN },
          `merged pull requests of ${slug}`,
          PullRequestSchema,
        )
      ).map((p) => ({ id: p.id, createdMs: parseTime(p.created_on)!, ...(p.merge_commit?.hash ? { mergeCommit: p.merge_commit.hash } : {}) })),
    );
  }

  pullRequestCommits(ctx: CollectContext, slug: string, id: number): Promise<CloudCommit[]> {
    return this.call(ctx, async (bb) =>
      (
        await this.pages(
          bb,
          bb.pullrequests.listCommits,
          { workspace: this.opts.workspace, repo_slug: slug, pull_request_id: id, pagelen: PAGELEN },
          `commits of pull request ${id} of ${slug}`,
          CommitSchema,
        )
      ).map(commitOf),
    );
  }
}

function commitOf(c: z.infer<typeof CommitSchema>): CloudCommit {
  return { hash: c.hash, dateMs: parseTime(c.date)!, parents: c.parents.map((p) => p.hash) };
}

function parsePage(data: unknown, what: string): Page {
  const r = Page.safeParse(data);
  if (!r.success) throw new SourceError('invalid_output', `bitbucket: ${what}: not a page of values (${z.prettifyError(r.error).replace(/\n/g, '; ')})`);
  return r.data;
}

function parseItem<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new SourceError('invalid_output', `bitbucket: ${what} has an unexpected shape (${z.prettifyError(r.error).replace(/\n/g, '; ')})`);
  return r.data;
}
