/**
 * The demo's Jira Cloud: boards Platform, Admin and Metabase of okrs.example.yaml with two-week
 * sprints, and the four example JQL queries for the current and the previous quarter.
 *
 * Sprints sit on a fixed fortnight grid (Platform from Mondays, Admin and Metabase from
 * Wednesdays), so the sprint running at `now` is the active one, the next is future, and closed
 * sprints reach back past the start of the previous quarter (at least 13). Each closed sprint
 * has velocity-chart figures and a Sprint Report (the collector reads the chart for the last 12
 * and the reports beyond it): Platform completes about 61 points (55–75), Admin about 17 and
 * Metabase about 12.5 (≈ 195 a quarter together, a little under the 200 target), each
 * committing a little more than it completes. The active sprint's report is done in proportion
 * to the time elapsed, and tick() completes its issues (or adds some mid-sprint) every few
 * minutes of wall time per board, and rolls the sprints over when the fortnight ends.
 *
 * Queries: no security incident this quarter (one last quarter); improvement areas (4 planned),
 * blog posts (3) and show-and-tells (6, late in the quarter: a little behind pace) resolved
 * through the quarter, the ones dated after `now` still to come. tick() lets them arrive when
 * their date passes and, so that a demo shows the counts move, pulls one forward every 8–12
 * minutes of wall time until the quarter's plan is used up.
 *
 * Production incidents (the example's incident query): demo-incidents.ts.
 */
import type { JiraField } from '../jira-api.js';
import { fakeJiraData, type FakeBoard, type FakeIssue, type FakeJiraData, type FakeReportIssue, type FakeSprint, type FakeSprintReport } from './fake-jira.js';
import { fillJqlPlaceholders, periodJqlDates } from '../jql-period.js';
import type { Period } from '../../../src/core/periods.js';
import type { SimulationWorld } from '../../../src/core/simulation.js';
import { Random } from '../../../src/core/random.js';
import { demoIncidents } from './demo-incidents.js';

export const DEMO_JIRA = { email: 'okr-bot@example.com', token: 'demo-jira-token' } as const;

/** The queries of okrs.example.yaml (a test keeps the two equal); the fake matches exact JQL text. */
export const DEMO_JQL_QUERIES = {
  security_incidents: 'project = SEC AND issuetype = Incident AND created >= "{{period_start}}" AND created < "{{period_end}}"',
  improvement_areas: 'project = ENG AND labels = improvement-area AND statusCategory = Done AND resolved >= "{{period_start}}" AND resolved < "{{period_end}}"',
  blog_posts: 'project = DEVREL AND issuetype = "Blog post" AND status = Published AND resolved >= "{{period_start}}" AND resolved < "{{period_end}}"',
  show_and_tell: 'project = ENG AND issuetype = "Show and tell" AND statusCategory = Done AND resolved >= "{{period_start}}" AND resolved < "{{period_end}}"',
} as const;
type QueryName = keyof typeof DEMO_JQL_QUERIES;

/** `data` is what startFakeJira takes and keeps; tick() changes it in place. */
export interface DemoJira {
  data: FakeJiraData;
  tick(nowMs: number): void;
}

const SP = 'customfield_10016';
const FIELDS: JiraField[] = [
  { id: 'summary', name: 'Summary', custom: false, schema: { type: 'string' } },
  { id: 'resolutiondate', name: 'Resolved', custom: false, schema: { type: 'datetime' } },
  { id: 'created', name: 'Created', custom: false, schema: { type: 'datetime' } },
  { id: SP, name: 'Story point estimate', custom: true, schema: { type: 'number', custom: 'com.pyxis.greenhopper.jira:jsw-story-points', customId: 10016 } },
  { id: 'customfield_10020', name: 'Sprint', custom: true, schema: { type: 'array', custom: 'com.pyxis.greenhopper.jira:gh-sprint', customId: 10020 } },
];

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const SPRINT_MS = 14 * DAY_MS;
/** Sprint 0 of every board starts here (a Monday, 08:00 UTC); boards are offset from it. */
const GRID_EPOCH = Date.UTC(2024, 0, 1, 8);
/** Closed sprints kept at least (the example exports the last 12; the backfill wants a quarter more). */
const MIN_CLOSED = 13;
/** Wall time between changes of one board's active sprint while the demo runs. */
const BOARD_EVENT_GAP_MS: [number, number] = [120_000, 240_000];
/** Wall time between query issues pulled forward. */
const QUERY_TRICKLE_GAP_MS: [number, number] = [8 * MINUTE_MS, 12 * MINUTE_MS];
/** A demo paused for longer than this resumes without replaying every missed event. */
const MAX_CATCH_UP_MS = 15 * MINUTE_MS;

