/**
 * The KR engine: evaluates each key result's measure through Prometheus at period boundaries,
 * resolves baselines and targets, computes progress, expected progress, forecast and status,
 * and keeps the ledger (baseline frozen when a period opens, final figures when it closes).
 */
import type { LoadedConfig } from '../config/load-config.js';
import type { KeyResult, Objective } from '../config/okr-schema.js';
import type { KrStatus } from '../conventions.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { RUNNER_METRICS, STALE_AFTER_INTERVALS } from '../core/runner-metrics.js';
import { remeasured, type BaselineSource, type Ledger, type LedgerRow } from './ledger.js';
export type { BaselineSource } from './ledger.js';
import { fillPlaceholders, oneOrMany } from './measures.js';
import { expandMeasure, kindSpec, refsOf, type ExpandedMeasure } from './measure-kinds.js';
import { calendarOf, elapsedFraction, periodContaining, previousPeriod, sprintPeriods, type Calendar, type Period } from '../core/periods.js';
import type { PromQueryClient } from './prometheus-client.js';
import { averageStillReachable, isMet, linearForecast, progressOf, resolveTarget, statusOf, withValue, type ResolvedTarget } from './progress.js';
import { parseTarget, type Target } from './target.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';


export interface KrResult {
  objective: string;
  id: string;
  title: string;
  owner?: string;
  team?: string;
  weight: number;
  notes?: string;
  period: Period;
  closed: boolean;
  /** When the figures were taken (period end for closed periods, else now), Unix ms. */
  evaluatedAt: number;
  unit: ExpandedMeasure['unit'];
  kind: string;
  /** The exact PromQL behind the value, placeholders filled (undefined for manual measures). */
  promql?: string;
  value?: number;
  baseline?: number;
  baselineSource: BaselineSource;
  baselinePromql?: string;
  targetText: string;
  target?: ResolvedTarget;
  progress: number;
  expectedProgress: number;
  forecast?: number;
  forecastMet?: boolean;
  status: KrStatus;
  /** Measured points through the period, for trend charts. */
  trend: Array<{ t: number; v: number }>;
  /** Why a figure is missing, when it is. */
  problem?: string;
  /** Figures come from the ledger (frozen), not from Prometheus. */
  fromLedger: boolean;
  /**
   * A closed period whose figures were not frozen while it ran (no ledger record from during the
   * period: a first start, or a lost ledger): re-measured from Prometheus afterwards, with today's
   * file (targets, baselines) rather than the period's.
   */
  notFrozen?: boolean;
  /** The previous period's final value, when the ledger has it: the quarter-over-quarter trend. */
  previous?: { period: string; value: number };
}

export interface ObjectiveResult {
  id: string;
  title: string;
  owner?: string;
  /** Weighted mean of its KRs' progress, ignoring KRs without data; undefined when none has data. */
  progress?: number;
  keyResults: KrResult[];
}

export interface Evaluation {
  evaluatedAt: number;
  objectives: ObjectiveResult[];
}

export interface EngineOptions {
  loaded: LoadedConfig;
  prom: PromQueryClient;
  ledger?: Ledger;
  /** "Now" decides the current period and the instant of each evaluation. */
  clock: Clock;
  /** Where problems that do not belong to one KR are logged (once each). */
  logger?: Logger;
  forecastPoints?: number;
}

