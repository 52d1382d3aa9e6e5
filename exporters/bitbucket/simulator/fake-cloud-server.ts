/**
 * A fake Bitbucket Cloud 2.0 API for tests, behaving like the real one where our client
 * depends on it (source-apis.md 3.x): absolute `next` URLs built from the request Host and
 * absent on the last page (and on every page of the pipelines list, as on the real API),
 * `pagelen` above 50 on pull requests → 400, default state OPEN,
 * BBQL `q` on updated_on/created_on/state, `sort` on repository and pull request lists,
 * pipelines oldest-first unless sort=-created_on,
 * microsecond `+00:00` timestamps, the `{type:'error'}` envelope, 401 with WWW-Authenticate,
 * and Content-Type on every answer. The fixture is plain data the test may change between
 * refreshes; `intercept` injects 429s and other failures.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../../../src/core/simulated-http.js';
import { routeDeployments, type FakeCloudDeploymentData } from './fake-cloud-deployments.js';

export interface FakeCloudPr {
  id: number;
  state: 'OPEN' | 'MERGED' | 'DECLINED' | 'SUPERSEDED';
  createdMs: number;
  updatedMs: number;
  /** The merge commit once merged (default m<id>def), and the pull request's own commits (fake-cloud-deployments.ts). */
  mergeCommit?: string;
  commits?: string[];
}

export interface FakeCloudPipeline {
  buildNumber: number;
  createdMs: number;
  completedMs?: number;
  /** Upper-case result name once completed, e.g. SUCCESSFUL. */
  result?: string;
  /** The commit it ran on (default abc1234). */
  commit?: string;
}

export interface FakeCloudReport {
  external_id: string;
  title: string;
  report_type: 'SECURITY' | 'COVERAGE' | 'TEST' | 'BUG';
  data: Array<{ title: string; type: string; value: unknown }>;
}

export interface FakeCloudRepo {
  slug: string;
  project?: string;
  mainbranch?: string;
  pullRequests: FakeCloudPr[];
  pipelines: FakeCloudPipeline[];
  /** Branch name → head commit hash. */
  branches: Record<string, string>;
  /** Commit hash → reports. */
  reports: Record<string, FakeCloudReport[]>;
  /**
   * The repository's `updated_on`. Left out, it is the latest pull request update or pipeline
   * start (a guess at what moves it on the real API, which does not document it).
   */
  updatedMs?: number;
  /** Deployments, environments and the commit graph (fake-cloud-deployments.ts). */
  deploy?: FakeCloudDeploymentData;
}

export interface FakeCloudFixture {
  workspace: string;
  repos: FakeCloudRepo[];
  /** The exact Authorization header accepted. */
  authorization: string;
  /** Query parameters left out of `next` links (seen on some real endpoints for `sort`/`fields`). */
  nextDrops?: string[];
}

/** Return true when the request was answered (e.g. with a 429). */
export type Intercept = (req: RecordedRequest, res: ServerResponse) => boolean;

export interface FakeCloud extends FakeServer {
  fixture: FakeCloudFixture;
  intercepts: Intercept[];
}

/** Bitbucket Cloud's timestamp format: microseconds and a `+00:00` offset. */
export function cloudTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { type: 'error', error: { message } }, headers);
}

/**
 * One page of `items` with Bitbucket's paging envelope; `next` is absolute, from the Host.
 * `withNext: false` is the pipelines list: `page`, `pagelen` and `size` but never a `next`
 * link, even when more pages exist (BCLOUD-13806; recorded in atlassian-python-api's
 * tests/responses, see testdata/atlassian-python-api/SOURCES.md).
 */
function sendPage(req: RecordedRequest, res: ServerResponse, items: unknown[], drops: string[] = [], withNext = true): void {
  const pagelen = Number(req.query.get('pagelen') ?? 10);
  const page = Number(req.query.get('page') ?? 1);
  const start = (page - 1) * pagelen;
  const body: Record<string, unknown> = { page, pagelen, size: items.length, values: items.slice(start, start + pagelen) };
  if (withNext && start + pagelen < items.length) {
    const q = new URLSearchParams(req.query);
    q.set('page', String(page + 1));
    for (const d of drops) q.delete(d);
    body.next = `http://${String(req.headers.host)}${req.path}?${q.toString()}`;
  }
  sendJson(res, 200, body);
}

type Filter = (item: Record<string, unknown>) => boolean;

