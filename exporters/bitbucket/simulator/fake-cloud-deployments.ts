/**
 * The Deployments part of the fake Bitbucket Cloud (fake-cloud-server.ts routes to it): a
 * repository's environments, its deployments, the commit graph behind `/commits?include=&exclude=`
 * and pull requests' commits. Shapes follow the Bitbucket Cloud OpenAPI spec (deployment_environment
 * with environment_type; deployment with state.name, state.status.name, state.start_date,
 * state.completion_date, release.commit, deployable.pipeline) and a recorded commit list
 * (atlassian-python-api tests/responses/bitbucket/cloud/.../pullrequests/1/commits/GET: hash,
 * date with +00:00, parents, pages with `pagelen` and `page`). The order and sort key of
 * `/deployments` are not documented: the fake lists oldest first and honours
 * `sort=-state.started_on`.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedRequest } from '../../../src/core/simulated-http.js';
import type { FakeCloudRepo } from './fake-cloud-server.js';

export interface FakeCloudCommit {
  hash: string;
  dateMs: number;
  parents: string[];
}

export interface FakeCloudEnvironment {
  uuid: string;
  name: string;
  type: 'Test' | 'Staging' | 'Production';
}

export interface FakeCloudDeployment {
  uuid: string;
  environmentUuid: string;
  state: 'COMPLETED' | 'IN_PROGRESS' | 'UNDEPLOYED';
  /** Once COMPLETED. */
  status?: 'SUCCESSFUL' | 'FAILED' | 'STOPPED';
  startedMs: number;
  completedMs?: number;
  commit: string;
  /** The pipeline it ran in: its commit is then only on the pipeline when `releaseCommit` is false. */
  pipelineUuid?: string;
  /** Whether release.commit carries the commit (default true). */
  releaseCommit?: boolean;
}

export interface FakeCloudDeploymentData {
  environments: FakeCloudEnvironment[];
  deployments: FakeCloudDeployment[];
  commits: FakeCloudCommit[];
  /** Largest page these lists return whatever is asked (Bitbucket: 100). */
  pageCap?: number;
  /** Leave `next` out of pages that have a next one (pipelines' pages are known to): clients page by number. */
  omitNext?: boolean;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { type: 'error', error: { message } });
}

/** One page with Bitbucket's envelope: `next` absolute (from the Host) and absent on the last page. */
function sendPage(req: RecordedRequest, res: ServerResponse, items: unknown[], data: FakeCloudDeploymentData | undefined): void {
  const pagelen = Math.min(Number(req.query.get('pagelen') ?? 10), data?.pageCap ?? 100);
  const page = Number(req.query.get('page') ?? 1);
  const start = (page - 1) * pagelen;
  const body: Record<string, unknown> = { pagelen, page, size: items.length, values: items.slice(start, start + pagelen) };
  if (start + pagelen < items.length && !data?.omitNext) {
    const q = new URLSearchParams(req.query);
    q.set('page', String(page + 1));
    body.next = `http://${String(req.headers.host)}${req.path}?${q.toString()}`;
  }
  sendJson(res, 200, body);
}

/** Bitbucket's commit dates: seconds and `+00:00`. */
function commitDate(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}+00:00`;
}

function commitJson(repo: FakeCloudRepo, c: FakeCloudCommit): Record<string, unknown> {
  const self = (hash: string) => `https://api.bitbucket.org/2.0/repositories/ws/${repo.slug}/commit/${hash}`;
  return {
    type: 'commit',
    hash: c.hash,
    date: commitDate(c.dateMs),
    author: { type: 'author', raw: 'Example User <user@example.com>' },
    message: `Change ${c.hash.slice(0, 7)}`,
    links: { self: { href: self(c.hash) } },
    parents: c.parents.map((p) => ({ hash: p, type: 'commit', links: { self: { href: self(p) } } })),
    repository: { type: 'repository', full_name: `ws/${repo.slug}`, name: repo.slug },
  };
}

function environmentJson(e: FakeCloudEnvironment, rank: number): Record<string, unknown> {
  return {
    type: 'deployment_environment',
    uuid: e.uuid,
    name: e.name,
    slug: e.name.toLowerCase(),
    rank,
    hidden: false,
    environment_lock_enabled: true,
    deployment_gate_enabled: false,
    lock: { type: 'deployment_environment_lock_open', name: 'OPEN' },
    restrictions: { type: 'deployment_restrictions_configuration', admin_only: false },
    category: { name: e.type.toUpperCase() },
    environment_type: { type: 'deployment_environment_type', name: e.type, rank: ['Test', 'Staging', 'Production'].indexOf(e.type) },
  };
}

const pipelinesTime = (ms: number) => new Date(ms).toISOString();

