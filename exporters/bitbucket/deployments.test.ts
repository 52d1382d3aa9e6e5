/**
 * Bitbucket Cloud deployments → the `bitbucket` delivery feed, against the fake Cloud: paged
 * environments, deployments, commits and pull-request commits (also without `next` links),
 * production environments only, the commit from the release or from the pipeline, a failed
 * deployment and its retry, a rollback, a redeploy, changes grouped into pull requests and
 * direct commits, STOPPED and running deployments left out, and each deployment read once across
 * refreshes and restarts.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDeliveryFeed, type FeedDeployment } from '../../src/core/delivery-feed.js';
import { ManualClock } from '../../src/core/clock.js';
import { testContext } from '../testing/collect-context.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { buildRepoHistory, type RepoHistory } from './simulator/deployment-history.js';
import { startFakeCloud, type FakeCloud, type FakeCloudFixture } from './simulator/fake-cloud-server.js';
import { depsFor, tempStateDir } from './testing/bitbucket-test-kit.js';
import { deploymentSettings, readRepoDeployments } from './deployments-feed.js';
import { newRepoDeployments } from './deployments-state.js';

const H = 3600_000;
const T0 = Date.parse('2026-10-05T08:00:00Z');
const TOKEN = 'bb-access-token';
const PROD = '{env-prod}';
const STAGING = '{env-staging}';

function history(extra: RepoHistory['deployments'] = []): RepoHistory {
  return {
    slug: 'api',
    initialMs: T0 - 48 * H,
    environments: [
      { uuid: '{env-test}', name: 'Test', type: 'Test' },
      { uuid: STAGING, name: 'Staging', type: 'Staging' },
      { uuid: PROD, name: 'Production', type: 'Production' },
    ],
    pullRequests: [
      { id: 1, commitsMs: [T0 + 1 * H, T0 + 2 * H], createdMs: T0 + 1.5 * H, mergedMs: T0 + 3 * H },
      { id: 2, commitsMs: [T0 + 4.2 * H], createdMs: T0 + 4.5 * H, mergedMs: T0 + 6 * H },
      { id: 3, commitsMs: [T0 + 6.5 * H], createdMs: T0 + 7 * H },
      { id: 4, commitsMs: [T0 + 7.5 * H, T0 + 7.55 * H], createdMs: T0 + 7.6 * H, mergedMs: T0 + 7.8 * H, squash: true },
    ],
    directCommitsMs: [T0 + 4 * H],
    deployments: [
      { uuid: '{d0}', environmentUuid: PROD, startedMs: T0, completedMs: T0 + 0.5 * H },
      { uuid: '{s1}', environmentUuid: STAGING, startedMs: T0 + 3.1 * H, completedMs: T0 + 3.2 * H },
      { uuid: '{d1}', environmentUuid: PROD, startedMs: T0 + 3.3 * H, completedMs: T0 + 3.5 * H, status: 'FAILED' },
      // The retry, after the direct commit: brings pull request 1 and the commit.
      { uuid: '{d2}', environmentUuid: PROD, startedMs: T0 + 4.3 * H, completedMs: T0 + 4.5 * H, viaPipeline: true },
      { uuid: '{d3}', environmentUuid: PROD, startedMs: T0 + 6.2 * H, completedMs: T0 + 7 * H },
      { uuid: '{d4}', environmentUuid: PROD, startedMs: T0 + 8 * H, completedMs: T0 + 8.2 * H, releaseOf: '{d2}' },
      { uuid: '{d5}', environmentUuid: PROD, startedMs: T0 + 9 * H, completedMs: T0 + 9.1 * H, status: 'STOPPED' },
      { uuid: '{d6}', environmentUuid: PROD, startedMs: T0 + 9.5 * H, completedMs: T0 + 9.6 * H, releaseOf: '{d4}' },
      { uuid: '{d7}', environmentUuid: PROD, startedMs: T0 + 10 * H },
      ...extra,
    ],
  };
}

function fixture(h: RepoHistory, pageCap: number, omitNext = false): FakeCloudFixture {
  const built = buildRepoHistory(h);
  return {
    workspace: 'acme',
    authorization: `Bearer ${TOKEN}`,
    repos: [
      {
        slug: 'api',
        mainbranch: 'main',
        pullRequests: built.pullRequests,
        pipelines: built.pipelines,
        branches: { main: built.head },
        reports: {},
        deploy: { ...built.deploy, pageCap, omitNext },
      },
    ],
  };
}

const yaml = (url: string) => `version: okr/v1
sources:
  bitbucket:
    workspace: acme
    url: ${url}/2.0
    access_token: \${BB_TOKEN}
    repositories: [api]
    code_insights: false
    pipelines: false
    deployments: true
`;

let server: FakeCloud;
let state: { dir: string; remove(): void };

beforeEach(() => {
  state = tempStateDir();
});
afterEach(async () => {
  await server?.close();
  state.remove();
});

async function refresh(at: number) {
  const clock = new ManualClock(at);
  const collector = createBitbucketCollector(depsFor(yaml(server.url), { BB_TOKEN: TOKEN }, state.dir, clock), { sleep: () => Promise.resolve() });
  await collector.collect(testContext());
  return readDeliveryFeed(state.dir, 'bitbucket')!;
}

const byKey = (items: FeedDeployment[]) => Object.fromEntries(items.map((d) => [d.key, d]));

describe('Bitbucket Cloud deployments feed', () => {
  for (const [name, omitNext] of [
    ['following next links', false],
    ['by page number when pages carry no next link', true],
  ] as const) {
    it(`reads production deployments, their commits and changes, ${name}`, async () => {
      server = await startFakeCloud(fixture(history(), 2, omitNext));
      const feed = await refresh(T0 + 11 * H);
      const d = byKey(feed.deployments!.items);
      // Staging, STOPPED and running deployments are not there.
      expect(Object.keys(d).sort()).toEqual(['{d0}', '{d1}', '{d2}', '{d3}', '{d4}', '{d6}']);
      // The first deployment seen of the environment: what it brought is unknown.
      expect(d['{d0}']).toMatchObject({ repo: 'api', environment: 'Production', status: 'successful', rollback: false, finishedMs: T0 + 0.5 * H });
      expect(d['{d0}']!.changes).toBeUndefined();
      expect(d['{d1}']).toMatchObject({ status: 'failed', finishedMs: T0 + 3.5 * H });
      // The retry ships pull request 1 (first commit T0+1h, opened T0+1.5h) and the direct commit (T0+4h), its commit read from its pipeline.
      expect(d['{d2}']!.changes).toEqual([
        { key: 'pr:1', firstCommitMs: T0 + 1 * H, pullRequestMs: T0 + 1.5 * H },
        { key: expect.stringMatching(/^commit:[0-9a-f]{40}$/), firstCommitMs: T0 + 4 * H },
      ]);
      expect(d['{d3}']!.changes).toEqual([{ key: 'pr:2', firstCommitMs: T0 + 4.2 * H, pullRequestMs: T0 + 4.5 * H }]);
      // d4 puts d2's release back: a rollback, no changes. d6 redeploys d4's release: no change, no rollback.
      expect(d['{d4}']).toMatchObject({ rollback: true });
      expect(d['{d4}']!.changes).toBeUndefined();
      expect(d['{d6}']).toMatchObject({ rollback: false, changes: [] });
      expect(feed.deployments!.completeMs).toBe(T0 + 11 * H - 10 * 60_000);
      // Pages of two: the deployments, environments and commits were paged.
      const paths = server.requests.map((r) => `${r.path}?${r.query.get('page') ?? '1'}`);
      expect(paths.filter((p) => p.startsWith('/2.0/repositories/acme/api/deployments?')).length).toBeGreaterThan(1);
      expect(paths.filter((p) => p.startsWith('/2.0/repositories/acme/api/environments?')).length).toBe(2);
      expect(paths.some((p) => p === '/2.0/repositories/acme/api/commits?2')).toBe(true);
      expect(server.requests.some((r) => r.path.startsWith('/2.0/repositories/acme/api/pipelines/'))).toBe(true);
    });
  }

  it('reads each deployment once across refreshes and restarts, and adds the new ones', async () => {
    server = await startFakeCloud(fixture(history(), 50));
    const first = await refresh(T0 + 11 * H);
    expect(first.deployments!.items).toHaveLength(6);
    // d7, running at the first refresh, finishes after it; a new collector (a restart) over the same state directory.
    const later = history([{ uuid: '{d8}', environmentUuid: PROD, startedMs: T0 + 12 * H, completedMs: T0 + 12.5 * H }]);
    later.deployments = later.deployments.map((x) => (x.uuid === '{d7}' ? { ...x, completedMs: T0 + 11.3 * H } : x));
    server.fixture.repos[0] = fixture(later, 50).repos[0]!;
    const second = await refresh(T0 + 13 * H);
    const d = byKey(second.deployments!.items);
    expect(second.deployments!.items).toHaveLength(8);
    expect(Object.keys(d)).toContain('{d7}');
    // d7 ships main's head at its start: d6 runs d2's release, so it brings pull request 2 again (the delivery source counts it once) and
    // pull request 4, squash-merged: its commits are off main, listed through the pull request.
    expect(d['{d7}']!.changes).toEqual([
      { key: 'pr:2', firstCommitMs: T0 + 4.2 * H, pullRequestMs: T0 + 4.5 * H },
      { key: 'pr:4', firstCommitMs: T0 + 7.5 * H, pullRequestMs: T0 + 7.6 * H },
    ]);
    expect(server.requests.filter((r) => /\/pullrequests\/\d+\/commits$/.test(r.path)).map((r) => r.path)).toEqual([
      '/2.0/repositories/acme/api/pullrequests/4/commits',
    ]);
    expect(d['{d8}']).toMatchObject({ changes: [] });
    // The deployments listing stopped at the watermark instead of rereading everything: one page of 50.
    expect(server.requests.filter((r) => r.path === '/2.0/repositories/acme/api/deployments').length).toBe(2);
  });

  it('keeps the feed behind a repository whose deployments cannot be read', async () => {
    server = await startFakeCloud(fixture(history(), 50));
    await refresh(T0 + 11 * H);
    server.intercepts.push((req, res) => {
      if (!req.path.endsWith('/deployments')) return false;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"type":"error","error":{"message":"boom"}}');
      return true;
    });
    const feed = await refresh(T0 + 20 * H);
    expect(feed.deployments!.completeMs).toBe(T0 + 11 * H - 10 * 60_000);
    expect(feed.deployments!.items).toHaveLength(6);
  });

  it('takes the list as complete up to deployments.settle before the refresh (10 minutes unless set)', async () => {
    server = await startFakeCloud(fixture(history(), 50));
    const upTo = T0 + 11 * H;
    for (const [setting, settleMs] of [
      ['true', 10 * 60_000],
      ['{ settle: 30s }', 30_000],
    ] as const) {
      const deps = depsFor(yaml(server.url).replace('deployments: true', `deployments: ${setting}`), { BB_TOKEN: TOKEN }, state.dir, new ManualClock(upTo));
      const api = createBitbucketCollector(deps).historyAccess().deployments!;
      const rs = newRepoDeployments(T0 - 48 * H);
      await readRepoDeployments(testContext(), api, 'api', rs, deploymentSettings(deps.settings.deployments), upTo);
      expect(rs.completeMs).toBe(upTo - settleMs);
      expect(rs.records).toHaveLength(6);
    }
  });

  it('refuses deployments on Data Center, naming the alternative', async () => {
    rmSync(state.dir, { recursive: true, force: true });
    const { parseConfig } = await import('../../src/config/load-config.js');
    expect(() =>
      parseConfig(
        `version: okr/v1
sources:
  bitbucket:
    flavor: datacenter
    url: https://bitbucket.example.com
    project: ABC
    access_token: \${BB_TOKEN}
    deployments: true
`,
        '/tmp/okrs.yaml',
        { env: { BB_TOKEN: 'x' } },
      ),
    ).toThrow(/no deployments API.*deployments_from: \[events\]/s);
  });
});
