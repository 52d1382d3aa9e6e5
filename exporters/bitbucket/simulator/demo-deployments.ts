/**
 * The demo's deployments (demo-data.ts builds the rest of the workspace): environments Test,
 * Staging and Production per repository, a commit graph behind the pull requests, and
 * deployments drawn day by day. topups-api ships to production twice a weekday (late morning,
 * late afternoon), admin-portal every other weekday; staging gets each release half an hour
 * before. About 5% of production deployments fail (retried within the hour), 3% are rolled
 * back within two hours (the earlier release redeployed), the rest succeed. While the demo runs,
 * each repository deploys its main branch to production every few minutes of wall time, with
 * the same chances, after a first deployment that fails and its retry.
 */
import { Random } from '../../../src/core/random.js';
import type { FakeCloudCommit, FakeCloudDeployment, FakeCloudDeploymentData, FakeCloudEnvironment } from './fake-cloud-deployments.js';
import type { FakeCloudPr } from './fake-cloud-server.js';
import { buildRepoHistory, commitHash, type HistoryDeployment, type HistoryPullRequest } from './deployment-history.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Wall time between production deployments of one repository while the demo runs. */
const LIVE_GAP_MS: [number, number] = [3 * MINUTE_MS, 6 * MINUTE_MS];
/** A demo paused for longer than this resumes without replaying every missed deployment. */
const MAX_CATCH_UP_MS = 30 * MINUTE_MS;

export interface DeployProfile {
  /** Production deployment windows on a weekday (hours UTC), each taken with `chance`. */
  windows: number[];
  chance: number;
}

export const DEPLOY_PROFILES: Record<string, DeployProfile> = {
  'topups-api': { windows: [11, 16], chance: 0.95 },
  'admin-portal': { windows: [14], chance: 0.5 },
};

export function environmentsOf(slug: string): FakeCloudEnvironment[] {
  return (['Test', 'Staging', 'Production'] as const).map((type) => ({
    uuid: `{${commitHash(slug, 'env', type).slice(0, 8)}-0000-4000-8000-${type.toLowerCase().padEnd(12, '0')}}`,
    name: type,
    type,
  }));
}

const OUTCOMES = [
  ['ok', 92],
  ['failed', 5],
  ['rolled_back', 3],
] as const;

/** A pull request's commits: one to three, from a little before it was opened until just before it closed. */
export function prCommitTimes(seed: number, slug: string, id: number, createdMs: number, closeMs: number | undefined, nowMs: number): number[] {
  const rnd = Random.keyed(seed, 'pr-commits', slug, id);
  const first = createdMs - rnd.between(0.2, 6) * HOUR_MS;
  const last = Math.max(first, Math.min(closeMs ?? nowMs, nowMs) - rnd.between(1, 20) * MINUTE_MS);
  const n = rnd.int(1, 3);
  return Array.from({ length: n }, (_, i) => Math.round(n === 1 ? first : first + ((last - first) * i) / (n - 1))).filter((t) => t <= nowMs);
}

/** Day `day`'s deployments of a repository: production windows (failures retried, rollbacks), staging before each. */
function planDay(slug: string, p: DeployProfile, seed: number, day: number, env: Record<'Staging' | 'Production', string>): HistoryDeployment[] {
  const rnd = Random.keyed(seed, 'deploy', slug, day);
  if (![1, 2, 3, 4, 5].includes(new Date(day * DAY_MS).getUTCDay())) return [];
  const out: HistoryDeployment[] = [];
  p.windows.forEach((hour, w) => {
    if (!rnd.chance(p.chance)) return;
    const start = Math.round(day * DAY_MS + (hour + rnd.between(-1, 1)) * HOUR_MS);
    const minutes = (lo: number, hi: number) => Math.round(rnd.between(lo, hi) * MINUTE_MS);
    const id = (what: string) => `{${commitHash(slug, 'deployment', day, w, what).slice(0, 8)}-0000-4000-9000-${String(day).padStart(12, '0')}}`;
    out.push({ uuid: id('staging'), environmentUuid: env.Staging, startedMs: start - 30 * MINUTE_MS, completedMs: start - 30 * MINUTE_MS + minutes(2, 6) });
    const outcome = rnd.weighted(OUTCOMES);
    const done = start + minutes(3, 8);
    if (outcome === 'failed') {
      out.push({ uuid: id('failed'), environmentUuid: env.Production, startedMs: start, completedMs: done, status: 'FAILED' });
      const retry = done + minutes(15, 50);
      out.push({ uuid: id('retry'), environmentUuid: env.Production, startedMs: retry, completedMs: retry + minutes(3, 8) });
      return;
    }
    out.push({ uuid: id('prod'), environmentUuid: env.Production, startedMs: start, completedMs: done });
    if (outcome === 'rolled_back') {
      const back = done + minutes(30, 120);
      out.push({ uuid: id('rollback'), environmentUuid: env.Production, startedMs: back, completedMs: back + minutes(2, 5), releaseOf: 'previous' });
    }
  });
  return out;
}

export interface DemoDeployments {
  data: FakeCloudDeploymentData;
  /** Pull requests with their commits and merge commits (the same ids, states and times as given). */
  pullRequests: FakeCloudPr[];
  head: string;
  /** A pull request was opened now: its first commit. */
  opened(pr: FakeCloudPr, atMs: number): void;
  /** A pull request was merged now: its merge commit, main's new head. */
  merged(pr: FakeCloudPr, atMs: number): string;
  tick(nowMs: number): void;
  /** Drop what completed before `fromMs` (the commits stay: the graph needs them). */
  trim(fromMs: number): void;
}

/**
 * The deployments of a repository whose pull requests are `prs` (as planned by demo-data.ts), from
 * `fromMs` to `nowMs`; the releases shipped are main's head when each deployment starts.
 */
