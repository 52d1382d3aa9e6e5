/**
 * Known-answer data sets for the fake Jira. Every expected figure is worked out by hand in
 * the comments next to the issues, so a test failure points at a counting rule.
 */
import type { ChangelogHistory, JiraField } from '../jira-api.js';
import { fakeJiraData, type FakeIssue, type FakeJiraData, type FakeSprint } from '../simulator/fake-jira.js';

export const CLOUD_EMAIL = 'bot@example.com';
export const CLOUD_TOKEN = 'cloud-token-7f3a9c21';
export const DC_PAT = 'dc-pat-5b8e0d44';

const SP = 'customfield_10016';
const SPRINT_FIELD = 'customfield_10020';

export const CLOUD_FIELDS: JiraField[] = [
  { id: 'summary', name: 'Summary', custom: false, schema: { type: 'string' } },
  // Listed first on purpose: name matching alone would pick it, the schema rule must win.
  {
    id: 'customfield_10026',
    name: 'Story Points',
    custom: true,
    schema: { type: 'number', custom: 'com.atlassian.jira.plugin.system.customfieldtypes:float', customId: 10026 },
  },
  { id: SP, name: 'Story point estimate', custom: true, schema: { type: 'number', custom: 'com.pyxis.greenhopper.jira:jsw-story-points', customId: 10016 } },
  { id: SPRINT_FIELD, name: 'Sprint', custom: true, schema: { type: 'array', custom: 'com.pyxis.greenhopper.jira:gh-sprint', customId: 10020 } },
];

const done = { name: 'Done', statusCategory: { key: 'done' } };
const inProgress = { name: 'In Progress', statusCategory: { key: 'indeterminate' } };
const toDo = { name: 'To Do', statusCategory: { key: 'new' } };

/** A Cloud Sprint-field change (ids, comma separated). */
function sprintChange(created: string, from: string, to: string): ChangelogHistory {
  return { created, items: [{ field: 'Sprint', fieldId: SPRINT_FIELD, from, fromString: from && `Sprint ${from}`, to, toString: to && `Sprint ${to}` }] };
}
function pointsChange(created: string, from: string | null, to: string | null): ChangelogHistory {
  return { created, items: [{ field: 'Story point estimate', fieldId: SP, from: null, fromString: from, to: null, toString: to }] };
}

let nextIssueId = 10000;
function issue(
  key: string,
  status: object,
  points: number | null,
  sprints: number[],
  changelog: ChangelogHistory[],
  created = '2026-08-20T10:00:00.000Z',
): FakeIssue {
  return { id: String(nextIssueId++), key, fields: { status, created, [SP]: points }, sprints, changelog };
}

const cloudSprint = (id: number, name: string, state: FakeSprint['state'], start: string, end: string, complete?: string, origin = 1): FakeSprint => ({
  id,
  name,
  state,
  startDate: start,
  endDate: end,
  ...(complete ? { completeDate: complete } : {}),
  originBoardId: origin,
});

/**
 * Jira Cloud. Board "Platform" (id 1, team platform via teams.platform.jira_boards):
 *   100 closed, older than the velocity chart's window → its Sprint Report:
 *       committed 3 (PLAT-90 at start) + 8 (PLAT-92) + 1 (PLAT-93, removed mid-sprint) = 12
 *       completed 5 (PLAT-90, re-estimated) + 2 (PLAT-91, added mid-sprint) = 7
 *   101 closed, older than the window and no Sprint Report → figures from issues:
 *       committed 5 (PLAT-1) + 8 (PLAT-4) + 2 (PLAT-5, estimate at start) + 2 (PLAT-7) = 17
 *       completed 5 (PLAT-1) + 3 (PLAT-2, added mid-sprint) + 5 (PLAT-5, re-estimated) + 1 (PLAT-6) = 14
 *   55  closed, belongs to board 9 (listed because of the filter) → ignored
 *   102, 103, 104 closed → velocity chart: 40/35, 62/64, 70/66
 *   105 active → Sprint Report: committed 5 + 3 + 8 (PLAT-24, carried over) + 4 (PLAT-25, removed since) = 20,
 *       completed so far 5 + 2 (PLAT-22, added mid-sprint) = 7. From its issues instead (no report):
 *       committed 16 (the removed PLAT-25 is invisible there), completed 7.
 *   Totals over closed sprints: completed 7+14+35+64+66 = 186, committed 12+17+40+62+70 = 201, 5 sprints.
 * Board "Mobile" (id 2, team mobile from its board setting), estimation "none" → site field by
 *   schema (customfield_10016), velocity unavailable (404) → 201 from issues: committed 3, completed 8.
 * Board "Support" (id 3) is kanban → skipped.
 */
