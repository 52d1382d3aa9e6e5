/**
 * Past values of SonarQube metrics from `/api/measures/search_history`, for the backfill
 * (src/backfill/sonarqube-backfill.ts). A pure function of a client: no state, no caching.
 */
import type { CollectContext } from '../../src/core/source.js';
import { SONAR_METRIC_EXPORTS } from './metric-mapping.js';
import { MAX_HISTORY_PAGE_SIZE, parseNumber, parseSonarDate, type SonarqubeClient } from './sonarqube-client.js';

export interface HistoryQuery {
  project: string;
  /** SonarQube metric keys, e.g. `coverage`, `new_coverage`. */
  metrics: readonly string[];
  /** Both ends inclusive, as in the API; omitted = unbounded. */
  from?: Date;
  to?: Date;
  /** Default: the main branch. */
  branch?: string;
  /** Analyses per page (1..1000, default 1000). */
  pageSize?: number;
}

export interface HistoryPoint {
  /** SonarQube metric key. */
  metric: string;
  /** Unix seconds of the analysis. */
  time: number;
  /** The value as SonarQube reports it (percent for coverage, minutes for sqale_index). */
  value: number;
}

/** Guard against a server whose paging never ends. */
const MAX_PAGES = 10_000;

/**
 * Every dated history entry of `metrics` across all pages, its value as text (level metrics
 * such as `alert_status` are OK/WARN/ERROR), in the server's order.
 */
export async function historyEntries(
  client: SonarqubeClient,
  ctx: CollectContext,
  q: HistoryQuery,
): Promise<Array<{ metric: string; time: number; value?: string }>> {
  const pageSize = q.pageSize ?? MAX_HISTORY_PAGE_SIZE;
  const out: Array<{ metric: string; time: number; value?: string }> = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await client.searchHistoryPage(ctx, { ...q, page, pageSize });
    let entries = 0;
    for (const m of res.measures) {
      for (const h of m.history ?? []) {
        entries++;
        const time = parseSonarDate(h.date);
        if (time !== undefined) out.push({ metric: m.metric, time, value: h.value });
      }
    }
    // Paging counts analyses; the server's own page size may differ from the one asked for.
    const { pageIndex, pageSize: served, total } = res.paging;
    if (entries === 0 || (pageIndex ?? page) * (served || pageSize) >= total) break;
  }
  return out;
}

/**
 * Every analysis value of `metrics` between `from` and `to`, oldest first within each metric.
 * Analyses that lack a metric (entries without `value`) are skipped, never read as 0.
 */
export async function measureHistory(client: SonarqubeClient, ctx: CollectContext, q: HistoryQuery): Promise<HistoryPoint[]> {
  if (q.metrics.length === 0) return [];
  const points: HistoryPoint[] = [];
  for (const e of await historyEntries(client, ctx, q)) {
    const value = parseNumber(e.value);
    if (value !== undefined) points.push({ metric: e.metric, time: e.time, value });
  }
  const order = new Map(q.metrics.map((m, i) => [m, i]));
  return points.sort((a, b) => (order.get(a.metric) ?? 0) - (order.get(b.metric) ?? 0) || a.time - b.time);
}

/** The last value of `metric` at or before `time` (Unix seconds), e.g. coverage at a quarter's start. */
export function valueAt(points: readonly HistoryPoint[], metric: string, time: number): number | undefined {
  let best: HistoryPoint | undefined;
  for (const p of points) if (p.metric === metric && p.time <= time && (!best || p.time >= best.time)) best = p;
  return best?.value;
}

/** A history point in the exported metric's base units (e.g. coverage 81.2 → 0.812), or undefined for unmapped metrics. */
export function exportedPoint(p: HistoryPoint): { name: string; labels: Record<string, string>; time: number; value: number } | undefined {
  const e = SONAR_METRIC_EXPORTS[p.metric];
  return e ? { name: e.name, labels: { ...e.labels }, time: p.time, value: e.convert(p.value) } : undefined;
}
