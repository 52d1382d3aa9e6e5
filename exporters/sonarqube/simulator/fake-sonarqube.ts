/**
 * A fake SonarQube (Server 10.x/2025.x or Cloud) for tests, on 127.0.0.1 and a free port.
 * It behaves like the real Web API where okr-metrics depends on it: string values, `+0200`
 * date offsets, `p`/`ps` paging with `paging.total` and the real caps, `new_*` measures in
 * `period` / `periods` as different versions send them, metrics without data omitted, and
 * the documented 400/401/403/404/429 answers with `{"errors":[{"msg"}]}` bodies.
 * Its state is a plain object tests may change between collections.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../../../src/core/simulated-http.js';

export interface FakeAnalysis {
  /** `yyyy-MM-ddTHH:mm:ss+hhmm`, as the API prints it. */
  date: string;
  /** Metric key → value at that analysis; a metric missing here gives an entry without `value`. */
  values: Record<string, string>;
}

export interface FakeBranch {
  name: string;
  isMain?: boolean;
  analysisDate?: string;
  /** Current measures, string values as the API sends them; `new_*` keys are wrapped per `periodShape`. */
  measures?: Record<string, string>;
  gate?: 'OK' | 'ERROR' | 'NONE';
  history?: FakeAnalysis[];
}

export interface FakeProject {
  key: string;
  name?: string;
  /** Cloud: the project's organization. */
  organization?: string;
  branches: FakeBranch[];
  /** The token's user lacks Browse: hidden from search, 403 everywhere else. */
  forbidden?: boolean;
}

export interface FakeSonarState {
  flavor: 'server' | 'cloud';
  token: string;
  projects: FakeProject[];
  /**
   * Shape of `new_*` measures in `/api/measures/component`: `period` (10.x, 2025.x),
   * `periods` (≤ 8.0), `both` (8.1–9.9).
   */
  periodShape: 'period' | 'periods' | 'both';
  /** Metric keys this server does not know (404 in measures/component, 400 in search_history). */
  unknownMetrics: string[];
  /** Answer the next `times` requests to `path` with 429 (Cloud sends no Retry-After; set one to test it). */
  rateLimit?: { path: string; times: number; retryAfter?: string };
  /** Answer every request with 401 (a revoked token). */
  revoked?: boolean;
  /** Project key → status (e.g. 503) answered to every request about that project, as a failing node or proxy would. */
  failing?: Record<string, number>;
  /** Leave `status.qualityGateStatus` out of the branch list (a server that does not send it). */
  branchListWithoutGate?: boolean;
  /** Answer `api/components/search_projects` 404, as a server without that internal service would. */
  withoutSearchProjects?: boolean;
}

export interface FakeSonarqube extends FakeServer {
  state: FakeSonarState;
  /** Requests to `path`, in order. */
  calls(path: string): RecordedRequest[];
}

/** Metrics the fake knows beyond those its projects use (the ones okr-metrics asks for, and a few more). */
const KNOWN_METRICS = [
  'coverage',
  'new_coverage',
  'line_coverage',
  'duplicated_lines_density',
  'bugs',
  'vulnerabilities',
  'code_smells',
  'security_hotspots',
  'ncloc',
  'sqale_index',
  'new_bugs',
  'alert_status',
];

const BEST_VALUES: Record<string, string> = {
  bugs: '0',
  vulnerabilities: '0',
  code_smells: '0',
  security_hotspots: '0',
  sqale_index: '0',
  duplicated_lines_density: '0.0',
  coverage: '100.0',
};
const MAX_SEARCH_PAGE_SIZE = 500;
const SEARCH_RESULT_WINDOW = 10_000;
const MAX_HISTORY_PAGE_SIZE = 1000;

export async function startFakeSonarqube(init: Partial<FakeSonarState> & Pick<FakeSonarState, 'token' | 'projects'>): Promise<FakeSonarqube> {
  const state: FakeSonarState = { flavor: 'server', periodShape: 'period', unknownMetrics: [], ...init };
  const server = await startFakeServer((req, res) => handle(state, req, res));
  return { ...server, state, calls: (path) => server.requests.filter((r) => r.path === path) };
}

function errors(res: ServerResponse, status: number, ...msgs: string[]): void {
  sendJson(res, status, { errors: msgs.map((msg) => ({ msg })) });
}

