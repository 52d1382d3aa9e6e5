/**
 * The shared HTTP client stays inside the APIs' rate limits: its own request budget never lets
 * more than the hourly figure out in any rolling hour (and spreads it over the refreshes), and
 * the APIs' rate-limit headers (X-RateLimit-*, RateLimit-*, a 429's Retry-After) make every
 * request of the source pause. A request held back is not sent, fails with `rate_limited`, and
 * is counted as okr_source_requests_total{status="rate_limited"}.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../src/core/clock.js';
import { HeldBackError, HttpClient, lowRateLimit, requestBudget } from '../../src/core/http-client.js';
import { sendJson, startFakeServer, type FakeServer } from '../../src/core/simulated-http.js';
import { SourceError } from '../../src/core/source.js';
import { testContext } from '../../exporters/testing/collect-context.js';

const servers: FakeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** A server answering 200 `{}` with the headers `headersFor(n)` gives the n-th request (0-based). */
async function serve(
  headersFor: (n: number) => Record<string, string | undefined> = () => ({}),
  statusFor: (n: number) => number = () => 200,
): Promise<FakeServer> {
  let n = 0;
  const server = await startFakeServer((_req, res) => {
    const i = n++;
    const headers = Object.fromEntries(Object.entries(headersFor(i)).filter((e): e is [string, string] => e[1] !== undefined));
    sendJson(res, statusFor(i), {}, headers);
  });
  servers.push(server);
  return server;
}

/** A client whose waits let the manual clock move (as real waits let real time pass). */
function client(url: string, clock: ManualClock, extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  const sleeps: number[] = [];
  const http = new HttpClient({
    source: 'bitbucket',
    baseUrl: url,
    clock,
    random: () => 0,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    ...extra,
  });
  return { http, sleeps };
}

const T0 = Date.parse('2026-12-01T12:00:00Z');