/** Prometheus duration for a window in ms (at least 1 s). */
export function windowOf(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

export function fillFor(p: Period, at: number): { window: string; period_start: string; period_end: string } {
  return { window: windowOf(at - p.start), period_start: String(Math.floor(p.start / 1000)), period_end: String(Math.floor(p.end / 1000)) };
}

/** The KR's notes; a manual measure adds its own note and when its value was taken. */
function manualNotes(kr: KeyResult): string | undefined {
  const m = kr.measure.manual;
  const asOf = m?.as_of ? `value as of ${m.as_of}` : undefined;
  return [kr.notes ?? m?.note, asOf].filter(Boolean).join('; ') || undefined;
}

export class KrEngine {
  private readonly calendar: Calendar;
  private readonly staleCache = new Map<string, boolean>();
  private readonly logged = new Set<string>();

  constructor(private readonly opts: EngineOptions) {
    this.calendar = calendarOf(opts.loaded.config.calendar);
  }

  /**
   * Every KR in its current period, as of now. Also closes, in the ledger, each KR's previous
   * period if it has not been closed yet.
   */
  async evaluateCurrent(): Promise<Evaluation> {
    const now = this.opts.clock.now();
    this.staleCache.clear();
    const objectives: ObjectiveResult[] = [];
    for (const o of this.opts.loaded.config.objectives) {
      const krs: KrResult[] = [];
      for (const kr of o.key_results) {
        const period = await this.periodOf(kr, now);
        if (this.opts.ledger && period.kind !== 'sprint') {
          const prev = previousPeriod(period, this.calendar);
          const row = this.opts.ledger.get(kr.id, prev.name);
          // A manual value has no history: it can only close a period the engine saw open.
          const manual = kr.measure.manual !== undefined;
          if (row ? row.closed_at === null : !manual) await this.evaluateKr(o, kr, prev, now);
        }
        krs.push(await this.evaluateKr(o, kr, period, now));
      }
      objectives.push(objectiveResult(o, krs));
    }
    return { evaluatedAt: now, objectives };
  }

  /**
   * Every KR for a named review period (e.g. 2026-Q3): KRs of that kind use it; KRs of other
   * kinds use their own period containing the review period's last moment (or now, if earlier).
   */
  async evaluatePeriod(review: Period): Promise<Evaluation> {
    const now = this.opts.clock.now();
    this.staleCache.clear();
    const at = Math.min(now, review.end - 1);
    const objectives: ObjectiveResult[] = [];
    for (const o of this.opts.loaded.config.objectives) {
      const krs: KrResult[] = [];
      for (const kr of o.key_results) {
        const period = kr.period === review.kind ? review : await this.periodOf(kr, at);
        krs.push(await this.evaluateKr(o, kr, period, now));
      }
      objectives.push(objectiveResult(o, krs));
    }
    return { evaluatedAt: now, objectives };
  }

  private async periodOf(kr: KeyResult, at: number): Promise<Period> {
    if (kr.period !== 'sprint') return periodContaining(kr.period, at, this.calendar);
    const sprints = await this.sprints(kr);
    const current = sprints.find((s) => s.start <= at && at < s.end) ?? [...sprints].reverse().find((s) => s.end <= at);
    // Without sprint data yet, fall back to the quarter so the KR still shows (as no_data).
    return current ?? periodContaining('quarter', at, this.calendar);
  }

  /** Sprints of the KR's board(s) from the Jira exporter's timestamps. */
  private async sprints(kr: KeyResult): Promise<Period[]> {
    const boards = refsOf(kr.measure).filter((r) => r.kind === 'board').flatMap((r) => r.values);
    // The same (escaped) board matcher the measure's own PromQL uses.
    const m = boards.length === 0 ? undefined : oneOrMany(boards);
    const sel = m ? `{board${m.op}${JSON.stringify(m.value)}}` : '';
    const at = this.opts.clock.now();
    try {
      const [starts, completes, ends] = await Promise.all([
        this.opts.prom.query(`max by (sprint, sprint_name) (max_over_time(${JIRA_METRICS.sprintStart}${sel}[400d]))`, at),
        this.opts.prom.query(`max by (sprint) (max_over_time(${JIRA_METRICS.sprintCompleteTime}${sel}[400d]))`, at),
        this.opts.prom.query(`max by (sprint) (max_over_time(${JIRA_METRICS.sprintEnd}${sel}[400d]))`, at),
      ]);
      const byId = (xs: typeof starts) => new Map(xs.map((x) => [x.labels.sprint ?? '', x.value]));
      const c = byId(completes);
      const e = byId(ends);
      return sprintPeriods(
        starts.map((s) => {
          const id = s.labels.sprint ?? '';
          // A closed sprint runs until just after its completion, so its own completion falls inside it.
          const end = c.has(id) ? c.get(id)! * 1000 + 1000 : (e.get(id) ?? s.value) * 1000;
          return { id, name: s.labels.sprint_name || `sprint ${id}`, start: s.value * 1000, end };
        }),
      );
    } catch (e) {
      // The KR falls back to the quarter and shows no_data; say why once.
      const why = `sprint dates of ${kr.id} could not be read: ${redact((e as Error).message)}`;
      if (!this.logged.has(why)) this.opts.logger?.warn(why);
      this.logged.add(why);
      return [];
    }
  }

  private async evaluateKr(o: Objective, kr: KeyResult, period: Period, now: number): Promise<KrResult> {
    const result = await this.measureKr(o, kr, period, now);
    if (this.opts.ledger && period.kind !== 'sprint') {
      const prev = this.opts.ledger.get(kr.id, previousPeriod(period, this.calendar).name);
      if (prev?.closed_at !== null && prev?.closed_at !== undefined && prev.final_value !== null) result.previous = { period: prev.period, value: prev.final_value };
    }
    return result;
  }

  private async measureKr(o: Objective, kr: KeyResult, period: Period, now: number): Promise<KrResult> {
    const expanded = expandMeasure(kr.measure);
    const target = parseTarget(kr.target) as Target; // validated at load
    const closed = now >= period.end;
    const at = closed ? period.end - 1000 : now;
    const ledger = this.opts.ledger;
    const row = ledger?.get(kr.id, period.name);
    const base: Pick<KrResult, 'objective' | 'id' | 'title' | 'owner' | 'team' | 'weight' | 'notes' | 'period' | 'closed' | 'evaluatedAt' | 'unit' | 'kind' | 'targetText'> = {
      objective: o.id,
      id: kr.id,
      title: kr.title,
      owner: kr.owner,
      team: kr.team,
      weight: kr.weight,
      notes: manualNotes(kr),
      period,
      closed,
      evaluatedAt: at,
      unit: expanded.unit,
      kind: expanded.kind,
      targetText: kr.target,
    };

    // A closed period that the ledger has frozen is reported as it was.
    if (row && row.closed_at !== null) return fromLedgerRow(base, row);

    const { promql, value, problem: measureProblem } = await this.measure(expanded, period, at);
    const b = await this.baseline(kr, target, expanded, period, row);
    const resolved = resolveTarget(target, b.value, expanded.unit);
    const trend = await this.trend(expanded, period, at, value, closed);
    const assessed = await this.assess(kr, expanded, period, now, { value, measureProblem, resolved, baselineSource: b.source, baseline: b.value, trend });
    const result: KrResult = {
      ...base,
      promql,
      value,
      baseline: b.value,
      baselineSource: b.source,
      baselinePromql: b.promql,
      target: resolved,
      ...assessed,
      trend,
      fromLedger: false,
      // Measured after the period ended, not frozen while it ran (a lost or new ledger).
      ...(closed ? { notFrozen: !(row && row.opened_at !== null && row.opened_at < period.end) } : {}),
    };
    if (ledger) this.record(ledger, result, row, now);
    return result;
  }

  /** The measure's value at `at` (the manual value for manual measures). */
  private async measure(expanded: ExpandedMeasure, period: Period, at: number): Promise<{ promql?: string; value?: number; problem?: string }> {
    if (expanded.manualValue !== undefined) return { value: expanded.manualValue };
    if (!expanded.promql) return {};
    const promql = fillPlaceholders(expanded.promql, fillFor(period, at));
    return { promql, ...(await this.value(promql, at)) };
  }

  /** The baseline a relative target resolves against: fixed, frozen in the ledger once known, else measured now. */
  private async baseline(kr: KeyResult, target: Target, expanded: ExpandedMeasure, period: Period, row: LedgerRow | undefined): Promise<{ source: BaselineSource; value?: number; promql?: string }> {
    if (typeof kr.baseline === 'number') return { source: 'fixed', value: kr.baseline };
    if (target.kind !== 'relative' && kr.baseline === undefined) return { source: 'none' };
    const source = kr.baseline ?? 'previous_period';
    if (row?.baseline !== null && row?.baseline !== undefined) return { source, value: row.baseline, promql: row.baseline_promql ?? undefined };
    const b = await this.baselineOf(kr, expanded, period, source);
    return { source, value: b.value, promql: b.promql };
  }

  /** The measure at `forecastPoints` instants spread over the open period so far, ending with `value` at `at`. */
  private async trend(expanded: ExpandedMeasure, period: Period, at: number, value: number | undefined, closed: boolean): Promise<Array<{ t: number; v: number }>> {
    if (value === undefined) return [];
    const trend: Array<{ t: number; v: number }> = [];
    if (expanded.promql && !closed) {
      const k = this.opts.forecastPoints ?? this.opts.loaded.config.engine.forecast_points;
      for (let i = 1; i < k; i++) {
        const t = period.start + ((at - period.start) * i) / k;
        if (t - period.start < 60_000) continue;
        const r = await this.value(fillPlaceholders(expanded.promql, fillFor(period, t)), t);
        if (r.value !== undefined) trend.push({ t, v: r.value });
      }
    }
    trend.push({ t: at, v: value });
    return trend;
  }

  /** Progress, expected progress, forecast and status of a measured KR. */
  private async assess(
    kr: KeyResult,
    expanded: ExpandedMeasure,
    period: Period,
    now: number,
    m: { value?: number; measureProblem?: string; resolved?: ResolvedTarget; baselineSource: BaselineSource; baseline?: number; trend: Array<{ t: number; v: number }> },
  ): Promise<{ progress: number; expectedProgress: number; forecast?: number; forecastMet?: boolean; status: KrStatus; problem?: string }> {
    const { value, resolved } = m;
    const closed = now >= period.end;
    const progressBaseline = m.baselineSource === 'none' ? undefined : m.baseline;
    const progress = value !== undefined && resolved ? progressOf(value, resolved, progressBaseline) : 0;
    const expectedProgress = closed ? 1 : elapsedFraction(period, now);
    const forecast = closed ? value : (linearForecast(m.trend, period.end) ?? value);
    const forecastMet = forecast !== undefined && resolved ? isMet(forecast, resolved) : undefined;
    const spec = kindSpec(expanded.kind);
    const pace = kr.tracking ? kr.tracking === 'pace' : spec.pace || m.baselineSource === 'period_start';
    const stale = closed ? false : await this.isStale(spec.source);
    let problem = m.measureProblem;
    if (stale) problem = `${spec.source} data is stale (${RUNNER_METRICS.lastSuccess} older than ${STALE_AFTER_INTERVALS} refresh intervals)`;
    if (value === undefined && !problem) problem = 'no series';
    if (resolved === undefined && value !== undefined) problem = 'no baseline yet: the relative target cannot be resolved';
    // A dip in a period average (availability) is at risk, not lost, while a clean rest of the period recovers it.
    const reachable = spec.recoverable && value !== undefined && resolved && !closed ? averageStillReachable(value, resolved, expectedProgress) : undefined;
    const status = statusOf({ value, target: resolved, progress, expectedProgress, forecastMet, closed, pace, stale, reachable });
    return { progress, expectedProgress, forecast, forecastMet, status, problem };
  }

  private record(ledger: Ledger, r: KrResult, row: LedgerRow | undefined, now: number): void {
    const fields = { target_text: r.targetText, target_value: r.target?.value ?? null, title: r.title, promql: r.promql ?? null };
    if (!row) {
      ledger.open({
        key_result: r.id,
        period: r.period.name,
        objective: r.objective,
        period_start: r.period.start,
        period_end: r.period.end,
        unit: r.unit,
        baseline: r.baseline ?? null,
        baseline_source: r.baselineSource,
        baseline_promql: r.baselinePromql ?? null,
        baseline_frozen_at: r.baseline !== undefined ? now : null,
        ...fields,
      }, now);
    } else {
      ledger.updateOpenTarget(r.id, r.period.name, fields);
      if (row.baseline === null && r.baseline !== undefined) ledger.fillMissingBaseline(r.id, r.period.name, r.baseline, r.baselinePromql ?? null, now);
    }
    // Final figures are frozen only once the data is in (a no_data close could be a Prometheus outage).
    if (r.closed && r.status !== 'no_data') {
      ledger.closePeriod(r.id, r.period.name, { final_value: r.value ?? null, final_progress: r.progress, final_status: r.status, closed_at: now });
    }
  }

  private baselineQuery(expanded: ExpandedMeasure, period: Period, source: 'previous_period' | 'period_start'): string {
    const prev = period.kind === 'sprint' ? { ...period, start: period.start - (period.end - period.start), end: period.start } : previousPeriod(period, this.calendar);
    // The previous period measured at its end; "period_start" is the value at the start instant,
    // with windowed measures looking back over the previous period.
    return fillPlaceholders(expanded.promql!, fillFor(prev, source === 'previous_period' ? prev.end - 1000 : period.start));
  }

  private async baselineOf(kr: KeyResult, expanded: ExpandedMeasure, period: Period, source: 'previous_period' | 'period_start'): Promise<{ value?: number; promql?: string }> {
    if (!expanded.promql) return {};
    if (source === 'previous_period' && period.kind !== 'sprint' && this.opts.ledger) {
      const prevRow = this.opts.ledger.get(kr.id, previousPeriod(period, this.calendar).name);
      if (prevRow?.final_value !== null && prevRow?.final_value !== undefined) return { value: prevRow.final_value, promql: prevRow.promql ?? undefined };
    }
    const promql = this.baselineQuery(expanded, period, source);
    const prevEnd = period.kind === 'sprint' ? period.start : previousPeriod(period, this.calendar).end;
    const at = source === 'previous_period' ? prevEnd - 1000 : period.start;
    const r = await this.value(promql, at);
    return { value: r.value, promql };
  }

  /** One number from a measure: undefined when there is no series; several series are an error. */
  private async value(promql: string, at: number): Promise<{ value?: number; problem?: string }> {
    try {
      const samples = (await this.opts.prom.query(promql, at)).filter((s) => !Number.isNaN(s.value));
      if (samples.length === 0) return { problem: 'no series' };
      if (samples.length > 1) return { problem: `the measure returned ${samples.length} series; aggregate it to one (e.g. sum(...))` };
      return { value: samples[0]!.value };
    } catch (e) {
      return { problem: (e as Error).message };
    }
  }

  private async isStale(source: string | undefined): Promise<boolean> {
    if (!source) return false;
    const cached = this.staleCache.get(source);
    if (cached !== undefined) return cached;
    const sel = `{source="${source}"}`;
    const expr = `time() - max(${RUNNER_METRICS.lastSuccess}${sel}) > ${STALE_AFTER_INTERVALS} * max(${RUNNER_METRICS.refreshInterval}${sel})`;
    let stale = false;
    try {
      stale = (await this.opts.prom.query(expr, this.opts.clock.now())).length > 0;
    } catch {
      stale = false; // Prometheus errors surface on the measure itself
    }
    this.staleCache.set(source, stale);
    return stale;
  }
}

function fromLedgerRow(base: Omit<KrResult, 'value' | 'baseline' | 'baselineSource' | 'target' | 'progress' | 'expectedProgress' | 'status' | 'trend' | 'fromLedger'>, row: LedgerRow): KrResult {
  const target = resolvedFromRow(row);
  return {
    ...base,
    targetText: row.target_text,
    title: row.title,
    promql: row.promql ?? undefined,
    baselinePromql: row.baseline_promql ?? undefined,
    value: row.final_value ?? undefined,
    baseline: row.baseline ?? undefined,
    baselineSource: row.baseline_source,
    target,
    progress: row.final_progress ?? 0,
    expectedProgress: 1,
    forecast: row.final_value ?? undefined,
    forecastMet: target && row.final_value !== null ? isMet(row.final_value, target) : undefined,
    status: row.final_status ?? 'no_data',
    trend: row.final_value !== null ? [{ t: row.period_end - 1000, v: row.final_value }] : [],
    fromLedger: true,
    notFrozen: remeasured(row),
  };
}

function resolvedFromRow(row: LedgerRow): ResolvedTarget | undefined {
  const t = parseTarget(row.target_text);
  return 'error' in t || row.target_value === null ? undefined : withValue(t, row.target_value);
}

export function objectiveResult(o: Objective, krs: KrResult[]): ObjectiveResult {
  const measured = krs.filter((k) => k.status !== 'no_data');
  const weight = measured.reduce((s, k) => s + k.weight, 0);
  return {
    id: o.id,
    title: o.title,
    owner: o.owner,
    progress: weight > 0 ? measured.reduce((s, k) => s + k.weight * k.progress, 0) / weight : undefined,
    keyResults: krs,
  };
}
