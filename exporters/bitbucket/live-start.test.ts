/**
 * Where live counting starts: a repository's first refresh counts nothing that finished before
 * it (the 90 days before are context), only what happens from then on; so a backfill's history
 * joined by the live series is counted once by increase(). The expectations are computed from
 * the fake's raw records and a plain reset-aware increase written here, not with the collector.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BITBUCKET_METRICS as M, BITBUCKET_PIPELINE_RESULTS } from './metrics.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { depsFor, sampleValue, tempStateDir } from './testing/bitbucket-test-kit.js';
import { startFakeCloud, type FakeCloud, type FakeCloudPipeline, type FakeCloudPr } from './simulator/fake-cloud-server.js';
import { testContext } from '../testing/collect-context.js';
import { runBackfill } from '../../src/backfill/backfill-run.js';
import { BackfillProgress } from '../../src/backfill/progress-bar.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { fixedClock, ManualClock } from '../../src/core/clock.js';
import type { Snapshot } from '../../src/core/source.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const NOW = Date.parse('2026-11-25T12:00:00Z');
/** The backfill starts before the live context (90 days), as a year's history would. */
const FROM = NOW - 120 * D;
const TOKEN = 'bb-live-start-token';
const LABELS = { repo: 'api', team: 'platform' };

/** Raw history: a merge every 11 h and a pipeline every 13 h over the 130 days before NOW. */
interface RawPr {
  id: number;
  opened: number;
  merged: number;
}
interface RawRun {
  build: number;
  created: number;
  completed?: number;
  result?: string;
}
function history(): { prs: RawPr[]; runs: RawRun[] } {
  const prs: RawPr[] = [];
  for (let t = NOW - 130 * D + 17_000, id = 1; t < NOW; t += 11 * H, id++) prs.push({ id, opened: t - (id % 5) * 3 * H, merged: t });
  const runs: RawRun[] = [];
  for (let t = NOW - 130 * D + 29_000, b = 1; t < NOW - H; t += 13 * H, b++)
    runs.push({ build: b, created: t, completed: t + (b % 7) * MIN, result: b % 4 === 0 ? 'FAILED' : 'SUCCESSFUL' });
  // Running at the first refresh: it completes after, and counts then.
  runs.push({ build: runs.length + 1, created: NOW - 5 * MIN });
  return { prs, runs };
}

