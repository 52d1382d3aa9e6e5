/**
 * A fake Bitbucket Data Center REST 1.0 for tests (source-apis.md 4): `start`/`limit` paging
 * with `isLastPage`/`nextPageStart` and a server-side cap on `limit`, epoch-millisecond dates,
 * pull requests ordered by last update (NEWEST, the default) or by close date (CLOSED_DATE), commits from the default
 * branch unless `until` names a ref, Code Insights reports under /rest/insights/1.0, and
 * `{errors:[{context,message,exceptionName}]}` bodies with Content-Type on every answer.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../../../src/core/simulated-http.js';
import type { Intercept } from '../simulator/fake-cloud-server.js';

export interface FakeDcPr {
  id: number;
  state: 'OPEN' | 'MERGED' | 'DECLINED';
  createdDate: number;
  updatedDate: number;
  closedDate?: number;
}

export interface FakeDcReport {
  key: string;
  title: string;
  data: Array<{ title: string; type: string; value: unknown }>;
}

export interface FakeDcRepo {
  slug: string;
  defaultBranch: string;
  /** Branch name → head commit id. */
  branches: Record<string, string>;
  pullRequests: FakeDcPr[];
  /** Commit id → reports. */
  reports: Record<string, FakeDcReport[]>;
}

export interface FakeDcFixture {
  project: string;
  repos: FakeDcRepo[];
  authorization: string;
  /** The server's cap on `limit` (an admin setting on real servers; 1000 by default there). */
  maxLimit: number;
}

export interface FakeDc extends FakeServer {
  fixture: FakeDcFixture;
  intercepts: Intercept[];
}

export function sendDcError(res: ServerResponse, status: number, message: string, exceptionName: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ context: null, message, exceptionName }] }, headers);
}

function sendPage(req: RecordedRequest, res: ServerResponse, items: unknown[], maxLimit: number): void {
  const start = Number(req.query.get('start') ?? 0);
  const limit = Math.min(Number(req.query.get('limit') ?? 25), maxLimit);
  const values = items.slice(start, start + limit);
  const isLastPage = start + limit >= items.length;
  sendJson(res, 200, { size: values.length, limit, isLastPage, start, values, ...(isLastPage ? {} : { nextPageStart: start + values.length }) });
}

export async function startFakeDataCenter(fixture: FakeDcFixture): Promise<FakeDc> {
  const intercepts: Intercept[] = [];
  const server = await startFakeServer((req, res) => {
    for (const i of intercepts) if (i(req, res)) return;
    if (req.headers.authorization !== fixture.authorization) {
      sendDcError(
        res,
        401,
        'Authentication failed. Please check your credentials and try again.',
        'com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException',
      );
      return;
    }
    route(fixture, req, res);
  });
  return Object.assign(server, { fixture, intercepts });
}

function prJson(fx: FakeDcFixture, repo: FakeDcRepo, pr: FakeDcPr): Record<string, unknown> {
  return {
    id: pr.id,
    version: 3,
    title: `Change ${pr.id}`,
    state: pr.state,
    open: pr.state === 'OPEN',
    closed: pr.state !== 'OPEN',
    createdDate: pr.createdDate,
    updatedDate: pr.updatedDate,
    ...(pr.closedDate !== undefined ? { closedDate: pr.closedDate } : {}),
    fromRef: { id: `refs/heads/feature-${pr.id}`, displayId: `feature-${pr.id}`, latestCommit: `f${pr.id}` },
    toRef: { id: `refs/heads/${repo.defaultBranch}`, displayId: repo.defaultBranch, latestCommit: repo.branches[repo.defaultBranch] },
    author: { user: { name: 'dev', displayName: 'Dev' }, role: 'AUTHOR', approved: false, status: 'UNAPPROVED' },
    reviewers: [],
    participants: [],
    links: { self: [{ href: `http://bitbucket.example.com/projects/${fx.project}/repos/${repo.slug}/pull-requests/${pr.id}` }] },
  };
}

function route(fx: FakeDcFixture, req: RecordedRequest, res: ServerResponse): void {
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  const api = parts[0] === 'rest' && (parts[1] === 'api' || parts[1] === 'insights') && (parts[2] === '1.0' || parts[2] === 'latest');
  if (!api || parts[3] !== 'projects') return sendDcError(res, 404, 'Not found', 'com.atlassian.bitbucket.NoSuchEntityException');
  if (parts[4] !== fx.project) return sendDcError(res, 404, `Project ${parts[4]} does not exist.`, 'com.atlassian.bitbucket.project.NoSuchProjectException');
  if (parts[1] === 'api' && parts[5] === 'repos' && parts.length === 6)
    return sendPage(
      req,
      res,
      fx.repos.map((r, i) => ({ slug: r.slug, id: i + 1, name: r.slug, project: { key: fx.project } })),
      fx.maxLimit,
    );
  const repo = fx.repos.find((r) => r.slug === parts[6]);
  if (parts[5] !== 'repos' || !repo)
    return sendDcError(res, 404, `Repository ${fx.project}/${parts[6]} does not exist.`, 'com.atlassian.bitbucket.repository.NoSuchRepositoryException');
  const rest = parts.slice(7);
  if (parts[1] === 'api' && rest[0] === 'pull-requests' && rest.length === 1) {
    const state = req.query.get('state') ?? 'OPEN';
    const order = req.query.get('order') ?? 'NEWEST';
    // CLOSED_DATE: open pull requests first, then the most recently closed.
    const closed = (p: FakeDcPr) => p.closedDate ?? Number.POSITIVE_INFINITY;
    const items = repo.pullRequests
      .filter((p) => state === 'ALL' || p.state === state)
      .sort((a, b) =>
        order === 'OLDEST'
          ? a.updatedDate - b.updatedDate
          : order === 'CLOSED_DATE'
            ? closed(b) - closed(a) || b.updatedDate - a.updatedDate
            : b.updatedDate - a.updatedDate,
      )
      .map((p) => prJson(fx, repo, p));
    return sendPage(req, res, items, fx.maxLimit);
  }
  if (parts[1] === 'api' && rest[0] === 'commits' && rest.length === 1) {
    const until = req.query.get('until');
    const branch = until ? until.replace(/^refs\/heads\//, '') : repo.defaultBranch;
    const id = repo.branches[branch];
    if (!id)
      return sendDcError(res, 404, `Commit '${until}' does not exist in repository '${repo.slug}'.`, 'com.atlassian.bitbucket.commit.NoSuchCommitException');
    return sendPage(req, res, [{ id, displayId: id.slice(0, 11), committerTimestamp: 1764000000000, message: 'head' }], fx.maxLimit);
  }
  if (parts[1] === 'insights' && rest[0] === 'commits' && rest[2] === 'reports' && rest.length === 3) {
    const reports = (repo.reports[rest[1]!] ?? []).map((r) => ({ ...r, result: 'PASS', reporter: 'ci', createdDate: 1764000000000 }));
    return sendPage(req, res, reports, fx.maxLimit);
  }
  sendDcError(res, 404, 'Not found', 'com.atlassian.bitbucket.NoSuchEntityException');
}
