/**
 * The demo's Bitbucket Cloud workspace `reloadly`: repositories topups-api and admin-portal of
 * okrs.example.yaml with pull requests, pipelines on main and a Code Insights COVERAGE report
 * on main's head commit.
 *
 * History back to the start of the previous quarter is drawn day by day (a few merges a
 * weekday, cycle times from hours to days, now and then a declined pull request, one pipeline
 * per merge plus a nightly one, ~90 % successful, 2–15 min). Pull requests planned to merge
 * after `now` are the open ones. While the demo runs, tick() plays one event per repository
 * every 20–40 s of wall time: open, merge (new head commit, its pipeline and coverage report),
 * decline, or a re-run pipeline; running pipelines complete when their time comes.
 *
 * Deployments, environments and the commit graph behind the pull requests: demo-deployments.ts.
 */
import type { FakeCloudFixture, FakeCloudPipeline, FakeCloudPr, FakeCloudRepo, FakeCloudReport } from './fake-cloud-server.js';
import type { SimulationWorld } from '../../../src/core/simulation.js';
import { Random } from '../../../src/core/random.js';
import { demoDeployments, type DemoDeployments } from './demo-deployments.js';

export const DEMO_BITBUCKET_TOKEN = 'demo-bitbucket-token';
const DEMO_BITBUCKET_WORKSPACE = 'reloadly';

/** `fixture` is what startFakeCloud takes; tick() changes it in place. */
export interface DemoBitbucket {
  fixture: FakeCloudFixture;
  tick(nowMs: number): void;
}

interface RepoProfile {
  slug: string;
  project: string;
  /** First pull request id and build number of the history (real repositories are not new). */
  prBase: number;
  buildBase: number;
  weekdayMerges: [number, number];
  cycleMedianHours: number;
  declinePerDay: number;
  nightlyPerDay: number;
  /** Open pull requests tick() steers towards. */
  openTarget: number;
}

const PROFILES: readonly RepoProfile[] = [
  {
    slug: 'topups-api',
    project: 'TOP',
    prBase: 1200,
    buildBase: 3400,
    weekdayMerges: [2, 6],
    cycleMedianHours: 20,
    declinePerDay: 0.3,
    nightlyPerDay: 0.6,
    openTarget: 6,
  },
  {
    slug: 'admin-portal',
    project: 'ADM',
    prBase: 400,
    buildBase: 900,
    weekdayMerges: [1, 3],
    cycleMedianHours: 30,
    declinePerDay: 0.15,
    nightlyPerDay: 0.4,
    openTarget: 4,
  },
];

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Longest cycle time drawn: planned merges this far after `now` are today's open pull requests. */
const MAX_CYCLE_MS = 14 * DAY_MS;
const EVENT_GAP_MS: [number, number] = [20 * SECOND_MS, 40 * SECOND_MS];
/** A demo paused for longer than this resumes without replaying every missed event. */
const MAX_CATCH_UP_MS = 10 * MINUTE_MS;
/** Hard caps on top of dropping what is older than the previous quarter: a fast demo runs for days. */
const MAX_PULL_REQUESTS = 4000;
const MAX_PIPELINES = 6000;
const TRIM_EVERY_MS = 10 * MINUTE_MS;

const RESULTS: ReadonlyArray<readonly [string, number]> = [
  ['SUCCESSFUL', 90],
  ['FAILED', 6],
  ['STOPPED', 2],
  ['ERROR', 1.5],
  ['EXPIRED', 0.5],
];

function pipelineRun(rnd: Random, createdMs: number): { createdMs: number; completedMs: number; result: string } {
  const duration = Math.min(15 * MINUTE_MS, Math.max(2 * MINUTE_MS, rnd.logNormal(6 * MINUTE_MS, 0.45)));
  return { createdMs, completedMs: Math.round(createdMs + duration), result: rnd.weighted(RESULTS) };
}

interface Planned {
  pr: { createdMs: number; closeMs: number; state: 'MERGED' | 'DECLINED' }[];
  pipelines: Array<{ createdMs: number; completedMs: number; result: string }>;
}

