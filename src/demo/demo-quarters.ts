/**
 * The calendar quarters of the demo data: UTC, fiscal year from January, as okrs.example.yaml
 * says. periodContaining formats dates through Intl (tens of microseconds), and the data sets
 * ask on every tick and every generated analysis, so the last few quarters are remembered.
 */
import { periodContaining, previousPeriod, UTC_CALENDAR, type Period } from '../okr/periods.js';

export interface DemoQuarter {
  current: Period;
  previous: Period;
}

const recent: DemoQuarter[] = [];

/** The quarter containing `ms` and the one before it. */
export function demoQuarter(ms: number): DemoQuarter {
  const hit = recent.find((q) => q.current.start <= ms && ms < q.current.end);
  if (hit) return hit;
  const current = periodContaining('quarter', ms, UTC_CALENDAR);
  const q = { current, previous: previousPeriod(current, UTC_CALENDAR) };
  recent.unshift(q);
  recent.length = Math.min(recent.length, 4);
  return q;
}