function deploymentJson(d: FakeCloudDeployment): Record<string, unknown> {
  const commit = { type: 'commit', hash: d.commit };
  const state =
    d.state === 'COMPLETED'
      ? {
          type: 'deployment_state_completed',
          name: 'COMPLETED',
          status: { type: `deployment_state_completed_status_${(d.status ?? 'SUCCESSFUL').toLowerCase()}`, name: d.status ?? 'SUCCESSFUL' },
          start_date: pipelinesTime(d.startedMs),
          ...(d.completedMs !== undefined ? { completion_date: pipelinesTime(d.completedMs) } : {}),
          url: 'https://bitbucket.org/ws/repo/addon/pipelines/home#!/results/1',
        }
      : d.state === 'IN_PROGRESS'
        ? { type: 'deployment_state_in_progress', name: 'IN_PROGRESS', start_date: pipelinesTime(d.startedMs) }
        : { type: 'deployment_state_undeployed', name: 'UNDEPLOYED' };
  return {
    type: 'deployment',
    uuid: d.uuid,
    state,
    environment: { type: 'deployment_environment_ref', uuid: d.environmentUuid },
    release: {
      type: 'deployment_release',
      uuid: `${d.uuid}-release`,
      name: `#${d.uuid.slice(1, 6)}`,
      created_on: pipelinesTime(d.startedMs),
      ...(d.releaseCommit === false ? {} : { commit }),
    },
    deployable: {
      type: 'deployment_deployable',
      name: `#${d.uuid.slice(1, 6)}`,
      created_on: pipelinesTime(d.startedMs),
      ...(d.releaseCommit === false ? {} : { commit }),
      ...(d.pipelineUuid ? { pipeline: { type: 'pipeline', uuid: d.pipelineUuid } } : {}),
    },
  };
}

/** Commits reachable from `from` (itself included) in the graph. */
function ancestors(byHash: Map<string, FakeCloudCommit>, from: string): Set<string> {
  const out = new Set<string>();
  const todo = [from];
  while (todo.length > 0) {
    const h = todo.pop()!;
    if (out.has(h) || !byHash.has(h)) continue;
    out.add(h);
    todo.push(...byHash.get(h)!.parents);
  }
  return out;
}

/** Answer the deployments routes of `repo`; false when `rest` is not one of them. */
export function routeDeployments(repo: FakeCloudRepo, rest: string[], req: RecordedRequest, res: ServerResponse): boolean {
  const data = repo.deploy;
  if (rest[0] === 'environments' && rest.length === 1) {
    sendPage(req, res, (data?.environments ?? []).map(environmentJson), data);
    return true;
  }
  if (rest[0] === 'deployments' && rest.length === 1) {
    const sort = req.query.get('sort');
    const items = [...(data?.deployments ?? [])].sort((a, b) => a.startedMs - b.startedMs);
    if (sort === '-state.started_on') items.reverse();
    else if (sort && sort !== 'state.started_on') {
      sendError(res, 400, `Invalid sort field: ${sort}`);
      return true;
    }
    sendPage(req, res, items.map(deploymentJson), data);
    return true;
  }
  if (rest[0] === 'commits' && rest.length === 1) {
    const byHash = new Map((data?.commits ?? []).map((c) => [c.hash, c]));
    const include = req.query.getAll('include');
    const exclude = req.query.getAll('exclude');
    const missing = [...include, ...exclude].find((h) => !byHash.has(h));
    if (missing) {
      sendError(res, 404, `Commit not found: ${missing}`);
      return true;
    }
    const reachable = new Set(include.flatMap((h) => [...ancestors(byHash, h)]));
    for (const h of exclude) for (const x of ancestors(byHash, h)) reachable.delete(x);
    const items = [...reachable].map((h) => byHash.get(h)!).sort((a, b) => b.dateMs - a.dateMs || (a.hash < b.hash ? 1 : -1));
    sendPage(
      req,
      res,
      items.map((c) => commitJson(repo, c)),
      data,
    );
    return true;
  }
  if (rest[0] === 'pullrequests' && rest[2] === 'commits' && rest.length === 3) {
    const pr = repo.pullRequests.find((p) => String(p.id) === rest[1]);
    if (!pr) {
      sendError(res, 404, 'Pull request not found');
      return true;
    }
    const byHash = new Map((data?.commits ?? []).map((c) => [c.hash, c]));
    const items = (pr.commits ?? []).flatMap((h) => (byHash.has(h) ? [byHash.get(h)!] : [])).sort((a, b) => b.dateMs - a.dateMs);
    sendPage(
      req,
      res,
      items.map((c) => commitJson(repo, c)),
      data,
    );
    return true;
  }
  if (rest[0] === 'deployments' && rest.length === 2) {
    const d = data?.deployments.find((x) => x.uuid === rest[1]);
    if (d) sendJson(res, 200, deploymentJson(d));
    else sendError(res, 404, 'Deployment not found');
    return true;
  }
  return false;
}
