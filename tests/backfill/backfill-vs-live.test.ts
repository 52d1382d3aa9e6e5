/**
 * Acceptance of `okr-metrics backfill`: a quarter (2026-Q3) of Jira sprints and JQL counts,
 * SonarQube analyses and an archived (gzip + plain) access log with garbage lines, two ways:
 *
 *   live      the real live collectors (JiraCollector, SonarqubeCollector, ApilogsCollector)
 *             driven through the quarter against fakes that show each instant's state (the
 *             log appended step by step), each snapshot stamped at the 5-minute grid instant
 *             a scrape would have taken it;
 *   backfill  runBackfill over the same quarter against the fakes' final state and the
 *             archived log.
 *
 * Both are loaded into their own real Prometheus; the KR engine's results for 2026-Q3 must be
 * identical, with hand-checked values, and the series the measures read must be the same
 * samples. Then a rerun changes nothing (byte-identical OpenMetrics, blocks kept).
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApilogsCollector } from '../../exporters/apilogs/apilogs-collector.js';
import type { Snapshot } from '../../src/core/source.js';
import { JiraCollector } from '../../exporters/jira/jira-collector.js';
import { startFakeJira, type FakeJira } from '../../exporters/jira/simulator/fake-jira.js';
import { startFakeSonarqube, type FakeSonarqube } from '../../exporters/sonarqube/simulator/fake-sonarqube.js';
import { createSonarqubeClient, projectsFromConfig, SonarqubeCollector } from '../../exporters/sonarqube/sonarqube-collector.js';
import { testContext } from '../../exporters/testing/collect-context.js';
import { runBackfill, type BackfillResult } from '../../src/backfill/backfill-run.js';
import { OpenMetricsWriter } from '../../src/backfill/openmetrics-writer.js';
import { BackfillProgress } from '../../src/backfill/progress-bar.js';
import { SeriesTimeline } from '../../src/core/series-timeline.js';
import { ceilToStep, stepGrid } from '../../src/core/step-grid.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { KrEngine, type Evaluation } from '../../src/engine/engine.js';
import { Ledger } from '../../src/engine/ledger.js';
import { parsePeriodName } from '../../src/core/periods.js';
import { PrometheusClient } from '../../src/engine/prometheus-client.js';
import { requireBinary } from '../support/binaries.js';
import { createBlocks, startPrometheus, type PrometheusProcess } from '../support/prometheus-process.js';
import {
  accessLog,
  changeInstants,
  configYaml,
  jiraAt,
  JIRA_TOKEN,
  NOW,
  Q3_END,
  Q3_START,
  sonarAt,
  SONAR_TOKEN,
  writeArchivedLog,
} from './backfill-fixtures.js';
import { fixedClock, ManualClock } from '../../src/core/clock.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { apilogsPlugin } from '../../exporters/apilogs/plugin.js';
import { jiraPlugin } from '../../exporters/jira/plugin.js';
import { sonarqubePlugin } from '../../exporters/sonarqube/plugin.js';

const STEP = 300_000;
const TARGET = { job: 'okr-metrics', instance: 'okr-metrics:9797' };
const ENV = { JIRA_API_TOKEN: JIRA_TOKEN, SONAR_TOKEN };
const grid = stepGrid(Q3_START, Q3_END, STEP);

let dir: string;
let jira: FakeJira;
let sonar: FakeSonarqube;
let liveProm: PrometheusProcess;
let backProm: PrometheusProcess;
let loaded: LoadedConfig;
let liveOm: string;
let backfill: BackfillResult;
let ledger: Ledger;
let live: Evaluation;
let loadedBlocks: string[];
let back: Evaluation;

function silentProgress(): BackfillProgress {
  return new BackfillProgress({ stream: { write: () => true, isTTY: false }, intervalMs: 60_000 });
}

/** Drive the live collectors through the quarter and stamp what they serve at each grid instant. */
async function livePath(): Promise<string> {
  const tl = new SeriesTimeline(grid);
  const ctx = testContext();
  const liveDir = join(dir, 'live');
  mkdirSync(liveDir);
  const logFile = join(liveDir, 'access.log');
  writeFileSync(logFile, '');
  const liveLoaded = parseConfig(
    configYaml({ jiraUrl: jira.url, sonarUrl: sonar.url, logFile, stateDir: join(liveDir, 'state') }),
    join(liveDir, 'okrs.yaml'),
    { env: ENV },
  );
  const clock = new ManualClock(Q3_START);
  const o = { logger: silentLogger(), stateDir: join(liveDir, 'state'), clock };
  const jiraCollector = new JiraCollector(sourceDeps(liveLoaded, jiraPlugin, o));
  const sonarDeps = sourceDeps(liveLoaded, sonarqubePlugin, o);
  const sonarCollector = new SonarqubeCollector({ client: createSonarqubeClient(sonarDeps), ...projectsFromConfig(sonarDeps.settings, sonarDeps.teams) });
  const apilogs = new ApilogsCollector(sourceDeps(liveLoaded, apilogsPlugin, o));

  // Jira and SonarQube change only at these instants: collect right after each, hold until the next.
  const instants = [...new Set([grid.firstMs, ...changeInstants().map((t) => ceilToStep(t, STEP))])]
    .filter((t) => t >= grid.firstMs && t <= grid.lastMs)
    .sort((a, b) => a - b);
  for (let k = 0; k < instants.length; k++) {
    const t = instants[k]!;
    clock.set(t);
    jiraAt(t, jira.data);
    sonar.state.projects = sonarAt(t);
    const snap: Snapshot = [...(await jiraCollector.collect(ctx)), ...(await sonarCollector.collect(ctx))];
    tl.hold(t, k + 1 < instants.length ? instants[k + 1]! - STEP : grid.lastMs, snap);
  }

  // The access log is written as it happened: before each scrape, the lines dated up to it.
  const lines = accessLog();
  let next = 0;
  let written = 0;
  const firstStep = ceilToStep(lines[0]!.at, STEP);
  const lastStep = ceilToStep(lines.findLast((l) => l.at === l.at)!.at, STEP);
  await apilogs.collect(ctx); // starts following
  for (let t = firstStep; t <= lastStep; t += STEP) {
    let chunk = '';
    while (next < lines.length && !(lines[next]!.at > t)) chunk += `${lines[next++]!.text}\n`;
    if (chunk) appendFileSync(logFile, chunk);
    written += chunk.length;
    const c = apilogs.services[0]!;
    for (let i = 0; i < 100 && c.bytesRead < written; i++) apilogs.tailer.poll();
    expect(c.bytesRead).toBe(written);
    tl.record(t, await apilogs.collect(ctx));
  }
  await apilogs.close();
  await jiraCollector.close();

  const file = join(dir, 'live.om');
  const w = new OpenMetricsWriter(file);
  await w.timeline(tl, TARGET);
  await w.close();
  return file;
}

