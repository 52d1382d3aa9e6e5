import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BITBUCKET_METRICS as M } from './metrics.js';
import { renderSnapshot } from '../../src/serve/exposition.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';
import { SourceRunner } from '../../src/serve/source-runner.js';
import { SourceError } from '../../src/core/source.js';
import { SOURCES } from '../index.js';
import { bitbucketPlugin } from './plugin.js';
import { testContext } from '../testing/collect-context.js';
import { startAnswerProxy } from '../testing/answer-proxy.js';
import { sendJson } from '../../src/core/simulated-http.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { buckets, capturingLogger, depsFor, expectGolden, reposIn, sampleValue, tempStateDir } from './testing/bitbucket-test-kit.js';
import { startFakeCloud, type FakeCloud, type FakeCloudFixture, type FakeCloudPr } from './simulator/fake-cloud-server.js';
import { STATE_FILE_NAME } from './state-file.js';

const H = 3600_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const T0 = Date.parse('2026-10-01T00:00:00Z');
const EMAIL = 'dev@example.com';
const TOKEN = 'ATATT3xFfGF0-cloud-token-value';
const BASIC = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`;

function fixture(): FakeCloudFixture {
  // api: 55 merged PRs with a 2 h cycle, one merged before the backfill window, one with a
  // 3-day cycle (exactly on the 259200 bucket bound), two open, one declined.
  const prs: FakeCloudPr[] = [];
  for (let i = 1; i <= 55; i++) prs.push({ id: i, state: 'MERGED', createdMs: T0 + i * H, updatedMs: T0 + i * H + 2 * H });
  prs.push({ id: 56, state: 'MERGED', createdMs: Date.parse('2025-12-30T00:00:00Z'), updatedMs: Date.parse('2026-01-01T00:00:00Z') });
  prs.push({ id: 57, state: 'MERGED', createdMs: Date.parse('2026-11-20T00:00:00Z'), updatedMs: Date.parse('2026-11-23T00:00:00Z') });
  prs.push({ id: 58, state: 'OPEN', createdMs: NOW - 5 * H, updatedMs: NOW - 4 * H });
  prs.push({ id: 59, state: 'OPEN', createdMs: NOW - 3 * H, updatedMs: NOW - 2 * H });
  prs.push({ id: 60, state: 'DECLINED', createdMs: NOW - 30 * H, updatedMs: NOW - 20 * H });
  return {
    workspace: 'acme',
    authorization: BASIC,
    repos: [
      {
        slug: 'api',
        mainbranch: 'main',
        pullRequests: prs,
        pipelines: [
          { buildNumber: 1, createdMs: Date.parse('2026-08-01T10:00:00Z'), completedMs: Date.parse('2026-08-01T10:01:00Z'), result: 'SUCCESSFUL' },
          { buildNumber: 2, createdMs: Date.parse('2026-11-01T10:00:00Z'), completedMs: Date.parse('2026-11-01T10:05:00Z'), result: 'SUCCESSFUL' },
          { buildNumber: 3, createdMs: Date.parse('2026-11-02T10:00:00Z'), completedMs: Date.parse('2026-11-02T10:01:30Z'), result: 'FAILED' },
          { buildNumber: 4, createdMs: NOW - 10 * 60_000 },
          { buildNumber: 5, createdMs: NOW - 5 * 60_000, completedMs: NOW - 5 * 60_000 + 45_000, result: 'SUCCESSFUL' },
        ],
        branches: { main: 'aaa111' },
        reports: {
          aaa111: [
            {
              external_id: 'coverage-report',
              title: 'Coverage',
              report_type: 'COVERAGE',
              data: [
                { title: 'Lines', type: 'NUMBER', value: 1200 },
                { title: 'Line coverage', type: 'PERCENTAGE', value: 83.4 },
              ],
            },
            { external_id: 'snyk', title: 'Security scan', report_type: 'SECURITY', data: [{ title: 'Fixed', type: 'PERCENTAGE', value: 50 }] },
          ],
        },
      },
      { slug: 'broken', mainbranch: 'main', pullRequests: [], pipelines: [], branches: { main: 'bbb222' }, reports: {} },
      {
        slug: 'web',
        mainbranch: 'master',
        pullRequests: [{ id: 7, state: 'MERGED', createdMs: Date.parse('2026-11-24T00:00:00Z'), updatedMs: Date.parse('2026-11-24T06:00:00Z') }],
        pipelines: [],
        branches: { master: 'ccc333' },
        reports: {},
      },
    ],
  };
}

function yaml(url: string, auth = `    email: ${EMAIL}\n    api_token: \${BB_TOKEN}\n`): string {
  return `version: okr/v1
