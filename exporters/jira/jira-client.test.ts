import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secrets.js';
import { SourceError } from '../../src/core/source.js';
import { HttpClient } from '../../src/core/http-client.js';
import { testContext } from '../testing/collect-context.js';
import { JiraClient } from './jira-client.js';
import { OffsetIssuePageSchema } from './jira-api.js';
import { fakeJiraData, startFakeJira, type FakeJira, type FakeJiraData, type FakeSprint } from './simulator/fake-jira.js';
import { CLOUD_EMAIL, CLOUD_NOW, CLOUD_TOKEN, cloudDataset, DC_PAT, datacenterDataset } from './testing/jira-dataset.js';
import { fixedClock } from '../../src/core/clock.js';

let fake: FakeJira | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function clientFor(data: FakeJiraData): Promise<JiraClient> {
  fake = await startFakeJira(data);
  const auth =
    data.flavor === 'cloud'
      ? ({ type: 'basic', username: CLOUD_EMAIL, password: new Secret(CLOUD_TOKEN) } as const)
      : ({ type: 'bearer', token: new Secret(DC_PAT) } as const);
  const http = new HttpClient({
    source: 'jira',
    baseUrl: fake.url,
    auth,
    maxRetries: 1,
    sleep: async () => {},
    credentialSetting: 'sources.jira.api_token',
    clock: fixedClock(CLOUD_NOW.getTime()),
  });
  return new JiraClient(http, data.flavor);
}

function manySprints(n: number): FakeSprint[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `S${i + 1}`, state: i === n - 1 ? 'active' : 'closed', originBoardId: 1 }));
}

describe('Jira client paging against the fake', () => {
  it('agile offset paging follows isLast under a page-size cap', async () => {
    const data = fakeJiraData({ ...cloudDataset(), sprints: manySprints(7), agilePageCap: 3 });
    data.boards = [{ id: 1, name: 'B', type: 'scrum', estimationField: null, sprintIds: [1, 2, 3, 4, 5, 6, 7], velocity: {} }];
    const client = await clientFor(data);
    const sprints = await client.sprints(testContext(), 1);
    expect(sprints.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Asked for 100, capped at 3: startAt advances by what came back.
    expect(fake!.requests.map((r) => r.query.get('startAt'))).toEqual(['0', '3', '6']);
    expect(fake!.requests.every((r) => r.query.get('state') === 'closed,active')).toBe(true);
  });

  it('agile paging without total, and issue lists without isLast, stop on the empty page', async () => {
    const data = fakeJiraData({ ...cloudDataset(), omitTotal: true, agilePageCap: 2 });
    const client = await clientFor(data);
    const issues = await client.sprintIssues(testContext(), 105, ['status'], false);
    expect(issues.map((i) => i.key)).toEqual(['PLAT-20', 'PLAT-21', 'PLAT-22', 'PLAT-23', 'PLAT-24']);
    // 5 issues at 2 a page, then one empty page tells the list is over.
    expect(fake!.requests.map((r) => r.query.get('startAt'))).toEqual(['0', '2', '4', '5']);
    expect(issues[0]!.fields).toEqual({ status: { name: 'Done', statusCategory: { key: 'done' } } });
  });

  it('Cloud token paging ends on a page without a token even when isLast is missing', async () => {
    const data = cloudDataset();
    data.omitIsLastOnSearch = true;
    const client = await clientFor(data);
    const jql = 'project = PLAT AND issuetype = Bug AND resolved >= "2026-11-01" AND resolved < "2026-12-01"';
    const issues = await client.search(testContext(), jql, ['customfield_10016']);
    expect(issues.map((i) => [i.key, i.fields.customfield_10016])).toEqual([
      ['BUG-1', 1],
      ['BUG-2', 2],
      ['BUG-3', 3],
      ['BUG-4', null],
      ['BUG-5', 0.5],
    ]);
    expect(fake!.requests).toHaveLength(3);
    expect(fake!.requests[0]!.query.has('nextPageToken')).toBe(false);
  });

  it('Cloud: the old search endpoint answers 410 with the migration message', async () => {
    const data = cloudDataset();
    const client = await clientFor(data);
    const err = await client.http.getJson(testContext(), '/rest/api/2/search', OffsetIssuePageSchema, { jql: 'project = X' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).status).toBe(410);
    expect((err as SourceError).message).toContain('/rest/api/3/search/jql');
  });

  it('empty JQL is rejected with the {errorMessages, errors} body', async () => {
    const client = await clientFor(cloudDataset());
    const err = await client.search(testContext(), '', []).catch((e: unknown) => e);
    expect((err as SourceError).status).toBe(400);
    expect((err as SourceError).message).toContain('jql: Unbounded JQL queries are not allowed');
  });

  it('Data Center search pages with startAt and reads the capped maxResults back', async () => {
    const client = await clientFor(datacenterDataset());
    const jql = 'project = CORE AND created >= "2026-04-01" AND created < "2027-04-01"';
    const issues = await client.search(testContext(), jql, ['customfield_10106']);
    expect(issues.map((i) => i.key)).toEqual(['CORE-1', 'CORE-2', 'CORE-3']);
    expect(fake!.requests.map((r) => `${r.path} ${r.query.get('startAt')}`)).toEqual(['/rest/api/2/search 0', '/rest/api/2/search 2']);
  });

  it('velocity data is keyed by sprint id strings with upper-case states; an empty sum has no value', async () => {
    const data = cloudDataset();
    (data.boards[0]!.velocity as Record<number, { estimated: number | null; completed: number | null }>)[104] = { estimated: null, completed: 3 };
    const client = await clientFor(data);
    const chart = await client.velocity(testContext(), 1);
    expect(chart.sprints.map((s) => [s.id, s.state])).toEqual([
      [102, 'CLOSED'],
      [103, 'CLOSED'],
      [104, 'CLOSED'],
    ]);
    expect(Object.keys(chart.velocityStatEntries)).toEqual(['102', '103', '104']);
    expect(chart.velocityStatEntries['104']).toEqual({ estimated: { text: 'null' }, completed: { value: 3, text: '3.0' } });
  });

  it('a kanban board answers 400 "does not support sprints"', async () => {
    const client = await clientFor(cloudDataset());
    const err = await client.sprints(testContext(), 3).catch((e: unknown) => e);
    expect((err as SourceError).status).toBe(400);
    expect((err as SourceError).message).toContain('The board does not support sprints');
  });

  it('wrong credentials get 401 naming the setting', async () => {
    const data = cloudDataset();
    data.credentials = { email: CLOUD_EMAIL, token: 'another-token' };
    const client = await clientFor(data);
    const err = await client.fields(testContext()).catch((e: unknown) => e);
    expect((err as SourceError).reason).toBe('auth');
    expect((err as SourceError).message).toContain('check sources.jira.api_token');
  });
});
