import { describe, expect, it } from 'vitest';
import { parsePeriodName } from '../../src/core/periods.js';
import { periodDates } from '../../src/report/format.js';

describe('report dates', () => {
  it('shows period bounds as local dates of the calendar time zone', () => {
    const berlin = { timezone: 'Europe/Berlin', fiscalYearStartMonth: 1 };
    const q2 = parsePeriodName('2026-Q2', berlin)!; // starts 2026-03-31T22:00Z
    expect(periodDates(q2, 'Europe/Berlin')).toBe('2026-04-01 → 2026-07-01');
    expect(periodDates(parsePeriodName('2026-Q2')!, 'UTC')).toBe('2026-04-01 → 2026-07-01');
  });
});