export function demoDeployments(slug: string, seed: number, prs: FakeCloudPr[], fromMs: number, nowMs: number): DemoDeployments {
  const environments = environmentsOf(slug);
  const env = { Staging: environments[1]!.uuid, Production: environments[2]!.uuid };
  const profile = DEPLOY_PROFILES[slug] ?? { windows: [12], chance: 0.5 };
  const planned: HistoryDeployment[] = [];
  for (let day = Math.floor(fromMs / DAY_MS); day <= Math.floor(nowMs / DAY_MS); day++) planned.push(...planDay(slug, profile, seed, day, env));
  // A rollback redeploys the production release before the one it undoes.
  const prod = planned.filter((d) => d.environmentUuid === env.Production).sort((a, b) => a.startedMs - b.startedMs);
  const deployments = planned
    .filter((d) => d.startedMs <= nowMs)
    .map((d) => {
      if (d.releaseOf !== 'previous') return d.completedMs !== undefined && d.completedMs > nowMs ? { ...d, completedMs: undefined } : d;
      const before = prod.filter((x) => x.startedMs < d.startedMs && x.releaseOf === undefined && x.status !== 'FAILED');
      const previous = before[before.length - 2];
      return previous ? { ...d, releaseOf: previous.uuid } : { ...d, releaseOf: undefined };
    })
    .map((d) => (d.completedMs !== undefined && d.completedMs > nowMs ? { ...d, completedMs: undefined } : d));
  const history: HistoryPullRequest[] = prs.map((p) => ({
    id: p.id,
    commitsMs: prCommitTimes(seed, slug, p.id, p.createdMs, p.state === 'OPEN' ? undefined : p.updatedMs, nowMs),
    createdMs: p.createdMs,
    ...(p.state === 'MERGED' ? { mergedMs: p.updatedMs } : p.state === 'DECLINED' || p.state === 'SUPERSEDED' ? { declinedMs: p.updatedMs } : {}),
  }));
  const built = buildRepoHistory({ slug, initialMs: fromMs - 30 * DAY_MS, pullRequests: history, directCommitsMs: [], environments, deployments });
  const data = built.deploy;
  let head = built.head;
  const byHash = new Map(data.commits.map((c) => [c.hash, c]));
  const add = (c: FakeCloudCommit) => {
    data.commits.push(c);
    byHash.set(c.hash, c);
  };
  const rnd = Random.keyed(seed, 'deploy-tick', slug, nowMs);
  let nextMs = nowMs + rnd.between(5, 15) * 1000;
  let live = 0;
  const running: Array<{ d: FakeCloudDeployment; completedMs: number; status: 'SUCCESSFUL' | 'FAILED' }> = [];
  const lastRelease = () => {
    const done = data.deployments
      .filter((d) => d.environmentUuid === env.Production && d.state === 'COMPLETED' && d.status === 'SUCCESSFUL')
      .sort((a, b) => (a.completedMs ?? 0) - (b.completedMs ?? 0));
    return done.slice(-2).map((d) => d.commit);
  };
  const deploy = (atMs: number, commit: string, status: 'SUCCESSFUL' | 'FAILED', seconds: [number, number] = [40, 100]) => {
    const d: FakeCloudDeployment = {
      uuid: `{${commitHash(slug, 'live', live++).slice(0, 8)}-0000-4000-a000-${String(live).padStart(12, '0')}}`,
      environmentUuid: env.Production,
      state: 'IN_PROGRESS',
      startedMs: atMs,
      commit,
    };
    data.deployments.push(d);
    running.push({ d, completedMs: atMs + Math.round(rnd.between(...seconds) * 1000), status });
  };
  return {
    data,
    pullRequests: built.pullRequests,
    head,
    opened(pr, atMs) {
      const hash = commitHash(slug, 'pr', pr.id, 0);
      if (!byHash.has(hash)) add({ hash, dateMs: atMs, parents: [head] });
      pr.commits = [hash];
    },
    merged(pr, atMs) {
      const last = pr.commits?.[pr.commits.length - 1] ?? head;
      const hash = commitHash(slug, 'merge', pr.id);
      add({ hash, dateMs: atMs, parents: [head, last] });
      pr.mergeCommit = hash;
      head = hash;
      this.head = head;
      return hash;
    },
    tick(tickMs) {
      for (const r of [...running]) {
        if (r.completedMs > tickMs) continue;
        r.d.state = 'COMPLETED';
        r.d.status = r.status;
        r.d.completedMs = r.completedMs;
        running.splice(running.indexOf(r), 1);
      }
      let at = Math.max(nextMs, tickMs - MAX_CATCH_UP_MS);
      while (at <= tickMs) {
        // Counting starts when serve starts: the first live deployment fails within seconds and is
        // retried at once, so the running demo has a change failure at once (and its recovery once
        // the list is complete past the retry, ten minutes later).
        if (live < 2) {
          deploy(at, head, live === 0 ? 'FAILED' : 'SUCCESSFUL', [20, 40]);
          at += rnd.between(40, 60) * 1000;
          continue;
        }
        const outcome = rnd.weighted(OUTCOMES);
        const [previous] = lastRelease();
        if (outcome === 'rolled_back' && previous !== undefined) deploy(at, previous, 'SUCCESSFUL');
        else deploy(at, head, outcome === 'failed' ? 'FAILED' : 'SUCCESSFUL');
        at += rnd.between(...LIVE_GAP_MS);
      }
      nextMs = at;
    },
    trim(fromMs) {
      data.deployments = data.deployments.filter((d) => d.state !== 'COMPLETED' || (d.completedMs ?? 0) >= fromMs);
    },
  };
}
