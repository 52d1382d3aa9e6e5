/**
 * A delivery history with known answers, 2026-Q2 and 2026-Q3, for the DORA truth test: the raw
 * events (deployments, pull requests, incidents, posted CI events) and, for each deployment, its
 * fate as worked out by hand (failed, rolled back, followed by an incident, or nothing). The fakes
 * are built from these facts; the expected figures are computed from them here, with none of the
 * delivery source's code and no PromQL.
 *
 * topups-api deploys from Bitbucket Cloud every Monday and Thursday at 10:00 (done 10:05), one
 * pull request merged before each. Special cases:
 *   2026-05-04 fails, retried at 10:45 (recovered in 45 min);
 *   2026-05-14 rolled back at 13:05 (recovered in 3h05m);
 *   2026-06-08 followed by incident OPS-1 five hours later (resolved after 2 h);
 *   2026-06-14 (a Sunday) incident OPS-2, three days after the last deployment: no change failure;
 *   2026-06-30 extra deployments at 12:00 and 20:00; incident OPS-3 opened 22:00, resolved the
 *     next quarter (2026-07-01 03:00): the 20:05 deployment failed in Q2, its recovery (5 h)
 *     counts in Q3, and the 12:05 one settles "no failure" in Q3 (its day ends there);
 *   2026-08-06 fails and is not retried: recovered by the next deployment, 2026-08-10 (96 h);
 *   2026-09-03 followed by incident OPS-4 (18:00, resolved 06:00 the next day: 12 h).
 * admin-portal's CI posts its deployments: every Wednesday at 14:00 (done 14:10), the event of
 * 2026-05-20 posted twice (a retry), 2026-07-15 failed and succeeded at 16:10.
 * Nothing happens in the last hour of a quarter: the hourly samples see an event at the next
 * hour, so such an event would count in the next quarter (docs/okr-file.md).
 */
import { LEAD_TIME_BUCKETS, RECOVERY_TIME_BUCKETS } from '../../exporters/delivery/metrics.js';
import type { HistoryDeployment, HistoryPullRequest, RepoHistory } from '../../exporters/bitbucket/simulator/deployment-history.js';
import type { FakeIssue } from '../../exporters/jira/simulator/fake-jira.js';

export const M = 60_000;
export const H = 60 * M;
export const D = 24 * H;
export const Q2 = { name: '2026-Q2', start: Date.parse('2026-04-01T00:00:00Z'), end: Date.parse('2026-07-01T00:00:00Z') };
export const Q3 = { name: '2026-Q3', start: Date.parse('2026-07-01T00:00:00Z'), end: Date.parse('2026-10-01T00:00:00Z') };
export const HISTORY_FROM = Date.parse('2026-03-15T00:00:00Z');
export const HISTORY_TO = Date.parse('2026-10-01T02:00:00Z');
export const WINDOW_MS = D;
export const INCIDENT_JQL = 'project = OPS AND issuetype = Incident';
const PROD = '{prod-env}';
const STAGING = '{staging-env}';

export type Fate = { kind: 'none' } | { kind: 'failed' } | { kind: 'rolled_back'; atMs: number } | { kind: 'incident'; createdMs: number; resolvedMs: number };

export interface PlannedDeployment {
  id: string;
  service: 'topups-api' | 'admin-portal';
  startMs: number;
  finishMs: number;
  status: 'successful' | 'failed';
  rollback: boolean;
  /** What happened to it, by hand (rollbacks have none: they are no change). */
  fate?: Fate;
  /** Recovery of a failure: when and how long. */
  recovery?: { atMs: number; ms: number };
}

export interface PlannedChange {
  service: 'topups-api' | 'admin-portal';
  key: string;
  firstCommitMs: number;
  pullRequestMs: number;
  /** Merged into main (topups-api) or listed in the event (admin-portal). */
  mergedMs: number;
  /** The successful deployment (not a rollback) that first ships it, and when it finished. */
  deployedMs?: number;
}

export interface PlannedIncident {
  key: string;
  createdMs: number;
  resolvedMs: number;
}

const at = (iso: string) => Date.parse(iso);

function days(from: string, to: string, weekdays: number[]): number[] {
  const out: number[] = [];
  for (let t = at(`${from}T00:00:00Z`); t <= at(`${to}T00:00:00Z`); t += D) if (weekdays.includes(new Date(t).getUTCDay())) out.push(t);
  return out;
}

export interface DoraHistory {
  deployments: PlannedDeployment[];
  changes: PlannedChange[];
  incidents: PlannedIncident[];
  bitbucket: RepoHistory;
  /** admin-portal's events as posted, the retried one twice. */
  events: Array<Record<string, unknown>>;
  jiraIssues: FakeIssue[];
}

