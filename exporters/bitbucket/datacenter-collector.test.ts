import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BITBUCKET_METRICS as M } from './metrics.js';
import { renderSnapshot } from '../../src/serve/exposition.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';
import { SourceError } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { buckets, depsFor, expectGolden, reposIn, sampleValue, tempStateDir } from './testing/bitbucket-test-kit.js';
import { sendDcError, startFakeDataCenter, type FakeDc, type FakeDcFixture } from './testing/fake-datacenter-server.js';

const H = 3600_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const TOKEN = 'BBDC-http-access-token-value';
const t = (iso: string) => Date.parse(iso);

function fixture(): FakeDcFixture {
  return {
    project: 'PRJ',
    authorization: `Bearer ${TOKEN}`,
    maxLimit: 2, // a small server cap, so every listing takes several pages
    repos: [
      {
        slug: 'core',
        defaultBranch: 'main',
        branches: { main: 'c0ffee01' },
        pullRequests: [
          // Merged in 30 min, commented on a day later (updatedDate moves, closedDate does not).
          { id: 1, state: 'MERGED', createdDate: t('2026-11-01T00:00:00Z'), closedDate: t('2026-11-01T00:30:00Z'), updatedDate: t('2026-11-02T00:30:00Z') },
          { id: 2, state: 'MERGED', createdDate: t('2026-11-02T00:00:00Z'), closedDate: t('2026-11-04T00:00:00Z'), updatedDate: t('2026-11-04T00:00:00Z') },
          // Merged before the 90-day backfill window.
          { id: 3, state: 'MERGED', createdDate: t('2026-06-01T00:00:00Z'), closedDate: t('2026-06-10T00:00:00Z'), updatedDate: t('2026-06-10T00:00:00Z') },
          { id: 4, state: 'OPEN', createdDate: NOW - 9 * H, updatedDate: NOW - 8 * H },
          { id: 5, state: 'OPEN', createdDate: NOW - 7 * H, updatedDate: NOW - 6 * H },
          { id: 6, state: 'OPEN', createdDate: NOW - 5 * H, updatedDate: NOW - 4 * H },
          { id: 7, state: 'DECLINED', createdDate: NOW - 50 * H, updatedDate: NOW - 40 * H, closedDate: NOW - 40 * H },
        ],
        reports: {
          c0ffee01: [
            { key: 'coverage', title: 'Coverage', data: [{ title: 'Branch coverage', type: 'PERCENTAGE', value: 71.5 }] },
            { key: 'lint', title: 'Lint', data: [{ title: 'Clean files', type: 'PERCENTAGE', value: 99 }] },
          ],
        },
      },
      {
        slug: 'tools',
        defaultBranch: 'master',
        branches: { master: 'aa11', develop: 'd3v0' },
        pullRequests: [
          { id: 1, state: 'MERGED', createdDate: t('2026-11-20T00:00:00Z'), closedDate: t('2026-11-20T10:00:00Z'), updatedDate: t('2026-11-20T10:00:00Z') },
        ],
        reports: { d3v0: [{ key: 'jacoco', title: 'JaCoCo coverage', data: [{ title: 'Line coverage', type: 'PERCENTAGE', value: 64 }] }] },
      },
      { slug: 'legacy', defaultBranch: 'main', branches: { main: 'ee00' }, pullRequests: [], reports: {} },
    ],
  };
}

function yaml(url: string, repositories = 'all'): string {
  return `version: okr/v1
teams:
  platform:
    repos: [PRJ/core]
sources:
  bitbucket:
    flavor: datacenter
    url: ${url}
    project: PRJ
    access_token: \${BBDC_TOKEN}
    repositories: ${repositories}
`;
}

