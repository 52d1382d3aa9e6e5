import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secrets.js';
import { SourceError } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { startFakeSonarqube, type FakeProject, type FakeSonarqube } from './simulator/fake-sonarqube.js';
import { formatSonarDate, measureValue, parseSonarDate, SonarqubeClient, type SonarqubeClientOptions } from './sonarqube-client.js';
import { fixtureProjects, TOKEN } from './testing/sonarqube-fixtures.js';
import { fixedClock } from '../../src/core/clock.js';

let fake: FakeSonarqube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const sleeps: number[] = [];
function client(url: string, extra: Partial<SonarqubeClientOptions> = {}): SonarqubeClient {
  sleeps.length = 0;
  return new SonarqubeClient({
    flavor: 'server',
    baseUrl: url,
    token: new Secret(TOKEN),
    clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')),
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0,
    ...extra,
  });
}

describe('measureValue', () => {
  it('reads value, then period.value, then periods[index 1].value', () => {
    expect(measureValue({ metric: 'coverage', value: '87.5' })).toBe(87.5);
    expect(measureValue({ metric: 'new_coverage', period: { index: 1, value: '72.3' } })).toBe(72.3);
    expect(
      measureValue({
        metric: 'new_coverage',
        periods: [
          { index: 2, value: '1.0' },
          { index: 1, value: '64.0' },
        ],
      }),
    ).toBe(64);
    expect(measureValue({ metric: 'new_coverage', periods: [{ index: 1, value: '64.0' }], period: { index: 1, value: '64.0' } })).toBe(64);
    expect(measureValue({ metric: 'ncloc', value: '0' })).toBe(0);
  });

  it('gives undefined, never 0, when there is no number', () => {
    expect(measureValue({ metric: 'new_coverage' })).toBeUndefined();
    expect(measureValue({ metric: 'new_coverage', period: { index: 1 } })).toBeUndefined();
    expect(measureValue({ metric: 'coverage', value: '' })).toBeUndefined();
    expect(measureValue({ metric: 'alert_status', value: 'OK' })).toBeUndefined();
  });
});

describe('SonarQube dates', () => {
  it('parses colon-less offsets and formats UTC datetimes the API accepts', () => {
    expect(parseSonarDate('2026-10-01T09:00:00+0200')).toBe(Date.UTC(2026, 9, 1, 7, 0, 0) / 1000);
    expect(parseSonarDate('2026-10-01T09:00:00+0000')).toBe(Date.UTC(2026, 9, 1, 9, 0, 0) / 1000);
    expect(parseSonarDate('not a date')).toBeUndefined();
    expect(formatSonarDate(new Date(Date.UTC(2026, 9, 1, 0, 0, 0, 250)))).toBe('2026-10-01T00:00:00+0000');
  });
});

