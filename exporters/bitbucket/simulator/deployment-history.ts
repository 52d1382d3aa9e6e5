/**
 * A repository's delivery history as the fake Bitbucket Cloud serves it, built from plain facts:
 * pull requests (their commits, opening, merge), commits pushed to main without one, and
 * deployments (when, where, how they ended, or which earlier deployment's release they put back).
 * Main's history is a chain of merge commits and direct commits; a pull request branches from
 * main as it is at its first commit; a deployment ships main's head as it is when it starts (its
 * own commit, or the one of the pipeline it ran in). The demo and the tests describe histories
 * this way and read the expected figures off the same facts.
 */
import { hashSeed } from '../../../src/core/random.js';
import type { FakeCloudPipeline, FakeCloudPr } from './fake-cloud-server.js';
import type { FakeCloudCommit, FakeCloudDeployment, FakeCloudDeploymentData, FakeCloudEnvironment } from './fake-cloud-deployments.js';

export interface HistoryPullRequest {
  id: number;
  /** Its commits' times, oldest first. */
  commitsMs: number[];
  createdMs: number;
  /** Absent: still open (or declined, with `declinedMs`). */
  mergedMs?: number;
  declinedMs?: number;
  /** Merged as one new commit on main (its own commits stay off main): the pull request's commits must be listed. */
  squash?: boolean;
}

export interface HistoryDeployment {
  uuid: string;
  environmentUuid: string;
  startedMs: number;
  /** Absent: still running. */
  completedMs?: number;
  status?: 'SUCCESSFUL' | 'FAILED' | 'STOPPED';
  /** Put back the release of this earlier deployment (a rollback, or a redeploy). */
  releaseOf?: string;
  /** The commit is only on the pipeline the deployment ran in (release.commit absent). */
  viaPipeline?: boolean;
}

export interface RepoHistory {
  slug: string;
  /** The repository's first commit. */
  initialMs: number;
  pullRequests: HistoryPullRequest[];
  directCommitsMs: number[];
  environments: FakeCloudEnvironment[];
  deployments: HistoryDeployment[];
  /** First build number of the deployment pipelines. */
  buildBase?: number;
}

export interface BuiltHistory {
  pullRequests: FakeCloudPr[];
  pipelines: FakeCloudPipeline[];
  deploy: FakeCloudDeploymentData;
  /** Main's head commit after everything. */
  head: string;
  /** The commit each deployment shipped, by uuid. */
  shipped: Map<string, string>;
  /** Main's commit hash for each direct commit, in `directCommitsMs` order; each merged pull request's merge commit, by id. */
  directCommits: string[];
  mergeCommits: Map<number, string>;
}

/** A 40-hex-digit commit hash that depends only on what it is given. */
export function commitHash(...parts: Array<string | number>): string {
  let out = '';
  for (let i = 0; out.length < 40; i++)
    out += hashSeed(...parts, i)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, 40);
}

/** The uuid the fake gives the pipeline with this build number. */
export function pipelineUuid(buildNumber: number): string {
  return `{00000000-0000-4000-8000-${String(buildNumber).padStart(12, '0')}}`;
}

export function buildRepoHistory(h: RepoHistory): BuiltHistory {
  const commits: FakeCloudCommit[] = [];
  const initial = commitHash(h.slug, 'initial');
  commits.push({ hash: initial, dateMs: h.initialMs, parents: [] });
  // Main's head over time: [time, commit], in time order.
  const main: Array<[number, string]> = [[h.initialMs, initial]];
  const headAt = (ms: number) => {
    let head = initial;
    for (const [t, c] of main) if (t <= ms) head = c;
    return head;
  };
  const events: Array<{ atMs: number; apply: () => void }> = [];
  const directCommits: string[] = [];
  const mergeCommits = new Map<number, string>();
  h.directCommitsMs.forEach((at, i) =>
    events.push({
      atMs: at,
      apply: () => {
        const hash = commitHash(h.slug, 'direct', i);
        commits.push({ hash, dateMs: at, parents: [headAt(at)] });
        main.push([at, hash]);
        directCommits[i] = hash;
      },
    }),
  );
  const prs: FakeCloudPr[] = [];
  for (const pr of h.pullRequests) {
    const own = pr.commitsMs.map((_, i) => commitHash(h.slug, 'pr', pr.id, i));
    const fake: FakeCloudPr = {
      id: pr.id,
      state: pr.mergedMs !== undefined ? 'MERGED' : pr.declinedMs !== undefined ? 'DECLINED' : 'OPEN',
      createdMs: pr.createdMs,
      updatedMs: pr.mergedMs ?? pr.declinedMs ?? pr.createdMs,
      commits: own,
    };
    prs.push(fake);
    // The branch starts from main as it is at the first commit: applied in time order with the rest.
    events.push({
      atMs: pr.commitsMs[0] ?? pr.createdMs,
      apply: () => {
        let parent = headAt(pr.commitsMs[0] ?? pr.createdMs);
        pr.commitsMs.forEach((at, i) => {
          commits.push({ hash: own[i]!, dateMs: at, parents: [parent] });
          parent = own[i]!;
        });
      },
    });
    if (pr.mergedMs !== undefined) {
      const merged = pr.mergedMs;
      events.push({
        atMs: merged,
        apply: () => {
          const hash = commitHash(h.slug, 'merge', pr.id);
          commits.push({ hash, dateMs: merged, parents: pr.squash ? [headAt(merged)] : [headAt(merged), own[own.length - 1] ?? headAt(merged)] });
          main.push([merged, hash]);
          fake.mergeCommit = hash;
          mergeCommits.set(pr.id, hash);
        },
      });
    }
  }
  events.sort((a, b) => a.atMs - b.atMs);
  for (const e of events) e.apply();
  main.sort((a, b) => a[0] - b[0]);

  const shipped = new Map<string, string>();
  const pipelines: FakeCloudPipeline[] = [];
  const deployments: FakeCloudDeployment[] = [];
  let build = h.buildBase ?? 1;
  for (const d of [...h.deployments].sort((a, b) => a.startedMs - b.startedMs)) {
    const commit = d.releaseOf !== undefined ? shipped.get(d.releaseOf) : headAt(d.startedMs);
    if (commit === undefined) throw new Error(`deployment ${d.uuid}: releaseOf ${d.releaseOf} is not an earlier deployment`);
    shipped.set(d.uuid, commit);
    const buildNumber = build++;
    const status = d.status ?? 'SUCCESSFUL';
    pipelines.push({
      buildNumber,
      createdMs: d.startedMs,
      ...(d.completedMs !== undefined
        ? { completedMs: d.completedMs, result: status === 'SUCCESSFUL' ? 'SUCCESSFUL' : status === 'FAILED' ? 'FAILED' : 'STOPPED' }
        : {}),
      commit,
    });
    deployments.push({
      uuid: d.uuid,
      environmentUuid: d.environmentUuid,
      state: d.completedMs !== undefined ? 'COMPLETED' : 'IN_PROGRESS',
      ...(d.completedMs !== undefined ? { status, completedMs: d.completedMs } : {}),
      startedMs: d.startedMs,
      commit,
      pipelineUuid: pipelineUuid(buildNumber),
      ...(d.viaPipeline ? { releaseCommit: false } : {}),
    });
  }
  return {
    pullRequests: prs,
    pipelines,
    deploy: { environments: h.environments, deployments, commits },
    head: main[main.length - 1]![1],
    shipped,
    directCommits,
    mergeCommits,
  };
}