export function cloudDataset(): FakeJiraData {
  const sprints: FakeSprint[] = [
    cloudSprint(100, 'PLAT Sprint 0', 'closed', '2026-08-17T08:00:00.000Z', '2026-08-30T17:00:00.000Z', '2026-08-31T07:00:00.000Z'),
    cloudSprint(101, 'PLAT Sprint 1', 'closed', '2026-08-31T08:00:00.000Z', '2026-09-13T17:00:00.000Z', '2026-09-14T09:00:00.000Z'),
    cloudSprint(55, 'Other team sprint', 'closed', '2026-09-01T08:00:00.000Z', '2026-09-14T17:00:00.000Z', '2026-09-14T18:00:00.000Z', 9),
    cloudSprint(102, 'PLAT Sprint 2', 'closed', '2026-09-14T08:00:00.000Z', '2026-09-27T17:00:00.000Z', '2026-09-28T09:00:00.000Z'),
    cloudSprint(103, 'PLAT Sprint 3', 'closed', '2026-09-28T08:00:00.000Z', '2026-10-11T17:00:00.000Z', '2026-10-12T09:00:00.000Z'),
    cloudSprint(104, 'PLAT Sprint 4', 'closed', '2026-11-02T08:00:00.000Z', '2026-11-15T17:00:00.000Z', '2026-11-16T07:30:00.000Z'),
    cloudSprint(105, 'PLAT Sprint 5', 'active', '2026-11-16T08:00:00.000Z', '2026-11-29T17:00:00.000Z'),
    cloudSprint(106, 'PLAT Sprint 6', 'future', '2026-11-30T08:00:00.000Z', '2026-12-13T17:00:00.000Z'),
    cloudSprint(201, 'MOB Sprint 1', 'closed', '2026-10-05T08:00:00.000Z', '2026-10-18T17:00:00.000Z', '2026-10-19T09:00:00.000Z', 2),
    { id: 202, name: 'MOB Sprint 2', state: 'future', originBoardId: 2 },
  ];
  const issues: FakeIssue[] = [
    // Sprint 101 (start 2026-08-31T08:00Z, closed 2026-09-14T09:00Z)
    issue('PLAT-1', done, 5, [101], [sprintChange('2026-08-28T10:00:00.000Z', '', '101')]),
    issue('PLAT-2', done, 3, [101], [sprintChange('2026-09-03T10:00:00.000Z', '', '101')]), // added mid-sprint
    issue('PLAT-3', done, null, [101], [sprintChange('2026-08-28T10:00:00.000Z', '', '101')]), // unestimated
    issue(
      'PLAT-4',
      done,
      8,
      [101, 102],
      [
        sprintChange('2026-08-28T10:00:00.000Z', '', '101'),
        sprintChange('2026-09-14T09:00:00.000Z', '101', '101, 102'), // carried over, finished in 102
      ],
    ),
    issue('PLAT-5', done, 5, [101], [sprintChange('2026-08-28T10:00:00.000Z', '', '101'), pointsChange('2026-09-02T10:00:00.000Z', '2', '5')]),
    issue('PLAT-6', done, 1, [101], [], '2026-09-05T10:00:00.000Z'), // created straight into the running sprint
    issue('PLAT-7', toDo, 2, [101], [sprintChange('2026-08-28T10:00:00.000Z', '', '101')]), // not done, sent to the backlog
    // Sprint 105 (active, start 2026-11-16T08:00Z)
    issue('PLAT-20', done, 5, [105], [sprintChange('2026-11-14T10:00:00.000Z', '', '105')]),
    issue('PLAT-21', inProgress, 3, [105], [sprintChange('2026-11-14T10:00:00.000Z', '', '105')]),
    issue('PLAT-22', done, 2, [105], [sprintChange('2026-11-18T10:00:00.000Z', '', '105')]), // added mid-sprint
    issue('PLAT-23', done, null, [105], [sprintChange('2026-11-14T10:00:00.000Z', '', '105')]), // unestimated
    issue(
      'PLAT-24',
      inProgress,
      8,
      [104, 105],
      [
        sprintChange('2026-10-30T10:00:00.000Z', '', '104'),
        sprintChange('2026-11-16T07:30:00.000Z', '104', '104, 105'), // carried over from 104
      ],
    ),
    // Sprint 201 (start 2026-10-05T08:00Z, closed 2026-10-19T09:00Z)
    issue('MOB-1', done, 3, [201], [sprintChange('2026-10-01T10:00:00.000Z', '', '201')]),
    issue('MOB-2', done, 5, [201], [sprintChange('2026-10-01T10:00:00.000Z', '', '201'), pointsChange('2026-10-08T10:00:00.000Z', null, '5')]),
    {
      ...issue('MOB-3', done, null, [201], [sprintChange('2026-10-01T10:00:00.000Z', '', '201')]),
      fields: { status: done, created: '2026-08-20T10:00:00.000Z', [SP]: null, customfield_10026: 13 },
    },
    // Query results
    issue('SEC-1', done, 2, [], []),
    issue('SEC-2', toDo, 3, [], []),
    issue('SEC-3', toDo, null, [], []),
    issue('BUG-1', done, 1, [], []),
    issue('BUG-2', done, 2, [], []),
    issue('BUG-3', done, 3, [], []),
    issue('BUG-4', done, null, [], []),
    issue('BUG-5', done, 0.5, [], []),
  ];
  return fakeJiraData({
    flavor: 'cloud',
    credentials: { email: CLOUD_EMAIL, token: CLOUD_TOKEN },
    fields: CLOUD_FIELDS,
    boards: [
      {
        id: 1,
        name: 'Platform',
        type: 'scrum',
        estimationField: SP,
        sprintIds: [100, 101, 55, 102, 103, 104, 105, 106],
        velocity: { 102: { estimated: 40, completed: 35 }, 103: { estimated: 62, completed: 64 }, 104: { estimated: 70, completed: 66 } },
        sprintReports: {
          100: {
            completed: [
              ['PLAT-90', 3, 5],
              ['PLAT-91', 2, 2],
            ],
            notCompleted: [['PLAT-92', 8, 8]],
            punted: [['PLAT-93', 1, 1]],
            added: ['PLAT-91'],
          },
          105: {
            completed: [
              ['PLAT-20', 5, 5],
              ['PLAT-22', 2, 2],
              ['PLAT-23', null, null],
            ],
            notCompleted: [
              ['PLAT-21', 3, 3],
              ['PLAT-24', 8, 8],
            ],
            punted: [['PLAT-25', 4, 4]],
            added: ['PLAT-22'],
          },
          106: { completed: [], notCompleted: [], punted: [], added: [] },
        },
      },
      { id: 4, name: 'Platform Ops', type: 'scrum', estimationField: SP, sprintIds: [], velocity: {} },
      { id: 2, name: 'Mobile', type: 'scrum', estimationField: null, sprintIds: [201, 202], velocity: 'unavailable', sprintReports: 'unavailable' },
      { id: 3, name: 'Support', type: 'kanban', estimationField: null, sprintIds: [], velocity: 'unavailable' },
    ],
    sprints,
    issues,
    queries: {
      'project = SEC AND issuetype = Incident AND created >= "2026-10-01" AND created < "2027-01-01"': ['SEC-1', 'SEC-2', 'SEC-3'],
      'project = PLAT AND issuetype = Bug AND resolved >= "2026-11-01" AND resolved < "2026-12-01"': ['BUG-1', 'BUG-2', 'BUG-3', 'BUG-4', 'BUG-5'],
    },
    agilePageCap: 4,
    searchPageCap: 2,
    velocityWindow: 3,
  });
}

