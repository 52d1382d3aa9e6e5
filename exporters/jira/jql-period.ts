/**
 * Period placeholders in JQL. JQL has no startOfQuarter() (JRASERVER-69535), so the exporter
 * sends literal dates of the current period, taken from the KR engine's calendar
 * (src/okr/periods.ts) so that a JQL measure and the KR evaluating it agree on the period.
 */
import { localDate, periodContaining, type Calendar, type CalendarPeriodKind, type Period } from '../../src/core/periods.js';

export interface JqlPeriodDates {
  /** First day of the period, "YYYY-MM-DD" in the calendar's time zone. */
  start: string;
  /** First day of the next period (exclusive end). */
  end: string;
}

export function currentPeriodDates(kind: CalendarPeriodKind, now: Date, calendar: Calendar): JqlPeriodDates {
  return periodJqlDates(periodContaining(kind, now.getTime(), calendar), calendar);
}

/** A period's bounds as JQL dates (the backfill walks past periods with it). */
export function periodJqlDates(p: Period, calendar: Calendar): JqlPeriodDates {
  return { start: localDate(p.start, calendar.timezone), end: localDate(p.end, calendar.timezone) };
}

const PLACEHOLDER_RE = /\{\{\s*(period_start|period_end)\s*\}\}/g;

/** Replace {{period_start}} / {{period_end}} with the period's dates (quote them in the JQL). */
export function fillJqlPlaceholders(jql: string, dates: JqlPeriodDates): string {
  return jql.replace(PLACEHOLDER_RE, (_m, name: string) => (name === 'period_start' ? dates.start : dates.end));
}
