/**
 * Thin typed access to the Jira endpoints okr-metrics needs, for Cloud and Data Center.
 * Every call goes through the shared HttpClient (auth, retries, 429/Retry-After, counting)
 * and reads its body through the endpoint's schema in jira-api.ts.
 * Paging lives here so the figures logic above it sees plain arrays.
 */
import type { z } from 'zod';
import { SourceError, type CollectContext } from '../../src/core/source.js';
import type { HttpClient } from '../../src/core/http-client.js';
import {
  BoardConfigurationSchema,
  BoardListSchema,
  ChangelogPageSchema,
  FieldListSchema,
  JiraIssueSchema,
  OffsetIssuePageSchema,
  OffsetSearchPageSchema,
  SprintListSchema,
  SprintReportSchema,
  TokenIssuePageSchema,
  VelocityChartSchema,
  type BoardConfiguration,
  type ChangelogHistory,
  type JiraBoard,
  type JiraField,
  type JiraFlavor,
  type JiraIssue,
  type JiraSprint,
  type SearchIssue,
  type SprintReport,
  type VelocityChart,
} from './jira-api.js';

/** Page size asked for; servers may cap it lower and the loops read the real size back. */
const PAGE_SIZE = 100;
/** Hard stop for runaway paging (a server that never says it is done). */
const MAX_PAGES = 1000;

export class JiraClient {
  constructor(
    readonly http: HttpClient,
    readonly flavor: JiraFlavor,
  ) {}

  private get platform(): string {
    return this.flavor === 'cloud' ? '/rest/api/3' : '/rest/api/2';
  }

  /** Boards whose name contains `name` (Jira's filter is a substring match). */
  boardsNamed(ctx: CollectContext, name: string): Promise<JiraBoard[]> {
    return this.agilePages<JiraBoard>(ctx, '/rest/agile/1.0/board', BoardListSchema, { name });
  }

  boardConfiguration(ctx: CollectContext, boardId: number): Promise<BoardConfiguration> {
    return this.http.getJson(ctx, `/rest/agile/1.0/board/${boardId}/configuration`, BoardConfigurationSchema);
  }

  fields(ctx: CollectContext): Promise<JiraField[]> {
    return this.http.getJson(ctx, `${this.platform}/field`, FieldListSchema);
  }

  /**
   * Closed and active sprints from offset `startAt` on (closed ones come first, in backlog
   * order, then active ones), every page until the last.
   */
  sprints(ctx: CollectContext, boardId: number, startAt = 0): Promise<JiraSprint[]> {
    return this.agilePages<JiraSprint>(ctx, `/rest/agile/1.0/board/${boardId}/sprint`, SprintListSchema, { state: 'closed,active' }, startAt);
  }

  /** Jira's own velocity-chart data (undocumented greenhopper API; Cloud and DC). */
  velocity(ctx: CollectContext, boardId: number): Promise<VelocityChart> {
    return this.http.getJson(ctx, '/rest/greenhopper/1.0/rapid/charts/velocity', VelocityChartSchema, { rapidViewId: boardId });
  }

  /**
   * Jira's Sprint Report data for one sprint (undocumented greenhopper API; Cloud and DC). A
   * report without the issue lists the commitment is summed from fails that sprint by name.
   */
  async sprintReport(ctx: CollectContext, boardId: number, sprintId: number): Promise<SprintReport> {
    try {
      return await this.http.getJson(ctx, '/rest/greenhopper/1.0/rapid/charts/sprintreport', SprintReportSchema, { rapidViewId: boardId, sprintId });
    } catch (e) {
      if (!(e instanceof SourceError) || e.reason !== 'invalid_output') throw e;
      const detail = e.message.replace(/^.*? with an unexpected body: /, '');
      throw new SourceError(
        'invalid_output',
        `jira: the Sprint Report of sprint ${sprintId} (board ${boardId}) lacks what its figures are computed from (${detail}); the sprint is not counted until Jira answers with it`,
        e.status,
      );
    }
  }