teams:
  platform:
    repos: [api]
  web-team:
    repos: [acme/web]
sources:
  bitbucket:
    workspace: acme
    url: ${url}/2.0
${auth}`;
}

/** The fake refuses everything under repositories/acme/broken/ with 403, like a repo the token may not read. */
function refuseBroken(fake: FakeCloud): void {
  fake.intercepts.push((req, res) => {
    if (!req.path.startsWith('/2.0/repositories/acme/broken/')) return false;
    sendJson(res, 403, {
      type: 'error',
      error: { message: 'Your credentials lack one or more required privilege scopes.', detail: { required: ['read:pullrequest:bitbucket'] } },
    });
    return true;
  });
}

describe('Bitbucket Cloud collector', () => {
  let fake: FakeCloud;
  let state: ReturnType<typeof tempStateDir>;
  let now: number;
  const sleeps: number[] = [];
  const clock = { now: () => now };
  // A wait lets time pass: a pause the API asked for (Retry-After) is then over.
  const hooks = () => ({
    // The fixtures' merges and pipelines are older than the clock: counted as by a deployment started 90 days before (a first refresh counts from then on).
    countFromMs: NOW - 90 * 24 * H,
    random: () => 0,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  });

  beforeEach(async () => {
    fake = await startFakeCloud(fixture());
    state = tempStateDir();
    now = NOW;
    sleeps.length = 0;
  });
  afterEach(async () => {
    await fake.close();
    state.remove();
  });

  it('collects every metric with exact values, skips a repository it may not read, and matches the golden /metrics', async () => {
    refuseBroken(fake);
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const ctx = testContext();
    const log = capturingLogger();
    ctx.logger = log.logger;
    const snap = await collector.collect(ctx);

    const api = { repo: 'api', team: 'platform' };
    const web = { repo: 'web', team: 'web-team' };
    expect(reposIn(snap)).toEqual(['api', 'web']);
    expect(sampleValue(snap, M.prsMerged, api)).toBe(56);
    expect(sampleValue(snap, M.prsMerged, web)).toBe(1);
    expect(sampleValue(snap, M.prCycleTime, api, '_sum')).toBe(55 * 7200 + 259200);
    expect(sampleValue(snap, M.prCycleTime, api, '_count')).toBe(56);
    expect(buckets(snap, M.prCycleTime, api)).toEqual({
      '3600': 0,
      '14400': 55,
      '28800': 55,
      '86400': 55,
      '172800': 55,
      '259200': 56,
      '604800': 56,
      '1209600': 56,
      '2592000': 56,
      '+Inf': 56,
    });
    expect(buckets(snap, M.prCycleTime, web)['28800']).toBe(1);
    expect(buckets(snap, M.prCycleTime, web)['14400']).toBe(0);
    expect(sampleValue(snap, M.prsOpen, api)).toBe(2);
    expect(sampleValue(snap, M.prsOpen, web)).toBe(0);
    expect(sampleValue(snap, M.pipelines, { ...api, result: 'successful' })).toBe(2);
    expect(sampleValue(snap, M.pipelines, { ...api, result: 'failed' })).toBe(1);
    expect(sampleValue(snap, M.pipelines, { ...api, result: 'error' })).toBe(0);
    expect(sampleValue(snap, M.pipelineDuration, api, '_sum')).toBe(45 + 90 + 300);
    expect(buckets(snap, M.pipelineDuration, api)).toEqual({
      '30': 0,
      '60': 1,
      '120': 2,
      '300': 3,
      '600': 3,
      '900': 3,
      '1800': 3,
      '3600': 3,
      '7200': 3,
      '+Inf': 3,
    });
    expect(sampleValue(snap, M.pipelines, { ...web, result: 'successful' })).toBe(0);
    expect(sampleValue(snap, M.insightsCoverage, { ...api, report: 'coverage-report' })).toBeCloseTo(0.834, 12);
    expect(sampleValue(snap, M.insightsCoverage, { ...api, report: 'snyk' })).toBeUndefined();
    expect(sampleValue(snap, M.reposSkipped, {})).toBe(1);

    // The first refresh reads back exactly the backfill window, with BBQL's +00:00 offsets.
    const mergedQueries = fake.requests.filter((r) => r.path === '/2.0/repositories/acme/api/pullrequests' && r.query.get('state') === 'MERGED');
    expect(mergedQueries[0]!.query.get('q')).toBe('updated_on >= 2026-08-27T12:00:00+00:00');
    expect(mergedQueries.map((r) => r.query.get('page') ?? '1')).toEqual(['1', '2']);
    expect(fake.requests.every((r) => r.headers.authorization === BASIC || r.path.includes('/broken/'))).toBe(true);
    expect(ctx.counts.get('200')).toBe(fake.requests.length - ctx.counts.get('403')!);

    const warnings = log.lines().filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ repo: 'broken' });
    expect(String(warnings[0]!.err)).toContain('answered 403');

    const text = await renderSnapshot(snap);
    const golden = expectGolden('cloud-metrics.prom', text);
    expect(golden.actual).toBe(golden.expected);
    expect(await promtoolCheckMetrics(text)).toBe('');
  });

  it('pages the pipelines list by page/pagelen/size (it has no next link): more than 50 new pipelines are all counted, none skipped later', async () => {
    // 120 pipelines in the last week, then 75 more: each refresh has more than one page (50) to read.
    const results = ['SUCCESSFUL', 'FAILED', 'ERROR', 'STOPPED', 'SUCCESSFUL', 'EXPIRED', 'SUCCESSFUL'];
    const repo = fake.fixture.repos.find((r) => r.slug === 'web')!;
    const add = (from: number, n: number, at: number) => {
      for (let b = from; b < from + n; b++) {
        const createdMs = at + (b - from) * 60_000;
        repo.pipelines.push({ buildNumber: b, createdMs, completedMs: createdMs + (b % 7) * 30_000, result: results[b % results.length]! });
      }
    };
    add(1, 120, NOW - 7 * 24 * H);
    /** Expected counts by result, straight from the fixture: every completed pipeline once. */
    const expected = () => {
      const out: Record<string, number> = { successful: 0, failed: 0, error: 0, stopped: 0, expired: 0 };
      for (const p of repo.pipelines) out[p.result!.toLowerCase()]! += 1;
      return out;
    };
    const web = { repo: 'web', team: 'web-team' };
    const counted = (snap: Awaited<ReturnType<typeof collector.collect>>) =>
      Object.fromEntries(['successful', 'failed', 'error', 'stopped', 'expired'].map((r) => [r, sampleValue(snap, M.pipelines, { ...web, result: r })]));

    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    let snap = await collector.collect(testContext());
    expect(counted(snap)).toEqual(expected());
    expect(sampleValue(snap, M.pipelineDuration, web, '_count')).toBe(120);
    // Like the real API, no page carried a `next` link: the client asked for pages 1, 2 and 3 itself.
    const pages = () => fake.requests.filter((r) => r.path === '/2.0/repositories/acme/web/pipelines').map((r) => r.query.get('page'));
    expect(pages()).toEqual(['1', '2', '3']);

    add(121, 75, NOW - 2 * H);
    now = NOW + H;
    snap = await collector.collect(testContext());
    expect(counted(snap)).toEqual(expected());
    expect(sampleValue(snap, M.pipelineDuration, web, '_count')).toBe(195);
    // The second refresh stops at the watermark: the 75 new ones fill pages 1 and 2, page 2 reaches build 120.
    expect(pages()).toEqual(['1', '2', '3', '1', '2']);
  });

  it('counts each pull request and pipeline once across refreshes and a restart', async () => {
    const deps = depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock);
    const first = createBitbucketCollector(deps, hooks());
    await first.collect(testContext());
    const api = { repo: 'api', team: 'platform' };
    const repo = fake.fixture.repos[0]!;

    // Refresh 2, three hours later: a comment moves PR 10's updated_on (our merge-time proxy)
    // into the window, PR 61 is merged, pipeline 4 finishes after 5 did, 6 expires.
    now = NOW + 3 * H;
    repo.pullRequests.find((p) => p.id === 10)!.updatedMs = NOW + H;
    repo.pullRequests.push({ id: 61, state: 'MERGED', createdMs: NOW - 48 * H, updatedMs: NOW + 2 * H });
    const p4 = repo.pipelines.find((p) => p.buildNumber === 4)!;
    p4.completedMs = p4.createdMs + 600_000;
    p4.result = 'ERROR';
    repo.pipelines.push({ buildNumber: 6, createdMs: NOW + 10 * 60_000, completedMs: NOW + 10 * 60_000 + 7_201_000, result: 'EXPIRED' });
    fake.requests.length = 0;
    const second = await first.collect(testContext());
    const q2 = fake.requests.find((r) => r.path === '/2.0/repositories/acme/api/pullrequests' && r.query.get('state') === 'MERGED')!;
    expect(q2.query.get('q')).toBe('updated_on >= 2026-11-22T23:50:00+00:00');
    expect(sampleValue(second, M.prsMerged, api)).toBe(57);
    expect(sampleValue(second, M.prCycleTime, api, '_sum')).toBe(55 * 7200 + 259200 + 50 * 3600);
    expect(sampleValue(second, M.pipelines, { ...api, result: 'successful' })).toBe(2);
    expect(sampleValue(second, M.pipelines, { ...api, result: 'failed' })).toBe(1);
    expect(sampleValue(second, M.pipelines, { ...api, result: 'error' })).toBe(1);
    expect(sampleValue(second, M.pipelines, { ...api, result: 'expired' })).toBe(1);
    expect(sampleValue(second, M.pipelineDuration, api, '_count')).toBe(5);
    expect(sampleValue(second, M.pipelineDuration, api, '_sum')).toBe(435 + 600 + 7201);
    expect(buckets(second, M.pipelineDuration, api)['7200']).toBe(4);

    // The checkpoint on disk holds what was served.
    const saved = JSON.parse(readFileSync(join(state.dir, STATE_FILE_NAME), 'utf8')) as {
      repos: Record<string, { pullRequests: { merged: number; counted: number[][] } }>;
    };
    expect(saved.repos.api!.pullRequests.merged).toBe(57);
    expect(saved.repos.api!.pullRequests.counted).toEqual([
      [1, 55],
      [57, 57],
      [61, 61],
    ]);

    // Restart: a new collector on the same state dir. PR 20 gets a late comment too.
    now = NOW + 4 * H;
    repo.pullRequests.find((p) => p.id === 20)!.updatedMs = NOW + 4 * H - 60_000;
    const restarted = createBitbucketCollector(deps, hooks());
    const third = await restarted.collect(testContext());
    expect(sampleValue(third, M.prsMerged, api)).toBe(57);
    expect(sampleValue(third, M.prCycleTime, api, '_count')).toBe(57);
    expect(sampleValue(third, M.pipelineDuration, api, '_count')).toBe(5);
    expect(sampleValue(third, M.prsMerged, { repo: 'web', team: 'web-team' })).toBe(1);

    repo.pullRequests.push({ id: 62, state: 'MERGED', createdMs: NOW + 3 * H, updatedMs: NOW + 4 * H });
    const fourth = await restarted.collect(testContext());
    expect(sampleValue(fourth, M.prsMerged, api)).toBe(58);
    expect(buckets(fourth, M.prCycleTime, api)['3600']).toBe(1);
  });

  it('waits out a 429 with Retry-After and counts both requests', async () => {
    let limited = false;
    fake.intercepts.push((req, res) => {
      if (limited || req.path !== '/2.0/repositories/acme/api/pullrequests' || req.query.get('state') !== 'MERGED') return false;
      limited = true;
      sendJson(res, 429, { type: 'error', error: { message: 'Rate limit for this resource has been exceeded.' } }, { 'retry-after': '7' });
      return true;
    });
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const ctx = testContext();
    const snap = await collector.collect(ctx);
    expect(sleeps).toEqual([7000]);
    expect(ctx.counts.get('429')).toBe(1);
    expect(sampleValue(snap, M.prsMerged, { repo: 'api', team: 'platform' })).toBe(56);
  });

  it('fails the collection on refused credentials, naming the setting and never the token', async () => {
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: 'wrong-token-1234' }, state.dir, clock), hooks());
    const err = await collector.collect(testContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).reason).toBe('auth');
    expect((err as SourceError).status).toBe(401);
    expect((err as SourceError).message).toContain('sources.bitbucket.api_token');
    expect((err as SourceError).message).toContain('Access token expired or invalid.');
    expect((err as SourceError).message).not.toContain('wrong-token-1234');
  });

  it('sends an access token as Bearer', async () => {
    fake.fixture.authorization = 'Bearer repo-access-token-9876';
    const collector = createBitbucketCollector(
      depsFor(yaml(fake.url, '    access_token: ${BB_ACCESS}\n'), { BB_ACCESS: 'repo-access-token-9876' }, state.dir, clock),
      hooks(),
    );
    const snap = await collector.collect(testContext());
    expect(sampleValue(snap, M.prsMerged, { repo: 'web', team: 'web-team' })).toBe(1);
    expect(new Set(fake.requests.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer repo-access-token-9876']));
  });

  it('behaves like the real API where the client depends on it', async () => {
    const ask = (path: string) => fetch(`${fake.url}${path}`, { headers: { authorization: BASIC } });
    const tooBig = await ask('/2.0/repositories/acme/api/pullrequests?pagelen=51');
    expect(tooBig.status).toBe(400);
    expect(tooBig.headers.get('content-type')).toContain('application/json');
    const page = (await (await ask('/2.0/repositories/acme/api/pullrequests?state=MERGED&pagelen=50')).json()) as { next?: string; values: unknown[] };
    expect(page.values).toHaveLength(50);
    expect(page.next).toBe(`${fake.url}/2.0/repositories/acme/api/pullrequests?state=MERGED&pagelen=50&page=2`);
    const last = (await (await fetch(page.next!, { headers: { authorization: BASIC } })).json()) as { next?: string; values: unknown[] };
    expect(last.values).toHaveLength(7);
    expect(last.next).toBeUndefined();
    const unauth = await fetch(`${fake.url}/2.0/repositories/acme`);
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('www-authenticate')).toBe('Basic realm="Bitbucket.org HTTP"');
    const zulu = await ask('/2.0/repositories/acme/api/pullrequests?q=updated_on+%3E%3D+2026-01-01T00%3A00%3A00Z');
    expect(zulu.status).toBe(400);
  });
  it('logs a failing repository once, then its recovery, and looks a main branch up only once', async () => {
    refuseBroken(fake);
    const repos = `    repositories: [api, broken, web]\n`;
    const collector = createBitbucketCollector(depsFor(yaml(fake.url) + repos, { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const log = capturingLogger();
    for (let i = 0; i < 2; i++) {
      const ctx = testContext();
      ctx.logger = log.logger;
      expect(reposIn(await collector.collect(ctx))).toEqual(['api', 'web']);
    }
    expect(
      log
        .lines()
        .filter((l) => l.level === 40)
        .map((l) => l.repo),
    ).toEqual(['broken']);
    fake.intercepts.length = 0;
    const ctx = testContext();
    ctx.logger = log.logger;
    const snap = await collector.collect(ctx);
    expect(sampleValue(snap, M.prsMerged, { repo: 'broken', team: '' })).toBe(0);
    expect(sampleValue(snap, M.reposSkipped, {})).toBe(0);
    expect(
      log
        .lines()
        .filter((l) => l.level === 30)
        .map((l) => [l.repo, l.msg]),
    ).toEqual([['broken', 'bitbucket: repository readable again']]);
    // The workspace listing (read for its updated_on even with a configured list) names each
    // main branch: no GET of the repository.
    expect(fake.requests.filter((r) => r.path === '/2.0/repositories/acme/web').length).toBe(0);
  });

  it('is registered, and runs under the source runner with its requests counted', async () => {
    expect(SOURCES).toContain(bitbucketPlugin);
    expect(bitbucketPlugin.defaults.interval).toBe('10m');
    // The registered factory hands the deps' clock down: started an hour before T0, it counts every
    // merge of the fixture from then on (56: all but PR 56, merged 2026-01-01, before the start).
    now = T0 - H;
    const deps = depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock);
    const runner = new SourceRunner(bitbucketPlugin.create(deps), { intervalSeconds: 600, timeoutSeconds: 30, logger: deps.logger, clock });
    await runner.runOnce();
    expect(runner.getHealth().up).toBe(true);
    expect(sampleValue(runner.lastGood(), M.prsMerged, { repo: 'api', team: 'platform' })).toBe(56);
    const requests = runner.healthFamilies().find((f) => f.name === 'okr_source_requests_total')!;
    expect(requests.samples).toEqual([{ labels: { source: 'bitbucket', status: '200' }, value: fake.requests.length }]);
    await runner.stop();
  });

  it('behind a proxy answering 200 {"hello":"world"}: down with invalid_output, counters kept; one repository of the wrong shape is skipped alone', async () => {
    const proxy = await startAnswerProxy(fake.url);
    try {
      const log = capturingLogger();
      const collector = createBitbucketCollector(depsFor(yaml(proxy.url), { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
      const runner = new SourceRunner(collector, { intervalSeconds: 600, timeoutSeconds: 30, logger: log.logger, clock });
      await runner.runOnce();
      expect(runner.getHealth().up).toBe(true);
      const api = { repo: 'api', team: 'platform' };
      expect(sampleValue(runner.lastGood(), M.prsMerged, api)).toBe(56);

      proxy.hijack = () => ({ hello: 'world' });
      await runner.runOnce();
      expect(runner.getHealth()).toMatchObject({ up: false, lastError: { reason: 'invalid_output' } });
      expect(runner.getHealth().lastError!.message).toBe(
        'bitbucket: GET /2.0/repositories/acme answered 200 with an unexpected body: values: Invalid input: expected array, received undefined',
      );
      expect(sampleValue(runner.lastGood(), M.prsMerged, api)).toBe(56);
      expect(sampleValue(runner.lastGood(), M.pipelines, { ...api, result: 'successful' })).toBe(2);

      // Only web's merged pull requests answer a page without values: web is skipped and logged, api is fresh.
      proxy.hijack = (req) => (req.path === '/2.0/repositories/acme/web/pullrequests' ? { pagelen: 50, page: 1 } : undefined);
      now = NOW + H;
      // Both moved (a push each): both are read again this refresh.
      for (const r of fake.fixture.repos) r.updatedMs = now - 60_000;
      await runner.runOnce();
      expect(runner.getHealth().up).toBe(true);
      expect(sampleValue(runner.lastGood(), M.prsMerged, { repo: 'web', team: 'web-team' })).toBe(1);
      expect(sampleValue(runner.lastGood(), M.reposSkipped, {})).toBe(1);
      const warning = log.lines().find((l) => l.repo === 'web');
      expect(warning).toMatchObject({ msg: 'bitbucket: skipping part of a repository this refresh' });
      expect(String(warning!.err)).toContain(
        'bitbucket: GET /2.0/repositories/acme/web/pullrequests answered 200 with an unexpected body: values: Invalid input: expected array, received undefined',
      );
      await runner.stop();
    } finally {
      await proxy.close();
    }
  });

  it('reports a network failure after its retries as an http error', async () => {
    const url = fake.url;
    await fake.close();
    const collector = createBitbucketCollector(depsFor(`${yaml(url)}    repositories: [api]\n`, { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const ctx = testContext();
    const err = (await collector.collect(ctx).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('http');
    // The workspace listing comes first (its updated_on says which repositories moved).
    expect(err.message).toMatch(/^bitbucket: GET http:\/\/127\.0\.0\.1:\d+\/2\.0\/repositories\/acme failed: ECONNREFUSED$/);
    expect(ctx.counts.get('network_error')).toBe(5); // 1 try + 4 retries
    fake = await startFakeCloud(fixture()); // for afterEach
  });

  it('stops on abort, keeping only what was fully folded in, and counts nothing twice afterwards', async () => {
    const ac = new AbortController();
    fake.intercepts.push((req) => {
      if (req.path === '/2.0/repositories/acme/api/pipelines') ac.abort(new Error('collection timed out'));
      return false;
    });
    const deps = depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock);
    await expect(createBitbucketCollector(deps, hooks()).collect(testContext(ac.signal))).rejects.toThrow('collection timed out');
    const saved = JSON.parse(readFileSync(join(state.dir, STATE_FILE_NAME), 'utf8')) as {
      repos: Record<string, { pullRequests: { merged: number }; pipelines?: unknown }>;
    };
    expect(saved.repos.api!.pullRequests.merged).toBe(56);
    expect(saved.repos.api!.pipelines).toBeUndefined();

    fake.intercepts.length = 0;
    const snap = await createBitbucketCollector(deps, hooks()).collect(testContext());
    expect(sampleValue(snap, M.prsMerged, { repo: 'api', team: 'platform' })).toBe(56);
    expect(sampleValue(snap, M.pipelines, { repo: 'api', team: 'platform', result: 'successful' })).toBe(2);
  });

  it('limits `repositories: all` to one project on Cloud with BBQL', async () => {
    fake.fixture.repos[2]!.project = 'PLAT';
    const collector = createBitbucketCollector(depsFor(`${yaml(fake.url)}    project: PLAT\n`, { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const snap = await collector.collect(testContext());
    expect(reposIn(snap)).toEqual(['web']);
    expect(fake.requests.find((r) => r.path === '/2.0/repositories/acme')!.query.get('q')).toBe('project.key = "PLAT"');
  });
  it('puts `q` and `sort` back into a `next` link that dropped them', async () => {
    fake.fixture.nextDrops = ['q', 'sort'];
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock), hooks());
    const snap = await collector.collect(testContext());
    expect(sampleValue(snap, M.prsMerged, { repo: 'api', team: 'platform' })).toBe(56);
    const page2 = fake.requests.find((r) => r.path === '/2.0/repositories/acme/api/pullrequests' && r.query.get('page') === '2')!;
    expect([page2.query.get('q'), page2.query.get('sort'), page2.query.get('state')]).toEqual([
      'updated_on >= 2026-08-27T12:00:00+00:00',
      '-updated_on',
      'MERGED',
    ]);
  });
});