function authorized(state: FakeSonarState, req: RecordedRequest): boolean {
  if (state.revoked) return false;
  const h = req.headers.authorization ?? '';
  if (h === `Bearer ${state.token}`) return true;
  // Basic with the token as login and an empty password (the only form SonarQube ≤ 9.x documents).
  if (h.startsWith('Basic ')) return Buffer.from(h.slice(6), 'base64').toString() === `${state.token}:`;
  return false;
}

function handle(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  if (state.rateLimit && state.rateLimit.path === req.path && state.rateLimit.times > 0) {
    state.rateLimit.times--;
    const headers: Record<string, string> = state.rateLimit.retryAfter ? { 'retry-after': state.rateLimit.retryAfter } : {};
    return sendJson(res, 429, { errors: [{ msg: 'Too many requests' }] }, headers);
  }
  if (!authorized(state, req)) {
    // The real server's 401 body is not guaranteed; send none.
    res.writeHead(401, { 'www-authenticate': 'Bearer' });
    return void res.end();
  }
  const about = req.query.get('component') ?? req.query.get('project') ?? req.query.get('projectKey');
  const failWith = about ? state.failing?.[about] : undefined;
  if (failWith !== undefined) {
    res.writeHead(failWith, { 'content-type': 'text/html' });
    return void res.end('<html><body><h1>Service Unavailable</h1></body></html>');
  }
  switch (req.path) {
    case '/api/components/search':
      return componentsSearch(state, req, res);
    case '/api/components/search_projects':
      if (state.withoutSearchProjects) return errors(res, 404, `Unknown url : ${req.path}`);
      return searchProjects(state, req, res);
    case '/api/project_branches/list':
      return branchesList(state, req, res);
    case '/api/measures/component':
      return measuresComponent(state, req, res);
    case '/api/qualitygates/project_status':
      return projectStatus(state, req, res);
    case '/api/measures/search_history':
      return searchHistory(state, req, res);
    default:
      return errors(res, 404, `Unknown url : ${req.path}`);
  }
}

function paging(
  req: RecordedRequest,
  res: ServerResponse,
  defaultSize: number,
  maxSize: number,
  maxMsg: (ps: number) => string,
): { p: number; ps: number } | undefined {
  const p = Number(req.query.get('p') ?? '1');
  const ps = Number(req.query.get('ps') ?? String(defaultSize));
  if (!Number.isInteger(p) || p < 1) return void errors(res, 400, `'p' value (${req.query.get('p')}) must be greater than 0`);
  if (!Number.isInteger(ps) || ps < 1) return void errors(res, 400, `'ps' value (${req.query.get('ps')}) must be greater than 0`);
  if (ps > maxSize) return void errors(res, 400, maxMsg(ps));
  return { p, ps };
}

function componentsSearch(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const qualifiers = req.query.get('qualifiers');
  if (!qualifiers) return errors(res, 400, "The 'qualifiers' parameter is missing");
  const org = req.query.get('organization');
  if (state.flavor === 'cloud' && !org) return errors(res, 400, "The 'organization' parameter is missing");
  const pg = paging(req, res, 100, MAX_SEARCH_PAGE_SIZE, (ps) => `'ps' value (${ps}) must be less than ${MAX_SEARCH_PAGE_SIZE}`);
  if (!pg) return;
  if (pg.p * pg.ps > SEARCH_RESULT_WINDOW)
    return errors(res, 400, `Can return only the first ${SEARCH_RESULT_WINDOW} results. ${pg.p * pg.ps}th result asked.`);
  const visible = qualifiers.split(',').includes('TRK')
    ? state.projects.filter((p) => !p.forbidden && (state.flavor === 'server' || p.organization === org))
    : [];
  // The real search is Elasticsearch-backed and sorted by name.
  visible.sort((a, b) => ((a.name ?? a.key) < (b.name ?? b.key) ? -1 : (a.name ?? a.key) > (b.name ?? b.key) ? 1 : 0));
  const page = visible.slice((pg.p - 1) * pg.ps, pg.p * pg.ps);
  sendJson(res, 200, {
    paging: { pageIndex: pg.p, pageSize: pg.ps, total: visible.length },
    components: page.map((p) => ({
      ...(state.flavor === 'cloud' ? { organization: p.organization } : {}),
      key: p.key,
      name: p.name ?? p.key,
      qualifier: 'TRK',
      project: p.key,
    })),
  });
}