interface BoardProfile {
  id: number;
  name: string;
  /** Issue key prefix. */
  key: string;
  /** Sprint ids are idBase + the sprint's number on the grid. */
  idBase: number;
  offsetMs: number;
  /** Planned end after the start: the last working day before the next sprint, 17:00. */
  endAfterMs: number;
  /** Completed points per sprint: mean, spread, bounds; committed exceeds it by `overcommit`. */
  completed: { mean: number; sd: number; min: number; max: number };
  overcommit: [number, number];
  /** Points added mid-sprint at most (scope creep, tick() included). */
  maxAdded: number;
}

const BOARDS: readonly BoardProfile[] = [
  {
    id: 11,
    name: 'Platform',
    key: 'PLAT',
    idBase: 1000,
    offsetMs: 0,
    endAfterMs: 11 * DAY_MS + 9 * HOUR_MS,
    completed: { mean: 61, sd: 6, min: 55, max: 75 },
    overcommit: [2, 10],
    maxAdded: 10,
  },
  {
    id: 12,
    name: 'Admin',
    key: 'ADM',
    idBase: 2000,
    offsetMs: 2 * DAY_MS,
    endAfterMs: 13 * DAY_MS + 9 * HOUR_MS,
    completed: { mean: 17.5, sd: 3, min: 11, max: 24 },
    overcommit: [1, 5],
    maxAdded: 5,
  },
  {
    id: 13,
    name: 'Metabase',
    key: 'MB',
    idBase: 3000,
    offsetMs: 2 * DAY_MS,
    endAfterMs: 13 * DAY_MS + 9 * HOUR_MS,
    completed: { mean: 12.5, sd: 2.5, min: 7, max: 18 },
    overcommit: [1, 4],
    maxAdded: 4,
  },
];

const sprintStart = (b: BoardProfile, n: number) => GRID_EPOCH + b.offsetMs + n * SPRINT_MS;
/** The sprint of the grid running at `ms`: it stays active until the next one starts. */
const sprintAt = (b: BoardProfile, ms: number) => Math.floor((ms - GRID_EPOCH - b.offsetMs) / SPRINT_MS);
/** Closed on the Monday (or Wednesday) morning the next one starts. */
const completeTime = (b: BoardProfile, n: number) => sprintStart(b, n + 1) - 30 * MINUTE_MS;
const iso = (ms: number) => new Date(ms).toISOString();
/** Jira Cloud's field dates: milliseconds and a colon-less offset. */
const jiraTime = (ms: number) => iso(ms).replace('Z', '+0000');

function sprintOf(b: BoardProfile, n: number, state: FakeSprint['state']): FakeSprint {
  const start = sprintStart(b, n);
  return {
    id: b.idBase + n,
    name: `${b.key} Sprint ${n}`,
    state,
    startDate: iso(start),
    endDate: iso(start + b.endAfterMs),
    ...(state === 'closed' ? { completeDate: iso(completeTime(b, n)) } : {}),
    originBoardId: b.id,
  };
}

/** Estimates adding up to `total`, mostly 2, 3 and 5. */
function estimates(total: number, rnd: Random): number[] {
  const out: number[] = [];
  let left = total;
  while (left > 0) {
    const e = Math.min(
      left,
      rnd.weighted([
        [1, 2],
        [2, 4],
        [3, 5],
        [5, 4],
        [8, 2],
        [13, 0.5],
      ] as const),
    );
    out.push(e);
    left -= e;
  }
  return out;
}

/** A sprint as the demo plays it: its report, and the issues it may still take on. */
interface SprintPlay {
  report: FakeSprintReport;
  /** Keys the sprint will still get mid-sprint (with their estimates), in order. */
  toAdd: Array<[string, number]>;
  nextKey: number;
}

/**
 * Sprint `n` of board `b`: committed issues and mid-sprint additions whose totals give the
 * drawn figures; `doneShare` of the way through (1 for a closed sprint), the committed issues
 * done so far and the additions made so far.
 */
