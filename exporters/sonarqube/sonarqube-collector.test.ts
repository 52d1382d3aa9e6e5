import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { Secret } from '../../src/core/secrets.js';
import { SONARQUBE_METRICS } from './metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { SourceRunner } from '../../src/serve/source-runner.js';
import { renderSnapshot } from '../../src/serve/exposition.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';
import type { Collector, Snapshot } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import { SOURCES } from '../index.js';
import { sonarqubePlugin } from './plugin.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { snapshotProblem } from '../../src/core/snapshot.js';
import { testContext } from '../testing/collect-context.js';
import { startAnswerProxy, type AnswerProxy } from '../testing/answer-proxy.js';
import { startFakeSonarqube, type FakeSonarqube } from './simulator/fake-sonarqube.js';
import { SonarqubeCollector } from './sonarqube-collector.js';
import { SonarqubeClient } from './sonarqube-client.js';
import { fixtureProjects, TOKEN } from './testing/sonarqube-fixtures.js';
import { fixedClock } from '../../src/core/clock.js';

/** Nothing here depends on the date: any fixed instant will do. */
const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));

const GOLDEN = fileURLToPath(new URL('./testdata/collector.golden.prom', import.meta.url));

let fake: FakeSonarqube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function collectorFor(yamlSources: string, teams = ''): Collector {
  const text = `version: okr/v1\n${teams}sources:\n  sonarqube:\n${yamlSources}`;
  const loaded = parseConfig(text, '/tmp/okrs.yaml', { env: { SONAR_TOKEN: TOKEN } });
  return sonarqubePlugin.create(sourceDeps(loaded, sonarqubePlugin, { logger: silentLogger(), stateDir: '/tmp/unused', clock }));
}

/** value of the series of `name` whose labels include `match`, or undefined when absent. */
function valueOf(snapshot: Snapshot, name: string, match: Record<string, string>): number | undefined {
  const fam = snapshot.find((f) => f.name === name);
  return fam?.samples.find((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))?.value;
}

/** A new analysis of a project branch (default: the main one) with these measures changed. */
function analyse(fake: FakeSonarqube, key: string, measures: Record<string, string>, branch?: string, date = '2026-11-25T11:00:00+0000'): void {
  const b = fake.state.projects.find((p) => p.key === key)!.branches.find((x) => (branch ? x.name === branch : x.isMain))!;
  b.analysisDate = date;
  b.measures = { ...b.measures, ...measures };
}

function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; project?: string; err?: string }> } {
  const lines: Array<{ level: number; msg: string; project?: string; err?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) }) as unknown as Logger;
  return { logger, lines };
}

const TEAMS = `teams:\n  payments:\n    sonar_projects: [billing-api, legacy-batch]\n  web:\n    sonar_projects: [web-app]\n`;