/** The BBQL subset we use: `field op value` clauses joined by AND on dates and strings. */
function parseBbql(q: string): Filter | string {
  const clauses = q.split(/\s+AND\s+/i);
  const filters: Filter[] = [];
  for (const c of clauses) {
    const m = /^\s*([a-z_.]+)\s*(>=|<=|>|<|=|!=)\s*(.+?)\s*$/.exec(c);
    if (!m) return `Invalid query: ${c}`;
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    if (!['updated_on', 'created_on', 'state', 'project.key'].includes(field)) return `Field "${field}" does not support filtering`;
    const quoted = /^"(.*)"$/.exec(raw);
    let value: string | number;
    if (quoted) value = quoted[1]!;
    else {
      if (/Z$/.test(raw)) return `Invalid datetime: ${raw}`; // reported to fail: use +00:00
      const t = Date.parse(raw);
      if (Number.isNaN(t)) return `Invalid value: ${raw}`;
      value = t;
    }
    filters.push((item) => {
      const v = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], item);
      const left = typeof value === 'number' ? Date.parse(String(v)) : String(v);
      switch (op) {
        case '>=':
          return left >= value;
        case '<=':
          return left <= value;
        case '>':
          return left > value;
        case '<':
          return left < value;
        case '=':
          return left === value;
        default:
          return left !== value;
      }
    });
  }
  return (item) => filters.every((f) => f(item));
}

function sortBy(items: Array<Record<string, unknown>>, sort: string | null): string | undefined {
  if (!sort) return undefined;
  const desc = sort.startsWith('-');
  const field = desc ? sort.slice(1) : sort;
  if (!['updated_on', 'created_on', 'id'].includes(field)) return `Invalid sort field: ${field}`;
  items.sort((a, b) => {
    const x = field === 'id' ? Number(a.id) : Date.parse(String(a[field]));
    const y = field === 'id' ? Number(b.id) : Date.parse(String(b[field]));
    return desc ? y - x : x - y;
  });
  return undefined;
}

function prJson(ws: string, slug: string, pr: FakeCloudPr): Record<string, unknown> {
  return {
    type: 'pullrequest',
    id: pr.id,
    title: `Change ${pr.id}`,
    state: pr.state,
    created_on: cloudTime(pr.createdMs),
    updated_on: cloudTime(pr.updatedMs),
    author: { type: 'user', display_name: 'Example User', uuid: '{1b2c3d4e-0000-4000-8000-000000000001}' },
    source: { branch: { name: `feature/${pr.id}` }, commit: { hash: `s${pr.id}abc` }, repository: { full_name: `${ws}/${slug}` } },
    destination: { branch: { name: 'main' }, commit: { hash: '0f1e2d3c4b5a' } },
    merge_commit: pr.state === 'MERGED' ? { hash: pr.mergeCommit ?? `m${pr.id}def` } : null,
    close_source_branch: true,
    comment_count: 0,
    task_count: 0,
    links: { self: { href: `https://api.bitbucket.org/2.0/repositories/${ws}/${slug}/pullrequests/${pr.id}` } },
  };
}

function pipelineJson(p: FakeCloudPipeline): Record<string, unknown> {
  const state =
    p.result === undefined
      ? { type: 'pipeline_state_in_progress', name: 'IN_PROGRESS', stage: { type: 'pipeline_state_in_progress_running', name: 'RUNNING' } }
      : {
          type: 'pipeline_state_completed',
          name: 'COMPLETED',
          result: { type: `pipeline_state_completed_${p.result.toLowerCase()}`, name: p.result },
        };
  return {
    type: 'pipeline',
    uuid: `{00000000-0000-4000-8000-${String(p.buildNumber).padStart(12, '0')}}`,
    build_number: p.buildNumber,
    created_on: cloudTime(p.createdMs),
    ...(p.completedMs !== undefined ? { completed_on: cloudTime(p.completedMs) } : {}),
    build_seconds_used: p.completedMs !== undefined ? Math.round((p.completedMs - p.createdMs) / 1000) : 0,
    state,
    target: { type: 'pipeline_ref_target', ref_type: 'branch', ref_name: 'main', commit: { type: 'commit', hash: p.commit ?? 'abc1234' } },
    trigger: { type: 'pipeline_trigger_push' },
  };
}

/** `updated_on` of a repository: as set, else its latest activity (2026-01-01 when it has none). */
export function repoUpdatedMs(r: FakeCloudRepo): number {
  if (r.updatedMs !== undefined) return r.updatedMs;
  const times = [...r.pullRequests.map((p) => p.updatedMs), ...r.pipelines.map((p) => p.createdMs)];
  return times.length > 0 ? Math.max(...times) : Date.UTC(2026, 0, 1);
}

