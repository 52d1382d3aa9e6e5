/**
 * Bitbucket Data Center REST 1.0 through HttpClient (the `bitbucket` npm client is Cloud
 * only). Paging is `start`/`limit` with `isLastPage`/`nextPageStart`; dates are epoch
 * milliseconds; a merged pull request carries its real merge time in `closedDate`.
 * Data Center has no Pipelines, so `pipelinesAfter` is absent.
 */
import type { z } from 'zod';
import type { CollectContext } from '../../src/core/source.js';
import type { HttpClient } from '../../src/core/http-client.js';
import { CommitListSchema, PullRequestListSchema, RepoListSchema, ReportListSchema } from './datacenter-api.js';
import {
  coverageReportsOf,
  MAX_PAGES,
  type BitbucketApi,
  type CoverageOptions,
  type CoverageReport,
  type MergedPullRequest,
  type RawReport,
  type RepoRef,
} from './bitbucket-api.js';

/** Page size asked for; the server may cap it lower (admin setting), which paging tolerates. */
const LIMIT = 100;

/** A page once read through its schema. */
interface DcPage<T> {
  values: T[];
  isLastPage: boolean;
  nextPageStart?: number | null;
}

export class BitbucketDataCenterApi implements BitbucketApi {
  constructor(
    private readonly http: HttpClient,
    private readonly project: string,
  ) {}

  private repoPath(slug: string): string {
    return `rest/api/1.0/projects/${encodeURIComponent(this.project)}/repos/${encodeURIComponent(slug)}`;
  }

  /** Every value of a paged resource; `take` may stop early. Always follows nextPageStart. */
  private async pages<T, R>(
    ctx: CollectContext,
    path: string,
    schema: z.ZodType<DcPage<T>>,
    query: Record<string, string | number>,
    take: (value: T) => { keep?: R; stop?: boolean },
  ): Promise<R[]> {
    const out: R[] = [];
    let start = 0;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.http.getJson(ctx, path, schema, { ...query, start, limit: LIMIT });
      let stop = false;
      for (const v of page.values) {
        const r = take(v);
        if (r.keep !== undefined) out.push(r.keep);
        if (r.stop) stop = true;
      }
      if (stop || page.isLastPage || typeof page.nextPageStart !== 'number') return out;
      start = page.nextPageStart;
    }
    return out;
  }

  listRepositories(ctx: CollectContext): Promise<RepoRef[]> {
    return this.pages(ctx, `rest/api/1.0/projects/${encodeURIComponent(this.project)}/repos`, RepoListSchema, {}, (r): { keep: RepoRef } => ({
      keep: { slug: r.slug },
    }));
  }

  mergedPullRequestsSince(ctx: CollectContext, slug: string, sinceMs: number): Promise<MergedPullRequest[]> {
    // CLOSED_DATE lists the most recently closed first (Bitbucket 7.x+; older servers fall
    // back to NEWEST, last update first). updatedDate >= closedDate, so under either order,
    // once updatedDate is before the window every later pull request was merged before it.
    const path = `${this.repoPath(slug)}/pull-requests`;
    return this.pages(ctx, path, PullRequestListSchema, { state: 'MERGED', order: 'CLOSED_DATE' }, (pr): { keep?: MergedPullRequest; stop?: boolean } => {
      if (pr.updatedDate < sinceMs) return { stop: true };
      if (pr.state !== 'MERGED' || pr.closedDate === undefined || pr.closedDate < sinceMs) return {};
      return { keep: { id: pr.id, openedMs: pr.createdDate, mergedMs: pr.closedDate } };
    });
  }

  async openPullRequestCount(ctx: CollectContext, slug: string): Promise<number> {
    // Data Center pages carry no total: count the values.
    const ones = await this.pages(ctx, `${this.repoPath(slug)}/pull-requests`, PullRequestListSchema, { state: 'OPEN' }, () => ({ keep: 1 }));
    return ones.length;
  }

  async coverageReports(ctx: CollectContext, repo: RepoRef, opts: CoverageOptions): Promise<CoverageReport[]> {
    // Without `until`, commits start at the default branch's head.
    const head = await this.http.getJson(ctx, `${this.repoPath(repo.slug)}/commits`, CommitListSchema, {
      limit: 1,
      ...(repo.mainBranch ? { until: `refs/heads/${repo.mainBranch}` } : {}),
    });
    const commit = head.values[0]?.id;
    if (commit === undefined) return [];
    const path = `rest/insights/1.0/projects/${encodeURIComponent(this.project)}/repos/${encodeURIComponent(repo.slug)}/commits/${encodeURIComponent(commit)}/reports`;
    const reports = await this.pages(ctx, path, ReportListSchema, {}, (r): { keep: RawReport } => ({ keep: { id: r.key, title: r.title, data: r.data } }));
    // Data Center reports have no type field: by default take the ones named for coverage.
    return coverageReportsOf(reports, opts, (r, id) => /coverage/i.test(id) || (typeof r.title === 'string' && /coverage/i.test(r.title)));
  }
}
