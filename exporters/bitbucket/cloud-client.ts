/**
 * Bitbucket Cloud 2.0 through the `bitbucket` npm client. Every request still goes through
 * HttpClient (auth header, concurrency limit, 429/5xx retries, okr_source_requests_total):
 * the client gets `request.fetch = httpClient.fetchFor(ctx)`, and every body it parses is read
 * through its schema (cloud-api.ts). Paging follows the absolute `next` URLs with
 * `getNextPage`, as Bitbucket asks clients to do, except on the pipelines list, which never
 * carries `next` (BCLOUD-13806) and is paged by `page` until `size` is reached.
 */
import type { z } from 'zod';
import type { CollectContext } from '../../src/core/source.js';
import { parseBody, type HttpClient } from '../../src/core/http-client.js';
import { CloudLibrary } from './cloud-library.js';
import { BranchSchema, PipelineListSchema, PullRequestListSchema, ReportListSchema, RepositoryListSchema, RepositorySchema } from './cloud-api.js';
import {
  coverageReportsOf,
  MAX_PAGES,
  type BitbucketApi,
  type CoverageOptions,
  type CoverageReport,
  type MergedPullRequest,
  type PipelineRun,
  type RawReport,
  type RepoRef,
} from './bitbucket-api.js';

/** Pull request lists answer 400 above 50 per page; the other lists accept it too. */
const PAGELEN = 50;
/** The repository listing takes Bitbucket's documented maximum: a 500-repository workspace in five requests. */
const REPOSITORY_PAGELEN = 100;

/** What the client resolves with; `data` is the parsed JSON, read through a schema before use. */
interface ClientResponse {
  data: unknown;
  status: number;
  url?: string;
}
type Call = (params: Record<string, unknown>) => Promise<ClientResponse>;

/** The slice of the generated client we call (paging params such as q, sort, page and pagelen are passed through as query parameters). */
interface CloudClient {
  repositories: { list: Call; get: Call };
  refs: { getBranch: Call };
  pullrequests: { list: Call };
  pipelines: { list: Call };
  reports: { getReportsForCommit: Call };
  getNextPage(data: { next?: string | null }): Promise<ClientResponse>;
}

/** A page of any listing, once read through its schema. */
interface Page<T> {
  values: T[];
  next?: string | null;
  size?: number;
}

/** `page` with its `next` link carrying every `sticky` query parameter. */
function withSticky<P extends { next?: string | null }>(page: P, sticky: Record<string, string>): P {
  if (!page.next || Object.keys(sticky).length === 0) return page;
  const next = new URL(page.next);
  let changed = false;
  for (const [k, v] of Object.entries(sticky))
    if (!next.searchParams.has(k)) {
      next.searchParams.set(k, v);
      changed = true;
    }
  return changed ? { ...page, next: next.toString() } : page;
}

/** BBQL wants `+00:00` offsets (a trailing `Z` has been reported to fail parsing). */
export function bbqlTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;
}

export interface CloudClientOptions {
  baseUrl: string;
  workspace: string;
  /** Optional project key limiting `repositories: all`. */
  project?: string;
  /** Setting to name when credentials are refused. */
  credentialSetting: string;
}

export class BitbucketCloudApi implements BitbucketApi {
  private readonly lib: CloudLibrary<CloudClient>;

  constructor(
    http: HttpClient,
    private readonly opts: CloudClientOptions,
  ) {
    const cred = opts.credentialSetting;
    this.lib = new CloudLibrary(http, opts.baseUrl, {
      401: `the credentials were refused; check ${cred} (app passwords no longer work: use an API token with the account e-mail, or an access token)`,
      403: `the credentials lack permission; give ${cred} read access to repositories, pull requests and pipelines`,
      404: 'not found; check sources.bitbucket.workspace and the repository slug',
      429: 'rate limited, still after retries',
    });
  }

