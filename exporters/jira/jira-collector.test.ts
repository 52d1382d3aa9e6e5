import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { JIRA_METRICS } from './metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { renderSnapshot } from '../../src/serve/exposition.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';
import { SourceError, type Snapshot } from '../../src/core/source.js';
import { snapshotProblem } from '../../src/core/snapshot.js';
import { testContext } from '../testing/collect-context.js';
import { startAnswerProxy } from '../testing/answer-proxy.js';
import { SOURCES } from '../index.js';
import { jiraPlugin } from './plugin.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { boardSpecs, JiraCollector } from './jira-collector.js';
import { CACHE_FILE } from './sprint-cache.js';
import { RELIST_AFTER_MS } from './sprint-history.js';
import { startFakeJira, type FakeJira } from './simulator/fake-jira.js';
import { fixedClock } from '../../src/core/clock.js';
import { CLOUD_NOW, CLOUD_TOKEN, cloudConfigYaml, cloudDataset, DC_PAT, datacenterConfigYaml, datacenterDataset } from './testing/jira-dataset.js';

const GOLDEN = join(import.meta.dirname, 'testdata', 'cloud-metrics.golden.prom');

/** The value of one series, found by exact labels; undefined when absent. */
function value(snap: Snapshot, name: string, labels: Record<string, string>): number | undefined {
  const fam = snap.find((f) => f.name === name);
  const want = JSON.stringify(Object.entries(labels).sort());
  return fam?.samples.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

function series(snap: Snapshot, name: string): string[] {
  return (snap.find((f) => f.name === name)?.samples ?? []).map((s) => JSON.stringify(s.labels));
}

interface Setup {
  fake: FakeJira;
  /** The collector's clock (Unix ms); tests move it forward. */
  clock: { now: number };
  stateDir: string;
  sleeps: number[];
  collector(yaml?: string, env?: Record<string, string>): JiraCollector;
  /** Stop the fake and remove the state directory. */
  close(): Promise<void>;
}

async function setup(data = cloudDataset()): Promise<Setup> {
  const fake = await startFakeJira(data);
  const stateDir = mkdtempSync(join(tmpdir(), 'okr-jira-'));
  const sleeps: number[] = [];
  const clock = { now: CLOUD_NOW.getTime() };
  return {
    fake,
    clock,
    stateDir,
    sleeps,
    collector: (yaml = cloudConfigYaml(fake.url), env = { JIRA_API_TOKEN: CLOUD_TOKEN, JIRA_PAT: DC_PAT }) => {
      const loaded = parseConfig(yaml, 'okrs.yaml', { env });
      return new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger: silentLogger(), stateDir, clock: { now: () => clock.now } }), {
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 0.5,
        maxRetries: 2,
      });
    },
    close: async () => {
      await fake.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

describe('Jira Cloud collector on the known-answer data set', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  it('exports exact sprint figures: velocity chart where it has them, issues otherwise', async () => {
    const snap = await s.collector().collect(testContext());
    const P = { board: 'Platform', team: 'platform' };
    const pts = (sprint: string, state: string, b = P) => value(snap, JIRA_METRICS.sprintPoints, { ...b, sprint, state });
    // Velocity chart figures for 102..104 (closed_sprints: 3 keeps only those three closed ones).
    expect([pts('102', 'committed'), pts('102', 'completed')]).toEqual([40, 35]);
    expect([pts('103', 'committed'), pts('103', 'completed')]).toEqual([62, 64]);
    expect([pts('104', 'committed'), pts('104', 'completed')]).toEqual([70, 66]);
    expect(pts('101', 'completed')).toBeUndefined();
    // Active sprint from its Sprint Report: carried-over and removed work commit, additions do not.
    expect([pts('105', 'committed'), pts('105', 'completed')]).toEqual([20, 7]);
    // Another board's sprint listed on this board, and future sprints, never appear.
    expect(series(snap, JIRA_METRICS.sprintPoints).some((l) => l.includes('"55"') || l.includes('"106"'))).toBe(false);
    // Counters over every closed sprint: 100 from its Sprint Report (12 / 7), 101 from issues (17 / 14).
    expect(value(snap, JIRA_METRICS.completedPointsTotal, P)).toBe(186);
    expect(value(snap, JIRA_METRICS.committedPointsTotal, P)).toBe(201);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, P)).toBe(5);
    // Dates: complete time only for closed sprints.
    expect(value(snap, JIRA_METRICS.sprintStart, { ...P, sprint: '105' })).toBe(Date.parse('2026-11-16T08:00:00.000Z') / 1000);
    expect(value(snap, JIRA_METRICS.sprintEnd, { ...P, sprint: '105' })).toBe(Date.parse('2026-11-29T17:00:00.000Z') / 1000);
    expect(value(snap, JIRA_METRICS.sprintCompleteTime, { ...P, sprint: '104' })).toBe(Date.parse('2026-11-16T07:30:00.000Z') / 1000);
    expect(value(snap, JIRA_METRICS.sprintCompleteTime, { ...P, sprint: '105' })).toBeUndefined();
    // Mobile: estimation "none" → site field by schema; no velocity chart → issues (3 / 8).
    const M = { board: 'Mobile', team: 'mobile' };
    expect([pts('201', 'committed', M), pts('201', 'completed', M)]).toEqual([3, 8]);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, M)).toBe(1);
    // Support is kanban: skipped, no series at all.
    expect(series(snap, JIRA_METRICS.closedSprintsTotal).some((l) => l.includes('Support'))).toBe(false);
  });

  it('fills period placeholders and sums points over paged searches', async () => {
    const snap = await s.collector().collect(testContext());
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'security_incidents' })).toBe(3);
    expect(value(snap, JIRA_METRICS.queryPoints, { query: 'security_incidents' })).toBe(5);
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'bugs_this_month' })).toBe(5);
    expect(value(snap, JIRA_METRICS.queryPoints, { query: 'bugs_this_month' })).toBe(6.5);
    const searches = s.fake.requests.filter((r) => r.path === '/rest/api/3/search/jql');
    // 3 issues at 2 per page + 5 issues at 2 per page; tokens carried over, fields asked for.
    expect(searches).toHaveLength(5);
    expect(searches.filter((r) => r.query.has('nextPageToken'))).toHaveLength(3);
    expect(new Set(searches.map((r) => r.query.get('fields')))).toEqual(new Set(['customfield_10016']));
    expect(searches.map((r) => r.query.get('jql'))).toContain('project = SEC AND issuetype = Incident AND created >= "2026-10-01" AND created < "2027-01-01"');
    // Never the removed endpoint.
    expect(s.fake.count(/^\/rest\/api\/\d\/search$/)).toBe(0);
  });

  it('uses Basic auth with the account e-mail and API token', async () => {
    await s.collector().collect(testContext());
    const expected = `Basic ${Buffer.from(`bot@example.com:${CLOUD_TOKEN}`).toString('base64')}`;
    expect(new Set(s.fake.requests.map((r) => r.headers.authorization))).toEqual(new Set([expected]));
  });

  it('a second unchanged refresh costs one request per board plus one per query page', async () => {
    const collector = s.collector();
    await collector.collect(testContext());
    const before = s.fake.requests.length;
    const ctx = testContext();
    const again = await collector.collect(ctx);
    const second = s.fake.requests.slice(before).map((r) => `${r.path}?${r.query.get('startAt') ?? ''}`);
    expect(second.sort()).toEqual(
      [
        '/rest/greenhopper/1.0/rapid/charts/sprintreport?', // Platform: its active sprint is still running
        '/rest/agile/1.0/board/2/sprint?0', // Mobile, no active sprint: the list's tail (its one closed sprint is the anchor)
        '/rest/api/3/search/jql?',
        '/rest/api/3/search/jql?',
        '/rest/api/3/search/jql?',
        '/rest/api/3/search/jql?',
        '/rest/api/3/search/jql?',
      ].sort(),
    );
    expect(ctx.counts.get('200')).toBe(7);
    expect(value(again, JIRA_METRICS.completedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(186);
    expect(value(again, JIRA_METRICS.sprintPoints, { board: 'Platform', team: 'platform', sprint: '105', state: 'committed' })).toBe(20);
  });

  it('persists closed sprints: a restarted collector does not refetch them', async () => {
    await s.collector().collect(testContext());
    expect(JSON.parse(readFileSync(join(s.stateDir, CACHE_FILE), 'utf8')).boards['1'].closedListed).toBe(6);
    const before = s.fake.requests.length;
    const snap = await s.collector().collect(testContext());
    const after = s.fake.requests.slice(before);
    expect(after.filter((r) => r.path.includes('velocity'))).toHaveLength(0);
    expect(after.filter((r) => r.path.endsWith('/issue'))).toHaveLength(0);
    expect(after.filter((r) => r.path.endsWith('/sprintreport')).map((r) => r.query.get('sprintId'))).toEqual(['105']);
    expect(value(snap, JIRA_METRICS.committedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(201);
    expect(value(snap, JIRA_METRICS.sprintPoints, { board: 'Mobile', team: 'mobile', sprint: '201', state: 'completed' })).toBe(8);
  });

  it('picks up a sprint that closed since the last refresh, and counters only grow', async () => {
    const collector = s.collector();
    await collector.collect(testContext());
    const d = s.fake.data;
    Object.assign(
      d.sprints.find((x) => x.id === 105)!,
      { state: 'closed', completeDate: '2026-11-30T07:00:00.000Z' },
    );
    Object.assign(
      d.sprints.find((x) => x.id === 106)!,
      { state: 'active' },
    );
    (d.boards[0]!.velocity as Record<number, { estimated: number; completed: number }>)[105] = { estimated: 20, completed: 11 };
    const before = s.fake.requests.length;
    const snap = await collector.collect(testContext());
    const P = { board: 'Platform', team: 'platform' };
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'completed' })).toBe(11);
    expect(value(snap, JIRA_METRICS.sprintCompleteTime, { ...P, sprint: '105' })).toBe(Date.parse('2026-11-30T07:00:00.000Z') / 1000);
    // 106 is now the active sprint (no issues yet); 102 dropped out of the last three closed.
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '106', state: 'committed' })).toBe(0);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '102', state: 'completed' })).toBeUndefined();
    expect(value(snap, JIRA_METRICS.completedPointsTotal, P)).toBe(197);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, P)).toBe(6);
    // 105's report says CLOSED → the list's tail, one velocity read, 106's report; nothing older refetched.
    const platform = s.fake.requests.slice(before).filter((r) => r.path.includes('/board/1/') || r.query.get('rapidViewId') === '1');
    expect(platform.map((r) => `${r.path.split('/').pop()} ${r.query.get('startAt') ?? r.query.get('sprintId') ?? ''}`)).toEqual([
      'sprintreport 105',
      'sprint 5',
      'velocity ',
      'sprintreport 106',
    ]);
    expect(s.fake.requests.slice(before).filter((r) => r.path.endsWith('/issue'))).toHaveLength(0);
  });

  it('matches the golden /metrics file, which promtool accepts', async () => {
    const text = await renderSnapshot(await s.collector().collect(testContext()));
    if (process.env.UPDATE_GOLDEN === '1') {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(GOLDEN, text);
    }
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(await promtoolCheckMetrics(text)).toBe('');
  });
});

