/**
 * Bitbucket Cloud at organisation scale: the workspace listing's `updated_on` decides which
 * repositories a refresh reads (refresh-plan.ts), the others serve their last read (also after
 * a restart), and the request budget keeps every rolling hour under Bitbucket's hourly limit.
 * Request counts and times are the fake's own; expected figures come from the fixture data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Snapshot } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { createBitbucketCollector, type BitbucketCollector } from './bitbucket-collector.js';
import type { RepoRef } from './bitbucket-api.js';
import { BITBUCKET_METRICS as M } from './metrics.js';
import { planRefresh, SETTLE_MS } from './refresh-plan.js';
import { startFakeCloud, type FakeCloud, type FakeCloudRepo } from './simulator/fake-cloud-server.js';
import { capturingLogger, depsFor, sampleValue, tempStateDir } from './testing/bitbucket-test-kit.js';
import type { RepoState } from './incremental-state.js';

const MIN = 60_000;
const H = 60 * MIN;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const TOKEN = 'workspace-access-token-5150';

/** `n` repositories r01..rnn: i merged pull requests, one open, i pipelines, a coverage report; last moved a day ago. */
function repos(n: number): FakeCloudRepo[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const slug = `r${String(i).padStart(2, '0')}`;
    const at = (h: number) => NOW - 30 * 24 * H + h * H;
    return {
      slug,
      mainbranch: 'main',
      pullRequests: [
        ...Array.from({ length: i }, (_, p) => ({ id: p + 1, state: 'MERGED' as const, createdMs: at(p), updatedMs: at(p + 2) })),
        { id: i + 1, state: 'OPEN' as const, createdMs: at(100), updatedMs: at(101) },
      ],
      pipelines: Array.from({ length: i }, (_, p) => ({ buildNumber: p + 1, createdMs: at(p), completedMs: at(p) + 5 * MIN, result: 'SUCCESSFUL' })),
      branches: { main: `${slug}-c1` },
      reports: {
        [`${slug}-c1`]: [
          { external_id: 'cov', title: 'Coverage', report_type: 'COVERAGE' as const, data: [{ title: 'Line coverage', type: 'PERCENTAGE', value: 50 + i }] },
        ],
      },
      updatedMs: NOW - 24 * H,
    };
  });
}

function yaml(url: string, extra = ''): string {
  return `version: okr/v1\nsources:\n  bitbucket:\n    workspace: acme\n    url: ${url}/2.0\n    access_token: \${BB_TOKEN}\n    backfill: 90d\n${extra}`;
}

let fake: FakeCloud;
let state: ReturnType<typeof tempStateDir>;
let clock: ManualClock;
/** When (clock ms) the fake saw each request. */
let seenAt: number[];

async function start(n: number): Promise<void> {
  fake = await startFakeCloud({ workspace: 'acme', authorization: `Bearer ${TOKEN}`, repos: repos(n) });
  fake.intercepts.push(() => {
    seenAt.push(clock.now());
    return false;
  });
}

function collector(extra = ''): BitbucketCollector {
  const deps = depsFor(yaml(fake.url, extra), { BB_TOKEN: TOKEN }, state.dir, clock);
  // The fixture's merges are older than the clock: counted as by a deployment started 90 days before.
  return createBitbucketCollector(deps, { countFromMs: clock.now() - 90 * 24 * H, random: () => 0, sleep: async (ms) => clock.advance(ms) });
}

/** The fake's requests since the last call, as `<repo> <endpoint>` (the listing as `listing`). */
function requestsSince(): string[] {
  return fake.requests.splice(0).map((r) => {
    const parts = r.path.split('/').slice(4);
    return parts.length === 0 ? 'listing' : `${parts[0]} ${parts.slice(1).join('/')}`;
  });
}
const readsOf = (reqs: string[]) => [...new Set(reqs.filter((r) => r !== 'listing').map((r) => r.split(' ')[0]!))].sort();

const merged = (s: Snapshot, repo: string) => sampleValue(s, M.prsMerged, { repo, team: '' });
const open = (s: Snapshot, repo: string) => sampleValue(s, M.prsOpen, { repo, team: '' });
const coverage = (s: Snapshot, repo: string) => sampleValue(s, M.insightsCoverage, { repo, team: '', report: 'cov' });

