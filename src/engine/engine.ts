/**
 * The KR engine: evaluates each key result's measure through Prometheus at period boundaries,
 * resolves baselines and targets, computes progress, expected progress, forecast and status,
 * and keeps the ledger (baseline frozen when a period opens, final figures once a closed period
 * has settled). When each figure is read is the measure kind's `reading` (measure-kinds.ts,
 * docs/okr-file.md "When each figure is read").
 */
import pLimit from 'p-limit';
import type { LoadedConfig } from '../config/load-config.js';
import type { KeyResult, Objective } from '../config/okr-schema.js';
import { sourceSettings } from '../config/okr-schema.js';
import type { KrStatus } from '../conventions.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { SOURCES } from '../../exporters/index.js';
import { RUNNER_METRICS, STALE_AFTER_INTERVALS } from '../core/runner-metrics.js';
import { durationSeconds } from '../core/duration.js';
import { remeasured, type BaselineSource, type Ledger, type LedgerRow } from './ledger.js';
export type { BaselineSource } from './ledger.js';
import { fillPlaceholders, oneOrMany } from './measures.js';
import { expandMeasure, kindSpec, refsOf, type ExpandedMeasure, type Observed } from './measure-kinds.js';
import { calendarOf, elapsedFraction, periodContaining, previousPeriod, sprintPeriods, type Calendar, type Period } from '../core/periods.js';
import type { PromQueryClient } from './prometheus-client.js';
import { averageStillReachable, isMet, linearForecast, progressOf, resolveTarget, statusOf, withValue, type ResolvedTarget } from './progress.js';
import { parseTarget, type Target } from './target.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';

/** A figure and what reproduces it: the PromQL (placeholders filled) and the instant it is evaluated at. */
export interface Reproducible {
  promql?: string;
  /** Unix ms. */
  at: number;
}

/** How much of a period (so far) a measure's samples cover. */
export interface ObservedShare extends Reproducible {
  /** 0..1: observed steps / steps of the period up to the reading instant. */
  share: number;
  period: string;
}

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
  /** The instant the value is read at (a closed period's reading instant, else now), Unix ms. */
  evaluatedAt: number;
  unit: ExpandedMeasure['unit'];
  kind: string;
  /** The exact PromQL behind the value, placeholders filled (undefined for manual measures); evaluate it at `evaluatedAt`. */
  promql?: string;
  value?: number;
  /** The share of the period the value's samples cover (measures over samples). */
  observed?: ObservedShare;
  baseline?: number;
  baselineSource: BaselineSource;
  baselinePromql?: string;
  /** The instant the baseline's PromQL reproduces it at. */
  baselineAt?: number;
  /** The period the baseline was measured over, and how much of it had samples. */
  baselineObserved?: ObservedShare;
  targetText: string;
  target?: ResolvedTarget;
  progress: number;
  expectedProgress: number;
  forecast?: number;
  forecastMet?: boolean;
  status: KrStatus;
  /** Measured points through the period, for trend charts. */
  trend: Array<{ t: number; v: number }>;
  /** Why a figure is missing or is to be read with care, when it is. */
  problem?: string;
  /** Figures come from the ledger (frozen), not from Prometheus. */
  fromLedger: boolean;
  /** A closed period whose data may still arrive: figures are provisional (and not frozen) until then, Unix ms. */
  settlesAt?: number;
  /**
   * A closed period whose figures were not frozen while it ran (no ledger record from during the
   * period: a first start, or a lost ledger): re-measured from Prometheus afterwards, with today's
   * file (targets, baselines) rather than the period's.
   */
  notFrozen?: boolean;
  /** The previous period's final figure (from the ledger when frozen, else measured): the period-over-period trend. */
  previous?: { period: string; value: number; fromLedger: boolean; promql?: string; at: number };
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
  /**
   * Write the ledger: open rows with their baselines, close settled periods. `serve`'s engine
   * does (the default); `report` reads the ledger and never writes it.
   */
  freeze?: boolean;
  /** "Now" decides the current period and the instant of each evaluation. */
  clock: Clock;
  /** Where problems that do not belong to one KR are logged (once each). */
  logger?: Logger;
  forecastPoints?: number;
  /**
   * Queries in flight at once (default 2). The heavy ones (a quarter of 5-minute slots) are CPU
   * work in Prometheus: on the 2-core bench machine 2 in flight took 1.3–2.0 s for the first
   * evaluation, 4 took 1.8–3.3 s (bench/kr-engine).
   */
  concurrency?: number;
}

