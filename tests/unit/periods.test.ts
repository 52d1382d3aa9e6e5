import { describe, expect, it } from 'vitest';
import {
  elapsedFraction,
  localMidnight,
  nextPeriod,
  parsePeriodName,
  periodContaining,
  previousPeriod,
  sprintPeriods,
  type Calendar,
} from '../../src/core/periods.js';

const iso = (ms: number) => new Date(ms).toISOString();
const utc: Calendar = { timezone: 'UTC', fiscalYearStartMonth: 1 };

describe('calendar periods', () => {
  it('names and bounds calendar quarters, months and years in UTC', () => {
    const t = Date.parse('2026-08-15T12:00:00Z');
    const q = periodContaining('quarter', t, utc);
    expect(q.name).toBe('2026-Q3');
    expect(iso(q.start)).toBe('2026-07-01T00:00:00.000Z');
    expect(iso(q.end)).toBe('2026-10-01T00:00:00.000Z');
    expect(periodContaining('month', t, utc).name).toBe('2026-08');
    expect(periodContaining('year', t, utc)).toMatchObject({
      name: '2026',
      start: Date.parse('2026-01-01T00:00:00Z'),
      end: Date.parse('2027-01-01T00:00:00Z'),
    });
    expect(previousPeriod(periodContaining('quarter', Date.parse('2026-01-01T00:00:00Z'), utc), utc).name).toBe('2025-Q4');
    expect(nextPeriod(q, utc).name).toBe('2026-Q4');
  });

  it('puts the boundary instant in the new period', () => {
    const boundary = Date.parse('2026-10-01T00:00:00Z');
    expect(periodContaining('quarter', boundary - 1, utc).name).toBe('2026-Q3');
    expect(periodContaining('quarter', boundary, utc).name).toBe('2026-Q4');
  });

  it('handles fiscal years that start in April, named after their start year', () => {
    const fy: Calendar = { timezone: 'UTC', fiscalYearStartMonth: 4 };
    const feb = Date.parse('2027-02-10T00:00:00Z');
    const q = periodContaining('quarter', feb, fy);
    expect(q.name).toBe('FY2026-Q4');
    expect(iso(q.start)).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(q.end)).toBe('2027-04-01T00:00:00.000Z');
    expect(periodContaining('year', feb, fy)).toMatchObject({
      name: 'FY2026',
      start: Date.parse('2026-04-01T00:00:00Z'),
      end: Date.parse('2027-04-01T00:00:00Z'),
    });
    expect(periodContaining('quarter', Date.parse('2026-04-01T00:00:00Z'), fy).name).toBe('FY2026-Q1');
    expect(parsePeriodName('FY2026-Q1', fy)!.start).toBe(Date.parse('2026-04-01T00:00:00Z'));
    expect(parsePeriodName('2026-Q1', fy)).toBeUndefined(); // FY prefix required with a fiscal calendar
  });

  it('counts leap days', () => {
    const feb = periodContaining('month', Date.parse('2028-02-29T23:59:59Z'), utc);
    expect(feb.name).toBe('2028-02');
    expect((feb.end - feb.start) / 86_400_000).toBe(29);
    const q1 = parsePeriodName('2028-Q1', utc)!;
    expect((q1.end - q1.start) / 86_400_000).toBe(91);
    expect((parsePeriodName('2027-Q1', utc)!.end - parsePeriodName('2027-Q1', utc)!.start) / 86_400_000).toBe(90);
  });

  it('starts periods at local midnight in the configured time zone, across DST', () => {
    const berlin: Calendar = { timezone: 'Europe/Berlin', fiscalYearStartMonth: 1 };
    const q2 = parsePeriodName('2026-Q2', berlin)!;
    expect(iso(q2.start)).toBe('2026-03-31T22:00:00.000Z'); // CEST, +02:00
    expect(iso(q2.end)).toBe('2026-06-30T22:00:00.000Z');
    const q1 = parsePeriodName('2026-Q1', berlin)!;
    expect(iso(q1.start)).toBe('2025-12-31T23:00:00.000Z'); // CET, +01:00
    // 23:30 UTC on 31 March is already 1 April in Berlin.
    expect(periodContaining('quarter', Date.parse('2026-03-31T23:30:00Z'), berlin).name).toBe('2026-Q2');
    expect(periodContaining('quarter', Date.parse('2026-03-31T23:30:00Z'), utc).name).toBe('2026-Q1');
    const ny = localMidnight(2026, 11, 1, 'America/New_York'); // DST ends that day
    expect(iso(ny)).toBe('2026-11-01T04:00:00.000Z');
    const auckland = parsePeriodName('2026-Q4', { timezone: 'Pacific/Auckland', fiscalYearStartMonth: 1 })!;
    expect(iso(auckland.start)).toBe('2026-09-30T11:00:00.000Z'); // NZDT, +13:00
  });

  it('parses period names and rejects others', () => {
    expect(parsePeriodName('2026-07', utc)!.kind).toBe('month');
    expect(parsePeriodName('2026', utc)!.kind).toBe('year');
    expect(parsePeriodName('2026-Q5', utc)).toBeUndefined();
    expect(parsePeriodName('Q3 2026', utc)).toBeUndefined();
  });

  it('keeps a sprint that spans two quarters as one period, assigned by its own dates', () => {
    const [sprint] = sprintPeriods([
      { id: '42', name: 'Platform Sprint 42', start: Date.parse('2026-09-24T09:00:00Z'), end: Date.parse('2026-10-08T09:00:00Z') },
    ]);
    expect(sprint!.kind).toBe('sprint');
    expect(periodContaining('quarter', sprint!.start, utc).name).toBe('2026-Q3');
    expect(periodContaining('quarter', sprint!.end, utc).name).toBe('2026-Q4');
    expect(elapsedFraction(sprint!, Date.parse('2026-10-01T09:00:00Z'))).toBe(0.5);
    // A velocity measure counts it in the quarter in which it completed.
    expect(elapsedFraction(sprint!, sprint!.end + 1)).toBe(1);
  });
});