  /** Every issue of a sprint with the given fields, optionally with changelogs. */
  async sprintIssues(ctx: CollectContext, sprintId: number, fields: string[], withChangelog: boolean): Promise<JiraIssue[]> {
    const out: JiraIssue[] = [];
    let startAt = 0;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.http.getJson(ctx, `/rest/agile/1.0/sprint/${sprintId}/issue`, OffsetIssuePageSchema, {
        startAt,
        maxResults: PAGE_SIZE,
        fields: fields.join(','),
        expand: withChangelog ? 'changelog' : undefined,
      });
      const issues = page.issues;
      out.push(...issues);
      startAt += issues.length;
      if (issues.length === 0 || page.isLast === true || (page.total !== undefined && startAt >= page.total)) return out;
    }
    throw runaway(`/rest/agile/1.0/sprint/${sprintId}/issue`);
  }

  /**
   * Changelogs embedded in issue lists are capped; complete the ones that were cut short
   * (Cloud: the paged /issue/{key}/changelog; Data Center: the single issue with expand=changelog).
   */
  async completeChangelogs(ctx: CollectContext, issues: JiraIssue[]): Promise<void> {
    const cut = issues.filter((i) => i.changelog && (i.changelog.total ?? 0) > i.changelog.histories.length);
    await Promise.all(
      cut.map(async (issue) => {
        if (this.flavor === 'datacenter') {
          const full = await this.http.getJson(ctx, `/rest/api/2/issue/${encodeURIComponent(issue.key)}`, JiraIssueSchema, {
            fields: 'status',
            expand: 'changelog',
          });
          issue.changelog = full.changelog ?? issue.changelog;
          return;
        }
        const histories = await this.agilePages<ChangelogHistory>(ctx, `/rest/api/3/issue/${encodeURIComponent(issue.key)}/changelog`, ChangelogPageSchema, {});
        issue.changelog = { startAt: 0, maxResults: histories.length, total: histories.length, histories };
      }),
    );
  }

  /**
   * Every issue matching `jql`. Cloud: enhanced search with nextPageToken (the old /search
   * answers 410 there); Data Center: /rest/api/2/search with startAt.
   */
  async search(ctx: CollectContext, jql: string, fields: string[]): Promise<SearchIssue[]> {
    const out: SearchIssue[] = [];
    // Cloud returns only `id` unless fields are named.
    const fieldList = fields.length > 0 ? fields.join(',') : 'id';
    if (this.flavor === 'cloud') {
      let token: string | undefined;
      for (let n = 0; n < MAX_PAGES; n++) {
        const page = await this.http.getJson(ctx, '/rest/api/3/search/jql', TokenIssuePageSchema, {
          jql,
          fields: fieldList,
          maxResults: PAGE_SIZE,
          nextPageToken: token,
        });
        out.push(...page.issues);
        // The last page may carry isLast: true, or simply no token (JRACLOUD-92184).
        token = page.nextPageToken ?? undefined;
        if (page.isLast === true || !token) return out;
      }
      throw runaway('/rest/api/3/search/jql');
    }
    let startAt = 0;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.http.getJson(ctx, '/rest/api/2/search', OffsetSearchPageSchema, { jql, fields: fieldList, startAt, maxResults: PAGE_SIZE });
      const issues = page.issues;
      out.push(...issues);
      startAt += issues.length;
      if (issues.length === 0 || page.total === undefined || startAt >= page.total) return out;
    }
    throw runaway('/rest/api/2/search');
  }

  /** Every value of an Agile-style list from `startAt` on: loop on `isLast`, tolerate a missing `total` and empty pages. */
  private async agilePages<T>(
    ctx: CollectContext,
    path: string,
    schema: z.ZodType<{ values: T[]; isLast?: boolean; total?: number }>,
    query: Record<string, string | number>,
    startAt = 0,
  ): Promise<T[]> {
    const out: T[] = [];
    let at = startAt;
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.http.getJson(ctx, path, schema, { ...query, startAt: at, maxResults: PAGE_SIZE });
      const values = page.values;
      out.push(...values);
      at += values.length;
      const last = page.isLast ?? (page.total !== undefined ? at >= page.total : values.length === 0);
      if (last || values.length === 0) return out;
    }
    throw runaway(path);
  }
}

function runaway(path: string): SourceError {
  return new SourceError('http', `jira: ${path} kept returning pages past ${MAX_PAGES}; giving up`);
}