async function runBack(): Promise<BackfillResult> {
  return runBackfill({
    loaded,
    fromMs: Q3_START,
    toMs: Q3_END,
    stepMs: STEP,
    outDir: join(dir, 'out'),
    sources: ['jira', 'sonarqube', 'apilogs'],
    promtool: requireBinary('promtool'),
    logger: silentLogger(),
    progress: silentProgress(),
    targetLabels: TARGET,
    loadInto: join(dir, 'back-data'),
    ledger,
    clock: fixedClock(NOW),
  });
}

function krValues(ev: Evaluation) {
  return ev.objectives.flatMap((o) =>
    o.keyResults.map((k) => ({ id: k.id, value: k.value, baseline: k.baseline, status: k.status, progress: k.progress, trend: k.trend, problem: k.problem })),
  );
}

/** Sample lines of the named families in OpenMetrics files (the backfill writes one per month), sorted. */
function familyLines(files: string[], names: string[]): string[] {
  const wanted = new Set(names);
  return files
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .filter((l) => wanted.has(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''))
    .sort();
}

/** `value timestamp` of the latest sample of one series. */
function latest(lines: string[], series: string): string | undefined {
  const mine = lines.filter((l) => l.startsWith(`${series} `)).map((l) => l.slice(series.length + 1));
  return mine.sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1])).at(-1);
}