export function doraHistory(): DoraHistory {
  const deployments: PlannedDeployment[] = [];
  const changes: PlannedChange[] = [];
  const prs: HistoryPullRequest[] = [];
  const bbDeployments: HistoryDeployment[] = [];

  // topups-api: Mondays and Thursdays, from a context deployment before the history begins.
  const starts = [
    at('2026-03-09T10:00:00Z'),
    ...days('2026-03-16', '2026-09-28', [1, 4]).map((d) => d + 10 * H),
    at('2026-06-30T12:00:00Z'),
    at('2026-06-30T20:00:00Z'),
  ].sort((a, b) => a - b);
  let k = 0;
  let previousRelease: string | undefined;
  let lastRelease: string | undefined;
  const push = (d: PlannedDeployment, releaseOf?: string) => {
    deployments.push(d);
    bbDeployments.push({
      uuid: d.id,
      environmentUuid: PROD,
      startedMs: d.startMs,
      completedMs: d.finishMs,
      status: d.status === 'failed' ? 'FAILED' : 'SUCCESSFUL',
      ...(releaseOf ? { releaseOf } : {}),
      viaPipeline: k % 3 === 0,
    });
  };
  for (const start of starts) {
    k++;
    // One pull request merged an hour before each deployment (but the context one): first commit 6-30 h before it, opened an hour after that.
    if (k > 1) {
      const first = start - (6 + 6 * (k % 5)) * H;
      prs.push({ id: k, commitsMs: [first, first + 30 * M], createdMs: first + H, mergedMs: start - H });
      changes.push({ service: 'topups-api', key: `pr:${k}`, firstCommitMs: first, pullRequestMs: first + H, mergedMs: start - H });
    }
    const id = `{topups-${k}}`;
    const day = new Date(start).toISOString().slice(0, 10);
    const d: PlannedDeployment = {
      id,
      service: 'topups-api',
      startMs: start,
      finishMs: start + 5 * M,
      status: 'successful',
      rollback: false,
      fate: { kind: 'none' },
    };
    if (day === '2026-05-04') {
      d.status = 'failed';
      d.fate = { kind: 'failed' };
      d.recovery = { atMs: start + 50 * M, ms: 45 * M };
      push(d);
      push({
        id: `{topups-${k}-retry}`,
        service: 'topups-api',
        startMs: start + 45 * M,
        finishMs: start + 50 * M,
        status: 'successful',
        rollback: false,
        fate: { kind: 'none' },
      });
      previousRelease = lastRelease;
      lastRelease = `{topups-${k}-retry}`;
      continue;
    }
    if (day === '2026-08-06') {
      d.status = 'failed';
      d.fate = { kind: 'failed' };
      const next = at('2026-08-10T10:05:00Z');
      d.recovery = { atMs: next, ms: next - d.finishMs };
      push(d);
      continue;
    }
    if (day === '2026-05-14') {
      const back = start + 3 * H + 5 * M;
      d.fate = { kind: 'rolled_back', atMs: back + 5 * M };
      d.recovery = { atMs: back + 5 * M, ms: back + 5 * M - d.finishMs };
      push(d);
      push({ id: `{topups-${k}-rollback}`, service: 'topups-api', startMs: back, finishMs: back + 5 * M, status: 'successful', rollback: true }, lastRelease);
      previousRelease = lastRelease;
      continue;
    }
    if (day === '2026-06-08') d.fate = { kind: 'incident', createdMs: d.finishMs + 5 * H, resolvedMs: d.finishMs + 7 * H };
    if (start === at('2026-06-30T20:00:00Z')) d.fate = { kind: 'incident', createdMs: at('2026-06-30T22:00:00Z'), resolvedMs: at('2026-07-01T03:00:00Z') };
    if (day === '2026-09-03') d.fate = { kind: 'incident', createdMs: at('2026-09-03T18:00:00Z'), resolvedMs: at('2026-09-04T06:00:00Z') };
    if (d.fate?.kind === 'incident') d.recovery = { atMs: d.fate.resolvedMs, ms: d.fate.resolvedMs - d.fate.createdMs };
    push(d);
    previousRelease = lastRelease;
    lastRelease = id;
  }
  void previousRelease;
  const incidents: PlannedIncident[] = [
    ...deployments.flatMap((d) => (d.fate?.kind === 'incident' ? [{ key: '', createdMs: d.fate.createdMs, resolvedMs: d.fate.resolvedMs }] : [])),
    { key: '', createdMs: at('2026-06-14T12:00:00Z'), resolvedMs: at('2026-06-14T13:00:00Z') },
  ]
    .sort((a, b) => a.createdMs - b.createdMs)
    .map((i, n) => ({ ...i, key: `OPS-${n + 1}` }));

  // admin-portal: one event a Wednesday, one change each (first commit 30 h before, pull request 20 h before).
  const events: Array<Record<string, unknown>> = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  days('2026-04-01', '2026-09-30', [3]).forEach((dayMs, i) => {
    const start = dayMs + 14 * H;
    const finish = start + 10 * M;
    const failed = iso(dayMs).startsWith('2026-07-15');
    const key = `admin-${i + 1}`;
    const success = failed ? finish + 2 * H : finish;
    if (failed) {
      deployments.push({
        id: `${key}-failed`,
        service: 'admin-portal',
        startMs: start,
        finishMs: finish,
        status: 'failed',
        rollback: false,
        fate: { kind: 'failed' },
        recovery: { atMs: success, ms: success - finish },
      });
      events.push({ id: `${key}-failed`, service: 'admin-portal', environment: 'production', status: 'failed', finished_at: iso(finish), changes: [] });
    }
    deployments.push({
      id: key,
      service: 'admin-portal',
      startMs: success - 10 * M,
      finishMs: success,
      status: 'successful',
      rollback: false,
      fate: { kind: 'none' },
    });
    changes.push({ service: 'admin-portal', key, firstCommitMs: success - 30 * H, pullRequestMs: success - 20 * H, mergedMs: success - H });
    const event = {
      id: key,
      service: 'admin-portal',
      environment: 'production',
      status: 'successful',
      finished_at: iso(success),
      changes: [{ id: key, first_commit_at: iso(success - 30 * H), pull_request_created_at: iso(success - 20 * H) }],
    };
    events.push(event);
    if (iso(dayMs).startsWith('2026-05-20')) events.push(event); // the CI retried the post
  });

  // Each change is first shipped by the next successful deployment (not a rollback) of its service after its merge.
  for (const c of changes) {
    const ships = deployments
      .filter((d) => d.service === c.service && d.status === 'successful' && !d.rollback && d.startMs > c.mergedMs)
      .sort((a, b) => a.finishMs - b.finishMs)[0];
    if (ships) c.deployedMs = ships.finishMs;
  }

  const jiraTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
  return {
    deployments,
    changes,
    incidents,
    bitbucket: {
      slug: 'topups-api',
      initialMs: at('2026-01-01T00:00:00Z'),
      pullRequests: prs,
      directCommitsMs: [],
      environments: [
        { uuid: STAGING, name: 'Staging', type: 'Staging' },
        { uuid: PROD, name: 'Production', type: 'Production' },
      ],
      deployments: [
        ...bbDeployments,
        { uuid: '{staging-1}', environmentUuid: STAGING, startedMs: at('2026-05-05T09:00:00Z'), completedMs: at('2026-05-05T09:05:00Z') },
      ],
    },
    events,
    jiraIssues: incidents.map((i) => ({
      id: i.key.slice(4),
      key: i.key,
      fields: { summary: `Incident ${i.key}`, issuetype: { name: 'Incident' }, created: jiraTime(i.createdMs), resolutiondate: jiraTime(i.resolvedMs) },
      sprints: [],
    })),
  };
}

