/**
 * SonarQube at organisation scale: a refresh asks each project for its branch list (analysis
 * date and quality gate) and reads measures again only after a new analysis, a changed gate,
 * or `full_refresh` (spread over the refreshes); a request budget holds the rest back, and the
 * projects it held back are read first next time. Request counts are the fake's own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { parseConfig } from '../../src/config/load-config.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Collector, Snapshot } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { SONARQUBE_METRICS } from './metrics.js';
import { sonarqubePlugin } from './plugin.js';
import { startFakeSonarqube, type FakeProject, type FakeSonarqube } from './simulator/fake-sonarqube.js';
import { TOKEN } from './testing/sonarqube-fixtures.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const MIN = 60_000;

let fake: FakeSonarqube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** `n` projects p1..pn with a main branch analysed the day before, coverage 50 + i %. */
function projects(n: number): FakeProject[] {
  return Array.from({ length: n }, (_, k) => ({
    key: `p${k + 1}`,
    branches: [
      { name: 'main', isMain: true, analysisDate: '2026-11-30T12:00:00+0000', gate: 'OK' as const, measures: { coverage: String(50 + k + 1), ncloc: '1000' } },
    ],
  }));
}

function collector(url: string, clock: ManualClock, extra = '', logger: Logger = silentLogger()): Collector {
  const yaml = `version: okr/v1\nsources:\n  sonarqube:\n    url: ${url}\n    token: \${SONAR_TOKEN}\n${extra}`;
  const loaded = parseConfig(yaml, '/tmp/okrs.yaml', { env: { SONAR_TOKEN: TOKEN } });
  return sonarqubePlugin.create(sourceDeps(loaded, sonarqubePlugin, { logger, stateDir: '/tmp/unused', clock }));
}

const coverage = (s: Snapshot, project: string) =>
  s.find((f) => f.name === SONARQUBE_METRICS.coverage)?.samples.find((x) => x.labels.project === project)?.value;
const gatePassed = (s: Snapshot, project: string) =>
  s.find((f) => f.name === SONARQUBE_METRICS.qualityGatePassed)?.samples.find((x) => x.labels.project === project)?.value;

/** The fake's requests by path since the last call. */
function requestsSince(f: FakeSonarqube): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of f.requests.splice(0)) out[r.path] = (out[r.path] ?? 0) + 1;
  return out;
}

