/** Human formatting of KR figures, shared by the Markdown and HTML reports. */
import type { KrStatus } from '../conventions.js';
import type { KrResult } from '../engine/engine.js';
import type { MeasureUnit } from '../engine/measure-kinds.js';
import { localDate, type Period } from '../core/periods.js';
import { parseTarget } from '../engine/target.js';

export function formatValue(v: number | undefined, unit: MeasureUnit): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  switch (unit) {
    case 'ratio':
      return `${trim((v * 100).toFixed(2))}%`;
    case 'seconds':
      return Math.abs(v) < 1 ? `${trim((v * 1000).toFixed(1))} ms` : `${trim(v.toFixed(2))} s`;
    case 'points':
    case 'count':
      return trim(v.toFixed(1));
    default:
      return trim(v.toPrecision(4));
  }
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
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
 * The trend leaders read: against the previous period's final value when the ledger has it
 * ("↓ from 99.5% (2026-Q2)"), else across the points measured in this period.
 */
export function trendText(k: KrResult): string {
  if (k.value === undefined) return '';
  if (k.previous) return `${arrow(k.previous.value, k.value)} from ${formatValue(k.previous.value, k.unit)} (${k.previous.period})`;
  const first = k.trend.length > 1 ? k.trend[0]!.v : k.baseline;
  return first === undefined ? '' : arrow(first, k.value);
}

/** The trend, plus the forecast while the period runs ("↑ from 60.4 (2026-Q2); forecast 68"). */
export function trendWithForecast(k: KrResult): string {
  const trend = trendText(k);
  if (k.closed || k.forecast === undefined) return trend;
  return trend ? `${trend}; forecast ${formatValue(k.forecast, k.unit)}` : `forecast ${formatValue(k.forecast, k.unit)}`;
}

/** "baseline → value → target", as the review table shows it. */
export function figuresText(k: KrResult): [baseline: string, value: string, target: string] {
  return [formatValue(k.baseline, k.unit), formatValue(k.value, k.unit), formatTarget(k)];
}

/** The notes column: the KR's own notes, why it has no data, its owner. Unescaped. */
export function notesOf(k: KrResult): string[] {
  return [k.notes, k.problem && k.status === 'no_data' ? `no data: ${k.problem}` : undefined, k.owner ? `owner: ${k.owner}` : undefined].filter(
    (n): n is string => Boolean(n),
  );
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
  switch (k.baselineSource) {
    case 'previous_period':
      return `${b} (previous period)`;
    case 'period_start':
      return `${b} (period start)`;
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