describe('Bitbucket Data Center collector', () => {
  let fake: FakeDc;
  let state: ReturnType<typeof tempStateDir>;
  let now: number;
  const clock = { now: () => now };
  // The fixture's merges are older than the clock: counted as by a deployment started 90 days before.
  const hooks = () => ({ countFromMs: NOW - 90 * 24 * H, random: () => 0, sleep: async () => undefined });

  beforeEach(async () => {
    fake = await startFakeDataCenter(fixture());
    // legacy was deleted between the listing and the reads.
    fake.intercepts.push((req, res) => {
      if (!req.path.includes('/repos/legacy/')) return false;
      sendDcError(res, 404, 'Repository PRJ/legacy does not exist.', 'com.atlassian.bitbucket.repository.NoSuchRepositoryException');
      return true;
    });
    state = tempStateDir();
    now = NOW;
  });
  afterEach(async () => {
    await fake.close();
    state.remove();
  });

  it('pages every listing, uses closedDate as merge time, skips an unreadable repository, and matches the golden /metrics', async () => {
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BBDC_TOKEN: TOKEN }, state.dir, clock), hooks());
    const ctx = testContext();
    const snap = await collector.collect(ctx);
    const core = { repo: 'core', team: 'platform' };
    const tools = { repo: 'tools', team: '' };
    expect(reposIn(snap)).toEqual(['core', 'tools']);
    expect(sampleValue(snap, M.prsMerged, core)).toBe(2);
    expect(sampleValue(snap, M.prCycleTime, core, '_sum')).toBe(1800 + 172800);
    expect(buckets(snap, M.prCycleTime, core)).toMatchObject({ '3600': 1, '86400': 1, '172800': 2, '+Inf': 2 });
    expect(sampleValue(snap, M.prsMerged, tools)).toBe(1);
    expect(sampleValue(snap, M.prCycleTime, tools, '_sum')).toBe(36000);
    expect(sampleValue(snap, M.prsOpen, core)).toBe(3);
    expect(sampleValue(snap, M.prsOpen, tools)).toBe(0);
    expect(sampleValue(snap, M.insightsCoverage, { ...core, report: 'coverage' })).toBe(0.715);
    expect(sampleValue(snap, M.insightsCoverage, { ...core, report: 'lint' })).toBeUndefined();
    expect(sampleValue(snap, M.reposSkipped, {})).toBe(1);
    // Data Center has no Pipelines: the families are present but empty.
    expect(snap.find((f) => f.name === M.pipelines)!.samples).toEqual([]);

    const repoPages = fake.requests.filter((r) => r.path === '/rest/api/1.0/projects/PRJ/repos');
    expect(repoPages.map((r) => r.query.get('start'))).toEqual(['0', '2']);
    const openPages = fake.requests.filter((r) => r.path === '/rest/api/1.0/projects/PRJ/repos/core/pull-requests' && r.query.get('state') === 'OPEN');
    expect(openPages.map((r) => r.query.get('start'))).toEqual(['0', '2']);
    // Most recently closed first: the page holding the pre-window PR ends the listing.
    const mergedPages = fake.requests.filter((r) => r.path === '/rest/api/1.0/projects/PRJ/repos/core/pull-requests' && r.query.get('state') === 'MERGED');
    expect(mergedPages.map((r) => [r.query.get('start'), r.query.get('order')])).toEqual([
      ['0', 'CLOSED_DATE'],
      ['2', 'CLOSED_DATE'],
    ]);
    expect(ctx.counts.get('404')).toBe(3);

    const text = await renderSnapshot(snap);
    const golden = expectGolden('datacenter-metrics.prom', text);
    expect(golden.actual).toBe(golden.expected);
    expect(await promtoolCheckMetrics(text)).toBe('');
  });

  it('reads coverage on a configured main branch and counts nothing twice after a restart', async () => {
    const repos = '\n      - { slug: tools, main_branch: develop, team: tooling }\n      - core';
    const deps = depsFor(yaml(fake.url, repos), { BBDC_TOKEN: TOKEN }, state.dir, clock);
    const first = await createBitbucketCollector(deps, hooks()).collect(testContext());
    const tools = { repo: 'tools', team: 'tooling' };
    const core = { repo: 'core', team: 'platform' };
    expect(sampleValue(first, M.insightsCoverage, { ...tools, report: 'jacoco' })).toBe(0.64);
    expect(fake.requests.find((r) => r.path === '/rest/api/1.0/projects/PRJ/repos/tools/commits')!.query.get('until')).toBe('refs/heads/develop');
    expect(sampleValue(first, M.prsMerged, core)).toBe(2);

    // Restart an hour later: PR 2 gets a comment (updatedDate moves into the window), PR 8 is merged.
    now = NOW + H;
    const corePrs = fake.fixture.repos[0]!.pullRequests;
    corePrs.find((p) => p.id === 2)!.updatedDate = NOW + 30 * 60_000;
    corePrs.push({ id: 8, state: 'MERGED', createdDate: NOW - 10 * H, closedDate: NOW + 20 * 60_000, updatedDate: NOW + 20 * 60_000 });
    const again = await createBitbucketCollector(deps, hooks()).collect(testContext());
    expect(sampleValue(again, M.prsMerged, core)).toBe(3);
    expect(sampleValue(again, M.prCycleTime, core, '_sum')).toBe(1800 + 172800 + 10 * 3600 + 1200);
    expect(sampleValue(again, M.prsMerged, tools)).toBe(1);
  });

  it('fails on a refused token with the Data Center error message, and when no repository is readable', async () => {
    const bad = createBitbucketCollector(depsFor(yaml(fake.url), { BBDC_TOKEN: 'not-the-token' }, state.dir, clock), hooks());
    const err = (await bad.collect(testContext()).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('auth');
    expect(err.message).toBe(
      'bitbucket: GET /rest/api/1.0/projects/PRJ/repos answered 401: the credentials were refused; check sources.bitbucket.access_token (Authentication failed. Please check your credentials and try again.)',
    );

    const onlyLegacy = createBitbucketCollector(depsFor(yaml(fake.url, '[legacy]'), { BBDC_TOKEN: TOKEN }, state.dir, clock), hooks());
    const err2 = (await onlyLegacy.collect(testContext()).catch((e: unknown) => e)) as SourceError;
    expect(err2).toBeInstanceOf(SourceError);
    expect(err2.reason).toBe('not_found');
    expect(err2.message).toContain('Repository PRJ/legacy does not exist.');
  });
  it('keeps a failing repository its counters but not its gauges, and waits out a 429', async () => {
    const sleeps: number[] = [];
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BBDC_TOKEN: TOKEN }, state.dir, clock), {
      countFromMs: NOW - 90 * 24 * H,
      random: () => 0,
      // A wait lets time pass: the pause the 429's Retry-After asked for is then over.
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    await collector.collect(testContext());
    // Next refresh: tools answers 503 to everything; core is rate limited once.
    let limited = false;
    fake.intercepts.push((req, res) => {
      if (req.path.includes('/repos/tools/')) {
        sendDcError(res, 503, 'Bitbucket is unavailable', 'com.atlassian.bitbucket.ServiceException');
        return true;
      }
      if (!limited && req.path.endsWith('/repos/core/pull-requests')) {
        limited = true;
        sendDcError(res, 429, 'Too many requests', 'com.atlassian.bitbucket.ratelimit.RateLimitedException', { 'retry-after': '3' });
        return true;
      }
      return false;
    });
    const ctx = testContext();
    const snap = await collector.collect(ctx);
    expect(sampleValue(snap, M.prsMerged, { repo: 'tools', team: '' })).toBe(1);
    expect(sampleValue(snap, M.prsOpen, { repo: 'tools', team: '' })).toBeUndefined();
    expect(sampleValue(snap, M.prsMerged, { repo: 'core', team: 'platform' })).toBe(2);
    expect(sampleValue(snap, M.prsOpen, { repo: 'core', team: 'platform' })).toBe(3);
    expect(sleeps.filter((ms) => ms === 3000)).toHaveLength(1);
    expect(ctx.counts.get('429')).toBe(1);
    expect(ctx.counts.get('503')).toBe(3 * 5); // merged, open and the coverage head commit: one try and four retries each
  });
});
