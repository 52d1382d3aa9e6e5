/**
 * Key-result progress maths, pure and direction-aware. Documented in README "Progress and
 * status"; property-tested (monotone in the value, clamped to 0..1, mirrored for lower-is-better).
 */
import type { KrStatus } from '../conventions.js';
import { pointSize, type MeasureUnit } from './measure-kinds.js';
import { higherIsBetter, meets, type Comparator, type Target } from './target.js';

export interface ResolvedTarget {
  /** The comparison the value must satisfy. */
  op: Comparator;
  /** The absolute number to reach. */
  value: number;
  higherIsBetter: boolean;
}

/**
 * Turn a target into an absolute threshold. Relative targets need the baseline:
 * "-10%" → baseline × 0.9 (at most); "+5 points" → baseline + 5 points (at least).
 */
export function resolveTarget(target: Target, baseline: number | undefined, unit: MeasureUnit): ResolvedTarget | undefined {
  if (target.kind === 'absolute') return withValue(target, target.value);
  if (baseline === undefined || !Number.isFinite(baseline)) return undefined;
  const value = target.unit === 'percent' ? baseline * (1 + target.change / 100) : baseline + target.change * pointSize(unit);
  return withValue(target, value);
}

/**
 * A target's comparison with an already resolved number (e.g. frozen in the ledger):
 * absolute targets keep their operator; relative ones must reach at least / at most it.
 */
export function withValue(target: Target, value: number): ResolvedTarget {
  if (target.kind === 'absolute') return { op: target.op, value, higherIsBetter: higherIsBetter(target) };
  return { op: target.change > 0 ? '>=' : '<=', value, higherIsBetter: higherIsBetter(target) };
}

const EPSILON = 1e-9;

export function isMet(value: number, t: ResolvedTarget): boolean {
  if (t.op === '==') return Math.abs(value - t.value) <= EPSILON;
  return meets(t.op, value, t.value);
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * Progress in 0..1: the linear position of `value` between `baseline` and the target.
 * - Met targets are 1; unmet ones stay below 1 (at most 0.99), so 100% always means met.
 * - "== N" (zero tolerance included) is all or nothing.
 * - Higher is better with no baseline: the baseline is 0 ("at least 6 sessions": 3 → 0.5).
 * - Lower is better with no baseline: target / value ("p95 under 300 ms": 400 ms → 0.75).
 */
export function progressOf(value: number, t: ResolvedTarget, baseline?: number): number {
  if (!Number.isFinite(value)) return 0;
  if (isMet(value, t)) return 1;
  if (t.op === '==') return 0;
  let linear: number;
  if (t.higherIsBetter) {
    const b = baseline ?? 0;
    linear = t.value === b ? 0 : (value - b) / (t.value - b);
  } else if (baseline !== undefined && baseline !== t.value) {
    linear = (baseline - value) / (baseline - t.value);
  } else {
    linear = value <= 0 ? 1 : t.value / value;
  }
  return Math.min(0.99, clamp01(linear));
}

/** Least-squares line through (t, v) points, evaluated at `at`; undefined with fewer than 2 points. */
export function linearForecast(points: Array<{ t: number; v: number }>, at: number): number | undefined {
  const pts = points.filter((p) => Number.isFinite(p.v));
  if (pts.length < 2) return undefined;
  const n = pts.length;
  const mt = pts.reduce((s, p) => s + p.t, 0) / n;
  const mv = pts.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of pts) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  if (den === 0) return mv;
  return mv + (num / den) * (at - mt);
}

export interface StatusInput {
  value: number | undefined;
  target: ResolvedTarget | undefined;
  progress: number;
  expectedProgress: number;
  forecastMet: boolean | undefined;
  closed: boolean;
  /** Pace-tracked KRs are expected to move gradually over the period (counts, sums, "+5 points" from the start). */
  pace: boolean;
  /** The measure's source is stale: values are not trustworthy now. */
  stale: boolean;
  /**
   * A period-average level KR (availability) can still meet its target if the rest of the
   * period is perfect; undefined where that cannot be said.
   */
  reachable?: boolean;
}

/**
 * Whether a period-to-date average can still end at target: the elapsed share `elapsed` at
 * `value`, the rest at the best possible value `best` (1 for availability). Assumes traffic
 * spread evenly over the period.
 */
export function averageStillReachable(value: number, t: ResolvedTarget, elapsed: number, best = 1): boolean {
  return isMet(value * elapsed + best * (1 - elapsed), t);
}

/**
 * Status of a key result. `no_data` (no series, or a stale source) is never shown as failing.
 * A running KR is on track only when its forecast (when there is one) reaches the target: the
 * status never contradicts the forecast printed beside it.
 * - Closed periods: done when met, else off_track.
 * - Zero tolerance ("== 0"): on_track while 0 (at_risk if the forecast is not), off_track as soon as it is not.
 * - Met: done for pace-tracked KRs (a count that reached its target stays reached); for level
 *   KRs (availability can still drop) on_track, or at_risk when the forecast misses.
 * - Pace-tracked, not met: with a forecast that misses, at_risk above 75% of the expected
 *   progress, else off_track; otherwise on_track when progress keeps up with the elapsed share
 *   (5 points of slack) or the forecast reaches the target, at_risk above 75%, else off_track.
 * - Level KRs, not met: at_risk when the forecast reaches the target by the end, or
 *   (availability) a perfect rest of the period would still reach it; else off_track.
 */
export function statusOf(s: StatusInput): KrStatus {
  if (s.value === undefined || s.target === undefined || s.stale) return 'no_data';
  const met = isMet(s.value, s.target);
  if (s.closed) return met ? 'done' : 'off_track';
  if (s.target.op === '==') return met ? (s.forecastMet === false ? 'at_risk' : 'on_track') : 'off_track';
  if (met) return s.pace ? 'done' : s.forecastMet === false ? 'at_risk' : 'on_track';
  if (s.pace) {
    if (s.forecastMet === false) return s.progress >= 0.75 * s.expectedProgress ? 'at_risk' : 'off_track';
    if (s.progress >= s.expectedProgress - 0.05 || s.forecastMet) return 'on_track';
    if (s.progress >= 0.75 * s.expectedProgress) return 'at_risk';
    return 'off_track';
  }
  return s.forecastMet || s.reachable ? 'at_risk' : 'off_track';
}
