/**
 * The route cap keeps the busiest routes, decided by traffic with hysteresis: labels do not
 * flap, memory stays bounded, a counter that stays exported never goes backwards, and every
 * request is counted once in a series the scraper sees (live) or in the totals (one-shot).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY_BUCKETS, OVERFLOW_ROUTE } from './metrics.js';
import { ManualClock } from '../../src/core/clock.js';
import { LineSplitter } from './line-splitter.js';
import { BUSIER_FACTOR, IDLE_EPOCHS, MIN_LABEL_EPOCHS, ONE_SHOT_ROUTE_CAP, type RouteCapPolicy, RouteTable } from './route-table.js';
import type { ServiceCounters } from './service-counters.js';
import { createServiceCounters } from './service-setup.js';
import { requestTable } from './testing/apilogs-fixtures.js';

const E = 10; // lines per epoch in these tests
const look = (t: RouteTable, path: string) => t.names[t.lookupString(path)]!;
/** One epoch of lines: `mix` maps a path to its share of the epoch's E lines. */
function epoch(t: RouteTable, mix: Record<string, number>): void {
  for (const [path, n] of Object.entries(mix)) for (let i = 0; i < n; i++) t.lookupString(path);
}

describe('route cap: which routes get a label', () => {
  it('keeps the busiest routes, not the first seen: busy routes arriving after rare ones take their places', () => {
    const t = new RouteTable([], 3, { epochLines: E });
    epoch(t, { '/rare/a': 1, '/rare/b': 1, '/rare/c': 1, '/busy/x': 4, '/busy/y': 3 });
    expect(t.exportedNames()).toEqual(['/rare/a', '/rare/b', '/rare/c']); // first come while there is room
    expect(look(t, '/busy/x')).toBe(OVERFLOW_ROUTE);
    for (let i = 0; i < MIN_LABEL_EPOCHS + 1; i++) epoch(t, { '/busy/x': 6, '/busy/y': 4 });
    // The rare routes were idle and had their label long enough: two of them gave way.
    expect(t.exportedNames()).toEqual(['/busy/x', '/busy/y', '/rare/c'].sort());
    expect(look(t, '/busy/x')).toBe('/busy/x');
    expect(look(t, '/rare/a')).toBe(OVERFLOW_ROUTE);
    expect([t.promotions, t.demotions]).toEqual([5, 2]);
  });

  it('does not flap: a route keeps its label unless idle or beaten four times over, and for at least a few epochs', () => {
    const t = new RouteTable([], 1, { epochLines: E });
    epoch(t, { '/a': 5, '/b': 5 });
    expect(t.exportedNames()).toEqual(['/a']);
    // /b twice as busy as /a for a long while: not enough.
    for (let i = 0; i < 20; i++) epoch(t, { '/a': 3, '/b': 7 });
    expect(t.exportedNames()).toEqual(['/a']);
    // /b far busier: it takes the label within a few epochs.
    let n = 0;
    while (t.exportedNames()[0] !== '/b') {
      epoch(t, { '/a': 1, '/b': 9 });
      expect(++n).toBeLessThanOrEqual(8);
    }
    const changes = t.promotions;
    // Right after, /a far busier again: /b keeps its label for MIN_LABEL_EPOCHS epochs first.
    for (let i = 0; i < MIN_LABEL_EPOCHS - 1; i++) epoch(t, { '/a': 10 });
    expect(t.exportedNames()).toEqual(['/b']);
    // Dominance swinging back and forth by 2x every epoch: no change at all.
    for (let i = 0; i < 30; i++) epoch(t, i % 2 ? { '/a': 4, '/b': 6 } : { '/a': 6, '/b': 4 });
    expect(t.promotions).toBe(changes);
    expect(BUSIER_FACTOR).toBeGreaterThanOrEqual(2);
  });

  it("gives an idle route's label to any candidate with some traffic", () => {
    const t = new RouteTable([], 2, { epochLines: E });
    epoch(t, { '/old': 9, '/steady': 1 });
    for (let i = 0; i < MIN_LABEL_EPOCHS + IDLE_EPOCHS; i++) epoch(t, { '/steady': 7, '/new': 3 });
    expect(t.exportedNames()).toEqual(['/new', '/steady']);
  });

  it('stays bounded in memory: a million distinct paths are tracked in at most cap + candidates entries', () => {
    const t = new RouteTable([], 10);
    for (let i = 0; i < 200_000; i++) t.lookupString(`/p/x${i.toString(36)}y`);
    expect(t.trackedRoutes).toBe(10 + 16);
    expect(t.discoveredRoutes).toBe(10);
    // The table still finds its routes after all that eviction (no broken probe chains).
    for (const name of t.exportedNames()) expect(look(t, name)).toBe(name);
  });

  it('decides in serve at most once per epochMs of the clock, however many lines come', () => {
    const clock = new ManualClock(0);
    const t = new RouteTable([], 1, { epochLines: E, epochMs: 60_000, clock });
    for (let i = 0; i < 500; i++) t.lookupString(i === 0 ? '/first' : '/busy');
    expect(t.exportedNames()).toEqual(['/first']);
    for (let k = 0; k < MIN_LABEL_EPOCHS + 1; k++) {
      clock.advance(60_000);
      for (let i = 0; i < 200; i++) t.lookupString('/busy');
    }
    expect(t.exportedNames()).toEqual(['/busy']);
  });
});

