/**
 * Bitbucket backfill against the live collector: a fake Bitbucket Cloud whose pull requests
 * merge and pipelines finish through a week; the live BitbucketCollector collects at each
 * change (as its 10-minute refreshes would), stamped on the 5-minute grid, and the backfill
 * reads the week afterwards. The counters and histograms must be the same samples.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitbucketCollector } from '../../exporters/bitbucket/bitbucket-collector.js';
import { startFakeCloud, type FakeCloud, type FakeCloudFixture } from '../../exporters/bitbucket/simulator/fake-cloud-server.js';
import { testContext } from '../../exporters/testing/collect-context.js';
import { runBackfill, type BackfillResult } from '../../src/backfill/backfill-run.js';
import { OpenMetricsWriter } from '../../src/backfill/openmetrics-writer.js';
import { BackfillProgress } from '../../src/backfill/progress-bar.js';
import { SeriesTimeline } from '../../src/core/series-timeline.js';
import { ceilToStep, stepGrid } from '../../src/core/step-grid.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { fixedClock, ManualClock } from '../../src/core/clock.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { bitbucketPlugin } from '../../exporters/bitbucket/plugin.js';

const EMAIL = 'bot@example.com';
const TOKEN = 'bb-token-backfill';
const AUTH = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`;
const FROM = Date.parse('2026-09-01T00:00:00Z');
const TO = Date.parse('2026-09-08T00:00:00Z');
const STEP = 300_000;
const H = 3600_000;

/** 12 pull requests merging every 12 h (cycle 2 h, 30 h, 5 d), one merged before FROM; 6 pipelines, one still running at TO. */
const PRS = [
  { id: 1, opened: FROM - 30 * H, merged: FROM - 2 * H },
  ...Array.from({ length: 12 }, (_, i) => ({
    id: i + 2,
    opened: FROM + (i + 1) * 12 * H - [2, 30, 120][i % 3]! * H,
    merged: FROM + (i + 1) * 12 * H + 17_000,
  })),
];
const PIPELINES = [
  { buildNumber: 1, created: FROM + 1 * H, completed: FROM + 1 * H + 90_000, result: 'SUCCESSFUL' },
  { buildNumber: 2, created: FROM + 20 * H, completed: FROM + 22 * H, result: 'FAILED' },
  { buildNumber: 3, created: FROM + 21 * H, completed: FROM + 21 * H + 400_000, result: 'SUCCESSFUL' }, // finishes before 2
  { buildNumber: 4, created: FROM + 50 * H, completed: FROM + 50 * H + 30_000, result: 'STOPPED' },
  { buildNumber: 5, created: FROM + 100 * H, completed: FROM + 100 * H + 1_000_000, result: 'ERROR' },
  { buildNumber: 6, created: TO - H, completed: TO + H, result: 'SUCCESSFUL' },
];

function fixtureAt(at: number): FakeCloudFixture {
  return {
    workspace: 'acme',
    authorization: AUTH,
    repos: [
      {
        slug: 'api',
        mainbranch: 'main',
        pullRequests: PRS.filter((p) => p.opened <= at).map((p) => ({
          id: p.id,
          state: p.merged <= at ? ('MERGED' as const) : ('OPEN' as const),
          createdMs: p.opened,
          updatedMs: Math.min(p.merged, at),
        })),
        pipelines: PIPELINES.filter((p) => p.created <= at).map((p) =>
          p.completed <= at
            ? { buildNumber: p.buildNumber, createdMs: p.created, completedMs: p.completed, result: p.result }
            : { buildNumber: p.buildNumber, createdMs: p.created },
        ),
        branches: { main: 'aaa111' },
        reports: {},
      },
    ],
  };
}

const yaml = (url: string) => `version: okr/v1
teams:
  platform:
    repos: [api]
sources:
  bitbucket:
    workspace: acme
    url: ${url}/2.0
    email: ${EMAIL}
    api_token: \${BB_TOKEN}
    repositories: [api]
    code_insights: false
    backfill: 1s
objectives: []
`;

