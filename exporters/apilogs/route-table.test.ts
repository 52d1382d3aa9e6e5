import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OVERFLOW_ROUTE } from './metrics.js';
import { isIdSegment, OVERFLOW_ROUTE_ID, RouteTable } from './route-table.js';
import { countText, nginxLine, requestTable, service } from './testing/apilogs-fixtures.js';
import { referenceRoute } from './testing/reference-line-parser.js';

const route = (t: RouteTable, path: string) => t.names[t.lookupString(path)];

describe('route normalisation', () => {
  it('strips query strings and fragments and replaces ids by :id', () => {
    const t = new RouteTable([], 200);
    const cases: Array<[string, string]> = [
      ['/', '/'],
      ['/healthz?verbose=1', '/healthz'],
      ['/v1/topups/123456', '/v1/topups/:id'],
      ['/v1/topups/123456/status#top', '/v1/topups/:id/status'],
      ['/v1/accounts/7da2849d-73eb-4438-aa90-7d090402c802/balance', '/v1/accounts/:id/balance'],
      ['/v1/reports/5f0c9a3b2e4d1c7a8b6e9f01/download', '/v1/reports/:id/download'],
      ['/v1/reports/ABCDEF0123456789', '/v1/reports/:id'],
      ['/v1/users/alice', '/v1/users/alice'],
      ['/v1/builds/deadbeefdeadbeef', '/v1/builds/deadbeefdeadbeef'], // hex-looking word without a digit
      ['/v1/commits/a1b2c3d4', '/v1/commits/:id'], // hex of 8 with a digit (a short git hash)
      ['/v1/commits/a1b2c3d', '/v1/commits/a1b2c3d'], // 7: could be a word or code
      ['/export/2017-06-29/summary', '/export/:id/summary'],
      ['/export/20170629', '/export/:id'],
      ['/export/2017-06', '/export/:id'],
      ['/export/2017-06-29T10:00:00Z', '/export/:id'],
      ['/export/2017-06-29.csv', '/export/2017-06-29.csv'], // a file name stays
      ['/v1/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/v1/orders/:id'], // ULID
      ['/v1/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc', '/v1/keys/:id'], // long mixed token
      ['/shop/iphone-15-pro-max', '/shop/:id'],
      ['/shop/getting-started-guide', '/shop/getting-started-guide'], // a long slug without digits stays
      ['/api/1/campaigns/77', '/api/1/campaigns/:id'], // a version right after api stays
      ['/API/2/campaigns', '/API/2/campaigns'],
      ['/api/2017/report', '/api/:id/report'], // four digits are not a version
      ['/v1/api/12', '/v1/api/12'],
      ['/x/api/v2/users/5', '/x/api/v2/users/:id'],
      ['/v2.1/status', '/v2.1/status'],
      ['/v1/topups/', '/v1/topups/'],
      ['/a//b/1', '/a//b/:id'],
      ['http://api.example.com/v1/topups/9?x', '/v1/topups/:id'],
      ['https://api.example.com', '/'],
    ];
    for (const [path, want] of cases) expect(route(t, path), path).toBe(want);
  });

  it('classifies id segments', () => {
    const seg = (s: string) => isIdSegment(Buffer.from(s), 0, s.length);
    expect(seg('0')).toBe(true);
    expect(seg('123e4567-e89b-12d3-a456-426614174000')).toBe(true);
    expect(seg('123e4567-e89b-12d3-a456-42661417400g')).toBe(true); // not a UUID, but a long mixed token
    expect(seg('0123456789abcdef')).toBe(true);
    expect(seg('0123456789abcde')).toBe(true);
    expect(seg('abcdef1')).toBe(false);
    expect(seg('0ABCDEFGHJKMNPQRSTVWXYZABC')).toBe(true); // ULID with a single digit
    expect(seg('0ABCDEFGHJKMNPQRSTVWXYZABU')).toBe(false); // U is not Crockford base32
    expect(seg('00_0---___---0-_')).toBe(false); // no letter: not a token
    expect(seg('1999-12-31')).toBe(true);
    expect(seg('1999-1x-31')).toBe(false);
    expect(seg('v1')).toBe(false);
    expect(seg('1.2.3')).toBe(false);
    expect(seg('')).toBe(false);
  });

  it('lets configured templates win over the heuristics, first match first', () => {
    const t = new RouteTable(['/v1/users/:name', '/v1/users/:name/cards/:id', '/static/*', '/v1/topups/:id'], 200);
    expect(route(t, '/v1/users/alice')).toBe('/v1/users/:name');
    expect(route(t, '/v1/users/42?x=1')).toBe('/v1/users/:name');
    expect(route(t, '/v1/users/alice/cards/9')).toBe('/v1/users/:name/cards/:id');
    expect(route(t, '/static/css/app.3f9a.css')).toBe('/static/*');
    expect(route(t, '/static')).toBe('/static/*');
    expect(route(t, '/v1/topups/abc')).toBe('/v1/topups/:id');
    expect(route(t, '/v1/topups/abc/status')).toBe('/v1/topups/abc/status');
    expect(route(t, '/v1/users/')).toBe('/v1/users/'); // a parameter needs a non-empty segment
    expect(t.discoveredRoutes).toBe(2);
  });

  it('caps distinct routes per service and folds the rest into "other", counting them', () => {
    const t = new RouteTable(['/v1/topups/:id'], 3);
    expect(['/a', '/b', '/c', '/a', '/d', '/e', '/v1/topups/1'].map((p) => route(t, p))).toEqual([
      '/a',
      '/b',
      '/c',
      '/a',
      OVERFLOW_ROUTE,
      OVERFLOW_ROUTE,
      '/v1/topups/:id',
    ]);
    expect(t.lookupString('/zzz')).toBe(OVERFLOW_ROUTE_ID);
    expect(t.overflowed).toBe(true);
    expect(t.lookupString('/b')).not.toBe(OVERFLOW_ROUTE_ID);
    expect(t.overflowed).toBe(false);

    const c = countText(service({ max_routes: 2 }), ['/a', '/b', '/c', '/d/1', '/a', '/e'].map((p) => nginxLine('GET', p, 200, '0.001')).join('\n'));
    expect(requestTable(c)).toEqual({ '/a GET 200': 2, '/b GET 200': 1, 'other GET 200': 3 });
    expect(c.overflow).toBe(3);
  });

  it('finds a route again whatever the scratch space held before (no duplicate series)', () => {
    // Paths of every length modulo 4, each after longer ones that leave bytes behind.
    const paths = [
      '/healthz',
      '/v1/topups/77/status',
      '/abc',
      '/v1/operators/1/fx-rate?x=1',
      '/abcd',
      '/abcde',
      '/v1',
      '/healthz',
      '/abc',
      '/abcd',
      '/abcde',
      '/v1',
    ];
    const c = countText(service(), paths.map((p) => nginxLine('GET', p, 200, '0.001')).join('\n'));
    const labels = c.requestSamples().map((s) => s.labels.route);
    expect(labels).toEqual([...new Set(labels)]);
    expect(requestTable(c)).toEqual({
      '/abc GET 200': 2,
      '/abcd GET 200': 2,
      '/abcde GET 200': 2,
      '/healthz GET 200': 2,
      '/v1 GET 200': 2,
      '/v1/operators/:id/fx-rate GET 200': 1,
      '/v1/topups/:id/status GET 200': 1,
    });
    const t = new RouteTable([], 200);
    for (const p of paths) t.lookupString(p);
    expect(t.discoveredRoutes).toBe(7);
  });

  it('keeps thousands of distinct ids as one route (bounded cardinality)', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => nginxLine(i % 2 ? 'GET' : 'PATCH', `/v1/topups/${i * 7919}`, 200, '0.001'));
    const c = countText(service(), lines.join('\n'));
    expect(requestTable(c)).toEqual({ '/v1/topups/:id GET 200': 2500, '/v1/topups/:id PATCH 200': 2500 });
  });

  it('normalises like the reference rules (one regular expression per id shape), on random paths', () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'API', 'v1', 'v2.1', 'users', '', '2017-06-29', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '0ABCDEFGHJKMNPQRSTVWXYZABU', 'iphone-15-pro-max'),
      fc.nat({ max: 2000 }).map(String),
      fc.stringMatching(/^[0-9a-fA-F_-]{1,40}$/),
      fc.stringMatching(/^[0-9A-Za-z_-]{10,30}$/),
      fc.stringMatching(/^[0-9]{4}-[0-9]{2}[0-9A-Z:._+-]{0,12}$/),
      fc.stringMatching(/^[0-9a-zA-Z]{26}$/),
      fc.uuid(),
      fc.string({ maxLength: 6 }).map((x) => x.replace(/[/?#]/g, '')),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segs) => {
        const path = `/${segs.join('/')}`;
        expect(route(new RouteTable([], 200), path), path).toBe(referenceRoute(Buffer.from(path, 'utf8').toString('latin1')));
      }),
      { numRuns: 2000 },
    );
  });

  it('normalises the same way while scanning an nginx request line as from a path string', () => {
    const segment = fc.oneof(
      fc.constantFrom('v1', 'topups', 'accounts', 'balance', 'deadbeefdeadbeef', 'a1b2c3d4', 'café', '', 'x-y', 'ABCDEF'),
      fc.nat().map(String),
      fc.uuid(),
      fc.stringMatching(/^[0-9a-f]{16,32}$/),
      fc.stringMatching(/^[A-Za-z0-9._~%-]{1,12}$/),
    );
    fc.assert(
      fc.property(fc.array(segment, { minLength: 0, maxLength: 6 }), fc.option(fc.stringMatching(/^[?#][a-z=&0-9]{0,10}$/)), (segs, query) => {
        const path = `/${segs.join('/')}${query ?? ''}`;
        const fromString = new RouteTable([], 200);
        const want = fromString.names[fromString.lookupString(path)]!;
        const c = countText(service(), nginxLine('GET', path, 200, '0.001'));
        expect(Object.keys(requestTable(c))).toEqual([`${want} GET 200`]);
      }),
      { numRuns: 300 },
    );
    // Paths over 8 KiB are not routes (a long query string is fine), in both code paths.
    const long = `/v1/${'a/'.repeat(4100)}x`;
    expect(route(new RouteTable([], 200), long)).toBe(OVERFLOW_ROUTE);
    expect(Object.keys(requestTable(countText(service(), nginxLine('GET', long, 200, '0.001'))))).toEqual(['other GET 200']);
    const query = `/v1/topups/1?q=${'z'.repeat(9000)}`;
    expect(route(new RouteTable([], 200), query)).toBe('/v1/topups/:id');
    expect(Object.keys(requestTable(countText(service(), nginxLine('GET', query, 200, '0.001'))))).toEqual(['/v1/topups/:id GET 200']);
    // Segments of 256 bytes and more (past the packed 8-bit counters).
    for (const [seg, want] of [
      ['7'.repeat(300), ':id'],
      ['ab'.repeat(150) + '1', ':id'],
      ['x'.repeat(300), 'x'.repeat(300)],
    ] as const) {
      const c = countText(service(), nginxLine('GET', `/v1/${seg}/z`, 200, '0.001'));
      expect(Object.keys(requestTable(c))).toEqual([`/v1/${want}/z GET 200`]);
    }
  });
});
