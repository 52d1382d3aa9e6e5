/**
 * What the collector needs from Bitbucket, in one shape for both flavours. Cloud
 * (cloud-client.ts, through the `bitbucket` npm client) and Data Center
 * (datacenter-client.ts, REST 1.0 through HttpClient) each translate their wire format into
 * these records, so the incremental counting never looks at vendor JSON.
 */
import type { CollectContext } from '../../src/core/source.js';

export interface RepoRef {
  slug: string;
  /** Main branch name, when the listing or the config already told us. */
  mainBranch?: string;
  /** The listing's `updated_on` (Cloud), epoch ms: the refresh plan reads repositories that moved. */
  updatedMs?: number;
}

export interface MergedPullRequest {
  id: number;
  openedMs: number;
  /** Data Center: closedDate. Cloud: updated_on, the documented proxy (Cloud has no merge time). */
  mergedMs: number;
}

export interface PipelineRun {
  buildNumber: number;
  createdMs: number;
  /** Present once the pipeline has completed. */
  completedMs?: number;
  /** Lower-cased state.result.name once completed (successful, failed, error, stopped, expired, …). */
  result?: string;
}

export interface CoverageReport {
  /** external_id (Cloud) or key (Data Center), else the title: a bounded, stable label value. */
  report: string;
  ratio: number;
}

export interface CoverageOptions {
  /** Only these report ids/titles; default: Cloud reports typed COVERAGE, DC reports with a PERCENTAGE item. */
  reports?: string[];
  /** Title of the PERCENTAGE item to read; default the first PERCENTAGE item. */
  item?: string;
}

export interface BitbucketApi {
  /**
   * The repositories of the workspace or project. With `changedSinceMs` (Cloud), only those
   * whose `updated_on` is at or after it: the listing sorted newest first, stopped at the first
   * older one (usually a single request).
   */
  listRepositories(ctx: CollectContext, opts?: { changedSinceMs?: number }): Promise<RepoRef[]>;
  /**
   * Merged pull requests whose merge time (or its proxy) is at or after `sinceMs`. May return
   * some older ones too; the caller filters and de-duplicates.
   */
  mergedPullRequestsSince(ctx: CollectContext, slug: string, sinceMs: number): Promise<MergedPullRequest[]>;
  openPullRequestCount(ctx: CollectContext, slug: string): Promise<number>;
  /**
   * Pipelines with a build number above `afterBuild` created at or after `sinceMs`, newest first.
   * Undefined when the flavour has no pipelines (Data Center).
   */
  pipelinesAfter?(ctx: CollectContext, slug: string, afterBuild: number, sinceMs: number): Promise<PipelineRun[]>;
  /** Coverage reports on the latest commit of the main branch (empty when there is none). */
  coverageReports(ctx: CollectContext, repo: RepoRef, opts: CoverageOptions): Promise<CoverageReport[]>;
}

/** Bound on pages followed in one listing, so a misbehaving `next` can never loop forever. */
export const MAX_PAGES = 1000;

/** Reports per commit we export; Code Insights allows few, this only bounds label cardinality. */
const MAX_REPORTS = 20;

/** A Code Insights data item, as the schemas (cloud-api.ts, datacenter-api.ts) read it. */
export interface ReportItem {
  title?: string;
  type: string;
  /** A JSON number for PERCENTAGE and NUMBER; other types carry text, dates, links. */
  value: unknown;
}

/** A Code Insights report as both flavours send it. */
export interface RawReport {
  /** Cloud: external_id. Data Center: key. */
  id?: string;
  title?: string;
  /** Cloud: report_type. Data Center reports have no type. */
  type?: string;
  data?: ReportItem[];
}

/**
 * The coverage reports among `reports`, in order, at most MAX_REPORTS: the ones `opts.reports`
 * names (by id or title), else the ones `isCoverage` picks, that have a usable PERCENTAGE item.
 */
export function coverageReportsOf(reports: RawReport[], opts: CoverageOptions, isCoverage: (r: RawReport, id: string) => boolean): CoverageReport[] {
  const out: CoverageReport[] = [];
  for (const r of reports) {
    const id = r.id || r.title;
    if (!id) continue;
    const wanted = opts.reports ? opts.reports.includes(id) || (r.title !== undefined && opts.reports.includes(r.title)) : isCoverage(r, id);
    if (!wanted) continue;
    const ratio = coverageRatio(r.data, opts.item);
    if (ratio !== undefined) out.push({ report: id, ratio });
  }
  return out.slice(0, MAX_REPORTS);
}

/** The coverage value of a report's data items: the chosen PERCENTAGE item, as a 0..1 ratio. */
function coverageRatio(data: ReportItem[] | undefined, item: string | undefined): number | undefined {
  for (const d of data ?? []) {
    if (d.type !== 'PERCENTAGE' || typeof d.value !== 'number' || !Number.isFinite(d.value)) continue;
    if (item !== undefined && d.title !== item) continue;
    // Rounded to 8 decimals so 83.4 % reads 0.834, not 0.8340000000000001.
    return Math.min(1, Math.max(0, Math.round(d.value * 1e6) / 1e8));
  }
  return undefined;
}
