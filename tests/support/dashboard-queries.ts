/**
 * Runs every PromQL expression of generated dashboards (panels and variables, variables at
 * "All") against a real Prometheus and lists those that are invalid or return nothing.
 */
import { dashboardExpressions } from '../../src/generate/dashboards/common.js';
import { eventually, instantQuery } from './prometheus-process.js';

/** Dashboard variables at "All": every `$name` becomes the all-value regex. */
function substituteVariables(expr: string): string {
  return expr.replace(/\$(\w+)/g, '.*');
}

/** `label_values(selector, label)` → the selector, and the label each result must carry. */
function variableQuery(expr: string): { expr: string; label: string } {
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(expr);
  if (!m) throw new Error(`unsupported variable query ${expr}`);
  return { expr: m[1]!, label: m[2]! };
}

export interface DashboardQuery {
  uid: string;
  where: string;
  expr: string;
  variable?: boolean;
}

export function dashboardQueries(dashboards: Array<{ uid: string; json: Record<string, unknown> }>): DashboardQuery[] {
  return dashboards.flatMap((d) => dashboardExpressions(d.json).map((e) => ({ ...e, uid: d.uid })));
}

/** `empty: ...` or `invalid: ...` for each query that does not return data now. */
export async function queriesWithoutData(prometheusUrl: string, queries: DashboardQuery[]): Promise<string[]> {
  const missing: string[] = [];
  for (const e of queries) {
    try {
      if (e.variable) {
        const v = variableQuery(substituteVariables(e.expr));
        const res = await instantQuery(prometheusUrl, v.expr);
        if (!res.some((s) => s.metric[v.label] !== undefined)) missing.push(`empty: ${e.uid} ${e.where}: ${e.expr}`);
      } else {
        const res = await instantQuery(prometheusUrl, substituteVariables(e.expr));
        if (res.length === 0) missing.push(`empty: ${e.uid} ${e.where}: ${e.expr}`);
      }
    } catch (err) {
      missing.push(`invalid: ${e.uid} ${e.where}: ${String(err)}`);
    }
  }
  return missing;
}

/**
 * Poll until every query returns data or `timeoutMs` passes (rates need two scrapes, recorded
 * series a rule evaluation); returns what is still missing then (empty when all have data).
 */
export async function waitForDashboardData(prometheusUrl: string, queries: DashboardQuery[], timeoutMs: number, everyMs: number): Promise<string[]> {
  let missing: string[] = [];
  await eventually(
    'every dashboard query to return data',
    async () => {
      missing = await queriesWithoutData(prometheusUrl, queries);
      return missing.length === 0 ? true : undefined;
    },
    timeoutMs,
    everyMs,
  ).catch(() => undefined);
  return missing;
}