describe('sonarqube collector', () => {
  it('is registered with its defaults', () => {
    expect(SOURCES).toContain(sonarqubePlugin);
    expect(sonarqubePlugin.defaults).toEqual({ interval: '30m', timeout: '5m' });
  });

  it('exports the listed projects as ratios and counts (golden /metrics, promtool-clean)', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(
      `    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects:\n      - billing-api\n      - { key: web-app, branch: develop, team: frontend }\n      - legacy-batch\n      - hr-secrets\n`,
      TEAMS,
    );
    const ctx = testContext();
    const snapshot = await collector.collect(ctx);
    expect(snapshotProblem(snapshot)).toBeUndefined();

    const billing = { project: 'billing-api', branch: 'main', team: 'payments' };
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, billing)).toBe(0.875);
    expect(valueOf(snapshot, SONARQUBE_METRICS.newCodeCoverage, billing)).toBeCloseTo(0.723, 12);
    expect(valueOf(snapshot, SONARQUBE_METRICS.duplicatedLines, billing)).toBeCloseTo(0.031, 12);
    expect(valueOf(snapshot, SONARQUBE_METRICS.issues, { ...billing, type: 'bug' })).toBe(2);
    expect(valueOf(snapshot, SONARQUBE_METRICS.issues, { ...billing, type: 'vulnerability' })).toBe(0);
    expect(valueOf(snapshot, SONARQUBE_METRICS.issues, { ...billing, type: 'code_smell' })).toBe(114);
    expect(valueOf(snapshot, SONARQUBE_METRICS.issues, { ...billing, type: 'security_hotspot' })).toBe(3);
    expect(valueOf(snapshot, SONARQUBE_METRICS.linesOfCode, billing)).toBe(11402);
    expect(valueOf(snapshot, SONARQUBE_METRICS.technicalDebt, billing)).toBe(82800);
    expect(valueOf(snapshot, SONARQUBE_METRICS.qualityGatePassed, billing)).toBe(1);
    expect(valueOf(snapshot, SONARQUBE_METRICS.lastAnalysis, billing)).toBe(Date.UTC(2026, 10, 20, 12, 5) / 1000);

    const web = { project: 'web-app', branch: 'develop', team: 'frontend' };
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, web)).toBe(0.6425);
    expect(valueOf(snapshot, SONARQUBE_METRICS.qualityGatePassed, web)).toBe(0);

    // No coverage report and no gate: absent, not 0.
    const legacy = { project: 'legacy-batch', branch: 'master', team: 'payments' };
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, legacy)).toBeUndefined();
    expect(valueOf(snapshot, SONARQUBE_METRICS.newCodeCoverage, legacy)).toBeUndefined();
    expect(valueOf(snapshot, SONARQUBE_METRICS.qualityGatePassed, legacy)).toBeUndefined();
    expect(valueOf(snapshot, SONARQUBE_METRICS.linesOfCode, legacy)).toBe(90211);

    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, { project: 'hr-secrets' })).toBeUndefined();
    expect(valueOf(snapshot, SONARQUBE_METRICS.projectsSkipped, {})).toBe(1);

    // Two calls per project: branches (with the gate) and measures; the forbidden one stops at the first (403).
    expect(Object.fromEntries(ctx.counts)).toEqual({ '200': 6, '403': 1 });
    expect(fake.calls('/api/qualitygates/project_status')).toHaveLength(0);
    expect(
      fake
        .calls('/api/measures/component')
        .find((r) => r.query.get('component') === 'web-app')!
        .query.get('branch'),
    ).toBe('develop');
    expect(fake.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);

    const text = await renderSnapshot(snapshot);
    expect(text).not.toMatch(/^sonarqube_\S+\{[^}]*\} \S+ \d+$/m); // no sample timestamps
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(dirname(GOLDEN), { recursive: true });
      writeFileSync(GOLDEN, text);
    }
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
    expect(await promtoolCheckMetrics(text)).toBe('');
  });

  it('with projects: all, measures every browsable project and takes teams from teams.<team>.sonar_projects', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: all\n`, TEAMS);
    const snapshot = await collector.collect(testContext());
    const coverage = snapshot.find((f) => f.name === SONARQUBE_METRICS.coverage)!.samples;
    expect(coverage).toEqual([
      { labels: { project: 'billing-api', branch: 'main', team: 'payments' }, value: 0.875 },
      { labels: { project: 'other-org-tool', branch: 'main', team: '' }, value: 0.1 },
      { labels: { project: 'web-app', branch: 'main', team: 'web' }, value: 0.9 },
    ]);
    expect(valueOf(snapshot, SONARQUBE_METRICS.projectsSkipped, {})).toBe(0);
    // Listed by the Projects page's search (500 a request, with each project's last analysis), projects only.
    expect(fake.calls('/api/components/search_projects').map((r) => [r.query.get('filter'), r.query.get('f'), r.query.get('ps')])).toEqual([
      ['qualifier = TRK', 'analysisDate', '500'],
    ]);
    expect(fake.calls('/api/components/search')).toHaveLength(0);
  });

  it('with projects: all on a server without the project search, lists with components/search and says so once', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects(), withoutSearchProjects: true });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: all\n`, TEAMS);
    const { logger, lines } = capturingLogger();
    const first = await collector.collect({ ...testContext(), logger });
    await collector.collect({ ...testContext(), logger });
    expect(valueOf(first, SONARQUBE_METRICS.coverage, { project: 'web-app' })).toBe(0.9);
    // Asked once (404: the server has none), never again; the old listing both times.
    expect(fake.calls('/api/components/search_projects')).toHaveLength(1);
    expect(fake.calls('/api/components/search')).toHaveLength(2);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'sonarqube: the project search (api/components/search_projects, internal) is not usable; listing with api/components/search and asking each project for its branches instead',
    ]);
  });

  it("on Cloud, lists the organization's projects only, with a Bearer token", async () => {
    fake = await startFakeSonarqube({ flavor: 'cloud', token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(`    flavor: cloud\n    url: ${fake.url}\n    organization: acme\n    token: \${SONAR_TOKEN}\n`);
    const snapshot = await collector.collect(testContext());
    const projects = [...new Set(snapshot.flatMap((f) => f.samples.map((s) => s.labels.project)).filter(Boolean))].sort();
    expect(projects).toEqual(['billing-api', 'legacy-batch', 'web-app']);
    expect(fake.calls('/api/components/search_projects')[0]!.query.get('organization')).toBe('acme');
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('logs a failing project once, not on every refresh, and says when it recovers', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const client = new SonarqubeClient({ flavor: 'server', baseUrl: fake.url, token: new Secret(TOKEN), clock });
    const collector = new SonarqubeCollector({
      client,
      projects: [
        { key: 'billing-api', team: '' },
        { key: 'hr-secrets', team: '' },
      ],
    });
    const { logger, lines } = capturingLogger();
    const ctx = { ...testContext(), logger };
    await collector.collect(ctx);
    await collector.collect(ctx);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ msg: 'sonarqube: project skipped', project: 'hr-secrets' });
    expect(JSON.stringify(warns[0])).toContain('Insufficient privileges');
    expect(JSON.stringify(lines)).not.toContain(TOKEN);

    fake.state.projects.find((p) => p.key === 'hr-secrets')!.forbidden = false;
    const snapshot = await collector.collect(ctx);
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, { project: 'hr-secrets' })).toBe(0.99);
    expect(valueOf(snapshot, SONARQUBE_METRICS.projectsSkipped, {})).toBe(0);
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['sonarqube: project collected again']);
  });

  it("keeps a project's last values through a passing failure (5xx), drops them after a lasting one (403)", async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const sleeps: number[] = [];
    const client = new SonarqubeClient({
      flavor: 'server',
      baseUrl: fake.url,
      token: new Secret(TOKEN),
      clock,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0,
    });
    const collector = new SonarqubeCollector({
      client,
      projects: [
        { key: 'billing-api', team: 'payments' },
        { key: 'web-app', branch: 'develop', team: 'frontend' },
      ],
    });
    const { logger, lines } = capturingLogger();
    const web = { project: 'web-app', branch: 'develop' };
    const first = await collector.collect({ ...testContext(), logger });
    expect(valueOf(first, SONARQUBE_METRICS.coverage, web)).toBe(0.6425);

    fake.state.failing = { 'web-app': 503 };
    analyse(fake, 'billing-api', { coverage: '88.0' });
    const ctx = { ...testContext(), logger };
    const second = await collector.collect(ctx);
    expect(valueOf(second, SONARQUBE_METRICS.coverage, { project: 'billing-api' })).toBe(0.88);
    expect(valueOf(second, SONARQUBE_METRICS.coverage, web)).toBe(0.6425);
    expect(valueOf(second, SONARQUBE_METRICS.qualityGatePassed, web)).toBe(0);
    expect(valueOf(second, SONARQUBE_METRICS.projectsSkipped, {})).toBe(0);
    expect(ctx.counts.get('503')).toBe(5); // the branches call, first try and four retries
    expect(sleeps).toEqual([250, 500, 1000, 2000]);
    expect(lines.filter((l) => l.level === 40).map((l) => [l.msg, l.project])).toEqual([['sonarqube: project failed; keeping its last values', 'web-app']]);

    fake.state.failing = {};
    fake.state.projects.find((p) => p.key === 'web-app')!.forbidden = true;
    const third = await collector.collect({ ...testContext(), logger });
    expect(valueOf(third, SONARQUBE_METRICS.coverage, web)).toBeUndefined();
    expect(valueOf(third, SONARQUBE_METRICS.projectsSkipped, {})).toBe(1);

    // Once dropped, a later passing failure has nothing to fall back on.
    fake.state.projects.find((p) => p.key === 'web-app')!.forbidden = false;
    fake.state.failing = { 'web-app': 502 };
    const fourth = await collector.collect({ ...testContext(), logger });
    expect(valueOf(fourth, SONARQUBE_METRICS.coverage, web)).toBeUndefined();
    expect(valueOf(fourth, SONARQUBE_METRICS.projectsSkipped, {})).toBe(1);
  });

  it('skips a project whose configured branch does not exist, naming the setting', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const { logger, lines } = capturingLogger();
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [billing-api, { key: web-app, branch: release-9 }]\n`);
    const snapshot = await collector.collect({ ...testContext(), logger });
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, { project: 'billing-api' })).toBe(0.875);
    expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, { project: 'web-app' })).toBeUndefined();
    expect(valueOf(snapshot, SONARQUBE_METRICS.projectsSkipped, {})).toBe(1);
    expect(JSON.stringify(lines)).toContain('project web-app has no branch \\"release-9\\" (check sources.sonarqube.projects)');
    expect(fake.calls('/api/measures/component').map((r) => r.query.get('component'))).toEqual(['billing-api']);
  });

  it('exports a main branch listed both implicitly and by name once', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(
      `    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [web-app, { key: web-app, branch: main }, { key: web-app, branch: develop }]\n`,
    );
    const snapshot = await collector.collect(testContext());
    expect(snapshotProblem(snapshot)).toBeUndefined();
    expect(snapshot.find((f) => f.name === SONARQUBE_METRICS.coverage)!.samples).toEqual([
      { labels: { project: 'web-app', branch: 'develop', team: '' }, value: 0.6425 },
      { labels: { project: 'web-app', branch: 'main', team: '' }, value: 0.9 },
    ]);
  });

  it('fails the collection when the token is refused (401), naming the setting and not the token', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects(), revoked: true });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [billing-api, web-app]\n`);
    const err = (await collector.collect(testContext()).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('auth');
    expect(err.message).toContain('sources.sonarqube.token');
    expect(err.message).not.toContain(TOKEN);
  });

  it('reads the token from token_file (relative to the OKR file) and names that setting on 401', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const dir = mkdtempSync(join(tmpdir(), 'okr-sonar-'));
    try {
      writeFileSync(join(dir, 'sonar-token'), `${TOKEN}\n`);
      const text = `version: okr/v1\nsources:\n  sonarqube:\n    url: ${fake.url}\n    token_file: sonar-token\n    projects: [billing-api]\n`;
      const loaded = parseConfig(text, join(dir, 'okrs.yaml'), { env: {} });
      const collector = sonarqubePlugin.create(sourceDeps(loaded, sonarqubePlugin, { logger: silentLogger(), stateDir: dir, clock }));
      const snapshot = await collector.collect(testContext());
      expect(valueOf(snapshot, SONARQUBE_METRICS.coverage, { project: 'billing-api' })).toBe(0.875);
      expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      fake.state.revoked = true;
      const err = (await collector.collect(testContext()).catch((e: unknown) => e)) as SourceError;
      expect(err.message).toContain('check sources.sonarqube.token_file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the collection when every project fails', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [gone-1, hr-secrets]\n`);
    const err = (await collector.collect(testContext()).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('not_found');
    expect(err.message).toMatch(/^all 2 SonarQube projects failed; first: .*Project 'gone-1' not found/);
  });

  it('stops when the collection is aborted', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [billing-api]\n`);
    const ac = new AbortController();
    ac.abort(new Error('timed out'));
    await expect(collector.collect(testContext(ac.signal))).rejects.toThrow('timed out');
  });
});