/** Every series' value, keyed by its labels (histograms: the count and each bucket). */
function snapshot(c: ServiceCounters): Map<string, number> {
  const m = new Map<string, number>();
  const x = c.exportCounts();
  for (const [route, method, code, value] of x.requests) m.set(`${route} ${method} ${code}`, value);
  for (const [route, method, buckets] of x.durations) {
    m.set(
      `_count ${route} ${method}`,
      buckets.reduce((a, b) => a + b, 0),
    );
    buckets.forEach((b, i) => m.set(`_bucket ${route} ${method} ${i}`, b));
  }
  return m;
}

const count = (c: ServiceCounters, lines: string[]) => {
  const buf = Buffer.from(`${lines.join('\n')}\n`);
  new LineSplitter(c).process(buf, buf.length);
};

/** Route popularity that shifts: each phase draws from a different skewed mix. */
const traffic = fc.array(
  fc
    .tuple(fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }), fc.integer({ min: 5, max: 120 }))
    .chain(([hot, n]) =>
      fc.array(
        fc.tuple(
          fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...hot) }, { weight: 1, arbitrary: fc.nat(40) }),
          fc.constantFrom(200, 404, 503),
          fc.boolean(),
        ),
        { minLength: n, maxLength: n },
      ),
    ),
  { minLength: 1, maxLength: 8 },
);

