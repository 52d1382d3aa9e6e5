/**
 * Bitbucket Cloud's hourly limit against the fake: the workspace listing reads only what moved
 * (newest first, stopped at the newest `updated_on` already seen, in full once an hour), a 429
 * without Retry-After (Bitbucket documents none) holds the rest of the refresh back instead of
 * retrying into the limit, and `X-RateLimit-NearLimit` (sent to access tokens) spaces requests.
 * Expected figures come from the fixture data; request counts are the fake's own.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { sendJson } from '../../src/core/simulated-http.js';
import { testContext } from '../testing/collect-context.js';
import { createBitbucketCollector, FULL_LISTING_MS, LISTING_OVERLAP_MS, type BitbucketCollector } from './bitbucket-collector.js';
import { BITBUCKET_METRICS as M } from './metrics.js';
import { startFakeCloud, type FakeCloud, type FakeCloudRepo } from './simulator/fake-cloud-server.js';
import { capturingLogger, depsFor, reposIn, sampleValue, tempStateDir } from './testing/bitbucket-test-kit.js';
import type { Snapshot } from '../../src/core/source.js';

const MIN = 60_000;
const H = 60 * MIN;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const TOKEN = 'workspace-access-token-7781';
/** Bitbucket's 429 body (source-apis.md 3.8). */
const RATE_LIMITED = { type: 'error', error: { message: 'Rate limit for this resource has been exceeded.' } };

/** Repository `slug` with `merged` merged pull requests, last moved `updatedMs`. */
function repo(slug: string, merged: number, updatedMs: number): FakeCloudRepo {
  return {
    slug,
    pullRequests: Array.from({ length: merged }, (_, p) => ({ id: p + 1, state: 'MERGED' as const, createdMs: NOW - 40 * H, updatedMs: NOW - 30 * H })),
    pipelines: [],
    branches: {},
    reports: {},
    updatedMs,
  };
}

/** r001..rnnn, repository i with i % 4 merged pull requests, moved i minutes before a day ago. */
function workspace(n: number): FakeCloudRepo[] {
  return Array.from({ length: n }, (_, k) => repo(`r${String(k + 1).padStart(3, '0')}`, (k + 1) % 4, NOW - 24 * H - (k + 1) * MIN));
}

/** A merged pull request that moves the repository's `updated_on` to `atMs`. */
function mergeOne(r: FakeCloudRepo, atMs: number): void {
  r.pullRequests.push({ id: r.pullRequests.length + 1, state: 'MERGED', createdMs: atMs - H, updatedMs: atMs });
  r.updatedMs = atMs;
}

let fake: FakeCloud;
let state: ReturnType<typeof tempStateDir>;
let clock: ManualClock;

function collector(extra = ''): BitbucketCollector {
  const yaml = `version: okr/v1\nsources:\n  bitbucket:\n    workspace: acme\n    url: ${fake.url}/2.0\n    access_token: \${BB_TOKEN}\n    pipelines: false\n    code_insights: false\n${extra}`;
  // The fixture's merges are older than the clock: counted as by a deployment started 90 days before.
  return createBitbucketCollector(depsFor(yaml, { BB_TOKEN: TOKEN }, state.dir, clock), {
    countFromMs: clock.now() - 90 * 24 * H,
    random: () => 0,
    sleep: async (ms) => clock.advance(ms),
  });
}

/** The fake's requests since the last call: `listing` (with its sort, if any) or `<repo> <endpoint>`. */
function requestsSince(): string[] {
  return fake.requests.splice(0).map((r) => {
    const parts = r.path.split('/').slice(4);
    if (parts.length > 0) return `${parts[0]} ${parts.slice(1).join('/')}`;
    const sort = r.query.get('sort');
    return sort ? `listing sort=${sort}` : 'listing';
  });
}
const readsOf = (reqs: string[]) => [...new Set(reqs.filter((r) => !r.startsWith('listing')).map((r) => r.split(' ')[0]!))].sort();
const merged = (s: Snapshot, slug: string) => sampleValue(s, M.prsMerged, { repo: slug, team: '' });
const mergedIn = (r: FakeCloudRepo) => r.pullRequests.filter((p) => p.state === 'MERGED').length;

beforeEach(() => {
  state = tempStateDir();
  clock = new ManualClock(NOW);
});
afterEach(async () => {
  await fake.close();
  state.remove();
});

