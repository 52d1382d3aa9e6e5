/**
 * A fake Jira for tests, Cloud or Data Center flavour, behaving like the real APIs as
 * described in shared/reference/source-apis.md §1: Agile offset paging with `isLast` (or
 * without `total`), per-resource page-size caps, Cloud enhanced search with opaque
 * nextPageToken (old /search answers 410), DC /rest/api/2/search with startAt, lower-case
 * sprint states, greenhopper velocity keyed by sprint id strings with upper-case states,
 * `{errorMessages, errors}` bodies, 401 on bad credentials, and injectable failures
 * (429 + Retry-After, 5xx). The data is a plain object the test can change between refreshes.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../../../src/core/simulated-http.js';
import type { ChangelogHistory, JiraField, JiraFlavor, JiraIssue } from '../jira-api.js';

export interface FakeSprint {
  id: number;
  name: string;
  state: 'future' | 'active' | 'closed';
  startDate?: string;
  endDate?: string;
  completeDate?: string;
  originBoardId: number;
}

export interface FakeBoard {
  id: number;
  name: string;
  type: 'scrum' | 'kanban' | 'simple';
  /** The board's estimation field id; null = estimation "none". */
  estimationField: string | null;
  /** Sprint ids in backlog order as the board lists them (may include other boards' sprints). */
  sprintIds: number[];
  /** Velocity-chart figures by sprint id; 'unavailable' answers 404 like an unsupported board. */
  velocity: Record<number, { estimated: number | null; completed: number | null }> | 'unavailable';
  /** Sprint Report data by sprint id (a sprint without an entry answers 404); 'unavailable' = 404 always. */
  sprintReports?: Record<number, FakeSprintReport> | 'unavailable';
  /** Team-managed ("simple") boards can have sprints switched off; kanban boards never have them. */
  sprintsDisabled?: boolean;
}

/** [issue key, estimate at sprint start (or when added), current estimate]; null = unestimated. */
export type FakeReportIssue = [string, number | null, number | null];

export interface FakeSprintReport {
  completed: FakeReportIssue[];
  notCompleted: FakeReportIssue[];
  /** Removed from the sprint after it started. */
  punted: FakeReportIssue[];
  /** Keys added after the sprint started. */
  added: string[];
}

export interface FakeIssue {
  id: string;
  key: string;
  /** Current field values (status, created, story points...). */
  fields: Record<string, unknown>;
  /** Sprints the issue's Sprint field holds now (closed ones stay listed, as in Jira). */
  sprints: number[];
  changelog?: ChangelogHistory[];
}

export interface FakeFailure {
  /** e.g. /\/sprint$/ against the request path. */
  path: RegExp;
  /** Query parameters the request must also carry, e.g. `{ sprintId: '105' }`. */
  query?: Record<string, string>;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many matching requests fail before it stops (default 1). */
  times?: number;
}

export interface FakeJiraData {
  flavor: JiraFlavor;
  /** Cloud: Basic email + API token; Data Center: Bearer personal access token. */
  credentials: { email: string; token: string } | { pat: string };
  fields: JiraField[];
  boards: FakeBoard[];
  sprints: FakeSprint[];
  issues: FakeIssue[];
  /** The fake does not parse JQL: each known query string maps to the issue keys it matches. */
  queries: Record<string, string[]>;
  /** Largest page Agile lists return whatever is asked (Jira: 50). */
  agilePageCap: number;
  /** Largest page issue searches return. */
  searchPageCap: number;
  /** Agile lists: leave `total` out (Jira does when it is expensive). */
  omitTotal: boolean;
  /** Cloud search: last page has no token and no isLast (JRACLOUD-92184). */
  omitIsLastOnSearch: boolean;
  /** Changelog histories embedded in issue lists (expand=changelog); the rest via the issue's own changelog. */
  changelogCap: number;
  /** Velocity chart: how many of the most recent closed sprints it reports. */
  velocityWindow: number;
  failures: FakeFailure[];
  /** Extra headers on an answer, e.g. Jira Cloud's X-RateLimit-* (undefined: none). */
  responseHeaders?: (req: RecordedRequest) => Record<string, string> | undefined;
}