const FAMILIES = [
  'bitbucket_pull_requests_merged_total',
  'bitbucket_pull_request_cycle_time_seconds_bucket',
  'bitbucket_pull_request_cycle_time_seconds_sum',
  'bitbucket_pull_request_cycle_time_seconds_count',
  'bitbucket_pipelines_total',
  'bitbucket_pipeline_duration_seconds_bucket',
  'bitbucket_pipeline_duration_seconds_sum',
  'bitbucket_pipeline_duration_seconds_count',
];

function familyLines(file: string): string[] {
  const wanted = new Set(FAMILIES);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => wanted.has(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''));
}

let dir: string;
let fake: FakeCloud;
let loaded: LoadedConfig;
let liveOm: string;
let result: BackfillResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-backfill-bb-'));
  fake = await startFakeCloud(fixtureAt(FROM));
  loaded = parseConfig(yaml(fake.url), join(dir, 'okrs.yaml'), { env: { BB_TOKEN: TOKEN } });

  // Live: the collector starts counting at FROM and refreshes after every change.
  const grid = stepGrid(FROM, TO, STEP);
  const tl = new SeriesTimeline(grid);
  const clock = new ManualClock(grid.firstMs);
  const live = createBitbucketCollector(sourceDeps(loaded, bitbucketPlugin, { logger: silentLogger(), stateDir: join(dir, 'live-state'), clock }));
  const instants = [...new Set([grid.firstMs, ...PRS.map((p) => p.merged), ...PIPELINES.map((p) => p.completed)].map((t) => ceilToStep(t, STEP)))]
    .filter((t) => t >= grid.firstMs && t <= grid.lastMs)
    .sort((a, b) => a - b);
  for (let k = 0; k < instants.length; k++) {
    const now = instants[k]!;
    clock.set(now);
    fake.fixture.repos = fixtureAt(now).repos;
    tl.hold(now, k + 1 < instants.length ? instants[k + 1]! - STEP : grid.lastMs, await live.collect(testContext()));
  }
  liveOm = join(dir, 'live.om');
  const w = new OpenMetricsWriter(liveOm);
  await w.timeline(tl);
  await w.close();

  fake.fixture.repos = fixtureAt(TO + 10 * H).repos;
  result = await runBackfill({
    loaded,
    fromMs: FROM,
    toMs: TO,
    stepMs: STEP,
    outDir: join(dir, 'out'),
    sources: ['bitbucket'],
    promtool: null,
    logger: silentLogger(),
    progress: new BackfillProgress({ stream: { write: () => true }, intervalMs: 60_000 }),
    // The backfill runs after the range, as the fixture's last state says.
    clock: fixedClock(TO + 10 * H),
  });
});

afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Bitbucket backfill', () => {
  it("writes the live collector's counters and histograms, sample for sample", () => {
    expect(result.outcomes.map((o) => [o.source, o.status])).toEqual([['bitbucket', 'written']]);
    const back = familyLines(join(dir, 'out', 'bitbucket', '2026-09.om'));
    expect(back).toEqual(familyLines(liveOm));
    const last = (prefix: string) =>
      back
        .filter((l) => l.startsWith(prefix))
        .at(-1)
        ?.replace(/ \d+$/, '');
    // 12 merged in the week (the one before FROM is not counted); cycle times 2 h ×4, 30 h ×4, 5 d ×4.
    expect(last('bitbucket_pull_requests_merged_total{repo="api",team="platform"}')).toBe(
      'bitbucket_pull_requests_merged_total{repo="api",team="platform"} 12',
    );
    expect(last('bitbucket_pull_request_cycle_time_seconds_bucket{repo="api",team="platform",le="14400"}')).toMatch(/ 4$/);
    expect(last('bitbucket_pull_request_cycle_time_seconds_bucket{repo="api",team="platform",le="172800"}')).toMatch(/ 8$/);
    // Build 6 finishes after TO: not counted. Build 3 finished before 2 and both count.
    expect(last('bitbucket_pipelines_total{repo="api",team="platform",result="successful"}')).toMatch(/ 2$/);
    expect(last('bitbucket_pipelines_total{repo="api",team="platform",result="failed"}')).toMatch(/ 1$/);
    expect(last('bitbucket_pipelines_total{repo="api",team="platform",result="error"}')).toMatch(/ 1$/);
  });
});