function playSprint(b: BoardProfile, n: number, seed: number, doneShare: number): SprintPlay {
  const rnd = Random.keyed(seed, 'sprint', b.key, n);
  const c = b.completed;
  const completed = Math.round(Math.min(c.max, Math.max(c.min, rnd.normal(c.mean, c.sd))));
  const committed = completed + rnd.int(...b.overcommit);
  const added = rnd.chance(0.6) ? rnd.int(1, Math.max(1, Math.floor(b.maxAdded / 2))) : 0;
  let nextKey = n * 60 + 1;
  const key = () => `${b.key}-${nextKey++}`;
  const doneAtStart = estimates(completed - added, rnd).map((e): FakeReportIssue => [key(), e, e]);
  const openAtEnd = estimates(committed - (completed - added), rnd).map((e): FakeReportIssue => [key(), e, e]);
  const additions = estimates(added, rnd).map((e): [string, number] => [key(), e]);
  // An unestimated bug or two: in the report, counted by nobody.
  const bugs = Array.from({ length: rnd.int(0, 2) }, (): FakeReportIssue => [key(), null, null]);
  const report: FakeSprintReport = { completed: [], notCompleted: [], punted: [], added: [] };
  if (doneShare >= 1) {
    report.completed = [...doneAtStart, ...additions.map(([k, e]): FakeReportIssue => [k, e, e]), ...bugs];
    report.notCompleted = openAtEnd;
    report.added = additions.map(([k]) => k);
    return { report, toAdd: [], nextKey };
  }
  // Mid-sprint: work is done in a shuffled order, a bit slower than the calendar at first.
  const committedIssues = rnd.shuffle([...doneAtStart, ...openAtEnd, ...bugs]);
  const target = (completed - added) * Math.pow(doneShare, 1.15);
  let done = 0;
  for (const issue of committedIssues) {
    if (issue[2] !== null && done + issue[2] <= target) {
      done += issue[2];
      report.completed.push(issue);
    } else report.notCompleted.push(issue);
  }
  const addedSoFar = doneShare > 0.4 ? additions.slice(0, 1) : [];
  for (const [k, e] of addedSoFar) {
    report.added.push(k);
    (doneShare > 0.6 ? report.completed : report.notCompleted).push([k, e, e]);
  }
  return { report, toAdd: additions.slice(addedSoFar.length), nextKey };
}

/** What the velocity chart says of a closed sprint: the report's own figures. */
function velocityOf(r: FakeSprintReport): { estimated: number; completed: number } {
  const added = new Set(r.added);
  const sum = (xs: FakeReportIssue[], i: 1 | 2) => xs.reduce((s, x) => s + (x[i] ?? 0), 0);
  return {
    estimated: sum(
      [...r.completed, ...r.notCompleted, ...r.punted].filter(([k]) => !added.has(k)),
      1,
    ),
    completed: sum(r.completed, 2),
  };
}

interface PlannedIssue {
  key: string;
  atMs: number;
  points: number | null;
}

/** One query in one quarter: its JQL text and the issues not yet arrived, oldest first. */
interface QueryQuarter {
  name: QueryName;
  period: Period;
  jql: string;
  planned: PlannedIssue[];
}

/** How many issues each query gets in a quarter, and where in it (share of the quarter). */
function queryPlan(name: QueryName, role: 'previous' | 'current', rnd: Random): number[] {
  const spread = (count: number, lo: number, hi: number) => Array.from({ length: count }, (_, i) => (i + rnd.between(lo, hi)) / count);
  switch (name) {
    case 'security_incidents':
      return role === 'previous' ? [rnd.between(0.3, 0.7)] : [];
    case 'improvement_areas':
      return spread(4, 0.3, 0.7);
    case 'blog_posts':
      return role === 'previous' ? spread(2, 0.3, 0.8) : spread(3, 0.2, 0.8);
    case 'show_and_tell':
      // Sessions bunch up late in the quarter: behind the linear pace most of the time.
      return role === 'previous' ? spread(5, 0.5, 0.9) : spread(6, 0.7, 1);
  }
}

const PROJECT_OF: Record<QueryName, string> = { security_incidents: 'SEC', improvement_areas: 'ENG', blog_posts: 'DEVREL', show_and_tell: 'ENG' };

