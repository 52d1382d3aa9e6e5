import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averageStillReachable, isMet, linearForecast, progressOf, resolveTarget, statusOf, type ResolvedTarget } from '../../src/engine/progress.js';
import { parseTarget, type Target } from '../../src/engine/target.js';

const t = (text: string) => parseTarget(text) as Target;
const num = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const pos = fc.double({ min: 0.001, max: 1e6, noNaN: true, noDefaultInfinity: true });

describe('target resolution', () => {
  it('turns relative targets into absolute ones, percent versus points', () => {
    expect(resolveTarget(t('-10%'), 0.3, 'seconds')).toEqual({ op: '<=', value: 0.27, higherIsBetter: false });
    expect(resolveTarget(t('+5 points'), 0.62, 'ratio')!.value).toBeCloseTo(0.67, 12);
    expect(resolveTarget(t('+5%'), 0.62, 'ratio')!.value).toBeCloseTo(0.651, 12);
    expect(resolveTarget(t('+5 points'), 40, 'points')!.value).toBe(45);
    expect(resolveTarget(t('-10%'), undefined, 'seconds')).toBeUndefined();
    expect(resolveTarget(t('> 99%'), undefined, 'ratio')).toEqual({ op: '>', value: 0.99, higherIsBetter: true });
  });
});

describe('progress', () => {
  it('handles the seed KRs as documented', () => {
    const avail = resolveTarget(t('> 99%'), undefined, 'ratio')!;
    expect(progressOf(0.995, avail)).toBe(1);
    expect(progressOf(0.99, avail)).toBe(0.99); // not met: strictly greater required, capped below 1
    const shows = resolveTarget(t('>= 6'), undefined, 'count')!;
    expect(progressOf(3, shows)).toBe(0.5);
    const zero = resolveTarget(t('== 0'), undefined, 'count')!;
    expect(progressOf(0, zero)).toBe(1);
    expect(progressOf(1, zero)).toBe(0);
    const latency = resolveTarget(t('-10%'), 0.4, 'seconds')!; // 0.36
    expect(progressOf(0.38, latency, 0.4)).toBeCloseTo(0.5, 12);
    expect(progressOf(0.36, latency, 0.4)).toBe(1);
    expect(progressOf(0.45, latency, 0.4)).toBe(0);
    const cover = resolveTarget(t('+5 points'), 0.6, 'ratio')!;
    expect(progressOf(0.62, cover, 0.6)).toBeCloseTo(0.4, 12);
    expect(progressOf(0.3, resolveTarget(t('< 0.2'), undefined, 'seconds')!)).toBeCloseTo(2 / 3, 12);
  });

  const targets: fc.Arbitrary<{ r: ResolvedTarget; b: number | undefined }> = fc.oneof(
    fc.record({ op: fc.constantFrom('>=' as const, '>' as const), value: pos }).map((x) => ({ r: { ...x, higherIsBetter: true }, b: undefined })),
    fc.record({ op: fc.constantFrom('<=' as const, '<' as const), value: pos }).map((x) => ({ r: { ...x, higherIsBetter: false }, b: undefined })),
    fc
      .tuple(pos, fc.double({ min: 1, max: 50, noNaN: true }), fc.boolean())
      .map(([b, change, up]) => ({ r: resolveTarget({ kind: 'relative', change: up ? change : -change, unit: 'percent', text: '' }, b, 'number')!, b })),
  );

  it('is clamped to 0..1 and is 1 exactly when the target is met', () => {
    fc.assert(
      fc.property(targets, num, ({ r, b }, v) => {
        const p = progressOf(v, r, b);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(p === 1).toBe(isMet(v, r));
      }),
    );
  });

  it('is monotone in the value, in the direction of the target', () => {
    fc.assert(
      fc.property(targets, num, num, ({ r, b }, x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const pl = progressOf(lo, r, b);
        const ph = progressOf(hi, r, b);
        if (r.higherIsBetter) expect(ph).toBeGreaterThanOrEqual(pl);
        else expect(pl).toBeGreaterThanOrEqual(ph);
      }),
    );
  });

  it('mirrors: a lower-is-better target behaves like its negation', () => {
    fc.assert(
      fc.property(pos, fc.double({ min: 1, max: 90, noNaN: true }), pos, (b, change, v) => {
        const down = resolveTarget({ kind: 'relative', change: -change, unit: 'points', text: '' }, b, 'number')!;
        const up = resolveTarget({ kind: 'relative', change, unit: 'points', text: '' }, -b, 'number')!;
        expect(progressOf(v, down, b)).toBeCloseTo(progressOf(-v, up, -b), 9);
      }),
    );
  });
});

