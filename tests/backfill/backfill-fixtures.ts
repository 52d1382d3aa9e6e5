/**
 * One known quarter (2026-Q3) of every backfilled source, for the backfill tests: a fake Jira
 * whose sprints close through the quarter, a SonarQube project analysed four times, and six
 * hours of nginx access log (with garbage lines) on 2026-08-20. `jiraAt` / `sonarAt` give each
 * fake's state as it was at an instant, so the live collectors can be driven through the
 * quarter; the backfill reads the final state. Expected figures are worked out in comments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { JiraField } from '../../exporters/jira/jira-api.js';
import { fakeJiraData, type FakeJiraData, type FakeSprint } from '../../exporters/jira/simulator/fake-jira.js';
import type { FakeAnalysis, FakeProject } from '../../exporters/sonarqube/simulator/fake-sonarqube.js';

export const Q3_START = Date.parse('2026-07-01T00:00:00Z');
export const Q3_END = Date.parse('2026-10-01T00:00:00Z');
/** When the backfill runs: the quarter is over, sprint 18 has closed since. */
export const NOW = Date.parse('2026-11-25T12:00:00Z');

export const JIRA_EMAIL = 'bot@example.com';
export const JIRA_TOKEN = 'jira-token-backfill';
export const SONAR_TOKEN = 'squ_backfill0123456789abcdef0123456789abcdef';
const SP = 'customfield_10016';

const FIELDS: JiraField[] = [
  { id: SP, name: 'Story point estimate', custom: true, schema: { type: 'number', custom: 'com.pyxis.greenhopper.jira:jsw-story-points', customId: 10016 } },
];

interface SprintPlan {
  id: number;
  board: number;
  start: string;
  complete: string;
  committed: number;
  completed: number;
}

/**
 * Platform (board 1): sprints 11–17 close inside Q3: completed 30+33+31+36+38+35+40 = 243,
 * 243/7 per sprint. Admin (board 2): 21–23 close inside Q3: 18+21+24 = 63.
 * Sprint 10 closed before the quarter, 18 and 24 after it (excluded from Q3 either way).
 */
export const SPRINTS: SprintPlan[] = [
  { id: 10, board: 1, start: '2026-06-08T09:00:00Z', complete: '2026-06-22T10:00:00Z', committed: 30, completed: 28 },
  { id: 11, board: 1, start: '2026-06-22T10:30:00Z', complete: '2026-07-06T10:00:00Z', committed: 32, completed: 30 },
  { id: 12, board: 1, start: '2026-07-06T10:30:00Z', complete: '2026-07-20T11:02:17Z', committed: 35, completed: 33 },
  { id: 13, board: 1, start: '2026-07-20T11:30:00Z', complete: '2026-08-03T10:00:00Z', committed: 34, completed: 31 },
  { id: 14, board: 1, start: '2026-08-03T10:30:00Z', complete: '2026-08-17T10:00:00Z', committed: 36, completed: 36 },
  { id: 15, board: 1, start: '2026-08-17T10:30:00Z', complete: '2026-08-31T10:00:00Z', committed: 40, completed: 38 },
  { id: 16, board: 1, start: '2026-08-31T10:30:00Z', complete: '2026-09-14T10:00:00Z', committed: 38, completed: 35 },
  { id: 17, board: 1, start: '2026-09-14T10:30:00Z', complete: '2026-09-28T16:00:00Z', committed: 41, completed: 40 },
  { id: 18, board: 1, start: '2026-09-28T16:30:00Z', complete: '2026-10-12T10:00:00Z', committed: 39, completed: 37 },
  { id: 21, board: 2, start: '2026-06-17T09:00:00Z', complete: '2026-07-15T09:00:00Z', committed: 20, completed: 18 },
  { id: 22, board: 2, start: '2026-07-15T09:30:00Z', complete: '2026-08-12T09:00:00Z', committed: 22, completed: 21 },
  { id: 23, board: 2, start: '2026-08-12T09:30:00Z', complete: '2026-09-09T09:00:00Z', committed: 25, completed: 24 },
  { id: 24, board: 2, start: '2026-09-09T09:30:00Z', complete: '2026-10-07T09:00:00Z', committed: 30, completed: 30 },
];

/** Security incidents, by creation date: 2 fall in Q3 before its last 5-minute step (SEC-3 at 23:58 is after it). */
export const INCIDENTS: Array<{ key: string; created: string; points: number }> = [
  { key: 'SEC-1', created: '2026-07-10T09:00:00.000+0000', points: 3 },
  { key: 'SEC-2', created: '2026-08-20T14:00:00.000+0000', points: 5 },
  { key: 'SEC-3', created: '2026-09-30T23:58:00.000+0000', points: 1 },
];
export const INCIDENTS_JQL = 'project = SEC AND issuetype = Incident AND created >= "{{period_start}}" AND created < "{{period_end}}"';
const Q3_INCIDENTS_JQL = INCIDENTS_JQL.replace('{{period_start}}', '2026-07-01').replace('{{period_end}}', '2026-10-01');