export const CLOUD_NOW = new Date('2026-11-25T12:00:00.000Z');

export function cloudConfigYaml(url: string, extra = ''): string {
  return `version: okr/v1
calendar:
  timezone: Europe/Berlin
teams:
  platform:
    jira_boards: [Platform]
sources:
  jira:
    flavor: cloud
    url: ${url}
    email: ${CLOUD_EMAIL}
    api_token: \${JIRA_API_TOKEN}
    closed_sprints: 3
    boards:
      - name: Platform
      - id: 2
        team: mobile
      - id: 3
    queries:
      security_incidents: 'project = SEC AND issuetype = Incident AND created >= "{{period_start}}" AND created < "{{period_end}}"'
      bugs_this_month:
        jql: 'project = PLAT AND issuetype = Bug AND resolved >= "{{period_start}}" AND resolved < "{{period_end}}"'
        period: month
${extra}`;
}

const DC_SP = 'customfield_10106';

/** A Data Center changelog item: no fieldId, only the field's name. */
function dcChange(created: string, field: string, fromString: string, toString: string): ChangelogHistory {
  return { created, items: [{ field, from: field === 'Sprint' ? fromString : null, fromString, to: field === 'Sprint' ? toString : null, toString }] };
}

/**
 * Jira Data Center (Bearer PAT, /rest/api/2, local-offset dates, changelogs without fieldId).
 * Board "Core" (id 10; "Core Legacy" also matches the name filter), estimation field
 * "Story Points" (customfield_10106). Velocity window 1:
 *   1000 from issues: committed 3 (CORE-1 estimate at start), completed 5 (CORE-1) + 2 (CORE-2, added mid-sprint) = 7
 *   1001 from velocity: 20 / 18. Totals: completed 25, committed 23, 2 sprints.
 * Query core_created (fiscal year from April): CORE-1, CORE-2, CORE-3 → 3 issues, 5 + 2 + 0 = 7 points.
 */