export interface FakeJira extends FakeServer {
  data: FakeJiraData;
  /** Requests whose path matches. */
  count(path: RegExp): number;
}

const json = sendJson;
const errorBody = (messages: string[], errors: Record<string, string> = {}) => ({ errorMessages: messages, errors });

export async function startFakeJira(data: FakeJiraData): Promise<FakeJira> {
  const server = await startFakeServer((req, res) => {
    for (const [k, v] of Object.entries(data.responseHeaders?.(req) ?? {})) res.setHeader(k, v);
    handle(data, req, res);
  });
  return {
    ...server,
    data,
    count: (path: RegExp) => server.requests.filter((r) => path.test(r.path)).length,
  };
}

function authorized(data: FakeJiraData, req: RecordedRequest): boolean {
  const h = req.headers.authorization ?? '';
  const c = data.credentials;
  if ('pat' in c) return h === `Bearer ${c.pat}`;
  return h === `Basic ${Buffer.from(`${c.email}:${c.token}`).toString('base64')}`;
}

function intParam(q: URLSearchParams, name: string, dflt: number): number {
  const v = q.get(name);
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

function agilePage<T>(data: FakeJiraData, req: RecordedRequest, all: T[], key: 'values' | 'issues') {
  const startAt = intParam(req.query, 'startAt', 0);
  const maxResults = Math.min(intParam(req.query, 'maxResults', 50) || 50, data.agilePageCap);
  const slice = all.slice(startAt, startAt + maxResults);
  const page: Record<string, unknown> = { startAt, maxResults, [key]: slice };
  if (!data.omitTotal) page.total = all.length;
  // Board and sprint lists say isLast; issue lists (documented example) do not.
  if (key === 'values') page.isLast = startAt + slice.length >= all.length;
  return page;
}

function sprintJson(s: FakeSprint, base: string) {
  return { ...s, self: `${base}/rest/agile/1.0/sprint/${s.id}` };
}

function issueJson(data: FakeJiraData, issue: FakeIssue, fieldsParam: string | null, changelog: boolean, agile: boolean): JiraIssue {
  const all: Record<string, unknown> = { ...issue.fields };
  if (agile) {
    const sprints = issue.sprints.map((id) => data.sprints.find((s) => s.id === id)).filter((s): s is FakeSprint => !!s);
    const open = sprints.find((s) => s.state !== 'closed');
    all.sprint = open ? { id: open.id, state: open.state, name: open.name } : null;
    all.closedSprints = sprints.filter((s) => s.state === 'closed').map((s) => ({ id: s.id, state: s.state, name: s.name, completeDate: s.completeDate }));
  }
  let fields: Record<string, unknown>;
  if (fieldsParam === null || fieldsParam === '') fields = agile ? all : {};
  else if (fieldsParam.split(',').some((f) => f === '*all' || f === '*navigable')) fields = all;
  else
    fields = Object.fromEntries(
      fieldsParam
        .split(',')
        .filter((f) => f in all)
        .map((f) => [f, all[f]]),
    );
  const out: JiraIssue = { id: issue.id, key: issue.key, fields: fields };
  if (changelog) {
    const all = issue.changelog ?? [];
    out.changelog = { startAt: 0, maxResults: data.changelogCap, total: all.length, histories: all.slice(0, data.changelogCap) };
  }
  return out;
}

function handle(data: FakeJiraData, req: RecordedRequest, res: ServerResponse): void {
  const base = `http://${req.headers.host}`;
  if (!authorized(data, req)) {
    // Real 401 bodies vary (JSON or text); clients must not depend on them.
    json(res, 401, errorBody(['You are not authenticated. Authentication required to perform this operation.']), {
      'www-authenticate': 'OAuth realm="https%3A%2F%2Fexample.atlassian.net"',
    });
    return;
  }
  const failure = data.failures.find(
    (f) => f.path.test(req.path) && Object.entries(f.query ?? {}).every(([k, v]) => req.query.get(k) === v) && (f.times ?? 1) > 0,
  );
  if (failure) {
    failure.times = (failure.times ?? 1) - 1;
    json(res, failure.status, failure.body ?? errorBody([`injected ${failure.status}`]), failure.headers);
    return;
  }
  const q = req.query;
  const p = req.path;
  let m: RegExpExecArray | null;

  if (p === '/rest/agile/1.0/board') {
    const name = q.get('name')?.toLowerCase();
    const boards = data.boards
      .filter((b) => name === undefined || b.name.toLowerCase().includes(name))
      .map((b) => ({ id: b.id, self: `${base}/rest/agile/1.0/board/${b.id}`, name: b.name, type: b.type }));
    return json(res, 200, agilePage(data, req, boards, 'values'));
  }
  if ((m = /^\/rest\/agile\/1\.0\/board\/(\d+)\/configuration$/.exec(p))) {
    const b = data.boards.find((x) => x.id === Number(m![1]));
    if (!b) return json(res, 404, errorBody(['Board does not exist or you do not have permission to see it.']));
    return json(res, 200, {
      id: b.id,
      name: b.name,
      type: b.type,
      self: `${base}/rest/agile/1.0/board/${b.id}/configuration`,
      filter: { id: '10010' },
      estimation: b.estimationField
        ? { type: 'field', field: { fieldId: b.estimationField, displayName: data.fields.find((f) => f.id === b.estimationField)?.name } }
        : { type: 'none' },
    });
  }
  if ((m = /^\/rest\/agile\/1\.0\/board\/(\d+)\/sprint$/.exec(p))) {
    const b = data.boards.find((x) => x.id === Number(m![1]));
    if (!b) return json(res, 404, errorBody(['Board does not exist or you do not have permission to see it.']));
    if (b.type === 'kanban' || b.sprintsDisabled) return json(res, 400, errorBody(['The board does not support sprints']));
    const states = (q.get('state') ?? 'future,active,closed').split(',');
    const listed = b.sprintIds.map((id) => data.sprints.find((s) => s.id === id)!).filter((s) => states.includes(s.state));
    const order = { closed: 0, active: 1, future: 2 };
    const sorted = listed.map((s, i) => ({ s, i })).sort((a, c) => order[a.s.state] - order[c.s.state] || a.i - c.i);
    return json(
      res,
      200,
      agilePage(
        data,
        req,
        sorted.map(({ s }) => sprintJson(s, base)),
        'values',
      ),
    );
  }
  if ((m = /^\/rest\/agile\/1\.0\/sprint\/(\d+)\/issue$/.exec(p))) {
    const id = Number(m[1]);
    if (!data.sprints.some((s) => s.id === id))
      return json(res, 404, errorBody([`Sprint with id ${id} does not exist or you do not have permission to see it.`]));
    const withChangelog = (q.get('expand') ?? '').split(',').includes('changelog');
    const issues = data.issues.filter((i) => i.sprints.includes(id)).map((i) => issueJson(data, i, q.get('fields'), withChangelog, true));
    return json(res, 200, { expand: 'schema,names', ...agilePage(data, req, issues, 'issues') });
  }
  if (p === '/rest/greenhopper/1.0/rapid/charts/velocity' || p === '/rest/greenhopper/1.0/rapid/charts/velocity.json') {
    const b = data.boards.find((x) => x.id === Number(q.get('rapidViewId')));
    if (!b || b.velocity === 'unavailable') return json(res, 404, errorBody([`Could not find rapid view with id ${q.get('rapidViewId')}`]));
    const closed = b.sprintIds
      .map((id) => data.sprints.find((s) => s.id === id)!)
      .filter((s) => s.state === 'closed' && s.originBoardId === b.id)
      .slice(-data.velocityWindow);
    const stat = (v: number | null) => (v === null ? { text: 'null' } : { value: v, text: v.toFixed(1) });
    const vel = b.velocity;
    return json(res, 200, {
      sprints: closed.map((s) => ({ id: s.id, sequence: s.id, name: s.name, state: s.state.toUpperCase(), goal: '', linkedPagesCount: 0 })),
      velocityStatEntries: Object.fromEntries(
        closed.filter((s) => vel[s.id]).map((s) => [String(s.id), { estimated: stat(vel[s.id]!.estimated), completed: stat(vel[s.id]!.completed) }]),
      ),
    });
  }
  if (p === '/rest/greenhopper/1.0/rapid/charts/sprintreport') {
    const b = data.boards.find((x) => x.id === Number(q.get('rapidViewId')));
    const sprint = data.sprints.find((x) => x.id === Number(q.get('sprintId')));
    const report = b && b.sprintReports !== 'unavailable' ? b.sprintReports?.[Number(q.get('sprintId'))] : undefined;
    if (!b || !sprint || !report) return json(res, 404, errorBody([`Could not find sprint with id ${q.get('sprintId')}`]));
    return json(res, 200, sprintReportJson(sprint, b.id, report));
  }
  if ((m = /^\/rest\/api\/3\/issue\/([^/]+)\/changelog$/.exec(p)) && data.flavor === 'cloud') {
    const issue = data.issues.find((i) => i.key === m![1] || i.id === m![1]);
    if (!issue) return json(res, 404, errorBody(['Issue does not exist or you do not have permission to see it.']));
    const all = issue.changelog ?? [];
    const startAt = intParam(q, 'startAt', 0);
    const maxResults = Math.min(intParam(q, 'maxResults', 100) || 100, data.agilePageCap);
    const values = all.slice(startAt, startAt + maxResults);
    return json(res, 200, { self: `${base}${p}`, startAt, maxResults, total: all.length, isLast: startAt + values.length >= all.length, values });
  }
  if ((m = /^\/rest\/api\/2\/issue\/([^/]+)$/.exec(p)) && data.flavor === 'datacenter') {
    const issue = data.issues.find((i) => i.key === m![1] || i.id === m![1]);
    if (!issue) return json(res, 404, errorBody(['Issue Does Not Exist']));
    const all = issue.changelog ?? [];
    const withChangelog = (q.get('expand') ?? '').split(',').includes('changelog');
    const out = issueJson(data, issue, q.get('fields') ?? '*all', false, false);
    // Data Center's single-issue changelog is complete.
    if (withChangelog) out.changelog = { startAt: 0, maxResults: all.length, total: all.length, histories: all };
    return json(res, 200, out);
  }
  if ((m = /^\/rest\/api\/(2|3)\/field$/.exec(p))) {
    if (data.flavor === 'datacenter' && m[1] === '3') return json(res, 404, errorBody(['null for uri']));
    return json(res, 200, data.fields);
  }
  if ((m = /^\/rest\/api\/(2|3|latest)\/search$/.exec(p))) {
    if (data.flavor === 'cloud')
      return json(
        res,
        410,
        errorBody([
          'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046',
        ]),
      );
    if (m[1] === '3') return json(res, 404, errorBody(['null for uri']));
    const found = lookupJql(data, res, q.get('jql'));
    if (!found) return;
    const startAt = intParam(q, 'startAt', 0);
    const maxResults = Math.min(intParam(q, 'maxResults', 50) || 50, data.searchPageCap);
    const page = found.slice(startAt, startAt + maxResults).map((i) => issueJson(data, i, q.get('fields') ?? '*navigable', false, false));
    return json(res, 200, { expand: 'schema,names', startAt, maxResults, total: found.length, issues: page });
  }
  if ((m = /^\/rest\/api\/(2|3)\/search\/jql$/.exec(p)) && data.flavor === 'cloud') {
    const found = lookupJql(data, res, q.get('jql'));
    if (!found) return;
    const token = q.get('nextPageToken');
    const startAt = token ? Number(Buffer.from(token, 'base64url').toString().replace('offset:', '')) : 0;
    const maxResults = Math.min(intParam(q, 'maxResults', 50) || 50, data.searchPageCap);
    const slice = found.slice(startAt, startAt + maxResults);
    const more = startAt + slice.length < found.length;
    const body: Record<string, unknown> = { issues: slice.map((i) => issueJson(data, i, q.get('fields'), false, false)) };
    if (more) {
      body.nextPageToken = Buffer.from(`offset:${startAt + slice.length}`).toString('base64url');
      body.isLast = false;
    } else if (!data.omitIsLastOnSearch) body.isLast = true;
    return json(res, 200, body);
  }
  json(res, 404, errorBody([`null for uri: ${base}${p}`]));
}

function sprintReportJson(sprint: FakeSprint, boardId: number, r: FakeSprintReport) {
  const stat = (v: number | null) => (v === null ? {} : { value: v });
  const sum = (list: FakeReportIssue[], i: 1 | 2) => {
    const vals = list.map((x) => x[i]).filter((v): v is number => v !== null);
    return vals.length === 0 ? { text: 'null' } : { value: vals.reduce((a, b) => a + b, 0), text: vals.reduce((a, b) => a + b, 0).toFixed(1) };
  };
  const issue =
    (done: boolean) =>
    ([key, initial, current]: FakeReportIssue) => ({
      id: key.length,
      key,
      done,
      estimateStatistic: { statFieldId: 'customfield_10016', statFieldValue: stat(initial) },
      currentEstimateStatistic: { statFieldId: 'customfield_10016', statFieldValue: stat(current) },
    });
  // Dates in this API are display strings, not ISO (clients must not rely on them).
  const display = (iso?: string) => (iso ? new Date(iso).toUTCString().slice(5, 22) : 'None');
  return {
    contents: {
      completedIssues: r.completed.map(issue(true)),
      issuesNotCompletedInCurrentSprint: r.notCompleted.map(issue(false)),
      puntedIssues: r.punted.map(issue(false)),
      issuesCompletedInAnotherSprint: [],
      completedIssuesEstimateSum: sum(r.completed, 2),
      completedIssuesInitialEstimateSum: sum(r.completed, 1),
      issuesNotCompletedEstimateSum: sum(r.notCompleted, 2),
      issuesNotCompletedInitialEstimateSum: sum(r.notCompleted, 1),
      allIssuesEstimateSum: sum([...r.completed, ...r.notCompleted], 2),
      puntedIssuesEstimateSum: sum(r.punted, 2),
      puntedIssuesInitialEstimateSum: sum(r.punted, 1),
      issueKeysAddedDuringSprint: Object.fromEntries(r.added.map((k) => [k, true])),
    },
    sprint: {
      id: sprint.id,
      sequence: sprint.id,
      rapidViewId: boardId,
      name: sprint.name,
      state: sprint.state.toUpperCase(),
      startDate: display(sprint.startDate),
      endDate: display(sprint.endDate),
      completeDate: display(sprint.completeDate),
    },
    lastUserToClose: 'someone',
    supportsPages: false,
  };
}

function lookupJql(data: FakeJiraData, res: ServerResponse, jql: string | null): FakeIssue[] | undefined {
  if (!jql || jql.trim() === '') {
    json(res, 400, errorBody([], { jql: 'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.' }));
    return undefined;
  }
  let keys = data.queries[jql];
  // An incident query narrowed to the recently created (incidents.ts): `(<known query>) AND created >= "YYYY-MM-DD"`.
  const since = keys ? undefined : /^\((.+)\) AND created >= "(\d{4}-\d{2}-\d{2})"$/s.exec(jql);
  if (since && data.queries[since[1]!]) {
    const from = Date.parse(`${since[2]}T00:00:00Z`);
    keys = data.queries[since[1]!]!.filter((k) => {
      const created = data.issues.find((i) => i.key === k)?.fields.created;
      return typeof created === 'string' && Date.parse(created) >= from;
    });
  }
  if (!keys) {
    json(res, 400, errorBody([], { jql: `Error in the JQL Query: the query ${JSON.stringify(jql)} is not known to the fake.` }));
    return undefined;
  }
  return keys.map((k) => data.issues.find((i) => i.key === k)!).filter(Boolean);
}

/** Defaults for a fake; tests override what they need. */
export function fakeJiraData(overrides: Partial<FakeJiraData>): FakeJiraData {
  return {
    flavor: 'cloud',
    credentials: { email: 'bot@example.com', token: 'cloud-token-7f3a' },
    fields: [],
    boards: [],
    sprints: [],
    issues: [],
    queries: {},
    agilePageCap: 50,
    searchPageCap: 50,
    omitTotal: false,
    omitIsLastOnSearch: false,
    changelogCap: 100,
    velocityWindow: 12,
    failures: [],
    ...overrides,
  };
}