export async function startFakeCloud(fixture: FakeCloudFixture): Promise<FakeCloud> {
  const intercepts: Intercept[] = [];
  const server = await startFakeServer((req, res) => {
    for (const i of intercepts) if (i(req, res)) return;
    if (req.headers.authorization !== fixture.authorization) {
      sendError(res, 401, 'Access token expired or invalid.', { 'www-authenticate': 'Basic realm="Bitbucket.org HTTP"' });
      return;
    }
    route(fixture, req, res);
  });
  return Object.assign(server, { fixture, intercepts });
}

function route(fx: FakeCloudFixture, req: RecordedRequest, res: ServerResponse): void {
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== '2.0' || parts[1] !== 'repositories' || parts[2] !== fx.workspace) {
    sendError(res, 404, 'Resource not found');
    return;
  }
  const ws = fx.workspace;
  if (parts.length === 3) {
    const items: Array<Record<string, unknown>> = fx.repos.map((r) => ({
      type: 'repository',
      slug: r.slug,
      name: r.slug,
      full_name: `${ws}/${r.slug}`,
      is_private: true,
      mainbranch: r.mainbranch ? { type: 'branch', name: r.mainbranch } : null,
      project: { type: 'project', key: r.project ?? 'PROJ' },
      updated_on: cloudTime(repoUpdatedMs(r)),
    }));
    if (Number(req.query.get('pagelen') ?? 10) > 100) return sendError(res, 400, 'Invalid pagelen');
    const q = req.query.get('q');
    const filter = q ? parseBbql(q) : undefined;
    if (typeof filter === 'string') return sendError(res, 400, filter);
    const listed = filter ? items.filter(filter) : items;
    const bad = sortBy(listed, req.query.get('sort'));
    if (bad) return sendError(res, 400, bad);
    return sendPage(req, res, listed, fx.nextDrops);
  }
  const repo = fx.repos.find((r) => r.slug === parts[3]);
  if (!repo) return sendError(res, 404, 'Repository not found');
  const rest = parts.slice(4);
  if (rest.length === 0)
    return sendJson(res, 200, {
      type: 'repository',
      slug: repo.slug,
      full_name: `${ws}/${repo.slug}`,
      mainbranch: repo.mainbranch ? { type: 'branch', name: repo.mainbranch } : null,
    });
  if (rest[0] === 'pullrequests' && rest.length === 1) {
    const pagelen = Number(req.query.get('pagelen') ?? 10);
    if (pagelen > 50) return sendError(res, 400, 'Invalid pagelen');
    const states = req.query.getAll('state');
    const wanted = states.length > 0 ? states : ['OPEN'];
    let items = repo.pullRequests.filter((p) => wanted.includes(p.state)).map((p) => prJson(ws, repo.slug, p));
    const q = req.query.get('q');
    if (q) {
      const filter = parseBbql(q);
      if (typeof filter === 'string') return sendError(res, 400, filter);
      items = items.filter(filter);
    }
    const bad = sortBy(items, req.query.get('sort'));
    if (bad) return sendError(res, 400, bad);
    return sendPage(req, res, items, fx.nextDrops);
  }
  if (routeDeployments(repo, rest, req, res)) return;
  if (rest[0] === 'pipelines' && rest.length === 2) {
    const p = repo.pipelines.find((x) => pipelineJson(x).uuid === rest[1]);
    return p ? sendJson(res, 200, pipelineJson(p)) : sendError(res, 404, 'Pipeline not found');
  }
  if (rest[0] === 'pipelines' && rest.length === 1) {
    const items = [...repo.pipelines].sort((a, b) => a.createdMs - b.createdMs).map(pipelineJson);
    const sort = req.query.get('sort');
    if (sort === '-created_on') items.reverse();
    else if (sort && sort !== 'created_on') return sendError(res, 400, `Invalid sort field: ${sort}`);
    return sendPage(req, res, items, fx.nextDrops, false);
  }
  if (rest[0] === 'refs' && rest[1] === 'branches' && rest.length === 3) {
    const hash = repo.branches[rest[2]!];
    if (!hash) return sendError(res, 404, `Branch "${rest[2]}" not found`);
    return sendJson(res, 200, { type: 'branch', name: rest[2], target: { type: 'commit', hash } });
  }
  if (rest[0] === 'commit' && rest[2] === 'reports' && rest.length === 3) {
    const reports = (repo.reports[rest[1]!] ?? []).map((r, i) => ({
      type: 'report',
      uuid: `{00000000-0000-4000-9000-${String(i).padStart(12, '0')}}`,
      ...r,
      reporter: 'ci',
      result: 'PASSED',
      created_on: '2026-11-01T10:00:00.000000+00:00',
      updated_on: '2026-11-01T10:00:00.000000+00:00',
    }));
    return sendPage(req, res, reports, fx.nextDrops);
  }
  sendError(res, 404, 'Resource not found');
}
