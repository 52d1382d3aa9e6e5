/**
 * The Bitbucket contract, held to answers recorded by atlassian-python-api (testdata/
 * atlassian-python-api/, see SOURCES.md there): each parses through its schema, the clients read
 * them right (the pipelines page without `next` included), and the fakes answer in the same shape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fixedClock } from '../../src/core/clock.js';
import { HttpClient } from '../../src/core/http-client.js';
import { Secret } from '../../src/core/secrets.js';
import { sendJson, startFakeServer, type FakeServer } from '../../src/core/simulated-http.js';
import { testContext } from '../testing/collect-context.js';
import { shapeExtras } from '../testing/json-shape.js';
import { BranchSchema, PipelineListSchema, PullRequestListSchema, RepositoryListSchema } from './cloud-api.js';
import { BitbucketCloudApi } from './cloud-client.js';
import { RepoListSchema } from './datacenter-api.js';
import { BitbucketDataCenterApi } from './datacenter-client.js';
import { startFakeCloud } from './simulator/fake-cloud-server.js';
import { startFakeDataCenter } from './testing/fake-datacenter-server.js';

const DIR = join(import.meta.dirname, 'testdata', 'atlassian-python-api');
const recorded = (file: string): unknown => JSON.parse(readFileSync(join(DIR, file), 'utf8'));

const FILES: Record<string, { file: string; schema: z.ZodType }> = {
  repositories: { file: 'repositories-list.json', schema: RepositoryListSchema },
  'pull requests': { file: 'pullrequests-list.json', schema: PullRequestListSchema },
  pipelines: { file: 'pipelines-list.json', schema: PipelineListSchema },
  branch: { file: 'branch.json', schema: BranchSchema },
  'Data Center repositories, page 1': { file: 'datacenter-repos-page-1.json', schema: RepoListSchema },
  'Data Center repositories, page 2': { file: 'datacenter-repos-page-2.json', schema: RepoListSchema },
};

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
const AUTH = { type: 'bearer', token: new Secret('repo-access-token') } as const;
const servers: FakeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('Bitbucket answers recorded by atlassian-python-api', () => {
  it.each(Object.entries(FILES))('%s: the recording parses through its schema', (_name, { file, schema }) => {
    const result = schema.safeParse(recorded(file));
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('the recorded pipelines page has page, pagelen and size but no next link', () => {
    expect(Object.keys(recorded('pipelines-list.json') as object).sort()).toEqual(['page', 'pagelen', 'size', 'values']);
  });

  it('the Cloud client reads the recordings as Bitbucket means them', async () => {
    const server = await startFakeServer((req, res) => {
      const file = req.path.endsWith('/pipelines')
        ? 'pipelines-list.json'
        : req.path.endsWith('/pullrequests')
          ? 'pullrequests-list.json'
          : req.path.endsWith('/refs/branches/master')
            ? 'branch.json'
            : 'repositories-list.json';
      sendJson(res, 200, recorded(file));
    });
    servers.push(server);
    const http = new HttpClient({ source: 'bitbucket', baseUrl: `${server.url}/2.0`, auth: AUTH, clock });
    const api = new BitbucketCloudApi(http, { baseUrl: `${server.url}/2.0`, workspace: 'TestWorkspace1', credentialSetting: 'sources.bitbucket.access_token' });
    const ctx = testContext();
    expect(await api.listRepositories(ctx)).toEqual([
      // updated_on (microseconds, +00:00) is what the refresh plan compares between refreshes.
      { slug: 'testrepository1', mainBranch: 'master', updatedMs: Date.parse('2020-11-03T20:37:07.693Z') },
      { slug: 'testrepository2', mainBranch: 'master', updatedMs: Date.parse('2020-11-03T20:37:07.693Z') },
    ]);
    expect(await api.openPullRequestCount(ctx, 'testrepository1')).toBe(2);
    // Both recorded pull requests are OPEN: none is a merge.
    expect(await api.mergedPullRequestsSince(ctx, 'testrepository1', 0)).toEqual([]);
    // One page (size 1): read without a `next` link, and no second request.
    expect(await api.pipelinesAfter(ctx, 'testrepository1', 0, 0)).toEqual([
      { buildNumber: 25, createdMs: Date.parse('2020-11-03T22:14:50.671Z'), completedMs: Date.parse('2020-11-03T22:14:53.173Z'), result: 'stopped' },
    ]);
    expect(server.requests.filter((r) => r.path.endsWith('/pipelines')).map((r) => r.query.get('page'))).toEqual(['1']);
  });

  it('the Data Center client follows nextPageStart as recorded (5, not start + size)', async () => {
    const server = await startFakeServer((req, res) =>
      sendJson(res, 200, recorded(req.query.get('start') === '5' ? 'datacenter-repos-page-2.json' : 'datacenter-repos-page-1.json')),
    );
    servers.push(server);
    const api = new BitbucketDataCenterApi(new HttpClient({ source: 'bitbucket', baseUrl: server.url, auth: AUTH, clock }), 'PRJ');
    expect(await api.listRepositories(testContext())).toEqual([{ slug: 'my-repo1-slug' }, { slug: 'my-repo2-slug' }, { slug: 'my-repo3-slug' }]);
    expect(server.requests.map((r) => r.query.get('start'))).toEqual(['0', '5']);
  });

  it("the fakes answer in the recordings' shape; the pipelines list never carries next", async () => {
    const authorization = 'Bearer repo-access-token';
    const at = Date.parse('2026-11-20T10:00:00Z');
    const cloud = await startFakeCloud({
      workspace: 'acme',
      authorization,
      repos: [
        {
          slug: 'api',
          mainbranch: 'main',
          pullRequests: [
            { id: 1, state: 'OPEN', createdMs: at, updatedMs: at + 1000 },
            { id: 2, state: 'MERGED', createdMs: at, updatedMs: at + 2000 },
          ],
          // 25 pipelines, pagelen 10: three pages, none with a `next` link.
          pipelines: Array.from({ length: 25 }, (_, i) =>
            i === 24
              ? { buildNumber: 25, createdMs: at + i * 60_000 }
              : { buildNumber: i + 1, createdMs: at + i * 60_000, completedMs: at + i * 60_000 + 30_000, result: 'SUCCESSFUL' },
          ),
          branches: { main: 'abc123' },
          reports: {},
        },
      ],
    });
    servers.push(cloud);
    const get = async (url: string, auth = authorization) => {
      const res = await fetch(url, { headers: { authorization: auth } });
      expect(res.status).toBe(200);
      return res.json() as Promise<Record<string, unknown>>;
    };
    const repo = `${cloud.url}/2.0/repositories/acme/api`;
    const pipelinePages = await Promise.all([1, 2, 3].map((p) => get(`${repo}/pipelines?sort=-created_on&pagelen=10&page=${p}`)));
    expect(pipelinePages.map((p) => [p.page, p.pagelen, p.size, (p.values as unknown[]).length, 'next' in p])).toEqual([
      [1, 10, 25, 10, false],
      [2, 10, 25, 10, false],
      [3, 10, 25, 5, false],
    ]);
    const answers: Record<string, unknown> = {
      repositories: await get(`${cloud.url}/2.0/repositories/acme`),
      'pull requests': await get(`${repo}/pullrequests?state=OPEN&state=MERGED`),
      pipelines: pipelinePages[0],
      branch: await get(`${repo}/refs/branches/main`),
    };
    /** Keys the real API has that these recordings lack, each with its source. */
    const allowed: Record<string, string[]> = {
      // A merged pull request's merge commit (the recording's are open, with merge_commit null): source-apis.md §3.4.
      'pull requests': ['values[].merge_commit.hash', 'values[].merge_commit'],
      // A running pipeline's `state.stage` (the recording's is completed): source-apis.md §3.5.
      pipelines: ['values[].state.stage'],
    };
    for (const [name, body] of Object.entries(answers)) {
      expect(shapeExtras(body, recorded(FILES[name]!.file), allowed[name]), name).toEqual([]);
      expect(FILES[name]!.schema.safeParse(body).success, name).toBe(true);
    }

    const dc = await startFakeDataCenter({
      project: 'PRJ',
      authorization,
      maxLimit: 2,
      repos: ['a', 'b', 'c'].map((slug) => ({ slug, defaultBranch: 'main', branches: { main: 'c0ffee' }, pullRequests: [], reports: {} })),
    });
    servers.push(dc);
    const dcPage = await get(`${dc.url}/rest/api/1.0/projects/PRJ/repos?limit=2`);
    expect(shapeExtras(dcPage, recorded('datacenter-repos-page-1.json')), 'Data Center repositories').toEqual([]);
  });
});