/** A baseline built from less than this share of its period is marked as partial. */
export const PARTIAL_BASELINE_BELOW = 0.9;
/** A closed period that ended with no data is tried again after this, doubling up to a day. */
const RETRY_FIRST_MS = 15 * 60_000;
const RETRY_MAX_MS = 86_400_000;
/** Results of queries at instants this far in the past are reused for this long (serve's loop). */
const CACHE_TTL_MS = 3_600_000;

/** Prometheus duration for a window in ms (at least 1 s). */
export function windowOf(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

export function fillFor(p: Period, at: number): { window: string; period_start: string; period_end: string } {
  return { window: windowOf(at - p.start), period_start: String(Math.floor(p.start / 1000)), period_end: String(Math.floor(p.end / 1000)) };
}

/**
 * The instant a period's figure is read: now while it runs; once it has ended, the kind's
 * reading instant (never later than now), with the time from which its data is complete.
 */
export function readingInstant(
  expanded: Pick<ExpandedMeasure, 'reading'>,
  period: Period,
  now: number,
  settleMs: number,
): { at: number; closed: boolean; settlesAt: number } {
  const settlesAt = period.end + settleMs;
  if (now < period.end) return { at: now, closed: false, settlesAt };
  const at = expanded.reading === 'end' ? period.end : expanded.reading === 'last_refresh' ? period.end - 1000 : Math.min(now, settlesAt);
  return { at, closed: true, settlesAt };
}

/**
 * Instants of the trend before `at`: a grid of one hour × a power of two from the period start,
 * the finest with at most `points - 1` instants. A grid instant stays one as time passes (the
 * step only doubles), so `serve` reads each once (query cache) instead of every evaluation.
 */
export function trendInstants(period: Period, at: number, points: number): number[] {
  const elapsed = at - period.start;
  if (elapsed <= 0) return [];
  let step = 3_600_000;
  while (elapsed / step > points - 1) step *= 2;
  const out: number[] = [];
  for (let t = period.start + step; t < at; t += step) out.push(t);
  return out;
}

/** Steps of `stepMs` ending in (start, min(at, end)]: what an observed count is a share of. */
export function periodSteps(period: Period, at: number, stepMs: number): number {
  const last = Math.floor(Math.min(at, period.end) / stepMs);
  const first = Math.floor(period.start / stepMs);
  return Math.max(0, last - first);
}

/** The KR's notes; a manual measure adds its own note and when its value was taken. */
function manualNotes(kr: KeyResult): string | undefined {
  const m = kr.measure.manual;
  const asOf = m?.as_of ? `value as of ${m.as_of}` : undefined;
  return [kr.notes ?? m?.note, asOf].filter(Boolean).join('; ') || undefined;
}

type QueryResult = { value?: number; problem?: string };

export class KrEngine {
  private readonly calendar: Calendar;
  private readonly staleCache = new Map<string, Promise<boolean>>();
  private readonly logged = new Set<string>();
  /** Query results by instant and expression: shared within an evaluation; settled instants kept for CACHE_TTL_MS. */
  private readonly cache = new Map<string, { result: Promise<QueryResult>; until: number; settled: boolean }>();
  /** Closed periods that ended with no data: when to try each again. */
  private readonly retry = new Map<string, { next: number; delayMs: number }>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly scrapeMs: number;

  constructor(private readonly opts: EngineOptions) {
    this.calendar = calendarOf(opts.loaded.config.calendar);
    this.limit = pLimit(opts.concurrency ?? 2);
    this.scrapeMs = durationSeconds(opts.loaded.config.engine.scrape_interval) * 1000;
  }

  private get freezes(): boolean {
    return this.opts.ledger !== undefined && this.opts.freeze !== false;
  }

  /**
   * Every KR in its current period, as of now. Also closes, in the ledger, each KR's previous
   * period once it has settled, if it has not been closed yet (a period that closed with no
   * data is tried again with back-off, not on every evaluation).
   */
  async evaluateCurrent(): Promise<Evaluation> {
    const now = this.opts.clock.now();
    this.startEvaluation(now);
    const objectives = await Promise.all(
      this.opts.loaded.config.objectives.map(async (o) => {
        const krs = await Promise.all(
          o.key_results.map(async (kr) => {
            const period = await this.periodOf(kr, now);
            if (this.opts.ledger && period.kind !== 'sprint') await this.closePrevious(o, kr, period, now);
            return this.evaluateKr(o, kr, period, now);
          }),
        );
        return objectiveResult(o, krs);
      }),
    );
    return { evaluatedAt: now, objectives };
  }

  /**
   * Every KR for a named review period (e.g. 2026-Q3): KRs of that kind use it; KRs of other
   * kinds use their own period containing the review period's last moment (or now, if earlier).
   */
  async evaluatePeriod(review: Period): Promise<Evaluation> {
    const now = this.opts.clock.now();
    this.startEvaluation(now);
    const at = Math.min(now, review.end - 1);
    const objectives = await Promise.all(
      this.opts.loaded.config.objectives.map(async (o) => {
        const krs = await Promise.all(
          o.key_results.map(async (kr) => {
            const period = kr.period === review.kind ? review : await this.periodOf(kr, at);
            return this.evaluateKr(o, kr, period, now);
          }),
        );
        return objectiveResult(o, krs);
      }),
    );
    return { evaluatedAt: now, objectives };
  }

  private startEvaluation(now: number): void {
    this.staleCache.clear();
    for (const [k, v] of this.cache) if (!v.settled || v.until <= now) this.cache.delete(k);
  }

  /** The previous period of a KR, closed in the ledger once settled; no_data closes are retried with back-off. */
  private async closePrevious(o: Objective, kr: KeyResult, period: Period, now: number): Promise<void> {
    const prev = previousPeriod(period, this.calendar);
    const row = this.opts.ledger!.get(kr.id, prev.name);
    // A manual value has no history: it can only close a period the engine saw open.
    const manual = kr.measure.manual !== undefined;
    if (row ? row.closed_at !== null : manual) return;
    const key = `${kr.id}\n${prev.name}`;
    const retry = this.retry.get(key);
    if (retry && now < retry.next) return;
    const r = await this.measureKr(o, kr, prev, now);
    if (r.status === 'no_data' && r.settlesAt !== undefined && now >= r.settlesAt) {
      const delayMs = retry ? Math.min(RETRY_MAX_MS, retry.delayMs * 2) : RETRY_FIRST_MS;
      this.retry.set(key, { next: now + delayMs, delayMs });
    } else this.retry.delete(key);
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
    const boards = refsOf(kr.measure)
      .filter((r) => r.kind === 'board')
      .flatMap((r) => r.values);
    // The same (escaped) board matcher the measure's own PromQL uses.
    const m = boards.length === 0 ? undefined : oneOrMany(boards);
    const sel = m ? `{board${m.op}${JSON.stringify(m.value)}}` : '';
    const at = this.opts.clock.now();
    try {
      const q = (expr: string) => this.limit(() => this.opts.prom.query(expr, at));
      const [starts, completes, ends] = await Promise.all([
        q(`max by (sprint, sprint_name) (max_over_time(${JIRA_METRICS.sprintStart}${sel}[400d]))`),
        q(`max by (sprint) (max_over_time(${JIRA_METRICS.sprintCompleteTime}${sel}[400d]))`),
        q(`max by (sprint) (max_over_time(${JIRA_METRICS.sprintEnd}${sel}[400d]))`),
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
    if (period.kind !== 'sprint' && result.value !== undefined) {
      const previous = await this.previousFigure(kr, period, now);
      if (previous) result.previous = previous;
    }
    return result;
  }

  /** How long after a period's end its data is complete: the scrape of the end, plus the source's refresh for `settled` readings. */
  settleMs(expanded: ExpandedMeasure): number {
    if (expanded.reading !== 'settled') return this.scrapeMs;
    const source = kindSpec(expanded.kind).source;
    const plugin = SOURCES.find((p) => p.name === source);
    const settings = source ? sourceSettings(this.opts.loaded.config, source) : undefined;
    const refresh = settings?.refresh_interval ?? plugin?.defaults.interval ?? '15m';
    const timeout = settings?.timeout ?? plugin?.defaults.timeout ?? '5m';
    return (durationSeconds(refresh) + durationSeconds(timeout)) * 1000 + this.scrapeMs;
  }

  private async measureKr(o: Objective, kr: KeyResult, period: Period, now: number): Promise<KrResult> {
    const expanded = expandMeasure(kr.measure);
    const target = parseTarget(kr.target) as Target; // validated at load
    const settle = this.settleMs(expanded);
    const { at, closed, settlesAt } = readingInstant(expanded, period, now, settle);
    const ledger = this.opts.ledger;
    const row = ledger?.get(kr.id, period.name);
    const base: Pick<
      KrResult,
      'objective' | 'id' | 'title' | 'owner' | 'team' | 'weight' | 'notes' | 'period' | 'closed' | 'evaluatedAt' | 'unit' | 'kind' | 'targetText'
    > = {
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

    // A closed period that the ledger has frozen is reported as it was (with how much of it had samples).
    if (row && row.closed_at !== null) {
      const frozen = this.fromLedgerRow(base, row, expanded, period, now);
      const observed = frozen.value !== undefined ? await this.observed(expanded, period, at) : undefined;
      return observed ? { ...frozen, observed } : frozen;
    }

    const settling = closed && now < settlesAt;
    const manualUnrecorded = closed && expanded.manualValue !== undefined && !row;
    const m = manualUnrecorded
      ? { problem: `a manual value is only known for periods the engine saw open; the ledger has no ${period.name} row` }
      : await this.measure(expanded, period, at);
    const observed = m.value !== undefined ? await this.observed(expanded, period, at) : undefined;
    const b = await this.baseline(kr, target, expanded, period, row, now);
    const resolved = resolveTarget(target, b.value, expanded.unit);
    const trend = await this.trend(expanded, period, at, m.value, closed);
    const assessed = await this.assess(kr, expanded, period, now, {
      value: m.value,
      measureProblem: m.problem,
      resolved,
      baselineSource: b.source,
      baseline: b.value,
      trend,
    });
    const notes = [
      assessed.problem,
      settling ? `the period has not settled: its data may still arrive until ${new Date(settlesAt).toISOString()}` : undefined,
      b.observed && b.observed.share < PARTIAL_BASELINE_BELOW ? partialBaselineText(b.observed) : undefined,
    ].filter((x): x is string => x !== undefined);
    const result: KrResult = {
      ...base,
      promql: m.promql,
      value: m.value,
      ...(observed ? { observed } : {}),
      baseline: b.value,
      baselineSource: b.source,
      baselinePromql: b.promql,
      ...(b.at !== undefined ? { baselineAt: b.at } : {}),
      ...(b.observed ? { baselineObserved: b.observed } : {}),
      target: resolved,
      ...assessed,
      problem: notes.length > 0 ? notes.join('; ') : undefined,
      trend,
      fromLedger: false,
      ...(closed ? { settlesAt } : {}),
      // Measured after the period ended, not frozen while it ran (a lost or new ledger).
      ...(closed ? { notFrozen: !(row && row.opened_at !== null && row.opened_at < period.end) } : {}),
    };
    if (ledger && this.freezes) this.record(ledger, result, row, now, b.settled, settling);
    return result;
  }

  /** The measure's value at `at` (the manual value for manual measures). */
  private async measure(expanded: ExpandedMeasure, period: Period, at: number): Promise<{ promql?: string; value?: number; problem?: string }> {
    if (expanded.manualValue !== undefined) return { value: expanded.manualValue };
    if (!expanded.promql) return {};
    const promql = fillPlaceholders(expanded.promql, fillFor(period, at));
    return { promql, ...(await this.value(promql, at)) };
  }

  /** How much of the period up to `at` the measure's samples cover, for measures over samples. */
  private async observed(expanded: ExpandedMeasure, period: Period, at: number): Promise<ObservedShare | undefined> {
    const o: Observed | undefined = expanded.observed;
    if (!o) return undefined;
    const steps = periodSteps(period, at, o.stepSeconds * 1000);
    if (steps === 0) return undefined;
    const promql = fillPlaceholders(o.promql, fillFor(period, at));
    const r = await this.value(promql, at);
    return { share: Math.min(1, (r.value ?? 0) / steps), promql, at, period: period.name };
  }

  /** The period a baseline is the final figure of: the previous calendar period, or the same length before a sprint. */
  private baselinePeriod(period: Period): Period {
    if (period.kind !== 'sprint') return previousPeriod(period, this.calendar);
    return { ...period, name: `before ${period.name}`, start: period.start - (period.end - period.start), end: period.start };
  }

  /**
   * The baseline a relative target resolves against: fixed; frozen in the ledger once known;
   * else the previous period's final figure, read by the same rule as any closed period (its
   * ledger row when `previous_period` and frozen). `period_start` is the same figure, always
   * measured with the KR's current measure: the level the period starts from.
   */
  private async baseline(
    kr: KeyResult,
    target: Target,
    expanded: ExpandedMeasure,
    period: Period,
    row: LedgerRow | undefined,
    now: number,
  ): Promise<{ source: BaselineSource; value?: number; promql?: string; at?: number; observed?: ObservedShare; settled: boolean }> {
    if (typeof kr.baseline === 'number') return { source: 'fixed', value: kr.baseline, settled: true };
    if (target.kind !== 'relative' && kr.baseline === undefined) return { source: 'none', settled: true };
    const source = kr.baseline ?? 'previous_period';
    const prev = this.baselinePeriod(period);
    const settle = this.settleMs(expanded);
    const { at } = readingInstant(expanded, prev, now, settle);
    if (row?.baseline !== null && row?.baseline !== undefined) {
      return { source, value: row.baseline, promql: row.baseline_promql ?? undefined, at, observed: await this.observed(expanded, prev, at), settled: true };
    }
    if (!expanded.promql) return { source, settled: true };
    if (source === 'previous_period' && period.kind !== 'sprint' && this.opts.ledger) {
      const prevRow = this.opts.ledger.get(kr.id, prev.name);
      if (prevRow?.closed_at !== null && prevRow?.final_value !== null && prevRow?.final_value !== undefined)
        return {
          source,
          value: prevRow.final_value,
          promql: prevRow.promql ?? undefined,
          at,
          observed: await this.observed(expanded, prev, at),
          settled: true,
        };
    }
    const m = await this.measure(expanded, prev, at);
    const observed = m.value !== undefined ? await this.observed(expanded, prev, at) : undefined;
    return { source, value: m.value, promql: m.promql, at, observed, settled: now >= prev.end + settle };
  }

  /** The previous calendar period's final figure: frozen in the ledger, else measured by the closed-period rule. */
  private async previousFigure(kr: KeyResult, period: Period, now: number): Promise<KrResult['previous']> {
    const prev = previousPeriod(period, this.calendar);
    const expanded = expandMeasure(kr.measure);
    const { at } = readingInstant(expanded, prev, now, this.settleMs(expanded));
    const row = this.opts.ledger?.get(kr.id, prev.name);
    if (row && row.closed_at !== null)
      return row.final_value === null ? undefined : { period: prev.name, value: row.final_value, fromLedger: true, promql: row.promql ?? undefined, at };
    if (!expanded.promql) return undefined;
    const m = await this.measure(expanded, prev, at);
    return m.value === undefined ? undefined : { period: prev.name, value: m.value, fromLedger: false, promql: m.promql, at };
  }

  /** The measure at the trend's grid instants of the period so far, ending with `value` at `at`. */
  private async trend(
    expanded: ExpandedMeasure,
    period: Period,
    at: number,
    value: number | undefined,
    closed: boolean,
  ): Promise<Array<{ t: number; v: number }>> {
    if (value === undefined) return [];
    const points: Array<{ t: number; v: number }> = [];
    // Counts and sums of the period's own events start from 0 (the exporter may still show the last period's count then).
    if (kindSpec(expanded.kind).pace && !closed) points.push({ t: period.start, v: 0 });
    if (expanded.promql && !closed) {
      const k = this.opts.forecastPoints ?? this.opts.loaded.config.engine.forecast_points;
      const instants = trendInstants(period, at, k).filter((t) => t - period.start >= 60_000);
      const values = await Promise.all(instants.map((t) => this.value(fillPlaceholders(expanded.promql!, fillFor(period, t)), t)));
      instants.forEach((t, i) => {
        const v = values[i]!.value;
        if (v !== undefined) points.push({ t, v });
      });
    }
    points.push({ t: at, v: value });
    return points;
  }

  /** Progress, expected progress, forecast and status of a measured KR. */
  private async assess(
    kr: KeyResult,
    expanded: ExpandedMeasure,
    period: Period,
    now: number,
    m: {
      value?: number;
      measureProblem?: string;
      resolved?: ResolvedTarget;
      baselineSource: BaselineSource;
      baseline?: number;
      trend: Array<{ t: number; v: number }>;
    },
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

  private record(ledger: Ledger, r: KrResult, row: LedgerRow | undefined, now: number, baselineSettled: boolean, settling: boolean): void {
    const fields = { target_text: r.targetText, target_value: r.target?.value ?? null, title: r.title, promql: r.promql ?? null };
    // A baseline is frozen only once the period it comes from has settled.
    const baseline = baselineSettled ? r.baseline : undefined;
    if (!row) {
      ledger.open(
        {
          key_result: r.id,
          period: r.period.name,
          objective: r.objective,
          period_start: r.period.start,
          period_end: r.period.end,
          unit: r.unit,
          baseline: baseline ?? null,
          baseline_source: r.baselineSource,
          baseline_promql: baseline !== undefined ? (r.baselinePromql ?? null) : null,
          baseline_frozen_at: baseline !== undefined ? now : null,
          ...fields,
        },
        now,
      );
    } else {
      ledger.updateOpenTarget(r.id, r.period.name, fields);
      if (row.baseline === null && baseline !== undefined) ledger.fillMissingBaseline(r.id, r.period.name, baseline, r.baselinePromql ?? null, now);
    }
    // Final figures are frozen only once the period has settled and the data is in (a no_data close could be a Prometheus outage).
    if (r.closed && !settling && r.status !== 'no_data') {
      ledger.closePeriod(r.id, r.period.name, { final_value: r.value ?? null, final_progress: r.progress, final_status: r.status, closed_at: now });
    }
  }

  private fromLedgerRow(
    base: Omit<KrResult, 'value' | 'baseline' | 'baselineSource' | 'target' | 'progress' | 'expectedProgress' | 'status' | 'trend' | 'fromLedger'>,
    row: LedgerRow,
    expanded: ExpandedMeasure,
    period: Period,
    now: number,
  ): KrResult {
    const target = resolvedFromRow(row);
    const prev =
      row.baseline !== null && row.baseline_source !== 'fixed'
        ? readingInstant(expanded, this.baselinePeriod(period), now, this.settleMs(expanded)).at
        : undefined;
    return {
      ...base,
      targetText: row.target_text,
      title: row.title,
      promql: row.promql ?? undefined,
      baselinePromql: row.baseline_promql ?? undefined,
      ...(prev !== undefined ? { baselineAt: prev } : {}),
      value: row.final_value ?? undefined,
      baseline: row.baseline ?? undefined,
      baselineSource: row.baseline_source,
      target,
      progress: row.final_progress ?? 0,
      expectedProgress: 1,
      forecast: row.final_value ?? undefined,
      forecastMet: target && row.final_value !== null ? isMet(row.final_value, target) : undefined,
      status: row.final_status ?? 'no_data',
      trend: row.final_value !== null ? [{ t: base.evaluatedAt, v: row.final_value }] : [],
      fromLedger: true,
      notFrozen: remeasured(row),
    };
  }

  /** One number from a measure: undefined when there is no series; several series are an error. */
  private value(promql: string, at: number): Promise<QueryResult> {
    const key = `${at}\n${promql}`;
    const now = this.opts.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.result;
    const result = this.limit(async (): Promise<QueryResult> => {
      try {
        const samples = (await this.opts.prom.query(promql, at)).filter((s) => !Number.isNaN(s.value));
        if (samples.length === 0) return { problem: 'no series' };
        if (samples.length > 1) return { problem: `the measure returned ${samples.length} series; aggregate it to one (e.g. sum(...))` };
        return { value: samples[0]!.value };
      } catch (e) {
        return { problem: (e as Error).message };
      }
    });
    // Within one evaluation every repeat is shared; an instant whose data is all in is kept longer,
    // but only a figure: "no series" at a past instant may be a history still to be backfilled.
    const entry = { result, until: now + CACHE_TTL_MS, settled: at + this.scrapeMs <= now };
    void result.then((r) => {
      if (r.problem !== undefined && r.value === undefined && r.problem !== 'no series') this.cache.delete(key);
      if (r.value === undefined) entry.settled = false;
    });
    this.cache.set(key, entry);
    return result;
  }

  private isStale(source: string | undefined): Promise<boolean> {
    if (!source) return Promise.resolve(false);
    const cached = this.staleCache.get(source);
    if (cached !== undefined) return cached;
    const sel = `{source="${source}"}`;
    const expr = `time() - max(${RUNNER_METRICS.lastSuccess}${sel}) > ${STALE_AFTER_INTERVALS} * max(${RUNNER_METRICS.refreshInterval}${sel})`;
    const stale = this.limit(async () => {
      try {
        return (await this.opts.prom.query(expr, this.opts.clock.now())).length > 0;
      } catch {
        return false; // Prometheus errors surface on the measure itself
      }
    });
    this.staleCache.set(source, stale);
    return stale;
  }
}

function partialBaselineText(o: ObservedShare): string {
  return `baseline from partial data: ${(o.share * 100).toPrecision(2)}% of ${o.period} observed`;
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