describe('SonarqubeClient.listProjects', () => {
  it('pages through more than 500 projects, 500 at a time, skipping those the token cannot browse', async () => {
    const projects: FakeProject[] = Array.from({ length: 1203 }, (_, i) => ({
      key: `proj-${String(i).padStart(4, '0')}`,
      branches: [{ name: 'main', isMain: true }],
      forbidden: i % 100 === 7,
    }));
    fake = await startFakeSonarqube({ token: TOKEN, projects });
    const ctx = testContext();
    const listed = await client(fake.url).listProjects(ctx);
    expect(listed).toHaveLength(1203 - 12);
    expect(listed[0]).toEqual({ key: 'proj-0000', name: 'proj-0000' });
    expect(listed.at(-1)).toEqual({ key: 'proj-1202', name: 'proj-1202' });
    expect(listed.some((p) => p.key === 'proj-0007')).toBe(false);
    const calls = fake.calls('/api/components/search');
    expect(calls.map((c) => [c.query.get('p'), c.query.get('ps'), c.query.get('qualifiers')])).toEqual([
      ['1', '500', 'TRK'],
      ['2', '500', 'TRK'],
      ['3', '500', 'TRK'],
    ]);
    expect(calls[0]!.query.has('organization')).toBe(false);
    expect(ctx.counts.get('200')).toBe(3);
  });

  it("stops at the search's 10,000-result window with a warning instead of failing", async () => {
    const projects: FakeProject[] = Array.from({ length: 10_001 }, (_, i) => ({ key: `p${String(i).padStart(5, '0')}`, branches: [] }));
    fake = await startFakeSonarqube({ token: TOKEN, projects });
    const warns: unknown[] = [];
    const ctx = { ...testContext(), logger: { warn: (...a: unknown[]) => void warns.push(a) } as unknown as ReturnType<typeof testContext>['logger'] };
    const listed = await client(fake.url).listProjects(ctx);
    expect(listed).toHaveLength(10_000);
    expect(listed.at(-1)!.key).toBe('p09999');
    expect(fake.calls('/api/components/search')).toHaveLength(20);
    expect(ctx.counts.get('400')).toBeUndefined();
    expect(warns).toHaveLength(1);
  });

  it('on Cloud, asks for the organization and lists only its projects', async () => {
    fake = await startFakeSonarqube({ flavor: 'cloud', token: TOKEN, projects: fixtureProjects() });
    const listed = await client(fake.url, { flavor: 'cloud', organization: 'acme' }).listProjects(testContext());
    expect(listed.map((p) => p.key)).toEqual(['billing-api', 'legacy-batch', 'web-app']);
    expect(fake.calls('/api/components/search')[0]!.query.get('organization')).toBe('acme');
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('refuses to build a Cloud client without an organization', () => {
    expect(() => client('http://127.0.0.1:1', { flavor: 'cloud' })).toThrow('organization');
  });
});

describe('SonarqubeClient auth and errors', () => {
  it('sends the token as Basic "token:" when asked (Server 9.x style)', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const gate = await client(fake.url, { authScheme: 'basic' }).qualityGate(testContext(), 'billing-api');
    expect(gate).toBe('OK');
    expect(fake.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`);
  });

  it('names the setting to fix on 401 and never echoes the token', async () => {
    fake = await startFakeSonarqube({ token: 'squ_other_token_value', projects: fixtureProjects() });
    const err = await client(fake.url)
      .listProjects(testContext())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).reason).toBe('auth');
    expect((err as SourceError).status).toBe(401);
    expect((err as SourceError).message).toContain('sources.sonarqube.token');
    expect((err as SourceError).message).not.toContain(TOKEN);
  });

  it('reports 403 "Insufficient privileges" for a project the user may not browse', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const err = (await client(fake.url)
      .measures(testContext(), 'hr-secrets', ['coverage'])
      .catch((e: unknown) => e)) as SourceError;
    expect(err.reason).toBe('auth');
    expect(err.status).toBe(403);
    expect(err.message).toContain('Insufficient privileges');
  });

  it('waits out a 429 with Retry-After, then succeeds; both requests are counted', async () => {
    fake = await startFakeSonarqube({
      token: TOKEN,
      projects: fixtureProjects(),
      rateLimit: { path: '/api/qualitygates/project_status', times: 1, retryAfter: '3' },
    });
    const ctx = testContext();
    expect(await client(fake.url).qualityGate(ctx, 'web-app', 'develop')).toBe('ERROR');
    expect(sleeps).toEqual([3000]);
    expect(Object.fromEntries(ctx.counts)).toEqual({ '429': 1, '200': 1 });
  });

  it('gives up with rate_limited when 429 persists (Cloud sends no Retry-After)', async () => {
    fake = await startFakeSonarqube({ flavor: 'cloud', token: TOKEN, projects: fixtureProjects(), rateLimit: { path: '/api/components/search', times: 99 } });
    const ctx = testContext();
    const err = (await client(fake.url, { flavor: 'cloud', organization: 'acme' })
      .listProjects(ctx)
      .catch((e: unknown) => e)) as SourceError;
    expect(err.reason).toBe('rate_limited');
    expect(ctx.counts.get('429')).toBe(5);
    expect(sleeps).toHaveLength(4);
  });
});

describe('SonarqubeClient.measures', () => {
  const keys = ['coverage', 'new_coverage', 'ncloc', 'security_hotspots'];

  it('returns numbers for the metrics with data and omits the others', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const m = await client(fake.url).measures(testContext(), 'legacy-batch', keys);
    expect(Object.fromEntries(m)).toEqual({ ncloc: 90211, security_hotspots: 11 });
    expect(fake.calls('/api/measures/component')[0]!.query.get('metricKeys')).toBe(keys.join(','));
    expect(fake.calls('/api/measures/component')[0]!.query.has('branch')).toBe(false);
  });

  it.each(['period', 'periods', 'both'] as const)('reads new_coverage from the %s shape', async (periodShape) => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects(), periodShape });
    const m = await client(fake.url).measures(testContext(), 'billing-api', keys);
    expect(Object.fromEntries(m)).toEqual({ coverage: 87.5, new_coverage: 72.3, ncloc: 11402, security_hotspots: 3 });
  });

  it('drops metric keys the server does not know (404) and asks again without them', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects(), unknownMetrics: ['security_hotspots', 'new_coverage'] });
    const m = await client(fake.url).measures(testContext(), 'billing-api', keys);
    expect(Object.fromEntries(m)).toEqual({ coverage: 87.5, ncloc: 11402 });
    expect(fake.calls('/api/measures/component').map((c) => c.query.get('metricKeys'))).toEqual([keys.join(','), 'coverage,ncloc']);
  });

  it('remembers unknown metric keys: later calls skip them at once and warn only the first time', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects(), unknownMetrics: ['security_hotspots'] });
    const warns: unknown[] = [];
    const ctx = { ...testContext(), logger: { warn: (...a: unknown[]) => void warns.push(a) } as unknown as ReturnType<typeof testContext>['logger'] };
    const c = client(fake.url);
    expect(Object.fromEntries(await c.measures(ctx, 'billing-api', keys))).toEqual({ coverage: 87.5, new_coverage: 72.3, ncloc: 11402 });
    expect(Object.fromEntries(await c.measures(ctx, 'web-app', keys, 'develop'))).toEqual({ coverage: 64.25, new_coverage: 41, ncloc: 48210 });
    expect(fake.calls('/api/measures/component').map((r) => r.query.get('metricKeys'))).toEqual([
      keys.join(','),
      'coverage,new_coverage,ncloc',
      'coverage,new_coverage,ncloc',
    ]);
    expect(warns).toEqual([[{ metrics: ['security_hotspots'] }, 'sonarqube: the server does not know these metrics; measuring without them']]);
  });

  it('asks for the configured branch and fails with not_found on an unknown one', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const c = client(fake.url);
    expect(Object.fromEntries(await c.measures(testContext(), 'web-app', ['coverage'], 'develop'))).toEqual({ coverage: 64.25 });
    const err = (await c.measures(testContext(), 'web-app', ['coverage'], 'nope').catch((e: unknown) => e)) as SourceError;
    expect(err.reason).toBe('not_found');
    expect(err.message).toContain("Component 'web-app' on branch 'nope' not found");
  });
});

describe('SonarqubeClient.branches and qualityGate', () => {
  it('reads the main branch, analysis times and quality gates', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    expect(await client(fake.url).branches(testContext(), 'billing-api')).toEqual([
      { name: 'main', isMain: true, analysisTime: Date.UTC(2026, 10, 20, 12, 5, 0) / 1000, gate: 'OK' },
      { name: 'feature/x', isMain: false, analysisTime: Date.UTC(2026, 10, 21, 8, 0, 0) / 1000, gate: 'ERROR' },
    ]);
  });

  it('maps the gate statuses', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const c = client(fake.url);
    const ctx = testContext();
    expect(await c.qualityGate(ctx, 'billing-api')).toBe('OK');
    expect(await c.qualityGate(ctx, 'billing-api', 'feature/x')).toBe('ERROR');
    expect(await c.qualityGate(ctx, 'legacy-batch')).toBe('NONE');
    expect(fake.calls('/api/qualitygates/project_status').map((r) => [r.query.get('projectKey'), r.query.get('branch')])).toEqual([
      ['billing-api', null],
      ['billing-api', 'feature/x'],
      ['legacy-batch', null],
    ]);
  });
});
