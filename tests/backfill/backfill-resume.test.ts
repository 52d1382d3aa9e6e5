/**
 * Outages and reruns: a source failing mid-backfill is reported with what to fix while the
 * others finish; the rerun redoes only the failed source, and Jira resumes from the sprints it
 * had already read. Archived-log edge cases: lines outside [from, to) and undated garbage.
 * No Prometheus here (OpenMetrics only); the acceptance test loads blocks.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { requireBinary } from '../support/binaries.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeJira, type FakeJira } from '../../exporters/jira/simulator/fake-jira.js';
import { startFakeSonarqube, type FakeSonarqube } from '../../exporters/sonarqube/simulator/fake-sonarqube.js';
import { backfillApilogs } from '../../exporters/apilogs/backfill.js';
import { loadManifest } from '../../src/backfill/backfill-manifest.js';
import { runBackfill, type BackfillOptions, type BackfillResult } from '../../src/backfill/backfill-run.js';
import { BackfillProgress } from '../../src/backfill/progress-bar.js';
import { SeriesTimeline } from '../../src/core/series-timeline.js';
import { stepGrid } from '../../src/core/step-grid.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { Ledger } from '../../src/engine/ledger.js';
import { configYaml, jiraAt, JIRA_TOKEN, NOW, Q3_END, Q3_START, sonarAt, SONAR_TOKEN, writeArchivedLog } from './backfill-fixtures.js';
import { fixedClock } from '../../src/core/clock.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { apilogsPlugin } from '../../exporters/apilogs/plugin.js';

const ENV = { JIRA_API_TOKEN: JIRA_TOKEN, SONAR_TOKEN };
let dir: string;
let jira: FakeJira;
let sonar: FakeSonarqube;
let loaded: LoadedConfig;
let ledger: Ledger;
const progressOut: string[] = [];

function run(extra: { force?: boolean; promtool?: string | null; sources?: BackfillOptions['sources'] } = {}): Promise<BackfillResult> {
  return runBackfill({
    loaded,
    fromMs: Q3_START,
    toMs: Q3_END,
    stepMs: 300_000,
    outDir: join(dir, 'out'),
    sources: ['jira', 'sonarqube', 'apilogs'],
    promtool: null,
    logger: silentLogger(),
    progress: new BackfillProgress({ stream: { write: (s: string) => progressOut.push(s) > 0, isTTY: false }, intervalMs: 60_000 }),
    ledger,
    clock: fixedClock(NOW),
    ...extra,
  });
}

const velocityCalls = (board: number) =>
  jira.requests.filter((r) => r.path.includes('/charts/velocity') && r.query.get('rapidViewId') === String(board)).length;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-backfill-resume-'));
  jira = await startFakeJira(jiraAt(NOW));
  sonar = await startFakeSonarqube({ token: SONAR_TOKEN, projects: sonarAt(NOW) });
  const logFile = writeArchivedLog(join(dir, 'archive'));
  loaded = parseConfig(configYaml({ jiraUrl: jira.url, sonarUrl: sonar.url, logFile, stateDir: join(dir, 'state') }), join(dir, 'okrs.yaml'), { env: ENV });
  ledger = new Ledger(join(dir, 'ledger.sqlite'));
});

afterAll(async () => {
  ledger?.close();
  await Promise.all([jira?.close(), sonar?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an outage mid-backfill', () => {
  let first: BackfillResult;

  it('reports the failed sources with what to fix and finishes the others', async () => {
    sonar.state.failing = { 'topups-api': 403 };
    jira.data.failures = [{ path: /^\/rest\/agile\/1\.0\/board\/2\/sprint$/, status: 403, times: 1 }];
    first = await run();
    const by = Object.fromEntries(first.outcomes.map((o) => [o.source, o]));
    expect(by.apilogs!.status).toBe('written');
    expect(by.jira!.status).toBe('failed');
    expect(by.jira!.message).toMatch(/^jira: 1 board\(s\) could not be read: GET \/rest\/agile\/1\.0\/board\/2\/sprint answered 403: /);
    expect(by.jira!.message).toContain(
      `run the same command again: finished sources are skipped, and sprints already read are kept in ${join(dir, 'out', 'state', 'jira')}`,
    );
    expect(by.sonarqube!.status).toBe('failed');
    expect(by.sonarqube!.message).toMatch(/^sonarqube: project topups-api: /);
    expect(Object.keys(loadManifest(join(dir, 'out')).sources)).toEqual(['apilogs']);
    expect(ledger.backfills().map((b) => b.source)).toEqual(['apilogs']);
    expect(velocityCalls(1)).toBe(1);
    expect(progressOut.join('')).toMatch(/^jira +0% .*FAILED$/m);
  });

  it('redoes only the failed sources once they are back; Jira reads only the board it missed', async () => {
    delete sonar.state.failing;
    const apilogsBefore = readFileSync(join(dir, 'out', 'apilogs', '2026-08.om'));
    const again = await run();
    expect(again.outcomes.map((o) => [o.source, o.status])).toEqual([
      ['jira', 'written'],
      ['sonarqube', 'written'],
      ['apilogs', 'unchanged'],
    ]);
    expect(readFileSync(join(dir, 'out', 'apilogs', '2026-08.om')).equals(apilogsBefore)).toBe(true);
    // Board 1's closed sprints came from the backfill's sprint cache: its velocity chart was not read again.
    expect(velocityCalls(1)).toBe(1);
    expect(velocityCalls(2)).toBe(1);
    expect(ledger.backfills().map((b) => b.source)).toEqual(['apilogs', 'jira', 'sonarqube']);
    expect(readFileSync(join(dir, 'out', 'jira', '2026-09.om'), 'utf8')).toContain(
      `jira_sprint_completed_story_points_total{board="Admin",team="backoffice"} 63 ${(Q3_END - 300_000) / 1000}`,
    );
  });
});

describe('--force', () => {
  it('rebuilds finished sources, to the same bytes when the sources have not changed', async () => {
    const files = ['jira/2026-09.om', 'sonarqube/2026-09.om', 'apilogs/2026-08.om'].map((f) => join(dir, 'out', f));
    const before = files.map((f) => readFileSync(f));
    const requests = jira.requests.length;
    const again = await run({ force: true });
    expect(again.outcomes.map((o) => o.status)).toEqual(['written', 'written', 'written']);
    expect(jira.requests.length).toBeGreaterThan(requests);
    files.forEach((f, i) => expect(readFileSync(f).equals(before[i]!)).toBe(true));
  });
});

describe('promtool failing', () => {
  it('keeps the OpenMetrics files, and the rerun only makes the blocks', async () => {
    // Rebuilt (--force), then promtool fails: the rebuilt files are recorded all the same.
    const failed = await run({ sources: ['apilogs'], promtool: '/bin/false', force: true });
    expect(failed.outcomes[0]!.status).toBe('failed');
    expect(failed.outcomes[0]!.message).toMatch(/^promtool tsdb create-blocks-from openmetrics .*2026-08\.om failed \(exit 1\)/);
    const fixed = await run({ sources: ['apilogs'], promtool: requireBinary('promtool') });
    expect(fixed.outcomes[0]!.status).toBe('unchanged');
    expect(readdirSync(fixed.outcomes[0]!.blocksDir!).length).toBeGreaterThan(0);
  });
});

describe('archived logs', () => {
  it('leaves out lines before --from and from --to on, and counts undated garbage where it sits', async () => {
    const file = join(dir, 'edge.log');
    const line = (stamp: string, code = 200) => `10.0.0.1 - - [${stamp} +0000] "GET /v1/topups/1 HTTP/1.1" ${code} 10 "-" "t" 0.100\n`;
    writeFileSync(
      file,
      line('20/Aug/2026:07:59:59') + // before --from: left out
        line('20/Aug/2026:08:00:00') + // counted at 08:00
        'not a log line at all\n' + // garbage, dated 08:00 by the line before
        line('20/Aug/2026:08:04:10', 503) + // counted at 08:05
        line('20/Aug/2026:08:12:00') + // counted at 08:15; 08:10 repeats 08:05
        line('20/Aug/2026:08:20:00'), // at --to: left out (live exporter's)
    );
    const from = Date.parse('2026-08-20T08:00:00Z');
    const to = Date.parse('2026-08-20T08:20:00Z');
    const tl = new SeriesTimeline(stepGrid(from, to, 300_000));
    const progress = new BackfillProgress({ stream: { write: () => true }, intervalMs: 60_000 }).source('apilogs');
    const deps = sourceDeps(loaded, apilogsPlugin, { stateDir: dir, clock: fixedClock(to), logger: silentLogger() });
    const ctx = { signal: new AbortController().signal, logger: silentLogger(), countRequest: () => undefined };
    const stats = await backfillApilogs({ ...deps, timeline: tl, range: { fromMs: from, toMs: to }, collect: ctx, progress, files: { 'topups-api': [file] } });
    expect(stats).toEqual({ files: 1, lines: 6, outOfRange: 2, malformed: 1 });
    const series = Object.fromEntries(tl.sorted().map((s) => [`${s.name}{${s.labels}}`, [...s.runs.subarray(0, s.count * 3)]]));
    const t = (hhmm: string) => Date.parse(`2026-08-20T${hhmm}:00Z`);
    expect(series['api_requests_total{service="topups-api",route="/v1/topups/:id",method="GET",code="200"}']).toEqual([
      t('08:00'),
      t('08:10'),
      1,
      t('08:15'),
      t('08:15'),
      2,
    ]);
    expect(series['api_requests_total{service="topups-api",route="/v1/topups/:id",method="GET",code="503"}']).toEqual([t('08:05'), t('08:15'), 1]);
    expect(series['api_log_lines_total{service="topups-api",result="malformed"}']).toEqual([t('08:00'), t('08:15'), 1]);
  });
});
