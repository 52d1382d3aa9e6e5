import { describe, expect, it } from 'vitest';
import { SprintReportSchema, type JiraField, type JiraIssue } from './jira-api.js';
import { figuresFromIssues, inSprintAt, pointsAt, sprintDates, sprintReportFigures, velocityFigures } from './sprint-figures.js';
import { boardEstimationField, discoverPointsField } from './story-points-field.js';

const F = { id: 'customfield_1', name: 'Story Points', origin: 'board' as const };
const t = (iso: string) => Date.parse(iso) / 1000;

function issue(fields: Record<string, unknown>, histories: Array<[string, Record<string, unknown>]> = []): JiraIssue {
  return {
    id: '1',
    key: 'X-1',
    fields: { created: '2026-01-01T00:00:00Z', status: { statusCategory: { key: 'done' } }, ...fields },
    changelog: { histories: histories.map(([created, item]) => ({ created, items: [item as never] })) },
  };
}

describe('sprint figures', () => {
  it('replays sprint membership and estimates to a point in time', () => {
    const i = issue({ customfield_1: 8 }, [
      ['2026-02-01T00:00:00Z', { field: 'Sprint', fieldId: 'customfield_9', from: '', to: '7' }],
      ['2026-02-10T00:00:00Z', { field: 'Story Points', fieldId: 'customfield_1', fromString: '3', toString: '8' }],
    ]);
    expect(inSprintAt(i, 7, t('2026-01-31T00:00:00Z'))).toBe(false);
    expect(inSprintAt(i, 7, t('2026-02-05T00:00:00Z'))).toBe(true);
    expect(pointsAt(i, F, t('2026-02-05T00:00:00Z'))).toBe(3);
    expect(pointsAt(i, F, t('2026-02-11T00:00:00Z'))).toBe(8);
  });

  it('matches Data Center changelog items by field name, and ignores other fields', () => {
    const i = issue({ customfield_1: 5 }, [
      ['2026-02-10T00:00:00Z', { field: 'Story Points', fromString: '2', toString: '5' }],
      ['2026-02-11T00:00:00Z', { field: 'Story point estimate', fieldId: 'customfield_2', fromString: '40', toString: '50' }],
    ]);
    expect(pointsAt(i, F, t('2026-02-05T00:00:00Z'))).toBe(2);
    expect(pointsAt(i, { ...F, name: undefined }, t('2026-02-05T00:00:00Z'))).toBe(5);
  });

  it('a changelog item without toString is not mistaken for Object.prototype.toString', () => {
    const i = issue({ customfield_1: null }, [['2026-02-10T00:00:00Z', { field: 'Story Points', fieldId: 'customfield_1', from: null, to: null }]]);
    expect(pointsAt(i, F, t('2026-02-11T00:00:00Z'))).toBe(0);
  });

  it('sums fractional estimates without float noise', () => {
    const sprint = { id: 7, name: 'S', state: 'active', startTime: t('2026-03-01T00:00:00Z') };
    const issues = [0.1, 0.2, 0.3].map((p) => issue({ customfield_1: p }));
    expect(figuresFromIssues(issues, sprint, F)).toEqual({ committed: 0.6, completed: 0.6 });
  });

  it('reads velocity entries by string id and treats an empty sum as 0', () => {
    const chart = { sprints: [], velocityStatEntries: { '5': { estimated: { text: 'null' }, completed: { value: 12, text: '12.0' } } } };
    expect(velocityFigures(chart, 5)).toEqual({ committed: 0, completed: 12 });
    expect(velocityFigures(chart, 6)).toBeUndefined();
  });

  it('parses sprint dates in Z and local-offset forms; completeTime only when closed', () => {
    expect(
      sprintDates({ id: 1, name: 'a', state: 'closed', startDate: '2026-10-05T09:00:00.000+0100', completeDate: '2026-10-19T10:00:00.000+10:00' }),
    ).toEqual({
      id: 1,
      name: 'a',
      state: 'closed',
      startTime: t('2026-10-05T08:00:00Z'),
      endTime: undefined,
      completeTime: t('2026-10-19T00:00:00Z'),
    });
    expect(
      sprintDates({ id: 2, name: 'b', state: 'active', startDate: '2026-10-05T09:00:00.000Z', completeDate: '2026-10-06T09:00:00.000Z' }).completeTime,
    ).toBeUndefined();
  });
});

describe('story-points field discovery', () => {
  const fields: JiraField[] = [
    { id: 'customfield_10026', name: 'Story Points', schema: { custom: 'com.atlassian.jira.plugin.system.customfieldtypes:float' } },
    { id: 'customfield_10099', name: 'Estimate', schema: { custom: 'com.pyxis.greenhopper.jira:jsw-story-points' } },
  ];
  it('prefers the jsw-story-points schema, then the usual names', () => {
    expect(discoverPointsField(fields)).toEqual({ id: 'customfield_10099', name: 'Estimate', origin: 'schema' });
    expect(discoverPointsField(fields.slice(0, 1))).toEqual({ id: 'customfield_10026', name: 'Story Points', origin: 'name' });
    expect(discoverPointsField([{ id: 'summary', name: 'Summary' }])).toBeUndefined();
  });
  it('takes the board estimation field only when the board estimates by a field', () => {
    expect(boardEstimationField({ id: 1, name: 'b', estimation: { type: 'field', field: { fieldId: 'customfield_7', displayName: 'SP' } } })).toEqual({
      id: 'customfield_7',
      name: 'SP',
      origin: 'board',
    });
    expect(boardEstimationField({ id: 1, name: 'b', estimation: { type: 'none' } })).toBeUndefined();
  });
});

describe('Sprint Report figures', () => {
  it('commits start estimates of issues present at the start, removed ones included; completes the completed sum', () => {
    const st = (value?: number) => ({ statFieldValue: value === undefined ? {} : { value } });
    const report = {
      sprint: { id: 9, state: 'ACTIVE' },
      contents: {
        completedIssues: [
          { key: 'A', estimateStatistic: st(3), currentEstimateStatistic: st(5) },
          { key: 'B', estimateStatistic: st(2), currentEstimateStatistic: st(2) },
          { key: 'C', estimateStatistic: st(), currentEstimateStatistic: st() },
        ],
        issuesNotCompletedInCurrentSprint: [{ key: 'D', estimateStatistic: st(8) }],
        puntedIssues: [{ key: 'E', estimateStatistic: st(1) }],
        issuesCompletedInAnotherSprint: [{ key: 'F', estimateStatistic: st(0.5) }],
        completedIssuesEstimateSum: { value: 7, text: '7.0' },
        issueKeysAddedDuringSprint: { B: true },
      },
    };
    expect(sprintReportFigures(report)).toEqual({ committed: 12.5, completed: 7 });
    // A report without its issue lists is not a sprint of 0 points: the schema refuses it before any figure is computed.
    expect(SprintReportSchema.safeParse(report).success).toBe(true);
    expect(SprintReportSchema.safeParse({ ...report, contents: { completedIssuesEstimateSum: { text: 'null' } } }).success).toBe(false);
  });
});