describe('sonarqube collector under the runner', () => {
  it('counts every request by status and keeps the last good values when the token is revoked', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    const collector = collectorFor(`    url: ${fake.url}\n    token: \${SONAR_TOKEN}\n    projects: [billing-api, { key: web-app, branch: develop }]\n`);
    const runner = new SourceRunner(collector, { intervalSeconds: 1800, timeoutSeconds: 60, logger: silentLogger(), clock });
    await runner.runOnce();
    expect(runner.getHealth().up).toBe(true);
    fake.state.revoked = true;
    await runner.runOnce();

    const health = runner.getHealth();
    expect(health.up).toBe(false);
    expect(health.lastError?.reason).toBe('auth');
    expect(health.lastError?.message).toContain('sources.sonarqube.token');
    expect(valueOf(runner.lastGood(), SONARQUBE_METRICS.coverage, { project: 'web-app', branch: 'develop' })).toBe(0.6425);
    const families = runner.healthFamilies();
    const requests = families.find((f) => f.name === 'okr_source_requests_total')!.samples;
    expect(requests).toEqual([
      { labels: { source: 'sonarqube', status: '200' }, value: 4 },
      { labels: { source: 'sonarqube', status: '401' }, value: 2 },
    ]);
    const errors = families.find((f) => f.name === 'okr_source_errors_total')!.samples;
    expect(errors.find((e) => e.labels.reason === 'auth')!.value).toBe(1);
    await runner.stop();
  });
});

