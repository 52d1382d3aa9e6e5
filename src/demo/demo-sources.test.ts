/**
 * The demo's simulated Jira, SonarQube and Bitbucket, read by the real collectors configured
 * from okrs.example.yaml: every family the example KRs and the generated dashboards read is
 * there with the example's labels and plausible figures, tick() moves it, and the backfill can
 * rebuild the previous quarter from it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitbucketCollector } from '../../exporters/bitbucket/bitbucket-collector.js';
import { startFakeCloud, type FakeCloud } from '../../exporters/bitbucket/simulator/fake-cloud-server.js';
import type { Collector, Labels, Snapshot } from '../core/source.js';
import { JiraCollector } from '../../exporters/jira/jira-collector.js';
import { fillJqlPlaceholders, periodJqlDates } from '../../exporters/jira/jql-period.js';
import { startFakeJira, type FakeJira } from '../../exporters/jira/simulator/fake-jira.js';
import { jiraPlugin } from '../../exporters/jira/plugin.js';
import { sonarqubePlugin } from '../../exporters/sonarqube/plugin.js';
import { bitbucketPlugin } from '../../exporters/bitbucket/plugin.js';
import { sourceDeps } from '../config/source-deps.js';
import type { AnySourcePlugin } from '../core/source.js';
import { startFakeSonarqube, type FakeSonarqube } from '../../exporters/sonarqube/simulator/fake-sonarqube.js';
import { MAX_RECORDED_REQUESTS, startFakeServer } from '../core/simulated-http.js';
import { testContext } from '../../exporters/testing/collect-context.js';
import { BackfillProgress } from '../backfill/progress-bar.js';
import { runBackfill } from '../backfill/backfill-run.js';
import { parseConfig, type LoadedConfig } from '../config/load-config.js';
import { BITBUCKET_METRICS } from '../../exporters/bitbucket/metrics.js';
import { SONARQUBE_ISSUE_TYPES, SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { silentLogger } from '../core/logger.js';
import { elapsedFraction, periodContaining, previousPeriod, UTC_CALENDAR } from '../core/periods.js';
import { DEMO_BITBUCKET_TOKEN, demoBitbucket, type DemoBitbucket } from '../../exporters/bitbucket/simulator/demo-data.js';
import { DEMO_JIRA, DEMO_JQL_QUERIES, demoJira, type DemoJira } from '../../exporters/jira/simulator/demo-data.js';
import { DEMO_INCIDENT_QUERIES } from '../../exporters/jira/simulator/demo-incidents.js';
import { deliveryPlugin } from '../../exporters/delivery/plugin.js';
import { DELIVERY_METRICS } from '../../exporters/delivery/metrics.js';
import { readDeliveryFeed } from '../core/delivery-feed.js';
import { DEMO_SONAR_TOKEN, demoSonarqube, type DemoSonarqube } from '../../exporters/sonarqube/simulator/demo-data.js';
import { fixedClock } from '../core/clock.js';
import { demoWorld } from './demo-world.js';

/** The demo's world on a UTC calendar, anchored where the data set is built. */
const worldAt = (ms: number) => demoWorld(UTC_CALENDAR, ms);

const EXAMPLE = readFileSync(join(import.meta.dirname, '..', '..', 'okrs.example.yaml'), 'utf8');
/** A Wednesday afternoon a little past the middle of 2026-Q4. */
const NOW = Date.parse('2026-11-18T14:30:00Z');
const QUARTER = periodContaining('quarter', NOW, UTC_CALENDAR);
const PREVIOUS = previousPeriod(QUARTER, UTC_CALENDAR);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const ENV = { JIRA_API_TOKEN: DEMO_JIRA.token, SONAR_TOKEN: DEMO_SONAR_TOKEN, BITBUCKET_ACCESS_TOKEN: DEMO_BITBUCKET_TOKEN };

