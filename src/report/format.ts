/** Human formatting of KR figures, shared by the Markdown and HTML reports. */
import type { KrStatus } from '../conventions.js';
import type { KrResult } from '../engine/engine.js';
import type { MeasureUnit } from '../engine/measure-kinds.js';
import { localDate, type Period } from '../core/periods.js';
import { parseTarget } from '../engine/target.js';
import { isMet, type ResolvedTarget } from '../engine/progress.js';

/** A value rendered with `digits` decimals (significant digits for `number`), and the number it shows. */
function render(v: number, unit: MeasureUnit, digits: number): { text: string; shown: number } {
  switch (unit) {
    case 'ratio': {
      const t = (v * 100).toFixed(digits);
      return { text: `${trim(t)}%`, shown: Number(t) / 100 };
    }
    case 'seconds': {
      if (Math.abs(v) < 1) {
        const t = (v * 1000).toFixed(digits);
        return { text: `${trim(t)} ms`, shown: Number(t) / 1000 };
      }
      const t = v.toFixed(digits + 1);
      return { text: `${trim(t)} s`, shown: Number(t) };
    }
    case 'points':
    case 'count': {
      const t = v.toFixed(digits);
      return { text: trim(t), shown: Number(t) };
    }
    default: {
      const t = v.toPrecision(Math.min(21, digits + 4));
      return { text: trim(t), shown: Number(t) };
    }
  }
}

/** Decimals shown by default: ratios 2 (in %), milliseconds 1, points 1, counts none (they are whole). */
const DEFAULT_DIGITS: Record<MeasureUnit, number> = { ratio: 2, seconds: 1, points: 1, count: 0, number: 0 };

/**
 * A figure in its unit, with enough precision never to mislead: a value that is not 0 never
 * prints as 0 (two significant digits at least: 0.0038%, not 0%), and against a target a missed
 * value never prints as one that meets it, nor a met one as missed (199.96 points stay 199.96
 * against "> 200", not 200).
 */
export function formatValue(v: number | undefined, unit: MeasureUnit, target?: ResolvedTarget): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  let digits = DEFAULT_DIGITS[unit];
  let r = render(v, unit, digits);
  const misleading = (x: { shown: number }) => (v !== 0 && x.shown === 0) || (target !== undefined && isMet(x.shown, target) !== isMet(v, target));
  while (misleading(r) && digits < 15) r = render(v, unit, ++digits);
  // A tiny value shows two significant digits, not one.
  if (v !== 0 && digits > DEFAULT_DIGITS[unit] && unit !== 'number') r = render(v, unit, digits + 1);
  return r.text;
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** A share of a period, never rounded up to 100% nor down to 0%. */
export function formatShare(share: number): string {
  let digits = 1;
  let t = (share * 100).toFixed(digits);
  while (((share < 1 && Number(t) >= 100) || (share > 0 && Number(t) === 0)) && digits < 8) t = (share * 100).toFixed(++digits);
  return `${trim(t)}%`;
}

export function formatPercent(p: number | undefined): string {
  return p === undefined ? '—' : `${Math.round(p * 100)}%`;
}

export const STATUS_LABEL: Record<KrStatus, string> = {
  done: '✅ done',
  on_track: '🟢 on track',
  at_risk: '🟠 at risk',
  off_track: '🔴 off track',
  no_data: '⚪ no data',
};

/** Plain status words, for HTML where a coloured dot replaces the emoji (fonts vary). */
export const STATUS_TEXT: Record<KrStatus, string> = {
  done: 'done',
  on_track: 'on track',
  at_risk: 'at risk',
  off_track: 'off track',
  no_data: 'no data',
};

/** "≥ 99.00%" style rendering of a resolved target, falling back to the target text. */
export function formatTarget(k: KrResult): string {
  if (!k.target) return k.targetText;
  const op = { '>=': '≥', '>': '>', '<=': '≤', '<': '<', '==': '=' }[k.target.op];
  return `${op} ${formatValue(k.target.value, k.unit)}`;
}