describe('planRefresh', () => {
  const ref = (slug: string, updatedMs?: number): RepoRef => ({ slug, ...(updatedMs !== undefined ? { updatedMs } : {}) });
  const st = (read: RepoState['read']): RepoState => ({
    since: 0,
    pullRequests: { watermark: 0, counted: [], merged: 0, cycleTime: { buckets: [], sum: 0, count: 0 } },
    read,
  });
  const opts = { fullRefreshMs: 6 * H, intervalMs: 10 * MIN };

  it('reads what is new or moved first, then settle and running re-reads, then a share of the due ones, oldest first', () => {
    const at = NOW - 2 * H;
    const plan = planRefresh(
      [
        ref('due-old', 1),
        ref('kept', 1),
        ref('moved', 5),
        ref('new', 1),
        ref('settle', 1),
        ref('running', 1),
        ref('due-older', 1),
        ref('dc'),
        ref('due-newer', 1),
      ],
      {
        'due-old': st({ at: NOW - 7 * H, listedUpdatedMs: 1 }),
        'due-older': st({ at: NOW - 9 * H, listedUpdatedMs: 1 }),
        'due-newer': st({ at: NOW - 6 * H, listedUpdatedMs: 1 }),
        kept: st({ at, listedUpdatedMs: 1 }),
        moved: st({ at, listedUpdatedMs: 1 }),
        settle: st({ at, listedUpdatedMs: 1, settleAfter: NOW - MIN }),
        running: st({ at, listedUpdatedMs: 1, running: true }),
        dc: st({ at, listedUpdatedMs: 1 }),
      },
      NOW,
      opts,
    );
    // 9 repositories every 10 minutes, all within 6 hours: ceil(9 * 10 / 360) = 1 full re-read a refresh.
    expect(plan.reads.map((r) => `${r.reason} ${r.repo.slug}`)).toEqual([
      'new new',
      'changed moved',
      'unlisted dc',
      'settle settle',
      'running running',
      'due due-older',
    ]);
    expect(plan.kept.map((r) => r.slug).sort()).toEqual(['due-newer', 'due-old', 'kept']);
  });
});