describe('Jira collector errors', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  it('refused credentials fail the collection naming the setting, never the token', async () => {
    const collector = s.collector(undefined, { JIRA_API_TOKEN: 'wrong-token-123' });
    const err = await collector.collect(testContext()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).reason).toBe('auth');
    expect((err as SourceError).message).toContain('sources.jira.api_token');
    expect((err as SourceError).message).not.toContain('wrong-token-123');
  });

  it('a missing board is named and skipped; the other boards and queries still export', async () => {
    const yaml = cloudConfigYaml(s.fake.url).replace('      - id: 3\n', '      - id: 3\n      - name: Ghost\n      - id: 77\n');
    const warnings: string[] = [];
    const ctx = { ...testContext(), logger: { ...silentLogger(), warn: (m: string) => void warnings.push(m) } as never };
    const snap = await s.collector(yaml).collect(ctx);
    expect(warnings.some((w) => w.includes('board "Ghost"') && w.includes('not found'))).toBe(true);
    expect(warnings.some((w) => w.includes('77') && w.includes('not found'))).toBe(true);
    expect(warnings.some((w) => w.includes('"Support"') && w.includes('does not support sprints'))).toBe(true);
    expect(warnings.some((w) => w.includes('"Mobile"') && w.includes('does not estimate in a story-points field (estimation: none)'))).toBe(true);
    expect(warnings.some((w) => w.includes('"Platform"') && w.includes('estimate'))).toBe(false);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'security_incidents' })).toBe(3);
  });

  it('honours 429 Retry-After and counts every request', async () => {
    s.fake.data.failures.push({ path: /\/board\/1\/sprint$/, status: 429, headers: { 'retry-after': '3' }, times: 1 });
    const ctx = testContext();
    const snap = await s.collector().collect(ctx);
    expect(s.sleeps).toContain(3000 + 0.5 * 250);
    expect(ctx.counts.get('429')).toBe(1);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
  });

  it("a rejected query reports Jira's error body and the setting; the rest still export", async () => {
    const yaml = cloudConfigYaml(s.fake.url).replace('    queries:\n', "    queries:\n      broken: 'project = NOPE AND'\n");
    const warnings: string[] = [];
    const ctx = { ...testContext(), logger: { ...silentLogger(), warn: (m: string) => void warnings.push(m) } as never };
    const snap = await s.collector(yaml).collect(ctx);
    expect(warnings.find((w) => w.includes('sources.jira.queries.broken'))).toContain('Error in the JQL Query');
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'broken' })).toBeUndefined();
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'bugs_this_month' })).toBe(5);
  });

  it('recovers after a failed refresh, keeping and then completing the cache', async () => {
    // Sprint 101's issues fail with 5xx past the retries: Platform fails, Mobile and queries work.
    s.fake.data.failures.push({ path: /\/sprint\/101\/issue$/, status: 503, times: 3 });
    const collector = s.collector();
    const first = await collector.collect(testContext());
    expect(value(first, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBeUndefined();
    expect(value(first, JIRA_METRICS.closedSprintsTotal, { board: 'Mobile', team: 'mobile' })).toBe(1);
    // Velocity figures that did arrive were kept; only 101 is fetched again.
    const before = s.fake.requests.length;
    const second = await collector.collect(testContext());
    expect(value(second, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
    expect(value(second, JIRA_METRICS.completedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(186);
    const paths = s.fake.requests.slice(before).map((r) => `${r.path} ${r.query.get('sprintId') ?? ''}`);
    expect(paths.filter((p) => p.includes('velocity'))).toHaveLength(1);
    expect(paths.filter((p) => p.includes('sprintreport 100'))).toHaveLength(0);
  });

  it('fails the collection when nothing at all could be collected, then recovers', async () => {
    s.fake.data.failures.push({ path: /./, status: 500, times: 1000 });
    const collector = s.collector();
    await expect(collector.collect(testContext())).rejects.toThrow(/answered 500/);
    s.fake.data.failures.length = 0;
    const snap = await collector.collect(testContext());
    expect(value(snap, JIRA_METRICS.completedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(186);
  });

  it('Data Center flavour against Jira Cloud: the 410 says to switch the flavour', async () => {
    s.fake.data.credentials = { pat: DC_PAT };
    const yaml = datacenterConfigYaml(s.fake.url).replace(/boards:\n\s+- name: Core\n\s+team: core\n/, 'boards: []\n');
    await expect(s.collector(yaml).collect(testContext())).rejects.toThrow(/410.*flavor: cloud|flavor: cloud/);
  });
});

describe('Jira collector housekeeping', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  function warningsContext() {
    const warnings: string[] = [];
    return { warnings, ctx: () => ({ ...testContext(), logger: { ...silentLogger(), warn: (m: string) => void warnings.push(m) } as never }) };
  }

  it('a team-managed board without sprints is reported once and not asked again', async () => {
    s.fake.data.boards.push({ id: 5, name: 'Design', type: 'simple', estimationField: null, sprintIds: [], velocity: 'unavailable', sprintsDisabled: true });
    const yaml = cloudConfigYaml(s.fake.url).replace('      - id: 3\n', '      - id: 3\n      - id: 5\n');
    const w = warningsContext();
    const collector = s.collector(yaml);
    await collector.collect(w.ctx());
    await collector.collect(w.ctx());
    expect(w.warnings.filter((m) => m.includes('board 5 does not support sprints'))).toHaveLength(1);
    expect(s.fake.count(/^\/rest\/agile\/1\.0\/board\/5\//)).toBe(2); // configuration + the one 400
  });

  it('logs a failing board once, not on every refresh', async () => {
    const yaml = cloudConfigYaml(s.fake.url).replace('      - id: 3\n', '      - id: 3\n      - name: Ghost\n');
    const w = warningsContext();
    const collector = s.collector(yaml);
    for (let i = 0; i < 3; i++) await collector.collect(w.ctx());
    expect(w.warnings.filter((m) => m.includes('"Ghost"'))).toHaveLength(1);
  });

  it('relists from the start when the remembered tail moved (a sprint was deleted); counters keep what was counted', async () => {
    const collector = s.collector();
    await collector.collect(testContext());
    s.fake.data.boards[0]!.sprintIds = s.fake.data.boards[0]!.sprintIds.filter((id) => id !== 102);
    s.clock.now += RELIST_AFTER_MS;
    const before = s.fake.requests.length;
    const snap = await collector.collect(testContext());
    const lists = s.fake.requests.slice(before).filter((r) => r.path === '/rest/agile/1.0/board/1/sprint');
    expect(lists.map((r) => r.query.get('startAt'))).toEqual(['5', '0', '4']);
    expect(value(snap, JIRA_METRICS.completedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(186);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
    expect(JSON.parse(readFileSync(join(s.stateDir, CACHE_FILE), 'utf8')).boards['1'].closedListed).toBe(5);
  });

  it('a deleted active sprint sends the board back to its sprint list, Sprint Reports still in use', async () => {
    const collector = s.collector();
    await collector.collect(testContext());
    const d = s.fake.data;
    d.sprints.splice(
      d.sprints.findIndex((x) => x.id === 105),
      1,
    );
    d.boards[0]!.sprintIds = d.boards[0]!.sprintIds.filter((id) => id !== 105);
    Object.assign(
      d.sprints.find((x) => x.id === 106)!,
      { state: 'active' },
    );
    const before = s.fake.requests.length;
    const snap = await collector.collect(testContext());
    const platform = s.fake.requests.slice(before).filter((r) => r.path.includes('/board/1/') || r.query.get('rapidViewId') === '1');
    expect(platform.map((r) => `${r.path.split('/').pop()} ${r.query.get('sprintId') ?? r.query.get('startAt')}`)).toEqual([
      'sprintreport 105',
      'sprint 5',
      'sprintreport 106',
    ]);
    expect(value(snap, JIRA_METRICS.sprintPoints, { board: 'Platform', team: 'platform', sprint: '106', state: 'committed' })).toBe(0);
    expect(value(snap, JIRA_METRICS.sprintPoints, { board: 'Platform', team: 'platform', sprint: '105', state: 'committed' })).toBeUndefined();
  });

  it('re-reads the sprint list hourly even while the same sprint runs (edited dates show up)', async () => {
    const collector = s.collector();
    await collector.collect(testContext());
    s.fake.data.sprints.find((x) => x.id === 105)!.endDate = '2026-12-01T17:00:00.000Z';
    s.clock.now += RELIST_AFTER_MS - 1;
    let before = s.fake.requests.length;
    let snap = await collector.collect(testContext());
    expect(s.fake.requests.slice(before).filter((r) => r.path.includes('/board/1/'))).toHaveLength(0);
    expect(value(snap, JIRA_METRICS.sprintEnd, { board: 'Platform', team: 'platform', sprint: '105' })).toBe(Date.parse('2026-11-29T17:00:00.000Z') / 1000);
    s.clock.now += 1;
    before = s.fake.requests.length;
    snap = await collector.collect(testContext());
    const platform = s.fake.requests.slice(before).filter((r) => r.path.includes('/board/1/') || r.query.get('rapidViewId') === '1');
    expect(platform.map((r) => r.path.split('/').pop())).toEqual(['sprint', 'sprintreport']);
    expect(value(snap, JIRA_METRICS.sprintEnd, { board: 'Platform', team: 'platform', sprint: '105' })).toBe(Date.parse('2026-12-01T17:00:00.000Z') / 1000);
  });

  it('without a Sprint Report, the active sprint comes from its issues and the fallback is logged once', async () => {
    s.fake.data.boards[0]!.sprintReports = 'unavailable';
    const warnings: string[] = [];
    const ctx = () => ({ ...testContext(), logger: { ...silentLogger(), warn: (m: string) => void warnings.push(m) } as never });
    const collector = s.collector();
    await collector.collect(ctx());
    const snap = await collector.collect(ctx());
    const P = { board: 'Platform', team: 'platform' };
    // The removed PLAT-25 is invisible to the fallback: 16, not Jira's 20.
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'committed' })).toBe(16);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'completed' })).toBe(7);
    expect(warnings.filter((w) => w.includes('sprint report data unavailable for board "Platform"'))).toHaveLength(1);
  });

  it('a 403 on one board names the credential setting; the other boards still export', async () => {
    s.fake.data.failures.push({
      path: /^\/rest\/agile\/1\.0\/board\/2\//,
      status: 403,
      times: 100,
      body: { errorMessages: ['You do not have permission to view this board.'], errors: {} },
    });
    const w = warningsContext();
    const snap = await s.collector().collect(w.ctx());
    expect(w.warnings.find((m) => m.includes('answered 403'))).toMatch(
      /check what sources\.jira\.api_token .*may access.*You do not have permission to view this board/,
    );
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
    expect(series(snap, JIRA_METRICS.closedSprintsTotal).some((l) => l.includes('Mobile'))).toBe(false);
  });

  it('an unreadable cache file is reported and rebuilt; a cache for another site is ignored', async () => {
    writeFileSync(join(s.stateDir, CACHE_FILE), '{ half a file');
    const w = warningsContext();
    const loaded = parseConfig(cloudConfigYaml(s.fake.url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
    const logged: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, m: string) => void logged.push(m), info: (_o: unknown, m: string) => void logged.push(m) } as never;
    const snap = await new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger, stateDir: s.stateDir, clock: fixedClock(CLOUD_NOW.getTime()) })).collect(
      w.ctx(),
    );
    expect(logged.some((m) => m.includes('unreadable'))).toBe(true);
    expect(value(snap, JIRA_METRICS.committedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(201);
    expect(JSON.parse(readFileSync(join(s.stateDir, CACHE_FILE), 'utf8')).boards['1'].closedListed).toBe(6);
    // Same state dir, another Jira site: its sprint ids mean nothing here.
    const other = parseConfig(cloudConfigYaml(s.fake.url.replace('127.0.0.1', 'localhost')), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
    new JiraCollector(sourceDeps(other, jiraPlugin, { logger, stateDir: s.stateDir, clock: fixedClock(CLOUD_NOW.getTime()) }));
    expect(logged.some((m) => m.includes('another site'))).toBe(true);
  });

  it('a Sprint Report without its issue lists fails that sprint with a clear error, never 0 committed points', async () => {
    // Jira answers 200 with the sums but none of the issue lists the commitment is summed from.
    const hollow = (sprintId: number, state: string) => ({
      path: /\/sprintreport$/,
      query: { sprintId: String(sprintId) },
      status: 200,
      body: { contents: { completedIssuesEstimateSum: { value: 7, text: '7.0' } }, sprint: { id: sprintId, state } },
      times: 1000,
    });
    const P = { board: 'Platform', team: 'platform' };
    const w = warningsContext();
    const collector = s.collector();

    // A closed sprint (100, older than the velocity chart): the board keeps no figures rather than wrong ones.
    s.fake.data.failures.push(hollow(100, 'CLOSED'));
    let snap = await collector.collect(w.ctx());
    expect(value(snap, JIRA_METRICS.committedPointsTotal, P)).toBeUndefined();
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'committed' })).toBeUndefined();
    expect(value(snap, JIRA_METRICS.committedPointsTotal, { board: 'Mobile', team: 'mobile' })).toBe(3); // the other board is unaffected
    expect(w.warnings).toContainEqual(
      expect.stringMatching(
        /^jira: the Sprint Report of sprint 100 \(board 1\) lacks what its figures are computed from \(contents\.completedIssues: .*expected array/,
      ),
    );
    // Not cached: the sprint is asked for again, and counted once Jira answers with the lists.
    s.fake.data.failures.length = 0;
    snap = await collector.collect(w.ctx());
    expect(value(snap, JIRA_METRICS.committedPointsTotal, P)).toBe(201);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'committed' })).toBe(20);

    // The active sprint (105): its last good figures stay, logged once.
    s.fake.data.failures.push(hollow(105, 'ACTIVE'));
    s.clock.now += 60_000;
    snap = await collector.collect(w.ctx());
    s.clock.now += 60_000;
    snap = await collector.collect(w.ctx());
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'committed' })).toBe(20);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...P, sprint: '105', state: 'completed' })).toBe(7);
    expect(w.warnings.filter((m) => m.startsWith('jira: the Sprint Report of sprint 105 (board 1)'))).toHaveLength(1);
  });

  it('a cache file of the wrong shape is reported with the file and the field, and rebuilt, never trusted', async () => {
    // Valid JSON for this site, but figures that are not numbers: read by cast, they would be summed as strings.
    const url = s.fake.url;
    const bad = {
      version: 1,
      url,
      boards: {
        '1': {
          closedListed: 6,
          anchorId: 104,
          closed: { '100': { id: 100, name: 'PLAT Sprint 0', state: 'closed', committed: '999', completed: 7, source: 'velocity' } },
        },
      },
    };
    writeFileSync(join(s.stateDir, CACHE_FILE), JSON.stringify(bad));
    const loaded = parseConfig(cloudConfigYaml(url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
    const logged: Array<{ fields: Record<string, unknown>; msg: string }> = [];
    const logger = {
      ...silentLogger(),
      warn: (o: Record<string, unknown>, m: string) => void logged.push({ fields: o, msg: m }),
      info: () => undefined,
    } as never;
    const snap = await new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger, stateDir: s.stateDir, clock: fixedClock(CLOUD_NOW.getTime()) })).collect(
      testContext(),
    );
    expect(logged).toEqual([
      {
        msg: 'jira sprint cache is not valid; starting afresh (closed sprints will be fetched again)',
        fields: { file: join(s.stateDir, CACHE_FILE), err: 'boards.1.closed.100.committed: Invalid input: expected number, received string' },
      },
    ]);
    expect(value(snap, JIRA_METRICS.committedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(201);
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
  });

  it('completes changelogs that issue lists cut short before replaying them', async () => {
    s.fake.data.changelogCap = 1;
    const snap = await s.collector().collect(testContext());
    // Same answers as with full changelogs: 101 still commits 17 (PLAT-5 at its start estimate of 2).
    expect(value(snap, JIRA_METRICS.committedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(201);
    expect(value(snap, JIRA_METRICS.completedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(186);
    expect(value(snap, JIRA_METRICS.sprintPoints, { board: 'Mobile', team: 'mobile', sprint: '201', state: 'committed' })).toBe(3);
    const fetched = s.fake.requests.filter((r) => r.path.endsWith('/changelog')).map((r) => r.path);
    expect(fetched.sort()).toEqual(['/rest/api/3/issue/MOB-2/changelog', '/rest/api/3/issue/PLAT-4/changelog', '/rest/api/3/issue/PLAT-5/changelog']);
  });

  it('a board configured by id and named in a team is collected once, with that team', async () => {
    const yaml = cloudConfigYaml(s.fake.url)
      .replace('    jira_boards: [Platform]', '    jira_boards: [Platform]\n  apps:\n    jira_boards: [Mobile]')
      .replace('      - id: 2\n        team: mobile\n', '      - id: 2\n');
    const snap = await s.collector(yaml).collect(testContext());
    expect(series(snap, JIRA_METRICS.closedSprintsTotal)).toEqual([
      JSON.stringify({ board: 'Mobile', team: 'apps' }),
      JSON.stringify({ board: 'Platform', team: 'platform' }),
    ]);
    expect(s.fake.count(/^\/rest\/agile\/1\.0\/board\/2\/sprint$/)).toBe(1);
  });

  it('two boards given the same label: the second is reported and left out, the snapshot stays valid', async () => {
    const yaml = cloudConfigYaml(s.fake.url).replace('      - id: 2\n        team: mobile\n', '      - id: 2\n        name: Platform\n');
    const w = warningsContext();
    const snap = await s.collector(yaml).collect(w.ctx());
    expect(w.warnings.some((m) => m.includes('boards 1 and 2 are both labelled "Platform"'))).toBe(true);
    expect(snapshotProblem(snap)).toBeUndefined();
    expect(value(snap, JIRA_METRICS.closedSprintsTotal, { board: 'Platform', team: 'platform' })).toBe(5);
  });

  it('collects boards named only in teams.<team>.jira_boards, with that team', () => {
    const yaml = cloudConfigYaml('http://127.0.0.1:9').replace('    jira_boards: [Platform]', '    jira_boards: [Platform, 42, Web]');
    const loaded = parseConfig(yaml, 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
    expect(boardSpecs(loaded.config.sources.jira!, loaded.config.teams)).toEqual([
      { name: 'Platform', id: undefined, team: 'platform', storyPointsField: undefined },
      { id: 2, name: undefined, team: 'mobile', storyPointsField: undefined },
      { id: 3, team: '', storyPointsField: undefined },
      { id: 42, team: 'platform' },
      { name: 'Web', team: 'platform' },
    ]);
  });
});

describe('Jira Data Center collector', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup(datacenterDataset());
  });
  afterEach(() => s.close());

  it('uses the PAT as Bearer, offset search, name-matched changelogs and local-offset dates', async () => {
    const snap = await s.collector(datacenterConfigYaml(s.fake.url)).collect(testContext());
    const C = { board: 'Core', team: 'core' };
    expect(new Set(s.fake.requests.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${DC_PAT}`]));
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...C, sprint: '1000', state: 'committed' })).toBe(3);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...C, sprint: '1000', state: 'completed' })).toBe(7);
    expect(value(snap, JIRA_METRICS.sprintPoints, { ...C, sprint: '1001', state: 'completed' })).toBe(18);
    expect(value(snap, JIRA_METRICS.completedPointsTotal, C)).toBe(25);
    expect(value(snap, JIRA_METRICS.committedPointsTotal, C)).toBe(23);
    expect(value(snap, JIRA_METRICS.sprintCompleteTime, { ...C, sprint: '1000' })).toBe(Date.parse('2026-10-19T09:00:00.000Z') / 1000);
    expect(value(snap, JIRA_METRICS.queryIssues, { query: 'core_created' })).toBe(3);
    expect(value(snap, JIRA_METRICS.queryPoints, { query: 'core_created' })).toBe(7);
    const searches = s.fake.requests.filter((r) => r.path === '/rest/api/2/search');
    expect(searches.map((r) => r.query.get('startAt'))).toEqual(['0', '2']);
    expect(s.fake.count(/\/rest\/api\/3\//)).toBe(0);
  });

  it('completes a cut-short changelog from the single issue', async () => {
    s.fake.data.changelogCap = 1;
    const snap = await s.collector(datacenterConfigYaml(s.fake.url)).collect(testContext());
    // Without CORE-1's second history (3 → 5 after the start) the commitment would read 5.
    expect(value(snap, JIRA_METRICS.sprintPoints, { board: 'Core', team: 'core', sprint: '1000', state: 'committed' })).toBe(3);
    expect(s.fake.requests.filter((r) => r.path === '/rest/api/2/issue/CORE-1').map((r) => r.query.get('expand'))).toEqual(['changelog']);
  });
});

describe('registry', () => {
  it('lists the Jira factory', () => {
    expect(SOURCES).toContain(jiraPlugin);
  });
});

describe('Jira collector under the source runner', () => {
  it('the registered factory runs end to end: up, request counts by status, golden families', async () => {
    const { SourceRunner } = await import('../../src/serve/source-runner.js');
    const s = await setup();
    try {
      s.fake.data.failures.push({ path: /\/search\/jql$/, status: 429, headers: { 'retry-after': '0' }, times: 1 });
      const loaded = parseConfig(cloudConfigYaml(s.fake.url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
      // The factory hands the deps' clock to the collector: the queries ask for the data set's month and quarter whatever today is.
      const clock = fixedClock(CLOUD_NOW.getTime());
      const collector = jiraPlugin.create(sourceDeps(loaded, jiraPlugin, { logger: silentLogger(), stateDir: s.stateDir, clock }));
      const runner = new SourceRunner(collector, { intervalSeconds: 900, timeoutSeconds: 60, logger: silentLogger(), clock });
      await runner.runOnce();
      expect(runner.getHealth().up).toBe(true);
      const text = await renderSnapshot([...runner.healthFamilies(), ...runner.lastGood()]);
      // Every request the fake answered is counted, by status: the 404s are the velocity chart and
      // Sprint Reports that Mobile and sprint 101 do not have.
      expect(s.fake.requests).toHaveLength(23);
      expect(text).toContain('okr_source_requests_total{source="jira",status="200"} 19');
      expect(text).toContain('okr_source_requests_total{source="jira",status="404"} 3');
      expect(text).toContain('okr_source_requests_total{source="jira",status="429"} 1');
      expect(text).toContain('jira_sprints_closed_total{board="Platform",team="platform"} 5');
      await runner.stop();
    } finally {
      await s.close();
    }
  });

  it('behind a proxy answering 200 {"hello":"world"}: down with invalid_output, the last values kept, the missing field logged', async () => {
    const { SourceRunner } = await import('../../src/serve/source-runner.js');
    const s = await setup();
    const proxy = await startAnswerProxy(s.fake.url);
    try {
      const loaded = parseConfig(cloudConfigYaml(proxy.url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
      const clock = fixedClock(CLOUD_NOW.getTime());
      const logged: Array<Record<string, unknown>> = [];
      const logger = {
        ...silentLogger(),
        warn: (o: Record<string, unknown>, m?: string) => void logged.push(typeof o === 'string' ? { msg: o } : { ...o, msg: m }),
      } as never;
      const collector = jiraPlugin.create(sourceDeps(loaded, jiraPlugin, { logger, stateDir: s.stateDir, clock }));
      const runner = new SourceRunner(collector, { intervalSeconds: 900, timeoutSeconds: 60, logger, clock });
      await runner.runOnce();
      expect(runner.getHealth().up).toBe(true);
      const incidents = () => value(runner.lastGood(), JIRA_METRICS.queryIssues, { query: 'security_incidents' });
      expect(incidents()).toBe(3);

      proxy.hijack = () => ({ hello: 'world' });
      await runner.runOnce();
      const text = await renderSnapshot([...runner.healthFamilies(), ...runner.lastGood()]);
      expect(text).toContain('okr_source_up{source="jira"} 0');
      expect(text).toContain('okr_source_errors_total{source="jira",reason="invalid_output"} 1');
      // A "zero security incidents" key result must not turn green because a proxy answered.
      expect(incidents()).toBe(3);
      expect(value(runner.lastGood(), JIRA_METRICS.committedPointsTotal, { board: 'Platform', team: 'platform' })).toBe(201);
      // Each failing item is logged once with the field that was missing; the body itself never is.
      const queryWarning = logged.find((l) => String(l.msg).includes('/rest/api/3/search/jql'));
      expect(queryWarning?.msg).toBe(
        'jira: GET /rest/api/3/search/jql answered 200 with an unexpected body: issues: Invalid input: expected array, received undefined',
      );
      expect(logged.at(-1)).toMatchObject({ reason: 'invalid_output', msg: 'source collection failed; serving last good values' });
      expect(JSON.stringify(logged)).not.toContain('world');
      await runner.stop();
    } finally {
      await proxy.close();
      await s.close();
    }
  });

  it('a timeout names the search that was retrying and why, with reason timeout', async () => {
    const { SourceRunner } = await import('../../src/serve/source-runner.js');
    const s = await setup();
    try {
      s.fake.data.failures.push({ path: /\/search\/jql$/, status: 503, times: 1000 });
      const loaded = parseConfig(cloudConfigYaml(s.fake.url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
      const clock = fixedClock(CLOUD_NOW.getTime());
      // Each retry wait lasts until the collection is aborted: the timeout lands in one.
      const waitForever = (_ms: number, signal: AbortSignal) =>
        new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
      const collector = new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger: silentLogger(), stateDir: s.stateDir, clock }), { sleep: waitForever });
      const runner = new SourceRunner(collector, { intervalSeconds: 900, timeoutSeconds: 3, logger: silentLogger(), clock });
      await runner.runOnce();
      expect(runner.getHealth().lastError).toEqual({
        reason: 'timeout',
        // Both queries were retrying when the time ran out; the boards had been read.
        message: 'timed out after 3s while GET /rest/api/3/search/jql was retrying after 503 Service Unavailable (1 other request in flight)',
      });
      await runner.stop();
    } finally {
      await s.close();
    }
  });
});