function arrow(from: number, to: number): string {
  const d = to - from;
  if (Math.abs(d) <= Math.abs(from) * 1e-3) return '→';
  return d > 0 ? '↑' : '↓';
}

/**
 * The trend leaders read: an arrow against the previous period's final figure, with that figure
 * ("↓ from 99.5% (2026-Q2)"), frozen in the ledger or measured; no arrow when it is not known.
 */
export function trendText(k: KrResult): string {
  if (k.value === undefined || !k.previous) return '';
  return `${arrow(k.previous.value, k.value)} from ${formatValue(k.previous.value, k.unit, k.target)} (${k.previous.period})`;
}

/** The trend, plus the forecast while the period runs ("↑ from 60.4 (2026-Q2); forecast 68"). */
export function trendWithForecast(k: KrResult): string {
  const trend = trendText(k);
  if (k.closed || k.forecast === undefined) return trend;
  const forecast = `forecast ${formatValue(k.forecast, k.unit, k.target)}`;
  return trend ? `${trend}; ${forecast}` : forecast;
}

/** "baseline → value → target", as the review table shows it. */
export function figuresText(k: KrResult): [baseline: string, value: string, target: string] {
  return [formatValue(k.baseline, k.unit), formatValue(k.value, k.unit, k.target), formatTarget(k)];
}

/** "the quarter", "the sprint": what a share of a period is a share of. */
function periodWord(p: Period): string {
  return `the ${p.kind}`;
}

/** "97.6% of the quarter observed", when the value's samples do not cover all of the period so far. */
export function observedText(k: KrResult): string | undefined {
  if (!k.observed || k.observed.share >= 1) return undefined;
  return `${formatShare(k.observed.share)} of ${periodWord(k.period)}${k.closed ? '' : ' so far'} observed`;
}

/** The notes column: the KR's own notes, what to read with care (no data, partial data, unsettled), its owner. Unescaped. */
export function notesOf(k: KrResult): string[] {
  return [
    k.notes,
    k.problem ? (k.status === 'no_data' ? `no data: ${k.problem}` : k.problem) : undefined,
    observedText(k),
    k.owner ? `owner: ${k.owner}` : undefined,
  ].filter((n): n is string => Boolean(n));
}

/** An instant as the query API takes it, e.g. 2026-10-01T00:00:00Z. */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A period's bounds as local dates in the calendar's time zone ("2026-07-01 → 2026-10-01"). */
export function periodDates(p: Period, timezone: string): string {
  return `${localDate(p.start, timezone)} → ${localDate(p.end, timezone)}`;
}

export function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function baselineText(k: KrResult): string {
  const b = formatValue(k.baseline, k.unit);
  const partial =
    k.baselineObserved && k.baselineObserved.share < 1 ? `, from ${formatShare(k.baselineObserved.share)} of ${k.baselineObserved.period} observed` : '';
  switch (k.baselineSource) {
    case 'previous_period':
      return `${b} (previous period${partial})`;
    case 'period_start':
      return `${b} (period start${partial})`;
    case 'fixed':
      return `${b} (fixed)`;
    default:
      return '—';
  }
}

/** What a relative target means, stated explicitly (percent of the baseline versus points). */
export function targetMeaning(k: KrResult): string {
  const t = parseTarget(k.targetText);
  if ('error' in t || t.kind !== 'relative') return '';
  const dir = t.change > 0 ? 'increase' : 'decrease';
  const size = Math.abs(t.change);
  if (t.unit === 'percent') return `${dir} by ${size}% of the baseline (relative)`;
  return `${dir} by ${size} ${k.unit === 'ratio' ? 'percentage points' : 'points'} (absolute)`;
}

/** How a period's figures stand: frozen in the ledger, or re-measured after the period ended (empty for open periods). */
export function frozenNote(k: Pick<KrResult, 'closed' | 'fromLedger' | 'notFrozen'>): string {
  if (k.notFrozen) return 'not frozen: re-measured from Prometheus after the period ended (the ledger has no record from during the period)';
  return k.fromLedger ? 'frozen in the ledger' : '';
}