/** The fake Jira as it was at `at` (Unix ms): sprints closed, running or planned by then, issues created by then. */
export function jiraAt(at: number, data?: FakeJiraData): FakeJiraData {
  const sprints: FakeSprint[] = [];
  const velocity: Record<number, Record<number, { estimated: number; completed: number }>> = { 1: {}, 2: {} };
  for (const s of SPRINTS) {
    const started = Date.parse(s.start) <= at;
    const closed = Date.parse(s.complete) <= at;
    const end = new Date(Date.parse(s.start) + 14 * 86400_000).toISOString();
    sprints.push({
      id: s.id,
      name: `Sprint ${s.id}`,
      state: closed ? 'closed' : started ? 'active' : 'future',
      startDate: s.start,
      endDate: end,
      ...(closed ? { completeDate: s.complete } : {}),
      originBoardId: s.board,
    });
    if (closed) velocity[s.board]![s.id] = { estimated: s.committed, completed: s.completed };
  }
  const issues = INCIDENTS.map((i, n) => ({ id: String(20000 + n), key: i.key, fields: { created: i.created, [SP]: i.points }, sprints: [] }));
  const known = INCIDENTS.filter((i) => Date.parse(i.created) <= at).map((i) => i.key);
  const next = fakeJiraData({
    credentials: { email: JIRA_EMAIL, token: JIRA_TOKEN },
    fields: FIELDS,
    boards: [
      {
        id: 1,
        name: 'Platform',
        type: 'scrum',
        estimationField: SP,
        sprintIds: SPRINTS.filter((s) => s.board === 1).map((s) => s.id),
        velocity: velocity[1]!,
        sprintReports: 'unavailable',
      },
      {
        id: 2,
        name: 'Admin',
        type: 'scrum',
        estimationField: SP,
        sprintIds: SPRINTS.filter((s) => s.board === 2).map((s) => s.id),
        velocity: velocity[2]!,
        sprintReports: 'unavailable',
      },
    ],
    sprints,
    issues,
    queries: { [Q3_INCIDENTS_JQL]: known },
    velocityWindow: 50,
  });
  if (!data) return next;
  Object.assign(data, next);
  return data;
}

/** topups-api analyses: coverage 60 % at the quarter's start, 66 % at its end (ERROR gate in between). */
export const ANALYSES: Array<{ date: string; coverage: string; bugs: string; ncloc: string; gate: 'OK' | 'ERROR' }> = [
  { date: '2026-06-15T10:00:00+0200', coverage: '60.0', bugs: '4', ncloc: '12000', gate: 'OK' },
  { date: '2026-07-15T10:00:00+0200', coverage: '62.5', bugs: '3', ncloc: '12100', gate: 'OK' },
  { date: '2026-08-20T16:41:09+0200', coverage: '58.0', bugs: '9', ncloc: '12900', gate: 'ERROR' },
  { date: '2026-09-25T10:00:00+0200', coverage: '66.0', bugs: '2', ncloc: '13000', gate: 'OK' },
  { date: '2026-10-20T10:00:00+0200', coverage: '70.0', bugs: '1', ncloc: '13100', gate: 'OK' },
];
const sonarMs = (d: string) => Date.parse(d.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));

/** The SonarQube project as it was at `at`: current measures of its last analysis, history up to then. */
export function sonarAt(at: number): FakeProject[] {
  const done = ANALYSES.filter((a) => sonarMs(a.date) <= at);
  const last = done.at(-1);
  const history: FakeAnalysis[] = done.map((a) => ({ date: a.date, values: { coverage: a.coverage, bugs: a.bugs, ncloc: a.ncloc, alert_status: a.gate } }));
  return [
    {
      key: 'topups-api',
      name: 'Topups API',
      branches: [
        last
          ? {
              name: 'main',
              isMain: true,
              analysisDate: last.date,
              gate: last.gate,
              measures: { coverage: last.coverage, bugs: last.bugs, ncloc: last.ncloc },
              history,
            }
          : { name: 'main', isMain: true, gate: 'NONE', history },
      ],
    },
  ];
}

export function changeInstants(): number[] {
  return [
    ...SPRINTS.flatMap((s) => [Date.parse(s.start), Date.parse(s.complete)]),
    ...INCIDENTS.map((i) => Date.parse(i.created)),
    ...ANALYSES.map((a) => sonarMs(a.date)),
  ];
}

export interface LogLine {
  /** Unix ms; NaN for garbage lines (no date). */
  at: number;
  text: string;
}