beforeAll(async () => {
  requireBinary('promtool');
  dir = mkdtempSync(join(tmpdir(), 'okr-backfill-'));
  jira = await startFakeJira(jiraAt(Q3_START));
  sonar = await startFakeSonarqube({ token: SONAR_TOKEN, projects: sonarAt(Q3_START) });

  liveOm = await livePath();

  // The backfill sees today's sources: every sprint, incident and analysis so far, and the archived log.
  jiraAt(NOW, jira.data);
  sonar.state.projects = sonarAt(NOW);
  const logFile = writeArchivedLog(join(dir, 'archive'));
  loaded = parseConfig(configYaml({ jiraUrl: jira.url, sonarUrl: sonar.url, logFile, stateDir: join(dir, 'state') }), join(dir, 'okrs.yaml'), { env: ENV });
  ledger = new Ledger(join(dir, 'ledger.sqlite'));
  backfill = await runBack();

  const liveData = join(dir, 'live-data');
  await createBlocks(liveOm, liveData);
  const backData = join(dir, 'back-data'); // filled by the backfill (loadInto)
  // Listed before Prometheus starts: it may compact the blocks into others once running.
  loadedBlocks = readdirSync(backData)
    .filter((d) => /^[0-9A-Z]{26}$/.test(d))
    .sort();
  [liveProm, backProm] = await Promise.all([startPrometheus({ dataDir: liveData }), startPrometheus({ dataDir: backData })]);

  const q3 = parsePeriodName('2026-Q3')!;
  const evaluate = (p: PrometheusProcess) =>
    new KrEngine({ loaded, prom: new PrometheusClient(p.url), clock: fixedClock(Q3_END + 1800_000) }).evaluatePeriod(q3);
  [live, back] = await Promise.all([evaluate(liveProm), evaluate(backProm)]);
}, 120_000);