describe('requestBudget', () => {
  it("spends one interval's share at once and refills the rest of the hour", () => {
    // 800 an hour at a 10-minute interval: a refresh may spend 800 * 600 / 4200 = 114 at once.
    expect(requestBudget(800, 600)).toEqual({ perHour: 800, burst: 114, refillPerHour: 686 });
    expect(requestBudget(0, 600)).toBeUndefined();
  });

  it('never lets more than the hourly figure out in any rolling hour, whatever the request times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 2000 }),
        fc.integer({ min: 15, max: 7200 }),
        // Attempts as gaps in seconds: bursts (0) and pauses of any length.
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 900 })), { minLength: 1, maxLength: 3000 }),
        (perHour, interval, gaps) => {
          const b = requestBudget(perHour, interval)!;
          let tokens = b.burst;
          let t = 0;
          let last = 0;
          const sent: number[] = [];
          for (const gap of gaps) {
            t += gap;
            tokens = Math.min(b.burst, tokens + ((t - last) / 3600) * b.refillPerHour);
            last = t;
            if (tokens >= 1) {
              tokens -= 1;
              sent.push(t);
            }
          }
          // The busiest rolling hour: for each sent request, those in the hour it starts.
          let j = 0;
          for (let i = 0; i < sent.length; i++) {
            while (sent[j]! < sent[i]! - 3600 + 1e-9) j++;
            expect(i - j + 1).toBeLessThanOrEqual(perHour);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('HttpClient request budget', () => {
  it('holds back the request past the budget without sending it, then sends again once it refilled', async () => {
    const server = await serve();
    const clock = new ManualClock(T0);
    // 60 an hour at a 10-minute interval: bursts of 8, 52 more refilled over the hour.
    const { http } = client(server.url, clock, { budget: requestBudget(60, 600), budgetSetting: 'sources.bitbucket.max_requests_per_hour' });
    const ctx = testContext();
    for (let i = 0; i < 8; i++) await http.getJson(ctx, '/x', z.object({}));
    expect(http.requestsAvailable()).toBe(0);
    const err = await http.getJson(ctx, '/x', z.object({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HeldBackError);
    expect((err as SourceError).reason).toBe('rate_limited');
    expect((err as SourceError).message).toContain('sources.bitbucket.max_requests_per_hour');
    expect((err as SourceError).message).toContain('60 an hour');
    expect(server.requests).toHaveLength(8);
    expect(Object.fromEntries(ctx.counts)).toEqual({ '200': 8, rate_limited: 1 });
    // 52 an hour: one more every 3600 / 52 = 69.2 s.
    clock.advance(70_000);
    expect(http.requestsAvailable()).toBe(1);
    await http.getJson(ctx, '/x', z.object({}));
    expect(server.requests).toHaveLength(9);
  });

  it('counts retries against the budget: each attempt is a request the API counts', async () => {
    const server = await serve(
      () => ({}),
      (n) => (n < 2 ? 503 : 200),
    );
    const clock = new ManualClock(T0);
    const { http } = client(server.url, clock, { budget: { perHour: 3, burst: 3, refillPerHour: 0 } });
    const ctx = testContext();
    await http.getJson(ctx, '/x', z.object({}));
    expect(http.requestsAvailable()).toBe(0);
    expect(Object.fromEntries(ctx.counts)).toEqual({ '503': 2, '200': 1 });
  });
});

describe("HttpClient and the API's rate-limit headers", () => {
  it('pauses every request when X-RateLimit-Remaining is low, until X-RateLimit-Reset', async () => {
    // Jira Cloud: "X-RateLimit-Reset: the timestamp (ISO 8601) when the rate limit will reset".
    const server = await serve((n) => (n === 0 ? { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '2026-12-01T12:01Z' } : {}));
    const clock = new ManualClock(T0);
    const { http, sleeps } = client(server.url, clock);
    const ctx = testContext();
    await http.getJson(ctx, '/a', z.object({}));
    await http.getJson(ctx, '/b', z.object({}));
    expect(sleeps).toEqual([60_000]);
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b']);
    // The pause is over: no more waiting.
    await http.getJson(ctx, '/c', z.object({}));
    expect(sleeps).toEqual([60_000]);
  });

  it('does not pause while plenty is left', async () => {
    const server = await serve(() => ({ 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '90', 'x-ratelimit-reset': '1800' }));
    const clock = new ManualClock(T0);
    const { http, sleeps } = client(server.url, clock);
    const ctx = testContext();
    for (let i = 0; i < 3; i++) await http.getJson(ctx, '/a', z.object({}));
    expect(sleeps).toEqual([]);
  });

  it('holds requests back, unsent and counted as rate_limited, when the reset is further off than it waits', async () => {
    const server = await serve((n) => (n === 0 ? { 'x-ratelimit-nearlimit': 'true', 'retry-after': '900' } : {}));
    const clock = new ManualClock(T0);
    const { http, sleeps } = client(server.url, clock);
    const ctx = testContext();
    await http.getJson(ctx, '/a', z.object({}));
    const err = await http.getJson(ctx, '/b', z.object({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HeldBackError);
    expect((err as SourceError).reason).toBe('rate_limited');
    expect((err as SourceError).message).toContain('nearly used up');
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
    expect(ctx.counts.get('rate_limited')).toBe(1);
    // 15 minutes later the API's window has passed.
    clock.advance(900_000);
    await http.getJson(ctx, '/c', z.object({}));
    expect(server.requests).toHaveLength(2);
  });

  it("makes the other requests wait out a 429's Retry-After instead of running into it too", async () => {
    const server = await serve(
      (n) => (n === 0 ? { 'retry-after': '20' } : {}),
      (n) => (n === 0 ? 429 : 200),
    );
    const clock = new ManualClock(T0);
    // No retries: /a fails at once with its 429, and /b, asked next, must still wait the 20 s.
    const { http, sleeps } = client(server.url, clock, { maxRetries: 0 });
    const ctx = testContext();
    const err = await http.getJson(ctx, '/a', z.object({})).catch((e: unknown) => e);
    expect((err as SourceError).reason).toBe('rate_limited');
    expect((err as SourceError).status).toBe(429);
    await http.getJson(ctx, '/b', z.object({}));
    expect(sleeps).toEqual([20_000]);
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b']);
    expect(Object.fromEntries(ctx.counts)).toEqual({ '429': 1, '200': 1 });
  });

  it('takes a 429 without Retry-After as missingRetryAfterSeconds when set (an hourly limit): no quick retries, the rest held back unsent', async () => {
    const server = await serve(
      () => ({}),
      (n) => (n === 0 ? 429 : 200),
    );
    const clock = new ManualClock(T0);
    const { http, sleeps } = client(server.url, clock, { missingRetryAfterSeconds: 300 });
    const ctx = testContext();
    const err = await http.getJson(ctx, '/a', z.object({})).catch((e: unknown) => e);
    expect((err as SourceError).status).toBe(429);
    expect(await http.getJson(ctx, '/b', z.object({})).catch((e: unknown) => e)).toBeInstanceOf(HeldBackError);
    expect(sleeps).toEqual([]);
    expect(server.requests.map((r) => r.path)).toEqual(['/a']);
    expect(Object.fromEntries(ctx.counts)).toEqual({ '429': 1, rate_limited: 1 });
    // Five minutes later it sends again.
    clock.advance(300_000);
    await http.getJson(ctx, '/c', z.object({}));
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/c']);
    // Without the setting the same 429 is retried after a short backoff.
    const retried = await serve(
      () => ({}),
      (n) => (n === 0 ? 429 : 200),
    );
    const plain = client(retried.url, new ManualClock(T0));
    await plain.http.getJson(testContext(), '/a', z.object({}));
    expect(retried.requests).toHaveLength(2);
    expect(plain.sleeps).toHaveLength(1);
    expect(plain.sleeps[0]).toBeLessThan(2_000);
  });

  it('reads the forms Atlassian and the IETF draft use', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    // IETF draft: RateLimit-Remaining with RateLimit-Reset in seconds.
    expect(lowRateLimit(h({ 'ratelimit-limit': '50', 'ratelimit-remaining': '2', 'ratelimit-reset': '12' }), T0)).toEqual({
      pauseSeconds: 12,
      why: '2 of 50 requests left',
    });
    // Structured (Atlassian's 2026 points quota, seen as Beta-RateLimit).
    expect(lowRateLimit(h({ 'beta-ratelimit': '"tenant-app-quota";r=0;t=2788', 'beta-ratelimit-policy': '"tenant-app-quota";q=100100;w=3600' }), T0)).toEqual({
      pauseSeconds: 2788,
      why: '0 of 100100 requests left',
    });
    // Reset as epoch seconds; a far-off reset is capped at an hour.
    expect(lowRateLimit(h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(T0 / 1000 + 30) }), T0)?.pauseSeconds).toBe(30);
    expect(lowRateLimit(h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(T0 / 1000 + 86_400) }), T0)?.pauseSeconds).toBe(3600);
    // Bitbucket Cloud access tokens send only X-RateLimit-NearLimit (no reset): a minute.
    expect(lowRateLimit(h({ 'x-ratelimit-limit': '1000', 'x-ratelimit-resource': 'api', 'x-ratelimit-nearlimit': 'true' }), T0)?.pauseSeconds).toBe(60);
    expect(lowRateLimit(h({ 'x-ratelimit-limit': '1000', 'x-ratelimit-resource': 'api', 'x-ratelimit-nearlimit': 'false' }), T0)).toBeUndefined();
    expect(lowRateLimit(h({}), T0)).toBeUndefined();
  });
});
