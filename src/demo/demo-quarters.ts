/**
 * The quarters of the demo data, on the demo OKR file's calendar (UTC, fiscal year from January
 * as okrs.example.yaml says, unless the demo is told otherwise before its data sets are built).
 * periodContaining formats dates through Intl (tens of microseconds), and the data sets ask on
 * every tick and every generated analysis, so the last few quarters are remembered.
 */
import { periodContaining, previousPeriod, UTC_CALENDAR, type Calendar, type Period } from '../okr/periods.js';

export interface DemoQuarter {
  current: Period;
  previous: Period;
}

const recent: DemoQuarter[] = [];
let calendar: Calendar = UTC_CALENDAR;

/** One demo runs per process: its calendar is set once, before the data sets are built. */
export function setDemoCalendar(c: Calendar): void {
  calendar = c;
  recent.length = 0;
}

export function demoCalendar(): Calendar {
  return calendar;
}

/** The quarter containing `ms` and the one before it. */
export function demoQuarter(ms: number): DemoQuarter {
  const hit = recent.find((q) => q.current.start <= ms && ms < q.current.end);
  if (hit) return hit;
  const current = periodContaining('quarter', ms, calendar);
  const q = { current, previous: previousPeriod(current, calendar) };
  recent.unshift(q);
  recent.length = Math.min(recent.length, 4);
  return q;
}