  /** Main branches looked up for listed repositories: they rarely change, requests are rationed. */
  private readonly mainBranches = new Map<string, string>();

  /** Run `fn` with this collection's client; the library's HTTPError becomes a SourceError that says what to fix. */
  private call<T>(ctx: CollectContext, fn: (bb: CloudClient) => Promise<T>): Promise<T> {
    return this.lib.call(ctx, fn);
  }

  /** `res.data` read through `schema`; `invalid_output` naming the path otherwise. */
  private read<S extends z.ZodType>(schema: S, res: ClientResponse): z.output<S> {
    let where = 'request';
    try {
      if (res.url) where = new URL(res.url).pathname;
    } catch {
      // keep the generic wording
    }
    return parseBody(schema, res.data, `bitbucket: GET ${where}`, res.status);
  }

  /**
   * Every value of a listing, following absolute `next` links; stops early when `stop` says so.
   * `sticky` query parameters are put back into a `next` link that dropped them: some
   * endpoints have been seen to lose `sort`, and an early stop relies on the order.
   */
  private async collectPages<T, R>(
    bb: CloudClient,
    schema: z.ZodType<Page<T>>,
    first: Promise<ClientResponse>,
    take: (value: T) => { keep?: R; stop?: boolean },
    sticky: Record<string, string> = {},
  ): Promise<R[]> {
    const out: R[] = [];
    let page = this.read(schema, await first);
    for (let n = 0; n < MAX_PAGES; n++) {
      let stop = false;
      for (const v of page.values) {
        const r = take(v);
        if (r.keep !== undefined) out.push(r.keep);
        if (r.stop) stop = true;
      }
      if (stop || !page.next) return out;
      page = this.read(schema, await bb.getNextPage(withSticky(page, sticky)));
    }
    return out;
  }

  listRepositories(ctx: CollectContext, opts: { changedSinceMs?: number } = {}): Promise<RepoRef[]> {
    const since = opts.changedSinceMs;
    const sort: Record<string, string> = since !== undefined ? { sort: '-updated_on' } : {};
    return this.call(ctx, (bb) =>
      this.collectPages(
        bb,
        RepositoryListSchema,
        bb.repositories.list({
          workspace: this.opts.workspace,
          pagelen: REPOSITORY_PAGELEN,
          ...(this.opts.project ? { q: `project.key = "${this.opts.project}"` } : {}),
          ...sort,
        }),
        (r): { keep?: RepoRef; stop?: boolean } => {
          const updatedMs = r.updated_on !== undefined ? Date.parse(r.updated_on) : undefined;
          // Newest first: the first one older than `since` ends the listing (one without
          // updated_on is kept: nothing says it did not move).
          if (since !== undefined && updatedMs !== undefined && updatedMs < since) return { stop: true };
          return {
            keep: {
              slug: r.slug,
              ...(r.mainbranch ? { mainBranch: r.mainbranch.name } : {}),
              ...(updatedMs !== undefined ? { updatedMs } : {}),
            },
          };
        },
        sort,
      ),
    );
  }

  mergedPullRequestsSince(ctx: CollectContext, slug: string, sinceMs: number): Promise<MergedPullRequest[]> {
    const q = `updated_on >= ${bbqlTime(sinceMs)}`;
    return this.call(ctx, (bb) =>
      this.collectPages(
        bb,
        PullRequestListSchema,
        bb.pullrequests.list({
          workspace: this.opts.workspace,
          repo_slug: slug,
          state: 'MERGED',
          q,
          sort: '-updated_on',
          pagelen: PAGELEN,
        }),
        (pr): { keep?: MergedPullRequest } => {
          const opened = Date.parse(pr.created_on);
          const merged = Date.parse(pr.updated_on);
          // `q` already filters on the server; a pull request outside the window is skipped
          // rather than ending the listing, so correctness never rests on the sort order.
          if (pr.state !== 'MERGED' || merged < sinceMs) return {};
          return { keep: { id: pr.id, openedMs: opened, mergedMs: merged } };
        },
        { state: 'MERGED', q, sort: '-updated_on' },
      ),
    );
  }