describe('route cap: counters', () => {
  it('live: a series never goes backwards, a demoted one stays frozen for its grace and then goes, and every request is seen once', () => {
    fc.assert(
      fc.property(traffic, fc.integer({ min: 1, max: 6 }), (phases, cap) => {
        const policy: RouteCapPolicy = { epochLines: E, graceEpochs: 2, foldDropped: false };
        const c = createServiceCounters(
          {
            name: 'svc',
            format: 'nginx',
            log_format: '"$request" $status $request_time',
            duration_unit: 's',
            routes: [],
            max_routes: cap,
            buckets: DEFAULT_LATENCY_BUCKETS,
          },
          policy,
        );
        const lines = phases.flat().map(([r, code, timed]) => `"${r % 3 ? 'GET' : 'POST'} /r${r}/${r * 7} HTTP/1.1" ${code} ${timed ? `0.${r}` : '-'}`);
        let prev = new Map<string, number>();
        // What a scraper that scrapes after every few lines (more often than epochs end) adds up.
        let seen = 0;
        let timedSeen = 0;
        const backwards: string[] = [];
        for (let i = 0; i < lines.length; i += 3) {
          count(c, lines.slice(i, i + 3));
          const now = snapshot(c);
          for (const [k, v] of now) {
            const before = prev.get(k);
            if (before !== undefined && v < before) backwards.push(`${k}: ${before} → ${v}`);
            const inc = v - (before ?? 0);
            if (!k.startsWith('_')) seen += inc;
            else if (k.startsWith('_count')) timedSeen += inc;
          }
          prev = now;
        }
        expect(backwards).toEqual([]);
        expect(seen).toBe(lines.length);
        expect(timedSeen).toBe(lines.filter((l) => !l.endsWith(' -')).length);
        expect(c.routes.discoveredRoutes).toBeLessThanOrEqual(cap);
      }),
      { numRuns: 150 },
    );
  });

  it('one-shot: the counts of a dropped route go to route "other", so the totals add up', () => {
    fc.assert(
      fc.property(traffic, fc.integer({ min: 1, max: 6 }), (phases, cap) => {
        const c = createServiceCounters(
          {
            name: 'svc',
            format: 'nginx',
            log_format: '"$request" $status $request_time',
            duration_unit: 's',
            routes: [],
            max_routes: cap,
            buckets: DEFAULT_LATENCY_BUCKETS,
          },
          { ...ONE_SHOT_ROUTE_CAP, epochLines: E },
        );
        const flat = phases.flat();
        count(
          c,
          flat.map(([r, code, timed]) => `"${r % 3 ? 'GET' : 'POST'} /r${r}/${r * 7} HTTP/1.1" ${code} ${timed ? `0.${r}` : '-'}`),
        );
        const table = requestTable(c);
        expect(Object.values(table).reduce((a, b) => a + b, 0)).toBe(flat.length);
        const routes = new Set(Object.keys(table).map((k) => k.split(' ')[0]));
        expect(routes.size - (routes.has(OVERFLOW_ROUTE) ? 1 : 0)).toBeLessThanOrEqual(cap);
        // A labelled route holds at most its true count (requests before it got the label are in
        // "other"); every request in "other" here came from the cap (all targets are paths).
        const truth: Record<string, number> = {};
        for (const [r, code] of flat) truth[`/r${r}/:id ${r % 3 ? 'GET' : 'POST'} ${code}`] = (truth[`/r${r}/:id ${r % 3 ? 'GET' : 'POST'} ${code}`] ?? 0) + 1;
        let inOther = 0;
        for (const [k, v] of Object.entries(table)) {
          if (k.startsWith(`${OVERFLOW_ROUTE} `)) inOther += v;
          else expect(v, k).toBeLessThanOrEqual(truth[k]!);
        }
        expect(c.overflow).toBe(inOther);
        const timed = c
          .durationSamples()
          .filter((s) => s.suffix === '_count')
          .reduce((a, s) => a + s.value, 0);
        expect(timed).toBe(flat.filter(([, , t]) => t).length);
      }),
      { numRuns: 150 },
    );
  });

  it('live, by example: the series of a demoted route stays frozen while its requests go to "other", then disappears', () => {
    const c = createServiceCounters(
      { name: 'svc', format: 'nginx', log_format: '"$request" $status', duration_unit: 's', routes: [], max_routes: 1, buckets: [1] },
      { epochLines: E, graceEpochs: 2 },
    );
    const req = (p: string) => `"GET ${p} HTTP/1.1" 200`;
    const rows = () => requestTable(c);
    count(c, Array(E).fill(req('/old')));
    // /new far busier: after MIN_LABEL_EPOCHS epochs it takes the label.
    let epochs = 1;
    while (!c.routes.exportedNames().includes('/new')) {
      count(c, [req('/old'), ...Array(E - 1).fill(req('/new'))]);
      epochs++;
      expect(epochs).toBeLessThan(20);
    }
    const frozen = rows()['/old GET 200']!;
    expect(frozen).toBeGreaterThan(0);
    count(c, [req('/old'), req('/old'), ...Array(E - 2).fill(req('/new'))]);
    expect(rows()['/old GET 200']).toBe(frozen); // frozen: its requests now count under "other"
    count(c, Array(2 * E).fill(req('/new')));
    expect(rows()['/old GET 200']).toBeUndefined(); // gone after the grace
    expect(Object.values(rows()).reduce((a, b) => a + b, 0)).toBe(c.parsed - frozen);
  });

  it('keeps the counts of a whole file when threads merge (one-shot, fold)', () => {
    const c = createServiceCounters(
      { name: 'svc', format: 'nginx', log_format: '"$request" $status', duration_unit: 's', routes: [], max_routes: 2, buckets: [1] },
      ONE_SHOT_ROUTE_CAP,
    );
    const other = createServiceCounters(
      { name: 'svc', format: 'nginx', log_format: '"$request" $status', duration_unit: 's', routes: [], max_routes: 2, buckets: [1] },
      ONE_SHOT_ROUTE_CAP,
    );
    count(c, ['"GET /a HTTP/1.1" 200', '"GET /b HTTP/1.1" 200']);
    count(other, ['"GET /c HTTP/1.1" 200', '"GET /a HTTP/1.1" 200']);
    c.mergeCounts(other.exportCounts());
    expect(requestTable(c)).toEqual({ '/a GET 200': 2, '/b GET 200': 1, 'other GET 200': 1 });
    expect(c.overflow).toBe(1);
  });
});