/** Day `day`'s merges, declines and pipelines; drawn whole whatever `now` is, so the past stays put. */
function planDay(p: RepoProfile, seed: number, day: number): Planned {
  const rnd = Random.keyed(seed, 'bitbucket', p.slug, day);
  const weekday = [1, 2, 3, 4, 5].includes(new Date(day * DAY_MS).getUTCDay());
  const merges = weekday ? rnd.int(...p.weekdayMerges) : rnd.int(0, 1);
  const out: Planned = { pr: [], pipelines: [] };
  for (let i = 0; i < merges; i++) {
    const closeMs = Math.round(day * DAY_MS + rnd.between(8.5, 18.5) * HOUR_MS);
    const cycle = Math.min(MAX_CYCLE_MS, Math.max(15 * MINUTE_MS, rnd.logNormal(p.cycleMedianHours * HOUR_MS, 1)));
    out.pr.push({ createdMs: Math.round(closeMs - cycle), closeMs, state: 'MERGED' });
    out.pipelines.push(pipelineRun(rnd, Math.round(closeMs + rnd.between(10, 90) * SECOND_MS)));
  }
  if (rnd.chance(p.declinePerDay)) {
    const closeMs = Math.round(day * DAY_MS + rnd.between(9, 18) * HOUR_MS);
    const age = Math.min(MAX_CYCLE_MS, Math.max(HOUR_MS, rnd.logNormal(48 * HOUR_MS, 0.8)));
    out.pr.push({ createdMs: Math.round(closeMs - age), closeMs, state: 'DECLINED' });
  }
  if (rnd.chance(p.nightlyPerDay)) out.pipelines.push(pipelineRun(rnd, Math.round(day * DAY_MS + 2 * HOUR_MS + rnd.between(0, 10) * MINUTE_MS)));
  return out;
}

function coverageReport(slug: string, world: SimulationWorld, atMs: number, rnd: Random): FakeCloudReport {
  // The CI's line coverage runs a little above SonarQube's line-and-condition figure.
  const line = Math.min(99, world.coverage(slug, atMs) + 1.5 + rnd.between(-0.4, 0.4));
  const branch = Math.max(0, line - rnd.between(8, 12));
  const lines = slug === 'topups-api' ? 14_000 : 6_200;
  return {
    external_id: `${slug}-coverage`,
    title: 'Code coverage',
    report_type: 'COVERAGE',
    data: [
      { title: 'Line coverage', type: 'PERCENTAGE', value: Math.round(line * 10) / 10 },
      { title: 'Branch coverage', type: 'PERCENTAGE', value: Math.round(branch * 10) / 10 },
      { title: 'Lines to cover', type: 'NUMBER', value: lines },
    ],
  };
}

interface RepoRun {
  profile: RepoProfile;
  repo: FakeCloudRepo;
  nextPr: number;
  nextBuild: number;
  nextEventMs: number;
  merges: number;
  /** Open pull requests, oldest first (the same objects as in the fixture). */
  open: FakeCloudPr[];
  /** Running pipelines (the fixture's objects) with when they complete and how. */
  running: Map<FakeCloudPipeline, { completedMs: number; result: string }>;
  /** Trimming scans every list: once every TRIM_EVERY_MS of demo time is enough. */
  trimmedMs: number;
  deploys: DemoDeployments;
}