describe('Bitbucket Cloud workspace listing', () => {
  it('lists only what moved between hourly full listings: one request, new and moved repositories read, deleted ones gone at the next full listing', async () => {
    fake = await startFakeCloud({ workspace: 'acme', authorization: `Bearer ${TOKEN}`, repos: workspace(150) });
    const repos = fake.fixture.repos;
    const c = collector('    max_requests_per_hour: 0\n');
    const first = await c.collect(testContext());
    const firstReqs = requestsSince();
    // 150 repositories at 100 a page; each read costs merged + open pull requests.
    expect(firstReqs.filter((r) => r.startsWith('listing'))).toEqual(['listing', 'listing']);
    expect(firstReqs).toHaveLength(2 + 150 * 2);
    expect(reposIn(first)).toHaveLength(150);

    clock.advance(10 * MIN);
    expect(await c.collect(testContext())).toEqual(first);
    expect(requestsSince()).toEqual(['listing sort=-updated_on']);

    // r050 and r060 merge, r151 is created: one listing request finds them.
    const bySlug = (slug: string) => repos.find((r) => r.slug === slug)!;
    mergeOne(bySlug('r050'), clock.now() - MIN);
    mergeOne(bySlug('r060'), clock.now() - MIN);
    repos.push(repo('r151', 2, clock.now() - 2 * MIN));
    const newestSeen = clock.now() - MIN;
    clock.advance(10 * MIN);
    const moved = await c.collect(testContext());
    const movedReqs = requestsSince();
    expect(movedReqs.filter((r) => r.startsWith('listing'))).toEqual(['listing sort=-updated_on']);
    expect(readsOf(movedReqs)).toEqual(['r050', 'r060', 'r151']);
    expect(merged(moved, 'r050')).toBe(mergedIn(bySlug('r050')));
    expect(merged(moved, 'r060')).toBe(mergedIn(bySlug('r060')));
    expect(merged(moved, 'r151')).toBe(2);

    // Updates committed with times behind the newest already listed (clock skew, replication):
    // r070's within the overlap is listed; r080's further back waits for the full listing.
    mergeOne(bySlug('r070'), newestSeen - LISTING_OVERLAP_MS + 2 * MIN);
    mergeOne(bySlug('r080'), newestSeen - LISTING_OVERLAP_MS - 2 * MIN);
    const deleted = repos.splice(repos.indexOf(bySlug('r010')), 1)[0]!;
    clock.advance(10 * MIN);
    const short = await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual(['r070']);
    expect(merged(short, 'r070')).toBe(mergedIn(bySlug('r070')));
    expect(merged(short, 'r080')).toBe(mergedIn(bySlug('r080')) - 1);
    // Until the next full listing the deleted repository keeps its last values.
    expect(merged(short, deleted.slug)).toBe(mergedIn(deleted));

    clock.advance(NOW + FULL_LISTING_MS - clock.now());
    const full = await c.collect(testContext());
    const fullReqs = requestsSince();
    expect(fullReqs.filter((r) => r.startsWith('listing'))).toEqual(['listing', 'listing']);
    expect(readsOf(fullReqs)).toContain('r080');
    expect(merged(full, 'r080')).toBe(mergedIn(bySlug('r080')));
    expect(merged(full, deleted.slug)).toBeUndefined();
    expect(reposIn(full)).toHaveLength(150);
  });
});

describe('Bitbucket Cloud rate limits', () => {
  it('a 429 without Retry-After holds the rest of the refresh back unsent: no retries into the limit, last values kept, read next refresh', async () => {
    fake = await startFakeCloud({ workspace: 'acme', authorization: `Bearer ${TOKEN}`, repos: workspace(20) });
    const repos = fake.fixture.repos;
    const c = collector('    max_requests_per_hour: 0\n    max_concurrency: 1\n');
    await c.collect(testContext());
    requestsSince();
    const before = repos.map(mergedIn);
    clock.advance(10 * MIN);
    for (const r of repos) mergeOne(r, clock.now() - MIN);
    // The limit is reached after the listing and five requests, for the next ten minutes: on
    // r003's last request, after its merged pull requests were read.
    let answered = 0;
    const limitedUntil = clock.now() + 10 * MIN;
    fake.intercepts.push((_req, res) => {
      if (++answered <= 6 || clock.now() >= limitedUntil) return false;
      sendJson(res, 429, RATE_LIMITED);
      return true;
    });
    const log = capturingLogger();
    const ctx = { ...testContext(), logger: log.logger };
    const limited = await c.collect(ctx);
    const sent = fake.requests.splice(0);
    // One 429, then nothing more sent this refresh.
    expect(sent).toHaveLength(7);
    expect(ctx.counts.get('429')).toBe(1);
    expect(ctx.counts.get('rate_limited')).toBeGreaterThan(0);
    // The first two repositories were read (merged + open pull requests each), and r003's merged
    // pull requests (counted once, checkpointed); the others keep their last values, none is dropped.
    // r003 counts as held back, not as a failing repository.
    expect(reposIn(limited)).toHaveLength(20);
    for (const [i, r] of repos.entries()) expect(merged(limited, r.slug), r.slug).toBe(i < 3 ? mergedIn(r) : before[i]);
    expect(
      log
        .lines()
        .filter((l) => l.level === 40)
        .map((l) => l.msg),
    ).toEqual(['bitbucket: the rate limit held some repositories back; they keep their last values and are read first in the next refreshes']);

    clock.advance(10 * MIN);
    const after = await c.collect(testContext());
    expect(readsOf(requestsSince())).toHaveLength(18); // r003 again: its open pull requests were not read
    for (const r of repos) expect(merged(after, r.slug), r.slug).toBe(mergedIn(r));
  });

  it('X-RateLimit-NearLimit (sent to access tokens) spaces the requests a minute apart and still reads everything', async () => {
    fake = await startFakeCloud({ workspace: 'acme', authorization: `Bearer ${TOKEN}`, repos: workspace(3) });
    const seenAt: number[] = [];
    fake.intercepts.push((_req, res) => {
      seenAt.push(clock.now());
      res.setHeader('x-ratelimit-limit', '1000');
      res.setHeader('x-ratelimit-resource', 'api');
      res.setHeader('x-ratelimit-nearlimit', seenAt.length >= 3 ? 'true' : 'false');
      return false;
    });
    const c = collector('    max_requests_per_hour: 0\n    max_concurrency: 1\n');
    const s = await c.collect(testContext());
    // The listing and three repositories × 2.
    expect(seenAt).toHaveLength(7);
    expect(seenAt.slice(0, 3).every((t) => t === NOW)).toBe(true);
    for (let i = 3; i < seenAt.length; i++) expect(seenAt[i]! - seenAt[i - 1]!).toBeGreaterThanOrEqual(60_000);
    for (const r of fake.fixture.repos) expect(merged(s, r.slug)).toBe(mergedIn(r));
  });
});
