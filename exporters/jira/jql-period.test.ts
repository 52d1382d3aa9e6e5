import { describe, expect, it } from 'vitest';
import { currentPeriodDates, fillJqlPlaceholders } from './jql-period.js';

const UTC = { timezone: 'UTC', fiscalYearStartMonth: 1 };

describe('JQL period placeholders', () => {
  it('calendar quarter, month and year', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    expect(currentPeriodDates('quarter', now, UTC)).toEqual({ start: '2026-10-01', end: '2027-01-01' });
    expect(currentPeriodDates('month', now, UTC)).toEqual({ start: '2026-11-01', end: '2026-12-01' });
    expect(currentPeriodDates('year', now, UTC)).toEqual({ start: '2026-01-01', end: '2027-01-01' });
  });

  it('follows the configured time zone at a year boundary', () => {
    // 12:00 UTC on 31 December is already 1 January 2027 in Auckland.
    const now = new Date('2026-12-31T12:00:00Z');
    expect(currentPeriodDates('quarter', now, UTC)).toEqual({ start: '2026-10-01', end: '2027-01-01' });
    expect(currentPeriodDates('quarter', now, { timezone: 'Pacific/Auckland', fiscalYearStartMonth: 1 })).toEqual({ start: '2027-01-01', end: '2027-04-01' });
  });

  it('fiscal quarters and years start in the fiscal-year start month', () => {
    const cal = { timezone: 'UTC', fiscalYearStartMonth: 4 };
    expect(currentPeriodDates('quarter', new Date('2027-02-10T00:00:00Z'), cal)).toEqual({ start: '2027-01-01', end: '2027-04-01' });
    expect(currentPeriodDates('quarter', new Date('2026-11-10T00:00:00Z'), { timezone: 'UTC', fiscalYearStartMonth: 2 })).toEqual({
      start: '2026-11-01',
      end: '2027-02-01',
    });
    expect(currentPeriodDates('year', new Date('2027-02-10T00:00:00Z'), cal)).toEqual({ start: '2026-04-01', end: '2027-04-01' });
  });

  it('replaces every placeholder, spaces allowed, and leaves other braces alone', () => {
    const jql = 'created >= "{{period_start}}" AND created < "{{ period_end }}" AND resolved >= "{{period_start}}" AND x = "{{other}}"';
    expect(fillJqlPlaceholders(jql, { start: '2026-10-01', end: '2027-01-01' })).toBe(
      'created >= "2026-10-01" AND created < "2027-01-01" AND resolved >= "2026-10-01" AND x = "{{other}}"',
    );
  });
});
