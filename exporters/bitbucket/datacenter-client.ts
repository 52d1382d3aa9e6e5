/**
 * Bitbucket Data Center REST 1.0 through HttpClient (the `bitbucket` npm client is Cloud
 * only). Paging is `start`/`limit` with `isLastPage`/`nextPageStart`; dates are epoch
 * milliseconds; a merged pull request carries its real merge time in `closedDate`.
 * Data Center has no Pipelines, so `pipelinesAfter` is absent.
 */
import type { CollectContext } from '../../src/core/source.js';
import type { HttpClient } from '../../src/core/http-client.js';
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

interface DcPage {
  values?: unknown[];
  isLastPage?: boolean;
  nextPageStart?: number;
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
  private async pages<T>(
    ctx: CollectContext,
    path: string,
    query: Record<string, string | number>,
    take: (value: unknown) => { keep?: T; stop?: boolean },
  ): Promise<T[]> {
    const out: T[] = [];
    let start = 0;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.http.getJson<DcPage>(ctx, path, { ...query, start, limit: LIMIT });
      let stop = false;
      for (const v of page?.values ?? []) {
        const r = take(v);
        if (r.keep !== undefined) out.push(r.keep);
        if (r.stop) stop = true;
      }
      if (stop || page?.isLastPage !== false || typeof page.nextPageStart !== 'number') return out;
      start = page.nextPageStart;
    }
    return out;
  }

  listRepositories(ctx: CollectContext): Promise<RepoRef[]> {
    return this.pages<RepoRef>(ctx, `rest/api/1.0/projects/${encodeURIComponent(this.project)}/repos`, {}, (v) => {
      const slug = (v as { slug?: unknown }).slug;
      return typeof slug === 'string' ? { keep: { slug } } : {};
    });
  }

  mergedPullRequestsSince(ctx: CollectContext, slug: string, sinceMs: number): Promise<MergedPullRequest[]> {
    // CLOSED_DATE lists the most recently closed first (Bitbucket 7.x+; older servers fall
    // back to NEWEST, last update first). updatedDate >= closedDate, so under either order,
    // once updatedDate is before the window every later pull request was merged before it.
    return this.pages<MergedPullRequest>(ctx, `${this.repoPath(slug)}/pull-requests`, { state: 'MERGED', order: 'CLOSED_DATE' }, (v) => {
      const pr = v as { id?: unknown; state?: unknown; createdDate?: unknown; updatedDate?: unknown; closedDate?: unknown };
      if (typeof pr.updatedDate === 'number' && pr.updatedDate < sinceMs) return { stop: true };
      if (typeof pr.id !== 'number' || pr.state !== 'MERGED' || typeof pr.createdDate !== 'number' || typeof pr.closedDate !== 'number') return {};
      if (pr.closedDate < sinceMs) return {};
      return { keep: { id: pr.id, openedMs: pr.createdDate, mergedMs: pr.closedDate } };
    });
  }

  async openPullRequestCount(ctx: CollectContext, slug: string): Promise<number> {
    // Data Center pages carry no total: count the values.
    const ones = await this.pages<number>(ctx, `${this.repoPath(slug)}/pull-requests`, { state: 'OPEN' }, () => ({ keep: 1 }));
    return ones.length;
  }

  async coverageReports(ctx: CollectContext, repo: RepoRef, opts: CoverageOptions): Promise<CoverageReport[]> {
    // Without `until`, commits start at the default branch's head.
    const head = await this.http.getJson<DcPage>(ctx, `${this.repoPath(repo.slug)}/commits`, {
      limit: 1,
      ...(repo.mainBranch ? { until: `refs/heads/${repo.mainBranch}` } : {}),
    });
    const commit = (head?.values?.[0] as { id?: unknown } | undefined)?.id;
    if (typeof commit !== 'string') return [];
    const path = `rest/insights/1.0/projects/${encodeURIComponent(this.project)}/repos/${encodeURIComponent(repo.slug)}/commits/${encodeURIComponent(commit)}/reports`;
    const reports = await this.pages<RawReport>(ctx, path, {}, (v) => {
      const r = v as { key?: unknown; title?: unknown; data?: unknown };
      return { keep: { id: r.key, title: r.title, data: r.data } };
    });
    // Data Center reports have no type field: by default take the ones named for coverage.
    return coverageReportsOf(reports, opts, (r, id) => /coverage/i.test(id) || (typeof r.title === 'string' && /coverage/i.test(r.title)));
  }
}
