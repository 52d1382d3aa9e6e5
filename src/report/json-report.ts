/** The review as JSON, for scripts and other tools: every figure, dates as ISO strings. */
import type { Evaluation } from '../engine/engine.js';
import type { ReportContext } from './report-context.js';

export function jsonReport(ev: Evaluation, ctx: ReportContext): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const doc = {
    period: { name: ctx.period.name, kind: ctx.period.kind, start: iso(ctx.period.start), end: iso(ctx.period.end) },
    organization: ctx.organization ?? null,
    evaluated_at: iso(ev.evaluatedAt),
    prometheus: ctx.prometheusUrl,
    objectives: ev.objectives.map((o) => ({
      id: o.id,
      title: o.title,
      owner: o.owner ?? null,
      progress: o.progress ?? null,
      key_results: o.keyResults.map((k) => ({
        id: k.id,
        title: k.title,
        period: { name: k.period.name, start: iso(k.period.start), end: iso(k.period.end), closed: k.closed },
        status: k.status,
        progress: k.status === 'no_data' ? null : k.progress,
        expected_progress: k.expectedProgress,
        unit: k.unit,
        value: k.value ?? null,
        value_at: iso(k.evaluatedAt),
        observed: k.observed ? { share: k.observed.share, promql: k.observed.promql, at: iso(k.observed.at) } : null,
        settles_at: k.settlesAt !== undefined ? iso(k.settlesAt) : null,
        baseline: k.baseline ?? null,
        baseline_source: k.baselineSource,
        baseline_at: k.baselineAt !== undefined ? iso(k.baselineAt) : null,
        baseline_observed: k.baselineObserved
          ? { period: k.baselineObserved.period, share: k.baselineObserved.share, promql: k.baselineObserved.promql, at: iso(k.baselineObserved.at) }
          : null,
        previous: k.previous
          ? {
              period: k.previous.period,
              value: k.previous.value,
              from_ledger: k.previous.fromLedger,
              promql: k.previous.promql ?? null,
              at: iso(k.previous.at),
            }
          : null,
        target: k.targetText,
        target_value: k.target?.value ?? null,
        forecast: k.forecast ?? null,
        forecast_meets_target: k.forecastMet ?? null,
        trend: k.trend.map((p) => ({ time: iso(p.t), value: p.v })),
        promql: k.promql ?? null,
        baseline_promql: k.baselinePromql ?? null,
        problem: k.problem ?? null,
        from_ledger: k.fromLedger,
        not_frozen: k.notFrozen ?? false,
        owner: k.owner ?? null,
        team: k.team ?? null,
        weight: k.weight,
        grafana: ctx.grafanaLink?.(k) ?? null,
      })),
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
