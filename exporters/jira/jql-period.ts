/**
 * Calendar periods for JQL placeholders. JQL has no startOfQuarter() (JRASERVER-69535), so
 * the exporter computes the current period itself and sends literal dates.
 *
 * Self-contained on purpose: the KR engine's src/okr/periods.ts owns periods for the rest of
 * the project; this can be merged into it once both exist.
 */
import type { JqlPeriod } from './config.js';

export interface LocalDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

export interface PeriodBounds {
  start: LocalDate;
  /** Exclusive: the first day of the next period. */
  end: LocalDate;
}

/** The calendar date of `now` in `timeZone` (IANA name). */
export function localDate(now: Date, timeZone: string): LocalDate {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

function addMonths(year: number, month: number, n: number): LocalDate {
  const idx = year * 12 + (month - 1) + n;
  return { year: Math.floor(idx / 12), month: (idx % 12) + 1, day: 1 };
}

/**
 * The period containing `now`. Quarters and years follow the fiscal year, which starts on the
 * first day of `fiscalYearStartMonth` (1 = January, i.e. calendar quarters).
 */
export function currentPeriod(kind: JqlPeriod, now: Date, timeZone: string, fiscalYearStartMonth = 1): PeriodBounds {
  const today = localDate(now, timeZone);
  if (kind === 'month') {
    const start = { year: today.year, month: today.month, day: 1 };
    return { start, end: addMonths(start.year, start.month, 1) };
  }
  // Months elapsed since the fiscal year began (0-11).
  const intoYear = (today.month - fiscalYearStartMonth + 12) % 12;
  const back = kind === 'quarter' ? intoYear % 3 : intoYear;
  const start = addMonths(today.year, today.month, -back);
  return { start, end: addMonths(start.year, start.month, kind === 'quarter' ? 3 : 12) };
}

export function jqlDate(d: LocalDate): string {
  return `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

const PLACEHOLDER_RE = /\{\{\s*(period_start|period_end)\s*\}\}/g;

/** Replace {{period_start}} / {{period_end}} with the period's dates ("YYYY-MM-DD"). */
export function fillJqlPlaceholders(jql: string, period: PeriodBounds): string {
  return jql.replace(PLACEHOLDER_RE, (_m, name: string) => jqlDate(name === 'period_start' ? period.start : period.end));
}