export function demoJira(nowMs: number, world: SimulationWorld, seed = 1): DemoJira {
  const { current, previous } = world.quarter(nowMs);
  const rnd = Random.keyed(seed, 'jira-tick', nowMs);

  const data = fakeJiraData({
    flavor: 'cloud',
    credentials: { ...DEMO_JIRA },
    fields: FIELDS,
    velocityWindow: 12,
  });

  // Sprints.
  const plays = new Map<number, SprintPlay>();
  const activeOf = new Map<number, number>();
  const nextEvent = new Map<number, number>();
  for (const b of BOARDS) {
    const active = sprintAt(b, nowMs);
    let first = active - MIN_CLOSED;
    while (completeTime(b, first - 1) >= previous.start) first--;
    const board: FakeBoard = { id: b.id, name: b.name, type: 'scrum', estimationField: SP, sprintIds: [], velocity: {}, sprintReports: {} };
    for (let n = first; n < active; n++) addSprint(board, b, n, 'closed', playSprint(b, n, seed, 1));
    const start = sprintStart(b, active);
    const share = Math.min(1, (nowMs - start) / b.endAfterMs);
    plays.set(b.id, playSprint(b, active, seed, share));
    addSprint(board, b, active, 'active', plays.get(b.id));
    addSprint(board, b, active + 1, 'future');
    data.boards.push(board);
    activeOf.set(b.id, active);
    nextEvent.set(b.id, nowMs + rnd.between(0.2, 1) * BOARD_EVENT_GAP_MS[0]);
  }

  function addSprint(board: FakeBoard, b: BoardProfile, n: number, state: FakeSprint['state'], play?: SprintPlay): void {
    data.sprints.push(sprintOf(b, n, state));
    board.sprintIds.push(b.idBase + n);
    if (play && board.sprintReports !== 'unavailable' && board.sprintReports) board.sprintReports[b.idBase + n] = play.report;
    if (state === 'closed' && play && board.velocity !== 'unavailable') board.velocity[b.idBase + n] = velocityOf(play.report);
  }

  // Queries.
  const counters: Record<string, number> = { SEC: 40, ENG: 1800, DEVREL: 120 };
  let issueId = 10_000;
  let quarters: QueryQuarter[] = [];
  const addQuarter = (period: Period, role: 'previous' | 'current') => {
    for (const name of Object.keys(DEMO_JQL_QUERIES) as QueryName[]) {
      const qrnd = Random.keyed(seed, 'jql', name, period.start);
      const project = PROJECT_OF[name];
      const planned = queryPlan(name, role, qrnd).map((share) => {
        // Resolved (or created, for incidents) during working hours of that day, the last day at the latest.
        const day = Math.min(Math.floor((period.start + share * (period.end - period.start)) / DAY_MS), Math.floor((period.end - 1) / DAY_MS));
        return {
          key: `${project}-${counters[project]!++}`,
          atMs: day * DAY_MS + Math.round(qrnd.between(9, 17) * HOUR_MS),
          points: name === 'improvement_areas' ? qrnd.pick([3, 5, 8]) : null,
        };
      });
      const jql = fillJqlPlaceholders(DEMO_JQL_QUERIES[name], periodJqlDates(period, world.calendar));
      data.queries[jql] = [];
      quarters.push({ name, period, jql, planned: planned.sort((a, b) => a.atMs - b.atMs) });
    }
  };
  const arrive = (q: QueryQuarter, p: PlannedIssue) => {
    // Incidents are dated by creation (and handled within days); the rest by resolution.
    const incident = q.name === 'security_incidents';
    const span = Math.round(Random.keyed(seed, 'created', p.key).between(2, 30) * DAY_MS);
    const created = incident ? p.atMs : p.atMs - span;
    const resolved = incident ? p.atMs + span / 10 : p.atMs;
    const done = { name: q.name === 'blog_posts' ? 'Published' : 'Done', statusCategory: { key: 'done' } };
    const issuetype = { security_incidents: 'Incident', improvement_areas: 'Task', blog_posts: 'Blog post', show_and_tell: 'Show and tell' }[q.name];
    const fields: Record<string, unknown> = {
      summary: `${issuetype} ${p.key}`,
      issuetype: { name: issuetype },
      status: done,
      created: jiraTime(created),
      resolutiondate: jiraTime(resolved),
      labels: q.name === 'improvement_areas' ? ['improvement-area'] : [],
      [SP]: p.points,
    };
    data.issues.push({ id: String(issueId++), key: p.key, fields, sprints: [] } satisfies FakeIssue);
    data.queries[q.jql]!.push(p.key);
  };
  const arriveDue = (ms: number) => {
    for (const q of quarters) while (q.planned.length > 0 && q.planned[0]!.atMs <= ms) arrive(q, q.planned.shift()!);
  };
  addQuarter(previous, 'previous');
  addQuarter(current, 'current');
  arriveDue(nowMs);
  // Production incidents for the delivery source, since a month before the previous quarter.
  const incidents = demoIncidents(data, previous.start - 30 * DAY_MS, nowMs, seed);
  let nextTrickle = nowMs + rnd.between(...QUERY_TRICKLE_GAP_MS);
  let trickleTurn = 0;

  /** The board's active sprint ran out: close it, start the next, plan one more. */
  const rollOver = (b: BoardProfile, board: FakeBoard) => {
    const n = activeOf.get(b.id)!;
    const closing = data.sprints.find((s) => s.id === b.idBase + n)!;
    closing.state = 'closed';
    closing.completeDate = iso(completeTime(b, n));
    if (board.velocity !== 'unavailable') board.velocity[closing.id] = velocityOf(plays.get(b.id)!.report);
    data.sprints.find((s) => s.id === b.idBase + n + 1)!.state = 'active';
    const play = playSprint(b, n + 1, seed, 0);
    plays.set(b.id, play);
    if (board.sprintReports && board.sprintReports !== 'unavailable') board.sprintReports[b.idBase + n + 1] = play.report;
    addSprint(board, b, n + 2, 'future');
    activeOf.set(b.id, n + 1);
  };

  /** One change to the active sprint: an issue done, scope added, or (all done) one reopened. */
  const boardEvent = (b: BoardProfile) => {
    const play = plays.get(b.id)!;
    const r = play.report;
    const addedPoints = r.added.reduce((s, k) => s + ([...r.completed, ...r.notCompleted].find(([x]) => x === k)?.[2] ?? 0), 0);
    const canAdd = addedPoints < b.maxAdded;
    if (r.notCompleted.length > 0 && !(canAdd && rnd.chance(0.15))) {
      r.completed.push(r.notCompleted.splice(rnd.int(0, Math.min(2, r.notCompleted.length - 1)), 1)[0]!);
    } else if (canAdd) {
      const [k, e] = play.toAdd.shift() ?? [`${b.key}-${play.nextKey++}`, rnd.pick([1, 2, 3])];
      r.added.push(k);
      r.notCompleted.push([k, e, e]);
    } else if (r.completed.length > 0 && rnd.chance(0.3)) {
      // Everything done and no more scope: QA sends something back now and then.
      r.notCompleted.push(r.completed.splice(rnd.int(0, r.completed.length - 1), 1)[0]!);
    }
  };

  /** Keep the closed sprints that close in the previous quarter or later, and at least MIN_CLOSED. */
  const trimSprints = (b: BoardProfile, board: FakeBoard, ms: number) => {
    const from = world.quarter(ms).previous.start;
    const active = activeOf.get(b.id)!;
    const drop = new Set<number>();
    for (const id of board.sprintIds) {
      const n = id - b.idBase;
      if (n < active - MIN_CLOSED && completeTime(b, n) < from) drop.add(id);
    }
    if (drop.size === 0) return;
    board.sprintIds = board.sprintIds.filter((id) => !drop.has(id));
    data.sprints = data.sprints.filter((s) => !drop.has(s.id));
    for (const id of drop) {
      if (board.velocity !== 'unavailable') delete board.velocity[id];
      if (board.sprintReports && board.sprintReports !== 'unavailable') delete board.sprintReports[id];
    }
  };

  return {
    data,
    tick(tickMs: number) {
      for (const b of BOARDS) {
        const board = data.boards.find((x) => x.id === b.id)!;
        while (sprintAt(b, tickMs) > activeOf.get(b.id)!) rollOver(b, board);
        let at = Math.max(nextEvent.get(b.id)!, tickMs - MAX_CATCH_UP_MS);
        for (; at <= tickMs; at += rnd.between(...BOARD_EVENT_GAP_MS)) boardEvent(b);
        nextEvent.set(b.id, at);
        trimSprints(b, board, tickMs);
      }

      // A new quarter: its queries, and the one before the previous forgotten.
      const { current: now, previous: before } = world.quarter(tickMs);
      if (!quarters.some((q) => q.period.start === now.start)) {
        addQuarter(now, 'current');
        const keep = before.start;
        const gone = quarters.filter((q) => q.period.start < keep);
        const goneKeys = new Set(gone.flatMap((q) => data.queries[q.jql] ?? []));
        for (const q of gone) delete data.queries[q.jql];
        data.issues = data.issues.filter((i) => !goneKeys.has(i.key));
        quarters = quarters.filter((q) => q.period.start >= keep);
      }
      arriveDue(tickMs);
      incidents.tick(tickMs);
      if (tickMs >= nextTrickle) {
        const open = quarters.filter((q) => q.period.start === now.start && q.planned.length > 0);
        if (open.length > 0) {
          const q = open[trickleTurn++ % open.length]!;
          arrive(q, { ...q.planned.shift()!, atMs: tickMs });
        }
        nextTrickle = Math.max(nextTrickle, tickMs - MAX_CATCH_UP_MS) + rnd.between(...QUERY_TRICKLE_GAP_MS);
      }
    },
  };
}