export function datacenterDataset(): FakeJiraData {
  const s = (id: number, state: FakeSprint['state'], start: string, end: string, complete?: string): FakeSprint => ({
    id,
    name: `Core ${id}`,
    state,
    startDate: start,
    endDate: end,
    ...(complete ? { completeDate: complete } : {}),
    originBoardId: 10,
  });
  const mk = (key: string, status: object, points: number | null, sprints: number[], changelog: ChangelogHistory[]): FakeIssue => ({
    id: key.replace(/\D/g, ''),
    key,
    fields: { status, created: '2026-09-20T10:00:00.000+0100', [DC_SP]: points },
    sprints,
    changelog,
  });
  return fakeJiraData({
    flavor: 'datacenter',
    credentials: { pat: DC_PAT },
    fields: [
      {
        id: DC_SP,
        name: 'Story Points',
        custom: true,
        schema: { type: 'number', custom: 'com.atlassian.jira.plugin.system.customfieldtypes:float', customId: 10106 },
      },
    ],
    boards: [
      {
        id: 10,
        name: 'Core',
        type: 'scrum',
        estimationField: DC_SP,
        sprintIds: [1000, 1001],
        velocity: { 1000: { estimated: 99, completed: 99 }, 1001: { estimated: 20, completed: 18 } },
      },
      { id: 11, name: 'Core Legacy', type: 'scrum', estimationField: DC_SP, sprintIds: [], velocity: {} },
    ],
    sprints: [
      s(1000, 'closed', '2026-10-05T09:00:00.000+0100', '2026-10-16T17:00:00.000+0100', '2026-10-19T10:00:00.000+0100'),
      s(1001, 'closed', '2026-10-19T10:30:00.000+0100', '2026-10-30T17:00:00.000+0100', '2026-11-02T10:00:00.000+0100'),
    ],
    issues: [
      mk(
        'CORE-1',
        done,
        5,
        [1000],
        [dcChange('2026-10-02T10:00:00.000+0100', 'Sprint', '', '1000'), dcChange('2026-10-07T10:00:00.000+0100', 'Story Points', '3', '5')],
      ),
      mk('CORE-2', done, 2, [1000], [dcChange('2026-10-08T10:00:00.000+0100', 'Sprint', '', '1000')]),
      mk('CORE-3', toDo, null, [], []),
    ],
    queries: { 'project = CORE AND created >= "2026-04-01" AND created < "2027-04-01"': ['CORE-1', 'CORE-2', 'CORE-3'] },
    agilePageCap: 50,
    searchPageCap: 2,
    velocityWindow: 1,
  });
}

export function datacenterConfigYaml(url: string): string {
  return `version: okr/v1
calendar:
  timezone: UTC
  fiscal_year_start_month: 4
sources:
  jira:
    flavor: datacenter
    url: ${url}
    personal_access_token: \${JIRA_PAT}
    boards:
      - name: Core
        team: core
    queries:
      core_created:
        jql: 'project = CORE AND created >= "{{period_start}}" AND created < "{{period_end}}"'
        period: year
`;
}