describe('sonarqube: reading only what changed', () => {
  it('projects: all: an unchanged organisation costs the project search alone; a new analysis re-reads that project only', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(12) });
    const clock = new ManualClock(T0);
    const c = collector(fake.url, clock, '    projects: all\n');
    const first = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({ '/api/components/search_projects': 1, '/api/project_branches/list': 12, '/api/measures/component': 12 });
    expect(coverage(first, 'p3')).toBe(0.53);

    clock.advance(30 * MIN);
    const unchanged = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({ '/api/components/search_projects': 1 });
    expect(unchanged).toEqual(first);

    // p3 is analysed again: new measures.
    const p3 = fake.state.projects[2]!.branches[0]!;
    p3.analysisDate = '2026-12-01T12:10:00+0000';
    p3.measures = { coverage: '61.5', ncloc: '1200' };
    clock.advance(30 * MIN);
    const changed = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({ '/api/components/search_projects': 1, '/api/project_branches/list': 1, '/api/measures/component': 1 });
    expect(coverage(changed, 'p3')).toBe(0.615);
    expect(coverage(changed, 'p4')).toBe(0.54);
  });

  it('listed projects (or a server without the project search): one branch list per project, measures on a new analysis', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(12), withoutSearchProjects: true });
    const clock = new ManualClock(T0);
    const c = collector(fake.url, clock, '    projects: all\n');
    const first = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({
      '/api/components/search_projects': 1,
      '/api/components/search': 1,
      '/api/project_branches/list': 12,
      '/api/measures/component': 12,
    });
    clock.advance(30 * MIN);
    const unchanged = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({ '/api/components/search': 1, '/api/project_branches/list': 12 });
    expect(unchanged).toEqual(first);
    const p3 = fake.state.projects[2]!.branches[0]!;
    p3.analysisDate = '2026-12-01T12:10:00+0000';
    p3.measures = { coverage: '61.5', ncloc: '1200' };
    clock.advance(30 * MIN);
    const changed = await c.collect(testContext());
    expect(requestsSince(fake)).toEqual({ '/api/components/search': 1, '/api/project_branches/list': 12, '/api/measures/component': 1 });
    expect(coverage(changed, 'p3')).toBe(0.615);
  });

  it('a quality gate that changed without an analysis (issues resolved in the UI) is exported and re-reads the measures', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(3) });
    const clock = new ManualClock(T0);
    const c = collector(fake.url, clock, '    projects: [p1, p2, p3]\n');
    const first = await c.collect(testContext());
    expect(gatePassed(first, 'p2')).toBe(1);
    requestsSince(fake);
    const p2 = fake.state.projects[1]!.branches[0]!;
    p2.gate = 'ERROR';
    p2.measures = { ...p2.measures, coverage: '40.0' };
    clock.advance(30 * MIN);
    const next = await c.collect(testContext());
    expect(gatePassed(next, 'p2')).toBe(0);
    expect(coverage(next, 'p2')).toBe(0.4);
    expect(requestsSince(fake)).toEqual({ '/api/project_branches/list': 3, '/api/measures/component': 1 });
  });

  it('reads measures again after full_refresh even without an analysis, a share per refresh, oldest first', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(6) });
    const clock = new ManualClock(T0);
    // 6 projects, every 30 minutes, all re-read within an hour: 6 * 30 / 60 = 3 a refresh.
    const c = collector(fake.url, clock, '    projects: [p1, p2, p3, p4, p5, p6]\n    refresh_interval: 30m\n    full_refresh: 1h\n');
    const measured: number[] = [];
    const refresh = async () => {
      const s = await c.collect(testContext());
      measured.push(requestsSince(fake!)['/api/measures/component'] ?? 0);
      clock.advance(30 * MIN);
      return s;
    };
    await refresh();
    // An issue of p6 resolved in the UI: its coverage moves without a new analysis.
    fake.state.projects[5]!.branches[0]!.measures!.coverage = '99.0';
    await refresh();
    const atHour = await refresh();
    const atNinety = await refresh();
    expect(measured).toEqual([6, 0, 3, 3]);
    // Within full_refresh plus one interval, the change shows.
    expect(coverage(atHour, 'p6')).toBe(0.56);
    expect(coverage(atNinety, 'p6')).toBe(0.99);
  });

  it('asks for the quality gate on its own when the branch list does not carry it', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(2), branchListWithoutGate: true });
    const clock = new ManualClock(T0);
    const c = collector(fake.url, clock, '    projects: [p1, p2]\n');
    fake.state.projects[1]!.branches[0]!.gate = 'ERROR';
    const s = await c.collect(testContext());
    expect(gatePassed(s, 'p1')).toBe(1);
    expect(gatePassed(s, 'p2')).toBe(0);
    expect(requestsSince(fake)).toEqual({ '/api/project_branches/list': 2, '/api/qualitygates/project_status': 2, '/api/measures/component': 2 });
  });

  it('max_requests_per_hour holds projects back (unsent, rate_limited); they are read first next refresh, and it is logged once', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: projects(6) });
    const clock = new ManualClock(T0);
    const lines: Array<{ level: number; msg: string; projects?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) }) as unknown as Logger;
    // 24 an hour every 30 minutes: 24 * 1800 / 5400 = 8 at once, 16 more over the hour.
    const c = collector(fake.url, clock, '    projects: [p1, p2, p3, p4, p5, p6]\n    refresh_interval: 30m\n    max_requests_per_hour: 24\n', logger);
    const ctx = testContext();
    const first = await c.collect({ ...ctx, logger });
    expect(fake.requests).toHaveLength(8);
    expect(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((p) => coverage(first, p))).toEqual([0.51, 0.52, 0.53, 0.54, undefined, undefined]);
    expect(first.find((f) => f.name === SONARQUBE_METRICS.projectsSkipped)!.samples[0]!.value).toBe(2);
    expect(ctx.counts.get('rate_limited')).toBe(2);
    requestsSince(fake);

    // Half an hour refills 8: p5 and p6 (never read) first, two requests each; then p1..p4 check their branch lists.
    clock.advance(30 * MIN);
    const second = await c.collect({ ...testContext(), logger });
    expect(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((p) => coverage(second, p))).toEqual([0.51, 0.52, 0.53, 0.54, 0.55, 0.56]);
    const sent = fake.requests.map((r) => `${r.path.split('/').at(-1)} ${r.query.get('project') ?? r.query.get('component')}`);
    expect(sent.slice(0, 4).sort()).toEqual(['component p5', 'component p6', 'list p5', 'list p6']);
    expect(sent).toHaveLength(8);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns.map((w) => [w.msg, w.projects])).toEqual([
      ['sonarqube: the rate limit held some projects back; they keep their last values and are read first next refresh', 2],
    ]);
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['sonarqube: no project is held back by the rate limit any more']);
  });
});