/**
 * The Projects page's search (internal): projects sorted by name, each with its main branch's
 * last analysis when asked `f=analysisDate`; `filter` may only be `qualifier = TRK` here.
 */
function searchProjects(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const org = req.query.get('organization');
  if (state.flavor === 'cloud' && !org) return errors(res, 400, "The 'organization' parameter is missing");
  const filter = req.query.get('filter');
  if (filter !== null && !/^\s*qualifier\s*=\s*TRK\s*$/.test(filter)) return errors(res, 400, `Unsupported filter in the fake: ${filter}`);
  const pg = paging(req, res, 100, MAX_SEARCH_PAGE_SIZE, () => `Page size must not be greater than ${MAX_SEARCH_PAGE_SIZE}`);
  if (!pg) return;
  if (pg.p * pg.ps > SEARCH_RESULT_WINDOW)
    return errors(res, 400, `Can return only the first ${SEARCH_RESULT_WINDOW} results. ${pg.p * pg.ps}th result asked.`);
  const fields = (req.query.get('f') ?? '').split(',');
  const withDate = fields.includes('analysisDate') || fields.includes('_all');
  const visible = state.projects.filter((p) => !p.forbidden && (state.flavor === 'server' || p.organization === org));
  visible.sort((a, b) => ((a.name ?? a.key) < (b.name ?? b.key) ? -1 : (a.name ?? a.key) > (b.name ?? b.key) ? 1 : 0));
  const page = visible.slice((pg.p - 1) * pg.ps, pg.p * pg.ps);
  sendJson(res, 200, {
    paging: { pageIndex: pg.p, pageSize: pg.ps, total: visible.length },
    components: page.map((p) => {
      const date = p.branches.find((b) => b.isMain)?.analysisDate;
      return {
        key: p.key,
        name: p.name ?? p.key,
        qualifier: 'TRK',
        isFavorite: false,
        tags: [],
        visibility: 'private',
        isAiCodeAssured: false,
        isAiCodeFixEnabled: false,
        ...(withDate && date ? { analysisDate: date } : {}),
      };
    }),
  });
}

/** The project a request names, or undefined after answering 400/404/403. */
function projectFor(
  state: FakeSonarState,
  req: RecordedRequest,
  res: ServerResponse,
  param: string,
  notFound: (key: string) => string,
): FakeProject | undefined {
  const key = req.query.get(param);
  if (!key) return void errors(res, 400, `The '${param}' parameter is missing`);
  const project = state.projects.find((p) => p.key === key);
  if (!project) return void errors(res, 404, notFound(key));
  if (project.forbidden) return void errors(res, 403, 'Insufficient privileges');
  return project;
}

function branchFor(project: FakeProject, req: RecordedRequest, res: ServerResponse): FakeBranch | undefined {
  const name = req.query.get('branch');
  const branch = name ? project.branches.find((b) => b.name === name) : project.branches.find((b) => b.isMain);
  if (!branch) return void errors(res, 404, `Component '${project.key}' on branch '${name}' not found`);
  return branch;
}

function branchesList(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const project = projectFor(state, req, res, 'project', (k) => `Project '${k}' not found`);
  if (!project) return;
  sendJson(res, 200, {
    branches: project.branches.map((b) => ({
      name: b.name,
      isMain: b.isMain === true,
      type: 'BRANCH',
      ...(state.branchListWithoutGate ? {} : { status: { qualityGateStatus: b.gate ?? 'NONE' } }),
      ...(b.analysisDate ? { analysisDate: b.analysisDate } : {}),
    })),
  });
}