afterAll(async () => {
  ledger?.close();
  await Promise.all([liveProm?.stop(), backProm?.stop()]);
  await Promise.all([jira?.close(), sonar?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('backfill against the live path, 2026-Q3', () => {
  it('backfills every source into blocks', () => {
    expect(backfill.outcomes.map((o) => [o.source, o.status])).toEqual([
      ['jira', 'written'],
      ['sonarqube', 'written'],
      ['apilogs', 'written'],
    ]);
    // One OpenMetrics file per month; the log is only in August.
    expect(backfill.outcomes.map((o) => o.files.map((f) => f.slice(join(dir, 'out').length + 1)))).toEqual([
      ['jira/2026-07.om', 'jira/2026-08.om', 'jira/2026-09.om'],
      ['sonarqube/2026-07.om', 'sonarqube/2026-08.om', 'sonarqube/2026-09.om'],
      ['apilogs/2026-08.om'],
    ]);
    for (const o of backfill.outcomes) expect(readdirSync(o.blocksDir!).length).toBeGreaterThanOrEqual(o.files.length);
    // --load-into copied every block into the data directory the second Prometheus runs on.
    expect(loadedBlocks).toEqual(backfill.outcomes.flatMap((o) => readdirSync(o.blocksDir!)).sort());
  });

  it('gives the KR engine the same results as the live path, with the expected values', () => {
    const got = krValues(back);
    expect(got).toEqual(krValues(live));
    const v = Object.fromEntries(got.map((k) => [k.id, k]));
    expect(v.velocity!.value).toBeCloseTo(243 / 7, 9);
    expect(v['admin-points']!.value).toBe(63);
    expect(v.incidents!.value).toBe(2);
    expect(v.coverage!.value).toBeCloseTo(0.66, 9);
    expect(v.coverage!.baseline).toBeCloseTo(0.6, 9);
    // The outage (10:00–10:30, 70% 503s) makes six 5-minute slots fall under 50% availability.
    expect(v.downtime!.value).toBeGreaterThan(0);
    expect(v.availability!.value).toBeGreaterThan(0.9);
    expect(v.availability!.value).toBeLessThan(0.99);
    expect(v.latency!.value).toBeGreaterThan(0);
    for (const k of got) expect(k.problem).toBeUndefined();
  });

  it('writes the same samples as the live path for the series the measures read', () => {
    const back = (s: string) => backfill.outcomes.find((o) => o.source === s)!.files;
    const live = [liveOm];
    const api = [
      'api_requests_total',
      'api_request_duration_seconds_bucket',
      'api_request_duration_seconds_sum',
      'api_request_duration_seconds_count',
      'api_log_lines_total',
      'api_log_read_bytes_total',
      'api_routes_overflow_total',
    ];
    const apiLines = familyLines(back('apilogs'), api);
    expect(apiLines.length).toBeGreaterThan(1000);
    expect(apiLines).toEqual(familyLines(live, api));
    // Garbage lines are counted as malformed, never dropped (one every 401 lines).
    const garbage = accessLog().filter((l) => Number.isNaN(l.at)).length;
    expect(garbage).toBe(21);
    expect(latest(apiLines, 'api_log_lines_total{job="okr-metrics",instance="okr-metrics:9797",service="topups-api",result="malformed"}')).toBe(
      `${garbage} ${Date.parse('2026-08-20T14:00:00Z') / 1000}`,
    );

    const jiraFamilies = [
      'jira_sprint_completed_story_points_total',
      'jira_sprint_committed_story_points_total',
      'jira_sprints_closed_total',
      'jira_sprint_complete_timestamp_seconds',
      'jira_query_issues',
      'jira_query_story_points',
    ];
    const jiraLines = familyLines(back('jira'), jiraFamilies);
    expect(jiraLines).toEqual(familyLines(live, jiraFamilies));
    expect(latest(jiraLines, 'jira_sprints_closed_total{job="okr-metrics",instance="okr-metrics:9797",board="Platform",team="platform"}')).toBe(
      `8 ${grid.lastMs / 1000}`,
    );

    const sonarFamilies = [
      'sonarqube_coverage_ratio',
      'sonarqube_issues',
      'sonarqube_lines_of_code',
      'sonarqube_quality_gate_passed',
      'sonarqube_last_analysis_timestamp_seconds',
      'sonarqube_projects_skipped',
    ];
    expect(familyLines(back('sonarqube'), sonarFamilies)).toEqual(familyLines(live, sonarFamilies));
  }, 120_000); // compares every sample of both files: slow on a loaded machine

  it('records each source in the ledger', () => {
    expect(ledger.backfills().map((b) => [b.source, b.from_ms, b.to_ms])).toEqual([
      ['apilogs', grid.firstMs, grid.lastMs],
      ['jira', grid.firstMs, grid.lastMs],
      ['sonarqube', grid.firstMs, grid.lastMs],
    ]);
  });

  it('changes nothing when run again: same OpenMetrics bytes, same blocks, no source asked again', async () => {
    const read = (files: string[]) => Buffer.concat(files.map((f) => readFileSync(f)));
    const before = Object.fromEntries(backfill.outcomes.map((o) => [o.source, { om: read(o.files), blocks: readdirSync(o.blocksDir!) }]));
    const jiraRequests = jira.requests.length;
    const again = await runBack();
    expect(again.outcomes.map((o) => o.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    for (const o of again.outcomes) {
      expect(read(o.files).equals(before[o.source]!.om)).toBe(true);
      expect(readdirSync(o.blocksDir!)).toEqual(before[o.source]!.blocks);
    }
    expect(jira.requests.length).toBe(jiraRequests);
  });
});