const inQuarter = (ms: number, q: { start: number; end: number }) => ms > q.start && ms <= q.end - H;

/** Prometheus' histogram_quantile over buckets holding `values` (its documented linear interpolation), computed here. */
export function bucketQuantile(q: number, bounds: readonly number[], values: number[]): number {
  const counts = bounds.map((b) => values.filter((v) => v <= b).length);
  const total = values.length;
  const rank = q * total;
  const i = counts.findIndex((c) => c >= rank);
  if (i === -1) return bounds[bounds.length - 1]!;
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  const below = i === 0 ? 0 : counts[i - 1]!;
  return lower + ((bounds[i]! - lower) * (rank - below)) / (counts[i]! - below);
}

export interface Expected {
  /** Successful production deployments (rollbacks aside) in the quarter, and per day. */
  deployments: number;
  perDay: number;
  /** Lead times (seconds) of the changes first shipped in the quarter, from the first commit and from the pull request. */
  leadFirstCommit: number[];
  leadPullRequest: number[];
  /** Deployments (rollbacks aside) settled in the quarter, and those that led to a failure. */
  settled: number;
  failures: number;
  /** Recovery times (seconds) observed in the quarter. */
  recoveries: number[];
}

export function expected(h: DoraHistory, service: PlannedDeployment['service'], q: { start: number; end: number }): Expected {
  const mine = h.deployments.filter((d) => d.service === service);
  const deployments = mine.filter((d) => d.status === 'successful' && !d.rollback && inQuarter(d.finishMs, q)).length;
  const shipped = h.changes.filter((c) => c.service === service && c.deployedMs !== undefined && inQuarter(c.deployedMs, q));
  const settleAt = (d: PlannedDeployment) => {
    const f = d.fate!;
    if (f.kind === 'none') return d.finishMs + WINDOW_MS;
    if (f.kind === 'failed') return d.finishMs;
    if (f.kind === 'rolled_back') return f.atMs;
    return f.createdMs;
  };
  const settledHere = mine.filter((d) => d.fate !== undefined && inQuarter(settleAt(d), q));
  return {
    deployments,
    perDay: deployments / ((q.end - q.start) / D),
    leadFirstCommit: shipped.map((c) => (c.deployedMs! - c.firstCommitMs) / 1000),
    leadPullRequest: shipped.map((c) => (c.deployedMs! - c.pullRequestMs) / 1000),
    settled: settledHere.length,
    failures: settledHere.filter((d) => d.fate!.kind !== 'none').length,
    recoveries: mine.filter((d) => d.recovery && inQuarter(d.recovery.atMs, q)).map((d) => d.recovery!.ms / 1000),
  };
}

export { LEAD_TIME_BUCKETS, RECOVERY_TIME_BUCKETS };