function measuresComponent(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const keysParam = req.query.get('metricKeys');
  const project = projectFor(state, req, res, 'component', (k) => `Component key '${k}' not found`);
  if (!project) return;
  if (!keysParam) return errors(res, 400, "The 'metricKeys' parameter is missing");
  const keys = keysParam.split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => state.unknownMetrics.includes(k) || !knownMetric(state, k));
  if (unknown.length > 0) return errors(res, 404, `The following metric keys are not found: ${unknown.join(', ')}`);
  const branch = branchFor(project, req, res);
  if (!branch) return;
  const measures = keys.flatMap((k): object[] => {
    const v = branch.measures?.[k];
    if (v === undefined) return [];
    if (!k.startsWith('new_')) return [{ metric: k, value: v, ...(k in BEST_VALUES ? { bestValue: v === BEST_VALUES[k] } : {}) }];
    // As SonarQube's own example (testdata/sonarqube-examples/measures-component.json): no `index` in `period`.
    const period = { value: v, bestValue: false };
    if (state.periodShape === 'period') return [{ metric: k, period }];
    if (state.periodShape === 'periods') return [{ metric: k, periods: [{ index: 1, value: v }] }];
    return [{ metric: k, periods: [{ index: 1, value: v }], period }];
  });
  const withPeriod = (req.query.get('additionalFields') ?? '').split(',').includes('period');
  sendJson(res, 200, {
    component: { key: project.key, name: project.name ?? project.key, qualifier: 'TRK', ...(req.query.get('branch') ? { branch: branch.name } : {}), measures },
    ...(withPeriod ? { period: { mode: 'previous_version', date: branch.analysisDate, parameter: '1.0' } } : {}),
  });
}

function knownMetric(state: FakeSonarState, key: string): boolean {
  return KNOWN_METRICS.includes(key) || state.projects.some((p) => p.branches.some((b) => key in (b.measures ?? {})));
}

function projectStatus(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const project = projectFor(state, req, res, 'projectKey', (k) => `Project '${k}' not found`);
  if (!project) return;
  const branch = branchFor(project, req, res);
  if (!branch) return;
  const status = branch.gate ?? 'NONE';
  sendJson(res, 200, {
    projectStatus: {
      status,
      ignoredConditions: false,
      caycStatus: status === 'OK' ? 'compliant' : 'non-compliant',
      conditions:
        status === 'NONE'
          ? []
          : [{ status, metricKey: 'new_coverage', comparator: 'LT', errorThreshold: '80', actualValue: branch.measures?.new_coverage ?? '0.0' }],
      ...(status === 'NONE' ? {} : { period: { mode: 'previous_version', date: branch.analysisDate, parameter: '1.0' } }),
    },
  });
}

function searchHistory(state: FakeSonarState, req: RecordedRequest, res: ServerResponse): void {
  const project = projectFor(state, req, res, 'component', (k) => `Component key '${k}' not found`);
  if (!project) return;
  const metricsParam = req.query.get('metrics');
  if (!metricsParam) return errors(res, 400, "The 'metrics' parameter is missing");
  const pg = paging(req, res, 100, MAX_HISTORY_PAGE_SIZE, (ps) => `Page size (${ps}) must be lower than or equal to ${MAX_HISTORY_PAGE_SIZE}`);
  if (!pg) return;
  const metrics = metricsParam.split(',').map((m) => m.trim());
  const unknown = metrics.filter((k) => state.unknownMetrics.includes(k) || !knownMetric(state, k));
  if (unknown.length > 0) return errors(res, 400, `Metrics ${unknown.join(', ')} are not found`);
  const branch = branchFor(project, req, res);
  if (!branch) return;
  const from = parseBound(req.query.get('from'), 'start');
  const to = parseBound(req.query.get('to'), 'end');
  if (Number.isNaN(from) || Number.isNaN(to)) return errors(res, 400, "'from' and 'to' must be dates (yyyy-MM-dd) or datetimes (yyyy-MM-dd'T'HH:mm:ssZ)");
  const analyses = (branch.history ?? [])
    .filter((a) => Date.parse(a.date) >= from && Date.parse(a.date) <= to)
    .sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
  const page = analyses.slice((pg.p - 1) * pg.ps, pg.p * pg.ps);
  sendJson(res, 200, {
    paging: { pageIndex: pg.p, pageSize: pg.ps, total: analyses.length },
    measures: metrics.map((metric) => ({
      metric,
      history: page.map((a) => (a.values[metric] !== undefined ? { date: a.date, value: a.values[metric] } : { date: a.date })),
    })),
  });
}

/** `from`/`to`: a date (whole day, server time zone = UTC here) or a datetime; both inclusive. */
function parseBound(text: string | null, end: 'start' | 'end'): number {
  if (!text) return end === 'start' ? -Infinity : Infinity;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return Date.parse(`${text}T00:00:00Z`) + (end === 'end' ? 86_400_000 - 1 : 0);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$/.test(text)) return NaN;
  return Date.parse(text);
}