  openPullRequestCount(ctx: CollectContext, slug: string): Promise<number> {
    return this.call(ctx, async (bb) => {
      const first = await bb.pullrequests.list({ workspace: this.opts.workspace, repo_slug: slug, state: 'OPEN', pagelen: PAGELEN });
      const page = this.read(PullRequestListSchema, first);
      // `size` is optional in Bitbucket's paging ("can be expensive"): count the pages without it.
      if (typeof page.size === 'number') return page.size;
      const ids = await this.collectPages(bb, PullRequestListSchema, Promise.resolve(first), () => ({ keep: 1 }));
      return ids.length;
    });
  }

  /**
   * The pipelines list carries no `next` link even when more pages exist (BCLOUD-13806;
   * atlassian-python-api and go-bitbucket page it by number for the same reason), so it is read
   * page by page until `page * pagelen` reaches `size`, or a page comes back empty. Newest
   * first: a pipeline created while paging pushes the others down a page, so one may be read
   * twice (kept once), never skipped.
   */
  pipelinesAfter(ctx: CollectContext, slug: string, afterBuild: number, sinceMs: number): Promise<PipelineRun[]> {
    return this.call(ctx, async (bb) => {
      const runs = new Map<number, PipelineRun>();
      for (let page = 1; page <= MAX_PAGES; page++) {
        const res = await bb.pipelines.list({ workspace: this.opts.workspace, repo_slug: slug, sort: '-created_on', pagelen: PAGELEN, page });
        const body = this.read(PipelineListSchema, res);
        let stop = false;
        for (const p of body.values) {
          const created = Date.parse(p.created_on);
          // Newest first: once at the watermark or before the tracking start, the rest is older.
          if (p.build_number <= afterBuild || created < sinceMs) {
            stop = true;
            break;
          }
          if (runs.has(p.build_number)) continue;
          const run: PipelineRun = { buildNumber: p.build_number, createdMs: created };
          if (p.state.name === 'COMPLETED' && p.state.result) {
            run.result = p.state.result.name.toLowerCase();
            if (p.completed_on !== undefined) run.completedMs = Date.parse(p.completed_on);
          }
          runs.set(p.build_number, run);
        }
        const pagelen = body.pagelen ?? PAGELEN;
        const read = (body.page ?? page) * pagelen;
        if (stop || body.values.length === 0 || (body.size !== undefined && read >= body.size)) break;
      }
      return [...runs.values()];
    });
  }

  coverageReports(ctx: CollectContext, repo: RepoRef, opts: CoverageOptions): Promise<CoverageReport[]> {
    return this.call(ctx, async (bb) => {
      const ws = this.opts.workspace;
      let branch = repo.mainBranch ?? this.mainBranches.get(repo.slug);
      if (!branch) {
        const r = this.read(RepositorySchema, await bb.repositories.get({ workspace: ws, repo_slug: repo.slug }));
        branch = r.mainbranch?.name;
        if (branch) this.mainBranches.set(repo.slug, branch);
      }
      if (!branch) return []; // an empty repository has no main branch yet
      const head = this.read(BranchSchema, await bb.refs.getBranch({ workspace: ws, repo_slug: repo.slug, name: branch }));
      const commit = head.target.hash;
      const reports = await this.collectPages(
        bb,
        ReportListSchema,
        bb.reports.getReportsForCommit({ workspace: ws, repo_slug: repo.slug, commit, pagelen: PAGELEN }),
        (r): { keep: RawReport } => ({ keep: { id: r.external_id, title: r.title, data: r.data, type: r.report_type } }),
      );
      return coverageReportsOf(reports, opts, (r) => r.type === 'COVERAGE');
    });
  }
}