function toFake(prs: RawPr[], runs: RawRun[], updated: Map<number, number> = new Map()): { pullRequests: FakeCloudPr[]; pipelines: FakeCloudPipeline[] } {
  return {
    // Cloud's updated_on is the merge time the collector reads, until a later comment moves it.
    pullRequests: prs.map((p) => ({ id: p.id, state: 'MERGED', createdMs: p.opened, updatedMs: updated.get(p.id) ?? p.merged })),
    pipelines: runs.map((r) =>
      r.completed !== undefined
        ? { buildNumber: r.build, createdMs: r.created, completedMs: r.completed, result: r.result! }
        : { buildNumber: r.build, createdMs: r.created },
    ),
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
    access_token: \${BB_TOKEN}
    repositories: [api]
    code_insights: false
objectives: []
`;

const pipelinesTotal = (snap: Snapshot) =>
  BITBUCKET_PIPELINE_RESULTS.reduce((n, result) => n + (sampleValue(snap, M.pipelines, { ...LABELS, result }) ?? 0), 0);

/** Prometheus' increase() without its extrapolation: a drop is a reset, counted from 0. */
function increase(values: number[]): number {
  let n = 0;
  for (let i = 1; i < values.length; i++) n += values[i]! >= values[i - 1]! ? values[i]! - values[i - 1]! : values[i]!;
  return n;
}

/** The backfill's samples of one series, [ms, value], oldest first (OpenMetrics: `name{labels} value seconds`). */
function backfillSamples(dir: string, series: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const f of readdirSync(dir).sort())
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (!line.startsWith(`${series} `)) continue;
      const [, value, ts] = line.split(' ');
      out.push([Number(ts) * 1000, Number(value)]);
    }
  return out.sort((a, b) => a[0] - b[0]);
}

describe("Bitbucket live counting starts at a repository's first refresh", () => {
  let fake: FakeCloud;
  let state: ReturnType<typeof tempStateDir>;

  beforeEach(async () => {
    const { prs, runs } = history();
    fake = await startFakeCloud({
      workspace: 'acme',
      authorization: `Bearer ${TOKEN}`,
      repos: [{ slug: 'api', mainbranch: 'main', ...toFake(prs, runs), branches: { main: 'aaa111' }, reports: {} }],
    });
    state = tempStateDir();
  });
  afterEach(async () => {
    await fake.close();
    state.remove();
  });

  it('counts nothing of the 90 days before, then exactly what merges and completes; a backfill joined by the live series is counted once', async () => {
    const { prs, runs } = history();
    expect(prs.filter((p) => p.merged > NOW - 90 * D).length).toBeGreaterThan(150);

    // The history first, as `okr-metrics backfill --from FROM` run at NOW writes it.
    const outDir = join(state.dir, 'backfill');
    const result = await runBackfill({
      loaded: parseConfig(yaml(fake.url), join(state.dir, 'okrs.yaml'), { env: { BB_TOKEN: TOKEN } }),
      fromMs: FROM,
      toMs: NOW,
      stepMs: H,
      outDir,
      sources: ['bitbucket'],
      promtool: null,
      logger: silentLogger(),
      progress: new BackfillProgress({ stream: { write: () => true }, intervalMs: 60_000 }),
      clock: fixedClock(NOW),
    });
    expect(result.outcomes.map((o) => [o.source, o.status])).toEqual([['bitbucket', 'written']]);

    // serve starts at NOW: nothing that finished before is counted.
    const clock = new ManualClock(NOW);
    const collector = createBitbucketCollector(depsFor(yaml(fake.url), { BB_TOKEN: TOKEN }, state.dir, clock), {
      random: () => 0,
      sleep: async (ms) => clock.advance(ms),
    });
    const first = await collector.collect(testContext());
    expect(sampleValue(first, M.prsMerged, LABELS)).toBe(0);
    expect(sampleValue(first, M.prCycleTime, LABELS, '_count')).toBe(0);
    expect(pipelinesTotal(first)).toBe(0);
    expect(sampleValue(first, M.pipelineDuration, LABELS, '_count')).toBe(0);

    // Then one pull request merges, the build running at the start and a new one complete, and
    // a comment moves an old merged pull request's updated_on (Cloud's merge-time proxy).
    const merged = { id: prs.length + 1, opened: NOW - 2 * H, merged: NOW + 3 * MIN };
    const running = runs.at(-1)!;
    const after: RawRun[] = [
      ...runs.slice(0, -1),
      { ...running, completed: NOW + 4 * MIN, result: 'FAILED' },
      { build: running.build + 1, created: NOW + MIN, completed: NOW + 6 * MIN, result: 'SUCCESSFUL' },
    ];
    const allPrs = [...prs, merged];
    const commented = prs.at(-20)!.id;
    fake.fixture.repos[0] = { ...fake.fixture.repos[0]!, ...toFake(allPrs, after, new Map([[commented, NOW + 2 * MIN]])) };
    delete fake.fixture.repos[0].updatedMs;
    clock.set(NOW + 10 * MIN);
    const second = await collector.collect(testContext());

    // Expected from the raw records: what merged or completed in (NOW, NOW + 10 min].
    const inLive = (t: number | undefined) => t !== undefined && t > NOW && t <= NOW + 10 * MIN;
    expect(sampleValue(second, M.prsMerged, LABELS)).toBe(allPrs.filter((p) => inLive(p.merged)).length);
    expect(sampleValue(second, M.prsMerged, LABELS)).toBe(1);
    expect(sampleValue(second, M.prCycleTime, LABELS, '_sum')).toBe((merged.merged - merged.opened) / 1000);
    expect(pipelinesTotal(second)).toBe(after.filter((r) => inLive(r.completed)).length);
    expect(pipelinesTotal(second)).toBe(2);
    expect(sampleValue(second, M.pipelines, { ...LABELS, result: 'failed' })).toBe(1);
    expect(sampleValue(second, M.pipelineDuration, LABELS, '_sum')).toBe((4 + 5 + 5) * 60);

    // The join: the backfill's samples, then the live scrapes (just after each refresh).
    const join_ = (series: string, live: (s: Snapshot) => number) => [
      ...backfillSamples(join(outDir, 'bitbucket'), series),
      [NOW + 30_000, live(first)] as [number, number],
      [NOW + 10 * MIN + 30_000, live(second)] as [number, number],
    ];
    const prSeries = join_(`${M.prsMerged}{repo="api",team="platform"}`, (s) => sampleValue(s, M.prsMerged, LABELS)!);
    expect(prSeries.at(-3)![1]).toBe(prs.filter((p) => p.merged >= FROM && p.merged <= NOW).length);
    for (const windowStart of [FROM, NOW - 30 * D, NOW - 7 * D, NOW - H]) {
      const inWindow = prSeries.filter(([t]) => t >= windowStart);
      const [startMs] = inWindow[0]!;
      // increase() over [start, end] counts what merged after the window's first sample.
      expect(increase(inWindow.map(([, v]) => v)), `merged since ${new Date(startMs).toISOString()}`).toBe(
        allPrs.filter((p) => p.merged > startMs && p.merged <= NOW + 10 * MIN).length,
      );
    }
    const pipelineWindows = BITBUCKET_PIPELINE_RESULTS.map((result) =>
      join_(`${M.pipelines}{repo="api",team="platform",result="${result}"}`, (s) => sampleValue(s, M.pipelines, { ...LABELS, result }) ?? 0).filter(
        ([t]) => t >= NOW - 7 * D,
      ),
    );
    const start = pipelineWindows[0]![0]![0];
    expect(pipelineWindows.reduce((n, s) => n + increase(s.map(([, v]) => v)), 0)).toBe(
      after.filter((r) => r.completed !== undefined && r.completed > start && r.completed <= NOW + 10 * MIN).length,
    );
  });
});
