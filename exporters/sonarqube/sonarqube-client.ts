/**
 * The SonarQube Web API (v1) as okr-metrics needs it, for Server 10.x / 2025.x and Cloud.
 * Every call goes through the shared HttpClient (auth, retries, 429, request counting) and
 * reads its body through the endpoint's schema (sonarqube-api.ts): values are strings, shapes
 * differ across versions, a metric without data is `undefined` (never 0), and a body without
 * the envelope fails with `invalid_output`.
 */
import { Secret } from '../../src/core/secrets.js';
import type { z } from 'zod';
import type { CollectContext } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import { HttpClient, type HttpAuth, type RequestBudget } from '../../src/core/http-client.js';
import type { Clock } from '../../src/core/clock.js';
import {
  BranchListSchema,
  ComponentSearchSchema,
  MeasuresComponentSchema,
  ProjectStatusSchema,
  SearchHistorySchema,
  SearchProjectsSchema,
  type RawMeasure,
  type SearchHistoryResponse,
} from './sonarqube-api.js';

export type { RawMeasure, SearchHistoryResponse };

export type SonarFlavor = 'server' | 'cloud';

export interface SonarqubeClientOptions {
  flavor: SonarFlavor;
  baseUrl: string;
  /** Cloud only: the organization whose projects `listProjects` returns. */
  organization?: string;
  token: Secret;
  /** `bearer` (Server 10+, Cloud) or `basic` with the token as user name and an empty password. */
  authScheme?: 'bearer' | 'basic';
  maxConcurrency?: number;
  /** Setting named in auth errors. */
  credentialSetting?: string;
  /** Requests per rolling hour (sources.sonarqube.max_requests_per_hour); none by default. */
  budget?: RequestBudget;
  clock: Clock;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface ProjectRef {
  key: string;
  name: string;
  /** Unix seconds of the main branch's last analysis, when the listing says (search_projects). */
  analysisTime?: number;
}

export interface BranchInfo {
  name: string;
  isMain: boolean;
  /** Unix seconds of the branch's last analysis, when it has one. */
  analysisTime?: number;
  /** Quality gate status as the branch list gives it; undefined when the server does not say. */
  gate?: QualityGateStatus;
}

export type QualityGateStatus = 'OK' | 'WARN' | 'ERROR' | 'NONE';

/** Elasticsearch-backed searches refuse results past the first 10,000. */
const SEARCH_RESULT_WINDOW = 10_000;
/** Projects per listing page: `/api/components/search` refuses `ps` above 500. */
const LIST_PAGE_SIZE = 500;
/** `search_history` rejects `ps` above 1000. */
export const MAX_HISTORY_PAGE_SIZE = 1000;

/**
 * The number in a measure: `value` for ordinary metrics, `period.value` for `new_*` metrics
 * (8.1+), `periods[index 1].value` on servers that predate `period`. Undefined when the
 * measure has no usable number.
 */
export function measureValue(m: RawMeasure): number | undefined {
  const text = m.value ?? m.period?.value ?? m.periods?.find((p) => p.index === 1)?.value;
  return parseNumber(text);
}

export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === null || String(text).trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Unix seconds from a SonarQube date (`2026-10-01T09:00:00+0200`; Node parses the colon-less offset). */
export function parseSonarDate(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** A date as SonarQube's datetime parameters expect it: `yyyy-MM-ddTHH:mm:ss+0000`. */
export function formatSonarDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}+0000`;
}

export class SonarqubeClient {
  readonly http: HttpClient;
  /** Metric keys this server answered 404 for: not asked for again, warned about once. */
  private readonly unknownMetrics = new Set<string>();

  constructor(readonly opts: SonarqubeClientOptions) {
    if (opts.flavor === 'cloud' && !opts.organization) throw new Error('SonarQube Cloud needs an organization');
    const auth: HttpAuth =
      opts.authScheme === 'basic' ? { type: 'basic', username: opts.token.reveal(), password: new Secret('') } : { type: 'bearer', token: opts.token };
    this.http = new HttpClient({
      source: 'sonarqube',
      baseUrl: opts.baseUrl,
      auth,
      maxConcurrency: opts.maxConcurrency,
      credentialSetting: opts.credentialSetting ?? 'sources.sonarqube.token',
      budget: opts.budget,
      budgetSetting: 'sources.sonarqube.max_requests_per_hour',
      sleep: opts.sleep,
      random: opts.random,
      clock: opts.clock,
    });
  }

  /**
   * Every project the token may browse (`/api/components/search?qualifiers=TRK`, which needs
   * only Browse, unlike `/api/projects/search`). Follows the pages until `paging.total`.
   */
  async listProjects(ctx: CollectContext): Promise<ProjectRef[]> {
    return this.projectPages(ctx, 'api/components/search', ComponentSearchSchema, { qualifiers: 'TRK' }, (c) => ({ key: c.key, name: c.name ?? c.key }));
  }

  /**
   * Every project the token may browse with its main branch's last analysis, 500 a request:
   * `/api/components/search_projects?f=analysisDate`, the search behind SonarQube's Projects
   * page. It is marked internal (it may change without notice): callers fall back to
   * `listProjects` and a branch list per project when it fails.
   */
  async searchProjects(ctx: CollectContext): Promise<ProjectRef[]> {
    // Applications (APP) are listed too on Developer Edition and above: projects only.
    return this.projectPages(ctx, 'api/components/search_projects', SearchProjectsSchema, { filter: 'qualifier = TRK', f: 'analysisDate' }, (c) => {
      const analysisTime = parseSonarDate(c.analysisDate);
      return { key: c.key, name: c.name ?? c.key, ...(analysisTime !== undefined ? { analysisTime } : {}) };
    });
  }

  /** A project search's pages until `paging.total` (or the search's 10,000-result window), each key once. */
  private async projectPages<S extends z.ZodType<{ paging: { total: number }; components: Array<{ key: string }> }>>(
    ctx: CollectContext,
    path: string,
    schema: S,
    params: Record<string, string>,
    ref: (c: z.output<S>['components'][number]) => ProjectRef,
  ): Promise<ProjectRef[]> {
    const out: ProjectRef[] = [];
    const seen = new Set<string>();
    for (let p = 1; ; p++) {
      if ((p - 1) * LIST_PAGE_SIZE >= SEARCH_RESULT_WINDOW) {
        ctx.logger.warn(
          { listed: out.length },
          `sonarqube: the project search stops at ${SEARCH_RESULT_WINDOW} results; list the projects explicitly to measure more`,
        );
        break;
      }
      const page = await this.http.getJson(ctx, path, schema, { ...params, organization: this.opts.organization, p, ps: LIST_PAGE_SIZE });
      for (const c of page.components) {
        if (seen.has(c.key)) continue;
        seen.add(c.key);
        out.push(ref(c));
      }
      if (page.components.length === 0 || p * LIST_PAGE_SIZE >= page.paging.total) break;
    }
    return out;
  }

  /**
   * Branches of a project (`/api/project_branches/list`): which one is main, when each was
   * analysed, and its quality gate status.
   */
  async branches(ctx: CollectContext, project: string): Promise<BranchInfo[]> {
    const body = await this.http.getJson(ctx, 'api/project_branches/list', BranchListSchema, { project });
    return body.branches.map((b) => {
      const gate = b.status?.qualityGateStatus;
      return {
        name: b.name,
        isMain: b.isMain === true,
        analysisTime: parseSonarDate(b.analysisDate),
        ...(gate !== undefined ? { gate: gateStatus(gate) } : {}),
      };
    });
  }

  /**
   * Current measures of a project (or branch) as numbers, keyed by metric. Metrics the project
   * has no data for are missing from the map. A server that does not know some of the keys
   * answers 404 for the whole request; those keys are dropped (for this and later calls) and
   * the request repeated once, so one metric retired in a future version does not blank the rest.
   */
  async measures(ctx: CollectContext, project: string, metricKeys: readonly string[], branch?: string): Promise<Map<string, number>> {
    let keys = metricKeys.filter((k) => !this.unknownMetrics.has(k));
    if (keys.length === 0) return new Map();
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.http.getJson(ctx, 'api/measures/component', MeasuresComponentSchema, {
          component: project,
          branch,
          metricKeys: keys.join(','),
        });
        const out = new Map<string, number>();
        for (const m of body.component.measures) {
          const v = measureValue(m);
          if (v !== undefined) out.set(m.metric, v);
        }
        return out;
      } catch (e) {
        const unknown = attempt === 0 ? unknownMetricKeys(e) : [];
        const remaining = keys.filter((k) => !unknown.includes(k));
        if (unknown.length === 0 || remaining.length === 0 || remaining.length === keys.length) throw e;
        const fresh = unknown.filter((k) => !this.unknownMetrics.has(k));
        for (const k of unknown) this.unknownMetrics.add(k);
        if (fresh.length > 0) ctx.logger.warn({ metrics: fresh }, 'sonarqube: the server does not know these metrics; measuring without them');
        keys = remaining;
      }
    }
  }

  /** Quality gate status of a project (or branch). `NONE`: no gate or no analysis yet. */
  async qualityGate(ctx: CollectContext, project: string, branch?: string): Promise<QualityGateStatus> {
    const body = await this.http.getJson(ctx, 'api/qualitygates/project_status', ProjectStatusSchema, {
      projectKey: project,
      branch,
    });
    return gateStatus(body.projectStatus.status);
  }

  /** One page of `/api/measures/search_history` (paging counts analyses, not points). */
  async searchHistoryPage(
    ctx: CollectContext,
    q: { project: string; metrics: readonly string[]; from?: Date; to?: Date; branch?: string; page: number; pageSize: number },
  ): Promise<SearchHistoryResponse> {
    if (q.pageSize < 1 || q.pageSize > MAX_HISTORY_PAGE_SIZE) throw new RangeError(`search_history page size must be 1..${MAX_HISTORY_PAGE_SIZE}`);
    return this.http.getJson(ctx, 'api/measures/search_history', SearchHistorySchema, {
      component: q.project,
      metrics: q.metrics.join(','),
      branch: q.branch,
      from: q.from ? formatSonarDate(q.from) : undefined,
      to: q.to ? formatSonarDate(q.to) : undefined,
      p: q.page,
      ps: q.pageSize,
    });
  }
}

/** OK, WARN (before 7.6), ERROR; anything else (NONE, no analysis) is no gate. */
function gateStatus(s: string): QualityGateStatus {
  return s === 'OK' || s === 'WARN' || s === 'ERROR' ? s : 'NONE';
}

/** Metric keys named in SonarQube's 404 "The following metric keys are not found: a, b". */
function unknownMetricKeys(e: unknown): string[] {
  if (!(e instanceof SourceError) || e.status !== 404) return [];
  const m = /metric keys are not found: ([^);]+)/.exec(e.message);
  return m
    ? m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}