/** okrs.example.yaml with the sources switched on and pointed at the fakes; everything else as shipped. */
function exampleConfig(urls: { jira: string; sonarqube: string; bitbucket: string }, dir: string): LoadedConfig {
  const doc = parseDocument(EXAMPLE);
  for (const [source, url] of Object.entries(urls)) {
    doc.setIn(['sources', source, 'enabled'], true);
    doc.setIn(['sources', source, 'url'], source === 'bitbucket' ? `${url}/2.0` : url);
  }
  // As the demo sets it (bitbucket-simulator.ts): the simulated API has no hourly limit.
  doc.setIn(['sources', 'bitbucket', 'max_requests_per_hour'], 0);
  return parseConfig(doc.toString(), join(dir, 'okrs.yaml'), { env: ENV });
}

const key = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

function samples(snap: Snapshot, name: string, suffix?: string): Array<{ labels: Labels; value: number }> {
  return (snap.find((f) => f.name === name)?.samples ?? []).filter((s) => s.suffix === suffix);
}

function value(snap: Snapshot, name: string, labels: Labels, suffix?: string): number | undefined {
  return samples(snap, name, suffix).find((s) => key(s.labels) === key(labels))?.value;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

interface World {
  dir: string;
  clock: { now: number };
  jira: DemoJira;
  sonar: DemoSonarqube;
  bitbucket: DemoBitbucket;
  fakes: { jira: FakeJira; sonarqube: FakeSonarqube; bitbucket: FakeCloud };
  loaded: LoadedConfig;
  collectors: { jira: JiraCollector; sonarqube: Collector; bitbucket: Collector };
  tick(ms: number): void;
  collect(): Promise<{ jira: Snapshot; sonarqube: Snapshot; bitbucket: Snapshot }>;
  close(): Promise<void>;
}

async function world(now: number): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'okr-demo-sources-'));
  const clock = { now };
  const jira = demoJira(now, worldAt(now));
  const sonar = demoSonarqube(now, worldAt(now));
  const bitbucket = demoBitbucket(now, worldAt(now));
  const fakes = { jira: await startFakeJira(jira.data), sonarqube: await startFakeSonarqube(sonar.state), bitbucket: await startFakeCloud(bitbucket.fixture) };
  const loaded = exampleConfig({ jira: fakes.jira.url, sonarqube: fakes.sonarqube.url, bitbucket: fakes.bitbucket.url }, dir);
  const o = { logger: silentLogger(), stateDir: dir, clock: { now: () => clock.now } };
  const collectors = {
    jira: new JiraCollector(sourceDeps(loaded, jiraPlugin, o)),
    sonarqube: sonarqubePlugin.create(sourceDeps(loaded, sonarqubePlugin, o)),
    // Counted as by a deployment started 90 days ago (a first refresh counts from then on): the demo's recent past in figures.
    bitbucket: createBitbucketCollector(sourceDeps(loaded, bitbucketPlugin, o), { countFromMs: now - 90 * DAY }),
  };
  return {
    dir,
    clock,
    jira,
    sonar,
    bitbucket,
    fakes,
    loaded,
    collectors,
    tick(ms) {
      clock.now = ms;
      jira.tick(ms);
      sonar.tick(ms);
      bitbucket.tick(ms);
    },
    async collect() {
      const ctx = testContext();
      const [j, s, b] = await Promise.all([collectors.jira.collect(ctx), collectors.sonarqube.collect(ctx), collectors.bitbucket.collect(ctx)]);
      return { jira: j, sonarqube: s, bitbucket: b };
    },
    async close() {
      await collectors.jira.close();
      await Promise.all(Object.values(fakes).map((f) => f.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const BOARDS = [
  { board: 'Platform', team: 'platform' },
  { board: 'Admin', team: 'backoffice' },
  { board: 'Metabase', team: 'backoffice' },
];
const PROJECTS = [
  { project: 'topups-api', branch: 'main', team: 'platform' },
  { project: 'admin-portal', branch: 'main', team: 'backoffice' },
];
const REPOS = [
  { repo: 'topups-api', team: 'platform' },
  { repo: 'admin-portal', team: 'backoffice' },
];

/** Closed sprints of a board: sprint id → completed, committed, completion time (Unix s). */
function closedSprints(snap: Snapshot, board: string): Array<{ sprint: string; completed: number; committed: number; completeTime: number }> {
  return samples(snap, JIRA_METRICS.sprintCompleteTime)
    .filter((s) => s.labels.board === board)
    .map((s) => {
      const labels = { ...s.labels };
      return {
        sprint: labels.sprint!,
        completeTime: s.value,
        completed: value(snap, JIRA_METRICS.sprintPoints, { ...labels, state: 'completed' })!,
        committed: value(snap, JIRA_METRICS.sprintPoints, { ...labels, state: 'committed' })!,
      };
    });
}

/** The active sprint (a start but no completion) of a board. */
function activeSprint(snap: Snapshot, board: string): { sprint: string; completed: number; committed: number } {
  const closed = new Set(closedSprints(snap, board).map((s) => s.sprint));
  const start = samples(snap, JIRA_METRICS.sprintStart).find((s) => s.labels.board === board && !closed.has(s.labels.sprint!))!;
  const labels = start.labels;
  return {
    sprint: labels.sprint!,
    completed: value(snap, JIRA_METRICS.sprintPoints, { ...labels, state: 'completed' })!,
    committed: value(snap, JIRA_METRICS.sprintPoints, { ...labels, state: 'committed' })!,
  };
}

describe('the demo sources, read by the real collectors from okrs.example.yaml', () => {
  let w: World;
  let first: Awaited<ReturnType<World['collect']>>;
  beforeAll(async () => {
    w = await world(NOW);
    first = await w.collect();
  });
  afterAll(() => w?.close());

  it('answers the example queries exactly as the exporter writes them', () => {
    const example = parseDocument(EXAMPLE).getIn(['sources', 'jira', 'queries']) as { toJSON(): unknown };
    expect(example.toJSON()).toEqual(DEMO_JQL_QUERIES);
    for (const period of [PREVIOUS, QUARTER])
      for (const jql of Object.values(DEMO_JQL_QUERIES))
        expect(w.jira.data.queries).toHaveProperty([fillJqlPlaceholders(jql, periodJqlDates(period, UTC_CALENDAR))]);
    expect(w.collectors.jira.history().errors).toEqual([]);
  });

  it('Jira: sprints of the three boards, velocity around the KR targets, the active sprint in progress', () => {
    const snap = first.jira;
    for (const b of BOARDS) {
      const closed = closedSprints(snap, b.board);
      // closed_sprints: 12 in the example, plus the active sprint.
      expect(closed).toHaveLength(12);
      for (const s of closed) {
        expect(s.committed).toBeGreaterThan(s.completed);
        expect(s.committed - s.completed).toBeLessThanOrEqual(12);
      }
      const active = activeSprint(snap, b.board);
      expect(active.committed).toBeGreaterThan(0);
      expect(active.completed).toBeLessThan(active.committed + 10);
      expect(value(snap, JIRA_METRICS.closedSprintsTotal, b)).toBeGreaterThanOrEqual(13);
      expect(value(snap, JIRA_METRICS.completedPointsTotal, b)).toBeGreaterThan(0);
      expect(value(snap, JIRA_METRICS.committedPointsTotal, b)).toBeGreaterThan(value(snap, JIRA_METRICS.completedPointsTotal, b)!);
      for (const name of [JIRA_METRICS.sprintStart, JIRA_METRICS.sprintEnd])
        expect(samples(snap, name).filter((s) => s.labels.board === b.board && s.labels.team === b.team)).toHaveLength(13);
    }
    // Platform's sprint is in its third day; Admin's and Metabase's started this morning.
    expect(activeSprint(snap, 'Platform').completed).toBeGreaterThan(0);
    const platform = closedSprints(snap, 'Platform').map((s) => s.completed);
    for (const c of platform) {
      expect(c).toBeGreaterThanOrEqual(55);
      expect(c).toBeLessThanOrEqual(75);
    }
    // "> 60 per sprint": close to the target, not far above it.
    expect(sum(platform) / platform.length).toBeGreaterThan(57);
    expect(sum(platform) / platform.length).toBeLessThan(66);
    // "> 200 a quarter" for Admin and Metabase: a fortnight's pace times the quarter's fortnights.
    const backoffice = (['Admin', 'Metabase'] as const).map((b) => closedSprints(snap, b).map((s) => s.completed));
    const perQuarter = sum(backoffice.map((xs) => sum(xs) / xs.length)) * ((QUARTER.end - QUARTER.start) / (14 * DAY));
    expect(perQuarter).toBeGreaterThan(175);
    expect(perQuarter).toBeLessThan(210);
  });

  it('Jira: the four queries, a realistic mix of KR statuses', () => {
    const snap = first.jira;
    const issues = (query: string) => value(snap, JIRA_METRICS.queryIssues, { query });
    const e = elapsedFraction(QUARTER, NOW);
    expect(issues('security_incidents')).toBe(0);
    expect(issues('improvement_areas')).toBeGreaterThanOrEqual(1);
    expect(issues('improvement_areas')).toBeLessThanOrEqual(4);
    expect(issues('blog_posts')).toBeGreaterThanOrEqual(1);
    expect(issues('blog_posts')).toBeLessThanOrEqual(3);
    // "At least 6 a quarter", a little behind the linear pace.
    expect(issues('show_and_tell')).toBeGreaterThanOrEqual(1);
    expect(issues('show_and_tell')).toBeLessThan(6 * e);
    expect(value(snap, JIRA_METRICS.queryPoints, { query: 'improvement_areas' })).toBeGreaterThan(0);
  });

  it('SonarQube: both projects on main with every measure the KRs and dashboards read', () => {
    const snap = first.sonarqube;
    const coverage = (project: string) =>
      value(
        snap,
        SONARQUBE_METRICS.coverage,
        PROJECTS.find((p) => p.project === project)!,
      )!;
    // 62 % at the quarter start, about 4–5 points two thirds in; admin-portal 50 %, slower.
    expect(coverage('topups-api')).toBeGreaterThan(0.64);
    expect(coverage('topups-api')).toBeLessThan(0.675);
    expect(coverage('admin-portal')).toBeGreaterThan(0.5);
    expect(coverage('admin-portal')).toBeLessThan(0.53);
    for (const p of PROJECTS) {
      for (const name of [
        SONARQUBE_METRICS.newCodeCoverage,
        SONARQUBE_METRICS.duplicatedLines,
        SONARQUBE_METRICS.linesOfCode,
        SONARQUBE_METRICS.technicalDebt,
        SONARQUBE_METRICS.qualityGatePassed,
      ])
        expect(value(snap, name, p), name).toBeDefined();
      for (const type of SONARQUBE_ISSUE_TYPES) expect(value(snap, SONARQUBE_METRICS.issues, { ...p, type })).toBeGreaterThanOrEqual(0);
      // Daily analyses (today's may still be to come).
      expect(value(snap, SONARQUBE_METRICS.lastAnalysis, p)).toBeGreaterThan((NOW - 2 * DAY) / 1000);
      expect(value(snap, SONARQUBE_METRICS.lastAnalysis, p)).toBeLessThanOrEqual(NOW / 1000);
    }
    expect(value(snap, SONARQUBE_METRICS.projectsSkipped, {})).toBe(0);
  });

  it('Bitbucket: merges, open pull requests, pipelines mostly green, Code Insights coverage', () => {
    const snap = first.bitbucket;
    for (const r of REPOS) {
      const merged = value(snap, BITBUCKET_METRICS.prsMerged, r)!;
      // Counted from 90 days back (countFromMs above): a few merges a working day.
      expect(merged).toBeGreaterThan(60);
      expect(merged).toBeLessThan(400);
      expect(value(snap, BITBUCKET_METRICS.prCycleTime, r, '_count')).toBe(merged);
      expect(value(snap, BITBUCKET_METRICS.prsOpen, r)).toBeGreaterThan(0);
      const results = samples(snap, BITBUCKET_METRICS.pipelines).filter((s) => s.labels.repo === r.repo);
      const total = sum(results.map((s) => s.value));
      expect(total).toBeGreaterThan(merged);
      const ok = results.find((s) => s.labels.result === 'successful')!.value / total;
      expect(ok).toBeGreaterThan(0.84);
      expect(ok).toBeLessThan(0.96);
      const count = value(snap, BITBUCKET_METRICS.pipelineDuration, r, '_count')!;
      const mean = value(snap, BITBUCKET_METRICS.pipelineDuration, r, '_sum')! / count;
      expect(count).toBe(total);
      expect(mean).toBeGreaterThan(120);
      expect(mean).toBeLessThan(900);
      const cov = value(snap, BITBUCKET_METRICS.insightsCoverage, { ...r, report: `${r.repo}-coverage` })!;
      const sonar = value(
        first.sonarqube,
        SONARQUBE_METRICS.coverage,
        PROJECTS.find((p) => p.project === r.repo)!,
      )!;
      expect(Math.abs(cov - sonar)).toBeLessThan(0.03);
    }
    expect(value(snap, BITBUCKET_METRICS.reposSkipped, {})).toBe(0);
  });

  it('Delivery: Bitbucket deployments and Jira incidents the delivery source joins into all four keys', async () => {
    const incidents = parseDocument(EXAMPLE).getIn(['sources', 'jira', 'incidents']) as { toJSON(): unknown };
    expect(incidents.toJSON()).toEqual(DEMO_INCIDENT_QUERIES);
    const feed = readDeliveryFeed(w.dir, 'bitbucket')!;
    // The production deployments since the previous quarter began, both repositories, changes known after the first.
    expect(new Set(feed.deployments!.items.map((d) => d.repo))).toEqual(new Set(['topups-api', 'admin-portal']));
    expect(feed.deployments!.items.every((d) => d.environment === 'Production')).toBe(true);
    expect(feed.deployments!.items.filter((d) => (d.changes ?? []).length > 0).length).toBeGreaterThan(50);
    expect(readDeliveryFeed(w.dir, 'jira')!.incidents!.production_incidents!.items.length).toBeGreaterThan(5);
    const deps = (at: () => number, stateDir: string) => sourceDeps(w.loaded, deliveryPlugin, { logger: silentLogger(), stateDir, clock: { now: at } });
    // Each collector below gets its own state directory with a copy of the feeds.
    const feedsIn = (name: string) => {
      const d = join(w.dir, name);
      mkdirSync(d, { recursive: true });
      for (const f of readdirSync(w.dir).filter((n) => n.startsWith('delivery-feed.'))) copyFileSync(join(w.dir, f), join(d, f));
      return d;
    };
    // A delivery source started now counts what happens from now on: the feeds' past is context, never counted again.
    const fresh = await deliveryPlugin.create(deps(() => w.clock.now, feedsIn('delivery-now'))).collect(testContext());
    expect(sum(samples(fresh, DELIVERY_METRICS.deployments).map((x) => x.value))).toBe(0);
    expect(sum(samples(fresh, DELIVERY_METRICS.outcomes).map((x) => x.value))).toBe(0);
    // One started when the previous quarter began (as a backfill from there counts) sees the demo's past in all four keys.
    let at = PREVIOUS.start;
    const delivery = deliveryPlugin.create(deps(() => at, feedsIn('delivery-since-previous-quarter')));
    at = w.clock.now;
    const snap = await delivery.collect(testContext());
    const total = (name: string, match: Labels) =>
      sum(
        samples(snap, name)
          .filter((x) => Object.entries(match).every(([k, v]) => x.labels[k] === v))
          .map((x) => x.value),
      );
    for (const service of ['topups-api', 'admin-portal']) expect(total(DELIVERY_METRICS.deployments, { service, status: 'successful' })).toBeGreaterThan(20);
    for (const status of ['failed', 'rollback']) expect(total(DELIVERY_METRICS.deployments, { status })).toBeGreaterThan(0);
    for (const outcome of ['failed', 'rolled_back', 'incident', 'none']) expect(total(DELIVERY_METRICS.outcomes, { outcome }), outcome).toBeGreaterThan(0);
    expect(sum(samples(snap, DELIVERY_METRICS.leadTime, '_count').map((x) => x.value))).toBeGreaterThan(100);
    for (const cause of ['failed', 'rolled_back', 'incident'])
      expect(
        sum(
          samples(snap, DELIVERY_METRICS.recoveryTime, '_count')
            .filter((x) => x.labels.cause === cause)
            .map((x) => x.value),
        ),
        cause,
      ).toBeGreaterThan(0);
  });

  it('tick() moves counters and gauges: ten minutes later the collectors see new work', async () => {
    const before = first;
    w.tick(NOW + 10 * MINUTE);
    const after = await w.collect();
    // Jira: the active sprints move; closed-sprint counters only move when a sprint closes.
    const activeDone = (snap: Snapshot) => sum(BOARDS.map((b) => activeSprint(snap, b.board).completed));
    const queries = (snap: Snapshot) => sum(samples(snap, JIRA_METRICS.queryIssues).map((s) => s.value));
    expect(activeDone(after.jira) !== activeDone(before.jira) || queries(after.jira) !== queries(before.jira)).toBe(true);
    expect(value(after.jira, JIRA_METRICS.queryIssues, { query: 'security_incidents' })).toBe(0);
    for (const p of PROJECTS)
      expect(value(after.sonarqube, SONARQUBE_METRICS.lastAnalysis, p)).toBeGreaterThan(value(before.sonarqube, SONARQUBE_METRICS.lastAnalysis, p)!);
    for (const r of REPOS) {
      expect(value(after.bitbucket, BITBUCKET_METRICS.prsMerged, r)).toBeGreaterThan(value(before.bitbucket, BITBUCKET_METRICS.prsMerged, r)!);
      const cov = (snap: Snapshot) => value(snap, BITBUCKET_METRICS.insightsCoverage, { ...r, report: `${r.repo}-coverage` });
      expect(cov(after.bitbucket)).not.toBe(cov(before.bitbucket));
    }
    const pipelines = (snap: Snapshot) => sum(samples(snap, BITBUCKET_METRICS.pipelines).map((s) => s.value));
    expect(pipelines(after.bitbucket)).toBeGreaterThan(pipelines(before.bitbucket));
    first = after;
  });

  it('tick() rolls the sprints over when the fortnight ends', async () => {
    const before = first.jira;
    const t = NOW + 14 * DAY;
    w.tick(t);
    const after = (await w.collect()).jira;
    for (const b of BOARDS) {
      expect(value(after, JIRA_METRICS.closedSprintsTotal, b)).toBe(value(before, JIRA_METRICS.closedSprintsTotal, b)! + 1);
      expect(value(after, JIRA_METRICS.completedPointsTotal, b)).toBeGreaterThan(value(before, JIRA_METRICS.completedPointsTotal, b)!);
      // The sprint that was active is the latest closed one, with its figures at the close.
      const closedNow = closedSprints(after, b.board)
        .sort((x, y) => x.completeTime - y.completeTime)
        .at(-1)!;
      expect(closedNow.sprint).toBe(activeSprint(before, b.board).sprint);
      expect(closedNow.completeTime * 1000).toBeLessThanOrEqual(t);
      expect(activeSprint(after, b.board).sprint).not.toBe(closedNow.sprint);
    }
    expect(w.collectors.jira.history().errors).toEqual([]);
  });
});

describe('the demo sources as `okr-metrics demo` runs them', () => {
  it("serve today's data to the registry's collectors on the real clock", async () => {
    const now = Date.now();
    const jira = await startFakeJira(demoJira(now, worldAt(now)).data);
    const sonarqube = await startFakeSonarqube(demoSonarqube(now, worldAt(now)).state);
    const bitbucket = await startFakeCloud(demoBitbucket(now, worldAt(now)).fixture);
    const dir = mkdtempSync(join(tmpdir(), 'okr-demo-today-'));
    try {
      const loaded = exampleConfig({ jira: jira.url, sonarqube: sonarqube.url, bitbucket: bitbucket.url }, dir);
      const o = { logger: silentLogger(), stateDir: dir, clock: fixedClock(now) };
      const plugins: Record<'jira' | 'sonarqube' | 'bitbucket', AnySourcePlugin> = { jira: jiraPlugin, sonarqube: sonarqubePlugin, bitbucket: bitbucketPlugin };
      const snap = async (source: 'jira' | 'sonarqube' | 'bitbucket') => {
        const p = plugins[source];
        const c = p.create(sourceDeps(loaded, p, o));
        try {
          return await c.collect(testContext());
        } finally {
          await c.close?.();
        }
      };
      const [j, s, b] = [await snap('jira'), await snap('sonarqube'), await snap('bitbucket')];
      expect(
        samples(j, JIRA_METRICS.queryIssues)
          .map((x) => x.labels.query)
          .sort(),
      ).toEqual(Object.keys(DEMO_JQL_QUERIES).sort());
      expect(value(j, JIRA_METRICS.queryIssues, { query: 'security_incidents' })).toBe(0);
      for (const x of BOARDS) expect(value(j, JIRA_METRICS.closedSprintsTotal, x)).toBeGreaterThanOrEqual(13);
      for (const p of PROJECTS) expect(value(s, SONARQUBE_METRICS.coverage, p)).toBeGreaterThan(0.4);
      for (const r of REPOS) {
        // Read, and counting from now: the demo's past is context (the backfill's to count).
        expect(value(b, BITBUCKET_METRICS.prsMerged, r)).toBe(0);
        expect(value(b, BITBUCKET_METRICS.prsOpen, r)).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all([jira.close(), sonarqube.close(), bitbucket.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the demo sources over time', () => {
  it('are deterministic for a seed and keep the same past whatever now they are built at', () => {
    expect(demoJira(NOW, worldAt(NOW), 7).data).toEqual(demoJira(NOW, worldAt(NOW), 7).data);
    expect(demoBitbucket(NOW, worldAt(NOW), 7).fixture).toEqual(demoBitbucket(NOW, worldAt(NOW), 7).fixture);
    expect(demoSonarqube(NOW, worldAt(NOW), 7).state).toEqual(demoSonarqube(NOW, worldAt(NOW), 7).state);
    expect(demoJira(NOW, worldAt(NOW), 8).data.boards[0]!.velocity).not.toEqual(demoJira(NOW, worldAt(NOW), 7).data.boards[0]!.velocity);
    const later = demoJira(NOW + 3 * DAY, worldAt(NOW + 3 * DAY)).data.boards[0]!.velocity as Record<number, unknown>;
    for (const [id, v] of Object.entries(demoJira(NOW, worldAt(NOW)).data.boards[0]!.velocity)) expect(later[Number(id)]).toEqual(v);
    const early = demoBitbucket(NOW, worldAt(NOW)).fixture.repos[0]!.pullRequests.filter((p) => p.state !== 'OPEN' && p.updatedMs < NOW - 20 * DAY);
    expect(
      demoBitbucket(NOW + DAY, worldAt(NOW + DAY)).fixture.repos[0]!.pullRequests.filter((p) => p.state !== 'OPEN' && p.updatedMs < NOW - 20 * DAY),
    ).toEqual(early);
  });

  it('stay bounded through a long demo and follow it into the next quarter', () => {
    const start = Date.parse('2026-12-30T12:00:00Z');
    const jira = demoJira(start, worldAt(start));
    const sonar = demoSonarqube(start, worldAt(start));
    const bitbucket = demoBitbucket(start, worldAt(start));
    // Three days, ticked every minute (the demo ticks every few seconds; events follow wall time).
    const end = start + 3 * DAY;
    for (let t = start; t <= end; t += MINUTE) {
      jira.tick(t);
      sonar.tick(t);
      bitbucket.tick(t);
    }
    const q1 = periodContaining('quarter', end, UTC_CALENDAR);
    const q3 = previousPeriod(previousPeriod(q1, UTC_CALENDAR), UTC_CALENDAR);
    const jqlOf = (p: typeof q1) => fillJqlPlaceholders(DEMO_JQL_QUERIES.show_and_tell, periodJqlDates(p, UTC_CALENDAR));
    expect(jira.data.queries[jqlOf(q1)]).toBeDefined();
    expect(jira.data.queries[jqlOf(q3)]).toBeUndefined();
    expect(jira.data.queries[fillJqlPlaceholders(DEMO_JQL_QUERIES.security_incidents, periodJqlDates(q1, UTC_CALENDAR))]).toEqual([]);
    for (const b of jira.data.boards) {
      expect(b.sprintIds.length).toBeLessThanOrEqual(17);
      expect(jira.data.sprints.filter((s) => s.originBoardId === b.id && s.state === 'active')).toHaveLength(1);
    }
    for (const p of sonar.state.projects) {
      const history = p.branches[0]!.history!;
      // A day of analyses every few minutes, one a day before that, back to the previous quarter.
      expect(history.length).toBeLessThan(100 + 24 * 20);
      expect(Date.parse(history[1]!.date)).toBeGreaterThanOrEqual(previousPeriod(q1, UTC_CALENDAR).start);
      expect(Date.parse(history.at(-1)!.date)).toBeGreaterThan(end - 10 * MINUTE);
    }
    for (const r of bitbucket.fixture.repos) {
      expect(r.pullRequests.length).toBeLessThanOrEqual(4000);
      expect(r.pipelines.length).toBeLessThanOrEqual(6000);
      expect(r.pullRequests.filter((p) => p.state === 'OPEN').length).toBeLessThan(15);
      expect(Object.keys(r.reports)).toEqual([r.branches.main]);
    }
  });

  it('a fake keeps only its most recent requests (10,000 unless told)', async () => {
    expect(MAX_RECORDED_REQUESTS).toBe(10_000);
    const fake = await startFakeServer((_req, res) => void res.end(), { maxRequests: 3 });
    try {
      for (let i = 0; i < 5; i++) await fetch(`${fake.url}/r${i}`).then((r) => r.text());
      expect(fake.requests.map((r) => r.path)).toEqual(['/r2', '/r3', '/r4']);
    } finally {
      await fake.close();
    }
  });
});

describe('the demo sources as `okr-metrics backfill` reads them', () => {
  let dir: string;
  let fakes: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rebuild the previous quarter from Jira, SonarQube and Bitbucket history', async () => {
    dir = mkdtempSync(join(tmpdir(), 'okr-demo-backfill-'));
    const jira = await startFakeJira(demoJira(NOW, worldAt(NOW)).data);
    const sonarqube = await startFakeSonarqube(demoSonarqube(NOW, worldAt(NOW)).state);
    const bitbucket = await startFakeCloud(demoBitbucket(NOW, worldAt(NOW)).fixture);
    fakes = [jira, sonarqube, bitbucket];
    const loaded = exampleConfig({ jira: jira.url, sonarqube: sonarqube.url, bitbucket: bitbucket.url }, dir);
    const result = await runBackfill({
      loaded,
      fromMs: PREVIOUS.start,
      toMs: PREVIOUS.end,
      stepMs: 60 * MINUTE,
      outDir: join(dir, 'out'),
      sources: ['jira', 'sonarqube', 'bitbucket'],
      promtool: null,
      logger: silentLogger(),
      clock: fixedClock(NOW),
      progress: new BackfillProgress({ stream: { write: () => true }, intervalMs: 60_000 }),
    });
    expect(result.outcomes.map((o) => [o.source, o.status, o.message])).toEqual([
      ['jira', 'written', undefined],
      ['sonarqube', 'written', undefined],
      ['bitbucket', 'written', undefined],
    ]);
    for (const o of result.outcomes) expect(o.samples).toBeGreaterThan(1000);

    // The first value of a series in the quarter's first month, the last in its last month.
    const valueIn = (month: string, which: 'first' | 'last') => (source: string, series: string) => {
      const lines = readFileSync(join(dir, 'out', source, `${month}.om`), 'utf8').split('\n');
      const line = which === 'first' ? lines.find((l) => l.startsWith(`${series} `)) : lines.findLast((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    const firstOf = valueIn('2026-07', 'first');
    const lastOf = valueIn('2026-09', 'last');
    // Last quarter: one incident, five show-and-tells (of six), coverage up to 62 %.
    expect(lastOf('jira', 'jira_query_issues{query="security_incidents"}')).toBe(1);
    expect(lastOf('jira', 'jira_query_issues{query="show_and_tell"}')).toBe(5);
    // Six or seven fortnights close in a quarter.
    const closed = 'jira_sprints_closed_total{board="Platform",team="platform"}';
    expect(lastOf('jira', closed)! - firstOf('jira', closed)!).toBeGreaterThanOrEqual(6);
    expect(lastOf('jira', closed)! - firstOf('jira', closed)!).toBeLessThanOrEqual(7);
    const coverage = 'sonarqube_coverage_ratio{project="topups-api",branch="main",team="platform"}';
    expect(firstOf('sonarqube', coverage)).toBeCloseTo(0.58, 1);
    expect(lastOf('sonarqube', coverage)).toBeCloseTo(0.62, 1);
    expect(lastOf('bitbucket', 'bitbucket_pull_requests_merged_total{repo="topups-api",team="platform"}')).toBeGreaterThan(100);
  });
});
