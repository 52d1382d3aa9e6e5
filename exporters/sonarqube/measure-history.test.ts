import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secrets.js';
import { SourceError } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { startFakeSonarqube, type FakeProject, type FakeSonarqube } from './simulator/fake-sonarqube.js';
import { exportedPoint, measureHistory, valueAt } from './measure-history.js';
import { SonarqubeClient } from './sonarqube-client.js';
import { TOKEN } from './testing/sonarqube-fixtures.js';
import { fixedClock } from '../../src/core/clock.js';

/** Nothing here depends on the date: any fixed instant will do. */
const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));

let fake: FakeSonarqube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const at = (iso: string) => Date.parse(iso) / 1000;

function historyProject(): FakeProject {
  return {
    key: 'billing-api',
    branches: [
      {
        name: 'main',
        isMain: true,
        history: [
          // Out of order on purpose: the API sorts analyses by date.
          { date: '2026-10-15T09:00:00+0200', values: { coverage: '82.0', new_coverage: '71.5' } },
          { date: '2026-06-15T10:00:00+0200', values: { coverage: '78.0', new_coverage: '60.0' } },
          { date: '2026-08-01T12:00:00+0200', values: { coverage: '79.0' } },
          { date: '2026-09-30T18:00:00+0200', values: { coverage: '80.5', new_coverage: '65.25' } },
          // An analysis without a coverage report.
          { date: '2026-10-01T09:00:00+0200', values: { new_coverage: '70.0' } },
          { date: '2026-11-20T14:05:00+0200', values: { coverage: '87.5', new_coverage: '72.3', sqale_index: '1380' } },
        ],
      },
      { name: 'develop', history: [{ date: '2026-11-01T08:00:00+0200', values: { coverage: '55.5' } }] },
    ],
  };
}

function client(url: string): SonarqubeClient {
  return new SonarqubeClient({ flavor: 'server', baseUrl: url, token: new Secret(TOKEN), clock });
}

describe('measureHistory', () => {
  it('pages over analyses in the range, skips entries without a value, and returns typed points', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    const ctx = testContext();
    const points = await measureHistory(client(fake.url), ctx, {
      project: 'billing-api',
      metrics: ['coverage', 'new_coverage'],
      from: new Date('2026-07-01T00:00:00Z'),
      to: new Date('2026-12-31T23:59:59Z'),
      pageSize: 2,
    });
    expect(points).toEqual([
      { metric: 'coverage', time: at('2026-08-01T10:00:00Z'), value: 79 },
      { metric: 'coverage', time: at('2026-09-30T16:00:00Z'), value: 80.5 },
      { metric: 'coverage', time: at('2026-10-15T07:00:00Z'), value: 82 },
      { metric: 'coverage', time: at('2026-11-20T12:05:00Z'), value: 87.5 },
      { metric: 'new_coverage', time: at('2026-09-30T16:00:00Z'), value: 65.25 },
      { metric: 'new_coverage', time: at('2026-10-01T07:00:00Z'), value: 70 },
      { metric: 'new_coverage', time: at('2026-10-15T07:00:00Z'), value: 71.5 },
      { metric: 'new_coverage', time: at('2026-11-20T12:05:00Z'), value: 72.3 },
    ]);
    const calls = fake.calls('/api/measures/search_history');
    expect(calls.map((c) => [c.query.get('p'), c.query.get('ps')])).toEqual([
      ['1', '2'],
      ['2', '2'],
      ['3', '2'],
    ]);
    expect(calls[0]!.query.get('metrics')).toBe('coverage,new_coverage');
    expect(calls[0]!.query.has('metricKeys')).toBe(false);
    expect(calls[0]!.query.get('component')).toBe('billing-api');
    expect(calls[0]!.query.get('from')).toBe('2026-07-01T00:00:00+0000');
    expect(calls[0]!.query.get('to')).toBe('2026-12-31T23:59:59+0000');
    expect(calls[0]!.query.has('branch')).toBe(false);
    expect(ctx.counts.get('200')).toBe(3);
  });

  it("gives the coverage at a quarter's start (the last analysis with a value before it)", async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    const points = await measureHistory(client(fake.url), testContext(), { project: 'billing-api', metrics: ['coverage'] });
    expect(points).toHaveLength(5);
    const q4 = Date.UTC(2026, 9, 1) / 1000;
    expect(valueAt(points, 'coverage', q4)).toBe(80.5);
    expect(valueAt(points, 'coverage', at('2026-10-15T07:00:00Z'))).toBe(82);
    expect(valueAt(points, 'coverage', Date.UTC(2026, 0, 1) / 1000)).toBeUndefined();
    expect(valueAt(points, 'new_coverage', q4)).toBeUndefined();
    // Default page size is the API's maximum, so a quarter is one request.
    expect(fake.calls('/api/measures/search_history').map((c) => c.query.get('ps'))).toEqual(['1000']);
  });

  it('reads a branch when asked', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    const points = await measureHistory(client(fake.url), testContext(), { project: 'billing-api', branch: 'develop', metrics: ['coverage'] });
    expect(points).toEqual([{ metric: 'coverage', time: at('2026-11-01T06:00:00Z'), value: 55.5 }]);
    expect(fake.calls('/api/measures/search_history')[0]!.query.get('branch')).toBe('develop');
  });

  it('returns nothing for an empty range without asking twice', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    const points = await measureHistory(client(fake.url), testContext(), {
      project: 'billing-api',
      metrics: ['coverage'],
      from: new Date('2027-01-01T00:00:00Z'),
    });
    expect(points).toEqual([]);
    expect(fake.calls('/api/measures/search_history')).toHaveLength(1);
  });

  it("fails with the server's message on an unknown metric (400)", async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    const err = (await measureHistory(client(fake.url), testContext(), { project: 'billing-api', metrics: ['coverage', 'no_such_metric'] }).catch(
      (e: unknown) => e,
    )) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.status).toBe(400);
    expect(err.message).toContain('Metrics no_such_metric are not found');
  });

  it('refuses page sizes above 1000 before sending anything', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: [historyProject()] });
    await expect(measureHistory(client(fake.url), testContext(), { project: 'billing-api', metrics: ['coverage'], pageSize: 1001 })).rejects.toThrow(
      RangeError,
    );
    expect(fake.requests).toHaveLength(0);
  });
});

describe('exportedPoint', () => {
  it("converts to the exported metric's base units", () => {
    expect(exportedPoint({ metric: 'coverage', time: 100, value: 80.5 })).toEqual({ name: 'sonarqube_coverage_ratio', labels: {}, time: 100, value: 0.805 });
    expect(exportedPoint({ metric: 'bugs', time: 100, value: 4 })).toEqual({ name: 'sonarqube_issues', labels: { type: 'bug' }, time: 100, value: 4 });
    expect(exportedPoint({ metric: 'sqale_index', time: 100, value: 1380 })).toEqual({
      name: 'sonarqube_technical_debt_seconds',
      labels: {},
      time: 100,
      value: 82800,
    });
    expect(exportedPoint({ metric: 'line_coverage', time: 100, value: 50 })).toBeUndefined();
  });
});
