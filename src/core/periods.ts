/**
 * Calendar periods in a configured time zone: quarters (with a fiscal-year start), months,
 * years, and sprints (from Jira's sprint dates). Bounds are [start, end) in Unix milliseconds;
 * each starts at local midnight in the time zone, DST included.
 *
 * Names: calendar years `2026`, quarters `2026-Q3`, months `2026-07`. When the fiscal year does
 * not start in January, years and quarters carry an FY prefix and are named after the calendar
 * year in which the fiscal year STARTS: with an April start, `FY2026-Q1` is April–June 2026.
 */

export type CalendarPeriodKind = 'quarter' | 'month' | 'year';
export type PeriodKind = CalendarPeriodKind | 'sprint';

export interface Period {
  kind: PeriodKind;
  name: string;
  /** Inclusive start, Unix ms. */
  start: number;
  /** Exclusive end, Unix ms. */
  end: number;
}

export interface Calendar {
  timezone: string;
  /** 1 = January. */
  fiscalYearStartMonth: number;
}

/** The OKR file's `calendar:` section as the period functions take it. */
export function calendarOf(section: { timezone: string; fiscal_year_start_month: number }): Calendar {
  return { timezone: section.timezone, fiscalYearStartMonth: section.fiscal_year_start_month };
}

export const UTC_CALENDAR: Calendar = { timezone: 'UTC', fiscalYearStartMonth: 1 };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Local wall-clock fields of an instant in `tz`. */
export function localParts(ms: number, tz: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute!, second: out.second! };
}

/** Offset of `tz` from UTC at an instant, in ms (positive east of Greenwich). */
function offsetMs(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant of local midnight starting `year-month-day` in `tz` (month may overflow: 13 = next January). */
export function localMidnight(year: number, month: number, day: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = offsetMs(guess, tz);
  let t = guess - first;
  const second = offsetMs(t, tz);
  if (second !== first) t = guess - second;
  return t;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Fiscal year (named by its start year) and 0-based month index within it, for a calendar month. */
function fiscalOf(year: number, month: number, fyStart: number): { fy: number; monthInFy: number } {
  const monthInFy = (month - fyStart + 12) % 12;
  return { fy: month >= fyStart ? year : year - 1, monthInFy };
}

function yearPrefix(cal: Calendar, fy: number): string {
  return cal.fiscalYearStartMonth === 1 ? String(fy) : `FY${fy}`;
}

function quarterPeriod(fy: number, q: number, cal: Calendar): Period {
  const startMonth = cal.fiscalYearStartMonth + 3 * (q - 1);
  return {
    kind: 'quarter',
    name: `${yearPrefix(cal, fy)}-Q${q}`,
    start: localMidnight(fy, startMonth, 1, cal.timezone),
    end: localMidnight(fy, startMonth + 3, 1, cal.timezone),
  };
}

function yearPeriod(fy: number, cal: Calendar): Period {
  return {
    kind: 'year',
    name: yearPrefix(cal, fy),
    start: localMidnight(fy, cal.fiscalYearStartMonth, 1, cal.timezone),
    end: localMidnight(fy + 1, cal.fiscalYearStartMonth, 1, cal.timezone),
  };
}

function monthPeriod(year: number, month: number, cal: Calendar): Period {
  return {
    kind: 'month',
    name: `${year}-${pad2(month)}`,
    start: localMidnight(year, month, 1, cal.timezone),
    end: localMidnight(year, month + 1, 1, cal.timezone),
  };
}

/** The calendar period of `kind` that contains the instant `ms`. */
export function periodContaining(kind: CalendarPeriodKind, ms: number, cal: Calendar = UTC_CALENDAR): Period {
  const { year, month } = localParts(ms, cal.timezone);
  if (kind === 'month') return monthPeriod(year, month, cal);
  const { fy, monthInFy } = fiscalOf(year, month, cal.fiscalYearStartMonth);
  return kind === 'year' ? yearPeriod(fy, cal) : quarterPeriod(fy, Math.floor(monthInFy / 3) + 1, cal);
}

/** The period just before `p` (calendar kinds). */
export function previousPeriod(p: Period, cal: Calendar = UTC_CALENDAR): Period {
  if (p.kind === 'sprint') throw new Error('previous sprint comes from the sprint list, not the calendar');
  return periodContaining(p.kind, p.start - 1, cal);
}

export function nextPeriod(p: Period, cal: Calendar = UTC_CALENDAR): Period {
  if (p.kind === 'sprint') throw new Error('next sprint comes from the sprint list, not the calendar');
  return periodContaining(p.kind, p.end, cal);
}

const QUARTER_RE = /^(FY)?(\d{4})-Q([1-4])$/;
const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const YEAR_RE = /^(FY)?(\d{4})$/;

/** Parse `2026-Q3`, `FY2026-Q1`, `2026-07`, `2026`, `FY2026`; undefined when not a period name. */
export function parsePeriodName(name: string, cal: Calendar = UTC_CALENDAR): Period | undefined {
  const fiscal = cal.fiscalYearStartMonth !== 1;
  let m = QUARTER_RE.exec(name);
  if (m) {
    if (Boolean(m[1]) !== fiscal) return undefined;
    return quarterPeriod(Number(m[2]), Number(m[3]), cal);
  }
  m = MONTH_RE.exec(name);
  if (m) return monthPeriod(Number(m[1]), Number(m[2]), cal);
  m = YEAR_RE.exec(name);
  if (m) {
    if (Boolean(m[1]) !== fiscal) return undefined;
    return yearPeriod(Number(m[2]), cal);
  }
  return undefined;
}

/** What a name of each kind looks like, for error messages. */
export function periodNameExample(cal: Calendar): string {
  return cal.fiscalYearStartMonth === 1 ? '2026-Q3, 2026-07 or 2026' : 'FY2026-Q3, 2026-07 or FY2026';
}

export interface SprintDates {
  id: string;
  name: string;
  start: number;
  /** Completion (closed sprints) or planned end (active sprint), Unix ms. */
  end: number;
}

/** Sprints as periods, oldest first. */
export function sprintPeriods(sprints: SprintDates[]): Period[] {
  return [...sprints]
    .filter((s) => Number.isFinite(s.start) && Number.isFinite(s.end) && s.end > s.start)
    .sort((a, b) => a.start - b.start)
    .map((s) => ({ kind: 'sprint' as const, name: s.name || `sprint ${s.id}`, start: s.start, end: s.end }));
}

/** Share of the period elapsed at `ms`, in 0..1. */
export function elapsedFraction(p: Period, ms: number): number {
  if (ms <= p.start) return 0;
  if (ms >= p.end) return 1;
  return (ms - p.start) / (p.end - p.start);
}

/** Local date `YYYY-MM-DD` of an instant (for JQL and reports). */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)}`;
}