describe('Bitbucket Cloud at organisation scale', () => {
  beforeEach(() => {
    state = tempStateDir();
    clock = new ManualClock(NOW);
    seenAt = [];
  });
  afterEach(async () => {
    await fake.close();
    state.remove();
  });

  it('an unchanged workspace costs the listing alone; a repository that moved is read, and once more after SETTLE_MS', async () => {
    await start(30);
    const c = collector('    max_requests_per_hour: 0\n');
    const first = await c.collect(testContext());
    const firstReqs = requestsSince();
    // Per repository: merged, open, pipelines, head of main, reports (the listing names main branches).
    expect(firstReqs.filter((r) => r === 'listing')).toHaveLength(1);
    expect(firstReqs).toHaveLength(1 + 30 * 5);
    expect(merged(first, 'r07')).toBe(7);
    expect(open(first, 'r07')).toBe(1);
    expect(coverage(first, 'r07')).toBe(0.57);

    clock.advance(10 * MIN);
    const unchanged = await c.collect(testContext());
    expect(requestsSince()).toEqual(['listing']);
    expect(unchanged).toEqual(first);

    // r07 merges its open pull request (a push: updated_on moves) and reports coverage on the new head.
    const r07 = fake.fixture.repos[6]!;
    r07.pullRequests.find((p) => p.state === 'OPEN')!.state = 'MERGED';
    r07.pullRequests.at(-1)!.updatedMs = clock.now() - MIN;
    r07.branches.main = 'r07-c2';
    r07.updatedMs = clock.now() - MIN;
    clock.advance(10 * MIN);
    const moved = await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual(['r07']);
    expect(merged(moved, 'r07')).toBe(8);
    expect(open(moved, 'r07')).toBe(0);
    // Its pipeline had not reported coverage yet on the new head.
    expect(coverage(moved, 'r07')).toBeUndefined();

    // The report lands without moving updated_on; the settle re-read picks it up.
    r07.reports['r07-c2'] = [
      { external_id: 'cov', title: 'Coverage', report_type: 'COVERAGE', data: [{ title: 'Line coverage', type: 'PERCENTAGE', value: 71 }] },
    ];
    clock.advance(10 * MIN);
    await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual([]);
    clock.advance(SETTLE_MS - 20 * MIN);
    const settled = await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual(['r07']);
    expect(coverage(settled, 'r07')).toBe(0.71);
    clock.advance(10 * MIN);
    await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual([]);
  });

  it('reads a repository again while its pipelines run, and counts the run once it completes', async () => {
    await start(3);
    const c = collector('    max_requests_per_hour: 0\n');
    const r02 = fake.fixture.repos[1]!;
    r02.pipelines.push({ buildNumber: 3, createdMs: NOW - 2 * MIN });
    const first = await c.collect(testContext());
    expect(sampleValue(first, M.pipelines, { repo: 'r02', team: '', result: 'successful' })).toBe(2);
    requestsSince();
    clock.advance(10 * MIN);
    await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual(['r02']);
    r02.pipelines[2] = { buildNumber: 3, createdMs: NOW - 2 * MIN, completedMs: NOW + 12 * MIN, result: 'FAILED' };
    clock.advance(10 * MIN);
    const done = await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual(['r02']);
    expect(sampleValue(done, M.pipelines, { repo: 'r02', team: '', result: 'failed' })).toBe(1);
    clock.advance(10 * MIN);
    await c.collect(testContext());
    expect(readsOf(requestsSince())).toEqual([]);
  });

  it('reads unchanged repositories again within full_refresh, a share per refresh: a pull request declined without a push shows', async () => {
    await start(12);
    // 12 repositories every 10 minutes, all within an hour: 2 a refresh.
    const c = collector('    max_requests_per_hour: 0\n    refresh_interval: 10m\n    full_refresh: 1h\n');
    await c.collect(testContext());
    requestsSince();
    fake.fixture.repos[11]!.pullRequests.find((p) => p.state === 'OPEN')!.state = 'DECLINED';
    const perRefresh: string[][] = [];
    let last: Snapshot = [];
    for (let i = 0; i < 12; i++) {
      clock.advance(10 * MIN);
      last = await c.collect(testContext());
      perRefresh.push(readsOf(requestsSince()));
      // All twelve fell due together an hour after the first refresh (which read them all at
      // once); r12 is the last of them: stale until its turn, 110 minutes in.
      if (i === 9) expect(open(last, 'r12')).toBe(1);
      if (i === 10) expect(open(last, 'r12')).toBe(0);
    }
    expect(perRefresh.slice(0, 5).map((r) => r.length)).toEqual([0, 0, 0, 0, 0]);
    expect(perRefresh.slice(5).map((r) => r.length)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    // Every repository was read again once in the hour after it fell due.
    expect(perRefresh.slice(5, 11).flat().sort()).toEqual(fake.fixture.repos.map((r) => r.slug));
    expect(open(last, 'r12')).toBe(0);
  });

  it('serves its last reads after a restart without reading the repositories again', async () => {
    await start(5);
    const before = await collector('    max_requests_per_hour: 0\n').collect(testContext());
    requestsSince();
    clock.advance(10 * MIN);
    const after = await collector('    max_requests_per_hour: 0\n').collect(testContext());
    expect(requestsSince()).toEqual(['listing']);
    expect(after).toEqual(before);
  });

  it("with the default budget (800 an hour) sends one interval's share, holds the rest back unsent, and reads it first next refresh", async () => {
    await start(40);
    const log = capturingLogger();
    const c = collector();
    const ctx = testContext();
    const first = await c.collect({ ...ctx, logger: log.logger });
    // 800 an hour every 10 minutes: 800 * 600 / 4200 = 114 at once; 40 repositories need 1 + 200.
    expect(fake.requests).toHaveLength(114);
    const firstReqs = requestsSince();
    const readFirst = readsOf(firstReqs);
    const fullyRead = readFirst.filter((slug) => firstReqs.filter((r) => r.startsWith(`${slug} `)).length === 5);
    expect(readFirst.length).toBeGreaterThan(15);
    expect(readFirst.length).toBeLessThan(40);
    // Not read yet: no series at all rather than zeros.
    const unread = fake.fixture.repos.map((r) => r.slug).filter((s) => !readFirst.includes(s));
    expect(merged(first, unread[0]!)).toBeUndefined();
    expect(ctx.counts.get('rate_limited')).toBeGreaterThan(0);
    expect(
      log
        .lines()
        .filter((l) => l.level === 40)
        .map((l) => [l.msg, l.repositories]),
    ).toEqual([
      [
        'bitbucket: the rate limit held some repositories back; they keep their last values and are read first in the next refreshes',
        40 - readFirst.length + 1,
      ],
    ]);
    clock.advance(10 * MIN);
    const second = await c.collect({ ...testContext(), logger: log.logger });
    // The held-back ones (never read in full) come first: the next share goes to them.
    const readSecond = readsOf(requestsSince());
    expect(readSecond.length).toBeGreaterThan(15);
    expect(readSecond.filter((s) => fullyRead.includes(s))).toEqual([]);
    expect(merged(second, unread[0]!)).toBe(Number(unread[0]!.slice(1)));
  });

  it('never sends more than max_requests_per_hour in any rolling hour, and still reads everything in time', async () => {
    await start(40);
    const c = collector('    max_requests_per_hour: 200\n');
    // Every refresh one repository merges a pull request (a push): with the first full read,
    // more than 200 an hour is wanted.
    let tick = 0;
    for (let i = 0; i < 25; i++) {
      if (i > 0) {
        const r = fake.fixture.repos[tick++ % 40]!;
        r.pullRequests.push({ id: r.pullRequests.length + 1, state: 'MERGED', createdMs: clock.now() - H, updatedMs: clock.now() - MIN });
        r.updatedMs = clock.now() - MIN;
      }
      await c.collect(testContext());
      clock.advance(10 * MIN);
    }
    const final = await c.collect(testContext());
    for (const r of fake.fixture.repos) expect(merged(final, r.slug), r.slug).toBe(r.pullRequests.filter((p) => p.state === 'MERGED').length);
    let busiest = 0;
    for (let i = 0, j = 0; i < seenAt.length; i++) {
      while (seenAt[j]! <= seenAt[i]! - H) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    // Unbudgeted, the first refresh alone would have sent 201.
    expect(busiest).toBeGreaterThan(150);
    expect(busiest).toBeLessThanOrEqual(200);
  });
});