/**
 * Six hours of topups-api traffic on 2026-08-20 from 08:00, one request every 3 s plus bursts,
 * a 30-minute outage (503s) at 10:00, and a garbage line every 401 lines. Deterministic.
 */
export function accessLog(): LogLine[] {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const start = Date.parse('2026-08-20T08:00:00Z');
  const routes = ['/v1/topups/1234', '/v1/topups/98765?expand=all', '/v1/operators/77', '/healthz'];
  const out: LogLine[] = [];
  let n = 0;
  for (let t = start; t < start + 6 * 3600_000; t += 1000 * (1 + Math.floor(rnd() * 4))) {
    n++;
    if (n % 401 === 0) out.push({ at: Number.NaN, text: n % 2 ? 'garbage \u0001 not a log line' : '127.0.0.1 - - [20/Aug/2026:99:99:99 +0000] "GET' });
    const d = new Date(t);
    const stamp = `${String(d.getUTCDate()).padStart(2, '0')}/Aug/2026:${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}:${String(d.getUTCSeconds()).padStart(2, '0')} +0000`;
    const route = routes[Math.floor(rnd() * routes.length)]!;
    const method = route.startsWith('/v1/topups') && rnd() < 0.4 ? 'POST' : 'GET';
    const outage = d.getUTCHours() === 10 && d.getUTCMinutes() < 30;
    const code = outage && rnd() < 0.7 ? 503 : rnd() < 0.03 ? 404 : rnd() < 0.01 ? 500 : 200;
    const duration = (0.004 + rnd() * rnd() * (outage ? 3 : 0.6)).toFixed(3);
    out.push({
      at: t,
      text: `10.0.0.${n % 250} - - [${stamp}] "${method} ${route} HTTP/1.1" ${code} ${Math.floor(rnd() * 4000)} "-" "okr-test/1.0" ${duration}`,
    });
  }
  return out;
}

/**
 * accessLog() as logrotate leaves it, written into `dir` (created): the first three hours in
 * access.log.1.gz, the rest in access.log. Returns access.log's path, the configured file.
 */
export function writeArchivedLog(dir: string): string {
  const lines = accessLog();
  const cut = Date.parse('2026-08-20T11:00:00Z');
  let i = lines.findIndex((l) => l.at >= cut);
  if (i < 0) i = lines.length;
  const text = (ls: LogLine[]) => ls.map((l) => `${l.text}\n`).join('');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'access.log.1.gz'), gzipSync(text(lines.slice(0, i))));
  const file = join(dir, 'access.log');
  writeFileSync(file, text(lines.slice(i)));
  return file;
}

export function configYaml(o: { jiraUrl: string; sonarUrl: string; logFile: string; stateDir: string }): string {
  return `version: okr/v1
calendar:
  timezone: UTC
server:
  state_dir: ${o.stateDir}
teams:
  platform:
    services: [topups-api]
    sonar_projects: [topups-api]
    jira_boards: [Platform]
  backoffice:
    jira_boards: [Admin]
sources:
  apilogs:
    services:
      - name: topups-api
        files: ["${o.logFile}"]
        start_at: beginning
        routes: [/v1/topups/:id, /v1/operators/:id]
  jira:
    flavor: cloud
    url: ${o.jiraUrl}
    email: ${JIRA_EMAIL}
    api_token: \${JIRA_API_TOKEN}
    boards:
      - { name: Platform, team: platform }
      - { name: Admin, team: backoffice }
    queries:
      security_incidents: '${INCIDENTS_JQL}'
  sonarqube:
    flavor: server
    url: ${o.sonarUrl}
    token: \${SONAR_TOKEN}
    projects:
      - { key: topups-api, team: platform }
objectives:
  - id: stability
    title: Stable API
    key_results:
      - id: availability
        title: API availability > 99%
        measure: { availability: { service: topups-api } }
        target: "> 99%"
      - id: downtime
        title: No downtime
        measure: { downtime: { service: topups-api, threshold: 0.5 } }
        target: "== 0"
      - id: latency
        title: p95 under 300 ms
        measure: { latency_p95: { service: topups-api } }
        target: "< 0.3"
      - id: incidents
        title: No security incidents
        measure: { jql_count: { query: security_incidents } }
        target: "== 0"
  - id: delivery
    title: Deliver
    key_results:
      - id: velocity
        title: 35 points per sprint
        measure: { story_points_per_sprint: { board: Platform } }
        target: ">= 35"
      - id: admin-points
        title: 60 points a quarter
        measure: { story_points: { boards: [Admin] } }
        target: ">= 60"
      - id: coverage
        title: Coverage +5 points
        measure: { coverage: { project: topups-api } }
        target: "+5 points"
        baseline: period_start
`;
}
