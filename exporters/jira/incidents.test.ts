/**
 * Jira incidents → the `jira` delivery feed, against the fake Jira (Cloud token paging, Data
 * Center offset paging): created and resolved times (Jira's `+0000` offsets), open incidents,
 * the lookback, pages of two, a failing query that keeps its last list and completeness, and
 * query settings that would break the added `created >=` condition refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { ManualClock } from '../../src/core/clock.js';
import { readDeliveryFeed } from '../../src/core/delivery-feed.js';
import { silentLogger } from '../../src/core/logger.js';
import { testContext } from '../testing/collect-context.js';
import { incidentJql } from './incidents.js';
import { JiraCollector } from './jira-collector.js';
import { jiraPlugin } from './plugin.js';
import { fakeJiraData, startFakeJira, type FakeIssue, type FakeJira, type FakeJiraData } from './simulator/fake-jira.js';

const NOW = Date.parse('2026-10-10T12:00:00Z');
const DAY = 86_400_000;
const JQL = 'project = OPS AND issuetype = Incident';
const jiraTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

function incident(key: string, createdMs: number, resolvedMs?: number): FakeIssue {
  return {
    id: key.replace(/\D/g, ''),
    key,
    fields: { summary: key, created: jiraTime(createdMs), resolutiondate: resolvedMs === undefined ? null : jiraTime(resolvedMs) },
    sprints: [],
  };
}

const ISSUES = [
  incident('OPS-1', NOW - 200 * DAY, NOW - 199 * DAY), // before the lookback
  incident('OPS-2', NOW - 40 * DAY, NOW - 39.5 * DAY),
  incident('OPS-3', NOW - 10 * DAY, NOW - 8 * DAY),
  incident('OPS-4', NOW - 3 * DAY, NOW - 3 * DAY + 3_600_000),
  incident('OPS-5', NOW - 0.5 * DAY), // open
];

function data(flavor: 'cloud' | 'datacenter'): FakeJiraData {
  return fakeJiraData({
    flavor,
    credentials: flavor === 'cloud' ? { email: 'bot@example.com', token: 'cloud-token' } : { pat: 'dc-pat' },
    issues: ISSUES,
    queries: { [JQL]: ISSUES.map((i) => i.key), 'project = SEC': [] },
    searchPageCap: 2,
  });
}

const yaml = (flavor: 'cloud' | 'datacenter', url: string) => `version: okr/v1
sources:
  jira:
    flavor: ${flavor}
    url: ${url}
${flavor === 'cloud' ? '    email: bot@example.com\n    api_token: ${JIRA_API_TOKEN}' : '    personal_access_token: ${JIRA_PAT}'}
    incidents:
      production: ${JQL}
      security: { jql: project = SEC, lookback: 30d }
`;

let fake: FakeJira;
let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'okr-jira-incidents-'));
});
afterEach(async () => {
  await fake?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function collector(flavor: 'cloud' | 'datacenter', clock: ManualClock): JiraCollector {
  const loaded = parseConfig(yaml(flavor, fake.url), join(stateDir, 'okrs.yaml'), { env: { JIRA_API_TOKEN: 'cloud-token', JIRA_PAT: 'dc-pat' } });
  return new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger: silentLogger(), stateDir, clock }), { sleep: async () => undefined, maxRetries: 0 });
}

describe('Jira incidents feed', () => {
  for (const flavor of ['cloud', 'datacenter'] as const) {
    it(`publishes the incidents of each query since its lookback with created and resolved times (${flavor}, pages of two)`, async () => {
      fake = await startFakeJira(data(flavor));
      await collector(flavor, new ManualClock(NOW)).collect(testContext());
      const feed = readDeliveryFeed(stateDir, 'jira')!;
      expect(feed.incidents!.production).toEqual({
        completeMs: NOW,
        items: [
          { key: 'OPS-2', createdMs: NOW - 40 * DAY, resolvedMs: NOW - 39.5 * DAY },
          { key: 'OPS-3', createdMs: NOW - 10 * DAY, resolvedMs: NOW - 8 * DAY },
          { key: 'OPS-4', createdMs: NOW - 3 * DAY, resolvedMs: NOW - 3 * DAY + 3_600_000 },
          { key: 'OPS-5', createdMs: NOW - 0.5 * DAY },
        ],
      });
      expect(feed.incidents!.security).toEqual({ completeMs: NOW, items: [] });
      // The query as sent: the JQL narrowed to the lookback (a day early for time zones), paged.
      const searches = fake.requests.filter((r) => /\/search(\/jql)?$/.test(r.path) && r.query.get('jql')?.startsWith('(project = OPS'));
      expect(searches.length).toBe(2); // four incidents since the lookback, two a page
      expect(searches[0]!.query.get('jql')).toBe(incidentJql(JQL, NOW - 90 * DAY));
      expect(searches[0]!.query.get('fields')).toBe('created,resolutiondate');
    });
  }

  it('keeps a failing query’s last list and completeness, and picks up a resolution at the next refresh', async () => {
    fake = await startFakeJira(data('cloud'));
    const clock = new ManualClock(NOW);
    const c = collector('cloud', clock);
    await c.collect(testContext());
    fake.data.issues.find((i) => i.key === 'OPS-5')!.fields.resolutiondate = jiraTime(NOW + 3_600_000);
    fake.data.failures.push({ path: /\/search\/jql$/, status: 500, times: 1 });
    clock.set(NOW + 2 * 3_600_000);
    await c.collect(testContext());
    // One of the two queries failed (which one depends on request order): it kept NOW, the other moved on.
    const feed = readDeliveryFeed(stateDir, 'jira')!;
    const completes = Object.values(feed.incidents!)
      .map((s) => s.completeMs)
      .sort();
    expect(completes).toEqual([NOW, NOW + 2 * 3_600_000]);
    clock.set(NOW + 3 * 3_600_000);
    await c.collect(testContext());
    const after = readDeliveryFeed(stateDir, 'jira')!;
    expect(after.incidents!.production!.completeMs).toBe(NOW + 3 * 3_600_000);
    expect(after.incidents!.production!.items.find((i) => i.key === 'OPS-5')).toEqual({
      key: 'OPS-5',
      createdMs: NOW - 0.5 * DAY,
      resolvedMs: NOW + 3_600_000,
    });
  });

  it('refuses placeholders and ORDER BY in incident queries', () => {
    const bad = (jql: string) => () =>
      parseConfig(
        `version: okr/v1
sources:
  jira:
    url: https://x.atlassian.net
    email: a@b.c
    api_token: \${T}
    incidents:
      prod: ${jql}
`,
        '/tmp/okrs.yaml',
        { env: { T: 't' } },
      );
    expect(bad('project = OPS AND created >= "{{period_start}}"')).toThrow(/incident queries take no placeholders/);
    expect(bad('project = OPS ORDER BY created')).toThrow(/no ORDER BY/);
  });
});