export function demoBitbucket(nowMs: number, world: SimulationWorld, seed = 1): DemoBitbucket {
  const from = world.quarter(nowMs).previous.start;
  const firstDay = Math.floor(from / DAY_MS);
  const lastDay = Math.floor((nowMs + MAX_CYCLE_MS) / DAY_MS);
  const rnd = Random.keyed(seed, 'bitbucket-tick', nowMs);

  const runs: RepoRun[] = PROFILES.map((p) => {
    const prs: Planned['pr'] = [];
    const pipes: Planned['pipelines'] = [];
    for (let day = firstDay; day <= lastDay; day++) {
      const planned = planDay(p, seed, day);
      prs.push(...planned.pr);
      pipes.push(...planned.pipelines);
    }
    // Open now = created by now, closing later; ids and build numbers follow creation order.
    const pullRequests: FakeCloudPr[] = prs
      .filter((x) => x.createdMs <= nowMs)
      .sort((a, b) => a.createdMs - b.createdMs)
      .map((x, i) =>
        x.closeMs <= nowMs
          ? { id: p.prBase + i, state: x.state, createdMs: x.createdMs, updatedMs: x.closeMs }
          : { id: p.prBase + i, state: 'OPEN', createdMs: x.createdMs, updatedMs: x.createdMs },
      );
    const running: RepoRun['running'] = new Map();
    const pipelines: FakeCloudPipeline[] = pipes
      .filter((x) => x.createdMs <= nowMs)
      .sort((a, b) => a.createdMs - b.createdMs)
      .map((x, i) => {
        const buildNumber = p.buildBase + i;
        if (x.completedMs <= nowMs) return { buildNumber, createdMs: x.createdMs, completedMs: x.completedMs, result: x.result };
        const pipeline = { buildNumber, createdMs: x.createdMs };
        running.set(pipeline, { completedMs: x.completedMs, result: x.result });
        return pipeline;
      });
    const merges = pullRequests.filter((x) => x.state === 'MERGED').length;
    const deploys = demoDeployments(p.slug, seed, pullRequests, from, nowMs);
    const head = deploys.head;
    const lastMerge = pullRequests.findLast((x) => x.state === 'MERGED')?.updatedMs ?? nowMs;
    const repo: FakeCloudRepo = {
      slug: p.slug,
      project: p.project,
      mainbranch: 'main',
      pullRequests: deploys.pullRequests,
      pipelines,
      branches: { main: head },
      reports: { [head]: [coverageReport(p.slug, world, lastMerge, Random.keyed(seed, 'report', p.slug, merges))] },
      deploy: deploys.data,
    };
    return {
      deploys,
      profile: p,
      repo,
      nextPr: p.prBase + pullRequests.length,
      nextBuild: p.buildBase + pipelines.length,
      nextEventMs: nowMs + rnd.between(0.2, 1) * EVENT_GAP_MS[0],
      merges,
      open: deploys.pullRequests.filter((x) => x.state === 'OPEN'),
      running,
      trimmedMs: nowMs,
    };
  });

  const startPipeline = (r: RepoRun, atMs: number) => {
    const run = pipelineRun(rnd, atMs);
    const pipeline = { buildNumber: r.nextBuild++, createdMs: atMs };
    r.repo.pipelines.push(pipeline);
    r.running.set(pipeline, { completedMs: run.completedMs, result: run.result });
  };

  const event = (r: RepoRun, atMs: number) => {
    const open = r.open;
    const target = r.profile.openTarget;
    const kind =
      open.length <= target - 2
        ? 'open'
        : open.length >= target + 2
          ? 'merge'
          : rnd.weighted([
              ['open', 42],
              ['merge', 42],
              ['decline', 6],
              ['rerun', 10],
            ] as const);
    if (kind === 'open' || open.length === 0) {
      const pr: FakeCloudPr = { id: r.nextPr++, state: 'OPEN', createdMs: atMs, updatedMs: atMs };
      r.deploys.opened(pr, atMs);
      r.repo.pullRequests.push(pr);
      open.push(pr);
      return;
    }
    if (kind === 'rerun') return startPipeline(r, atMs);
    // The oldest open pull request usually goes first: cycle times of hours to days.
    const pr = open.splice(rnd.chance(0.6) ? 0 : rnd.int(0, open.length - 1), 1)[0]!;
    pr.state = kind === 'merge' ? 'MERGED' : 'DECLINED';
    pr.updatedMs = atMs;
    if (kind !== 'merge') return;
    r.merges++;
    const head = r.deploys.merged(pr, atMs);
    r.repo.branches.main = head;
    // Only the head commit's reports are ever read.
    r.repo.reports = { [head]: [coverageReport(r.profile.slug, world, atMs, rnd)] };
    startPipeline(r, atMs);
  };

  return {
    fixture: { workspace: DEMO_BITBUCKET_WORKSPACE, authorization: `Bearer ${DEMO_BITBUCKET_TOKEN}`, repos: runs.map((r) => r.repo) },
    tick(tickMs: number) {
      for (const r of runs) {
        let at = Math.max(r.nextEventMs, tickMs - MAX_CATCH_UP_MS);
        for (; at <= tickMs; at += rnd.between(...EVENT_GAP_MS)) event(r, Math.round(at));
        r.nextEventMs = at;
        r.deploys.tick(tickMs);
        for (const [p, done] of r.running) {
          if (done.completedMs > tickMs) continue;
          p.completedMs = done.completedMs;
          p.result = done.result;
          r.running.delete(p);
        }
        const full = r.repo.pullRequests.length > MAX_PULL_REQUESTS || r.repo.pipelines.length > MAX_PIPELINES;
        if (full || tickMs - r.trimmedMs >= TRIM_EVERY_MS) trim(r, tickMs, world);
      }
    },
  };
}

/**
 * Drop what closed or completed before the previous quarter and, over a cap, the oldest down to
 * 90 % of it (so that a full list is not scanned again on every tick).
 */
function trim(r: RepoRun, nowMs: number, world: SimulationWorld): void {
  r.trimmedMs = nowMs;
  const from = world.quarter(nowMs).previous.start;
  let prs = r.repo.pullRequests.filter((x) => x.state === 'OPEN' || x.updatedMs >= from);
  if (prs.length > MAX_PULL_REQUESTS) {
    // Listed in creation order: the first closed ones are the oldest.
    let excess = prs.length - Math.floor(MAX_PULL_REQUESTS * 0.9);
    prs = prs.filter((x) => x.state === 'OPEN' || excess-- <= 0);
  }
  if (prs.length !== r.repo.pullRequests.length) r.repo.pullRequests = prs;
  let pipes = r.repo.pipelines.filter((x) => x.completedMs === undefined || x.createdMs >= from);
  if (pipes.length > MAX_PIPELINES) pipes = pipes.filter((x, i) => x.completedMs === undefined || i >= pipes.length - Math.floor(MAX_PIPELINES * 0.9));
  if (pipes.length !== r.repo.pipelines.length) r.repo.pipelines = pipes;
  r.deploys.trim(from);
}