describe('forecast and status', () => {
  it('is never on track beside a forecast that misses the target', () => {
    const target = fc.constantFrom('>= 6', '> 99%', '< 0.3', '-10%', '+5 points', '== 0');
    fc.assert(
      fc.property(
        target,
        fc.double({ min: -10, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        (text, value, progress, expectedProgress, pace) => {
          const r = resolveTarget(t(text), 1, 'number')!;
          const forecastMet = false;
          expect(statusOf({ value, target: r, progress, expectedProgress, forecastMet, closed: false, pace, stale: false })).not.toBe('on_track');
        },
      ),
    );
  });

  it('extrapolates a straight line', () => {
    expect(
      linearForecast(
        [
          { t: 0, v: 1 },
          { t: 1, v: 2 },
          { t: 2, v: 3 },
        ],
        10,
      ),
    ).toBeCloseTo(11, 12);
    expect(linearForecast([{ t: 5, v: 1 }], 10)).toBeUndefined();
  });

  it('never shows missing or stale data as failing', () => {
    const r = resolveTarget(t('>= 6'), undefined, 'count')!;
    const common = { progress: 0, expectedProgress: 0.9, forecastMet: false, closed: false, pace: true };
    expect(statusOf({ ...common, value: undefined, target: r, stale: false })).toBe('no_data');
    expect(statusOf({ ...common, value: 0, target: r, stale: true })).toBe('no_data');
    expect(statusOf({ ...common, value: 0, target: r, stale: false })).toBe('off_track');
  });

  it('tracks pace for counts and levels for ratios', () => {
    const shows = resolveTarget(t('>= 6'), undefined, 'count')!;
    const s = (value: number, progress: number, expectedProgress: number, forecastMet = false) =>
      statusOf({ value, target: shows, progress, expectedProgress, forecastMet, closed: false, pace: true, stale: false });
    expect(s(6, 1, 0.5)).toBe('done');
    expect(s(3, 0.5, 0.5, true)).toBe('on_track');
    // Keeping pace, but its own forecast misses: at risk, never "on track" beside a missed forecast.
    expect(s(3, 0.5, 0.5, false)).toBe('at_risk');
    expect(s(2, 1 / 3, 0.5)).toBe('off_track');
    expect(s(2.4, 0.4, 0.5)).toBe('at_risk');
    expect(s(2, 1 / 3, 0.5, true)).toBe('on_track');
    const noForecast = statusOf({
      value: 3,
      target: shows,
      progress: 0.5,
      expectedProgress: 0.5,
      forecastMet: undefined,
      closed: false,
      pace: true,
      stale: false,
    });
    expect(noForecast).toBe('on_track');
    const avail = resolveTarget(t('> 99%'), undefined, 'ratio')!;
    const a = (value: number, forecastMet: boolean, closed = false) =>
      statusOf({ value, target: avail, progress: progressOf(value, avail), expectedProgress: 0.5, forecastMet, closed, pace: false, stale: false });
    expect(a(0.995, true)).toBe('on_track');
    expect(a(0.995, false)).toBe('at_risk'); // met now, forecast to miss
    expect(a(0.985, true)).toBe('at_risk');
    expect(a(0.985, false)).toBe('off_track');
    // Half the period at 98.5%: a perfect second half ends at 99.25%, so still reachable.
    const half = (value: number) =>
      statusOf({
        value,
        target: avail,
        progress: progressOf(value, avail),
        expectedProgress: 0.5,
        forecastMet: false,
        closed: false,
        pace: false,
        stale: false,
        reachable: averageStillReachable(value, avail, 0.5),
      });
    expect(half(0.985)).toBe('at_risk');
    expect(half(0.979)).toBe('off_track'); // 98.95% at best: lost
    expect(averageStillReachable(0.95, avail, 0.9)).toBe(false);
    expect(averageStillReachable(0.95, avail, 0.1)).toBe(true);
    expect(a(0.995, true, true)).toBe('done');
    expect(a(0.985, true, true)).toBe('off_track');
    const zero = resolveTarget(t('== 0'), undefined, 'count')!;
    expect(statusOf({ value: 0, target: zero, progress: 1, expectedProgress: 0.5, forecastMet: true, closed: false, pace: true, stale: false })).toBe(
      'on_track',
    );
    expect(statusOf({ value: 1, target: zero, progress: 0, expectedProgress: 0.5, forecastMet: false, closed: false, pace: true, stale: false })).toBe(
      'off_track',
    );
  });
});