describe('sonarqube answers of an unexpected shape', () => {
  let proxy: AnswerProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('behind a proxy answering 200 {"hello":"world"}: down with invalid_output, every coverage series stays', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    proxy = await startAnswerProxy(fake.url);
    const { logger, lines } = capturingLogger();
    const collector = collectorFor(`    url: ${proxy.url}\n    token: \${SONAR_TOKEN}\n    projects: all\n`, TEAMS);
    const runner = new SourceRunner(collector, { intervalSeconds: 1800, timeoutSeconds: 60, logger, clock });
    await runner.runOnce();
    expect(runner.getHealth().up).toBe(true);
    const coverage = () => (runner.lastGood().find((f) => f.name === SONARQUBE_METRICS.coverage)?.samples ?? []).map((x) => [x.labels.project, x.value]);
    const before = coverage();
    expect(before.length).toBeGreaterThanOrEqual(2);

    proxy.hijack = () => ({ hello: 'world' });
    await runner.runOnce();
    expect(runner.getHealth()).toMatchObject({ up: false, lastError: { reason: 'invalid_output' } });
    expect(runner.getHealth().lastError!.message).toBe(
      'sonarqube: GET /api/components/search answered 200 with an unexpected body: paging: Invalid input: expected object, received undefined; components: Invalid input: expected array, received undefined',
    );
    expect(coverage()).toEqual(before);
    // The project search answered first: of the wrong shape too, so the plain listing was tried.
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'sonarqube: the project search (api/components/search_projects, internal) is not usable this refresh; listing with api/components/search and asking each project for its branches instead',
      'source collection failed; serving last good values',
    ]);
    await runner.stop();
  });

  it('one project answering an unexpected shape keeps its last values; the others are fresh and the source stays up', async () => {
    fake = await startFakeSonarqube({ token: TOKEN, projects: fixtureProjects() });
    proxy = await startAnswerProxy(fake.url);
    const collector = collectorFor(
      `    url: ${proxy.url}\n    token: \${SONAR_TOKEN}\n    projects: [billing-api, { key: web-app, branch: develop }]\n`,
      TEAMS,
    );
    const { logger, lines } = capturingLogger();
    const first = await collector.collect({ ...testContext(), logger });
    const web = { project: 'web-app', branch: 'develop' };
    expect(valueOf(first, SONARQUBE_METRICS.coverage, web)).toBe(0.6425);

    // A measures answer without `component.measures` for web-app: not "no coverage", but unknown.
    proxy.hijack = (req) =>
      req.path === '/api/measures/component' && req.query.get('component') === 'web-app' ? { component: { key: 'web-app' } } : undefined;
    analyse(fake, 'billing-api', { coverage: '88.0' });
    analyse(fake, 'web-app', {}, 'develop');
    const second = await collector.collect({ ...testContext(), logger });
    expect(valueOf(second, SONARQUBE_METRICS.coverage, { project: 'billing-api' })).toBe(0.88);
    expect(valueOf(second, SONARQUBE_METRICS.coverage, web)).toBe(0.6425);
    expect(valueOf(second, SONARQUBE_METRICS.projectsSkipped, {})).toBe(0);
    const warnings = lines.filter((l) => l.level === 40) as Array<{ msg: string; project?: string; err?: string }>;
    expect(warnings.map((w) => [w.msg, w.project, w.err])).toEqual([
      [
        'sonarqube: project failed; keeping its last values',
        'web-app',
        'sonarqube: GET /api/measures/component answered 200 with an unexpected body: component.measures: Invalid input: expected array, received undefined',
      ],
    ]);
  });
});

describe('sonarqube settings', () => {
  const base = (extra: string) => `version: okr/v1\nsources:\n  sonarqube:\n    url: https://sonarcloud.io\n${extra}`;

  it('requires the organization on Cloud and a token', () => {
    expect(() => parseConfig(base('    flavor: cloud\n    token: ${T}\n'), 'okrs.yaml', { env: { T: 'x' } })).toThrow(
      'SonarQube Cloud needs the organization key',
    );
    expect(() => parseConfig(base('    organization: acme\n'), 'okrs.yaml', { env: {} })).toThrow('SonarQube needs token or token_file');
  });

  it('rejects the same project and branch listed twice, but allows two branches', () => {
    expect(() => parseConfig(base('    token: ${T}\n    projects: [a, a]\n'), 'okrs.yaml', { env: { T: 'x' } })).toThrow('project "a" is listed twice');
    expect(() => parseConfig(base('    token: ${T}\n    projects: [a, { key: a, branch: dev }]\n'), 'okrs.yaml', { env: { T: 'x' } })).not.toThrow();
  });
});
