import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { demoConfigDocument } from '../../src/demo/demo-config.js';
import { expandMeasure } from '../../src/engine/measure-kinds.js';
import { issuesOf } from '../support/config-issues.js';

const root = resolve(import.meta.dirname, '../..');
const fixtures = join(root, 'tests/fixtures/config');
const cli = join(root, 'dist/src/cli/main.js');

describe('okrs.example.yaml', () => {
  it('is valid and encodes every KR of the seed strategy', () => {
    const { config } = loadConfig(join(root, 'okrs.example.yaml'), { env: {} });
    const titles = config.objectives.flatMap((o) => o.key_results.map((k) => k.title));
    expect(titles).toHaveLength(13);
    for (const seed of [
      'API availability > 99%',
      '0% system downtime',
      'Improve API latency by 10% every quarter',
      'Deliver > 60 story points per sprint',
      'Zero security incidents',
    ]) {
      expect(titles).toContain(seed);
    }
    const coverage = config.objectives.flatMap((o) => o.key_results).find((k) => k.id === 'code-coverage')!;
    expect(coverage.target).toBe('+5 points');
    expect(expandMeasure(coverage.measure).unit).toBe('ratio');
  });
});

describe('okrs.dora.example.yaml', () => {
  it('is valid: the four DORA keys as key results, from Bitbucket deployments, CI events and Jira incidents', () => {
    const { config } = loadConfig(join(root, 'okrs.dora.example.yaml'), { env: { OKR_METRICS_TOKEN: 't', BITBUCKET_ACCESS_TOKEN: 'b', JIRA_API_TOKEN: 'j' } });
    const krs = config.objectives.flatMap((o) => o.key_results);
    expect(krs.map((k) => expandMeasure(k.measure).kind)).toEqual(['deployment_frequency', 'lead_time', 'change_failure_rate', 'recovery_time']);
    expect(krs.map((k) => expandMeasure(k.measure).unit)).toEqual(['number', 'seconds', 'ratio', 'seconds']);
    expect(config.sources.delivery!.deployments_from).toEqual(['bitbucket', 'events']);
    expect(Object.keys(config.sources.jira!.incidents)).toEqual(['production_incidents']);
  });

  it('is what the demo adds to the example OKRs', () => {
    const doc = demoConfigDocument();
    const ids = (doc.toJS() as { objectives: Array<{ id: string; key_results: unknown[] }> }).objectives;
    expect(ids.map((o) => o.id)).toContain('delivery-performance');
    expect(ids.flatMap((o) => o.key_results)).toHaveLength(17);
  });
});

describe('config errors', () => {
  it('reports all five problems at once with file:line:col and path', () => {
    const file = join(fixtures, 'five-problems.yaml');
    let err: ConfigError | undefined;
    try {
      loadConfig(file, { env: {} });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues.map((i) => `${i.line}:${i.col} ${i.path.join('.')}`)).toEqual([
      '7:9 sources.apilogs.services.0.colour',
      '16:17 objectives.0.key_results.0.weight',
      '17:13 objectives.0.key_results.1.id',
      '19:28 objectives.0.key_results.1.measure.promql',
      '26:28 objectives.1.key_results.0.measure.promql',
    ]);
    const lines = err!.message.split('\n');
    expect(lines[0]).toBe(`${file}:7:9: sources.apilogs.services[0].colour: unknown key "colour"`);
    expect(lines[1]).toContain('objectives[0].key_results[0].weight: expected number, got string "heavy"');
    expect(lines[2]).toContain('duplicate key result id "availability"');
    expect(lines[3]).toContain('PromQL syntax error');
    expect(lines[4]).toContain('environment variable OKR_TEST_UNSET_TEAM is not set');
  });

  it('exits 2 from the CLI and prints one line per problem', () => {
    const r = spawnSync(process.execPath, [cli, 'check', '-c', join(fixtures, 'five-problems.yaml')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(5);
    expect(r.stdout).toBe('');
  });

  it('check exits 0 on a valid file', () => {
    const out = execFileSync(process.execPath, [cli, 'check', '-c', join(fixtures, 'minimal.yaml')], { encoding: 'utf8' });
    expect(out).toContain('ok (1 objectives, 1 key results');
  });

  it('names a missing file', () => {
    const r = spawnSync(process.execPath, [cli, 'check', '-c', '/nonexistent/okrs.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/nonexistent/okrs.yaml:1:1: (root): file not found');
  });

  it('rejects inline secrets and unknown placeholders, and explains ratio targets', () => {
    const lines = issuesOf(`version: okr/v1
sources:
  sonarqube:
    url: https://sonar.example.com
    token: squ_0123456789
objectives:
  - id: q
    title: Quality
    key_results:
      - id: cov
        title: Coverage
        measure: { coverage: { project: api } }
        target: ">= 80"
      - id: p
        title: Custom
        measure: { promql: "sum(x[{{quarter}}])" }
        target: ">= 1"
`);
    expect(lines).toEqual([
      'okrs.yaml:5:12: sources.sonarqube.token: secrets must be an ${ENV_VAR} reference (or use the matching *_file setting), never a literal value',
      'okrs.yaml:16:28: objectives[0].key_results[1].measure.promql: unknown placeholder {{quarter}} (known: {{window}}, {{period_start}}, {{period_end}})',
    ]);
    // Shape errors come first; once the shape is right, cross-reference checks run.
    const next = issuesOf(
      `version: okr/v1
sources:
  sonarqube:
    url: https://sonar.example.com
    token: \${SONAR_TOKEN}
    projects: [api]
objectives:
  - id: q
    title: Quality
    key_results:
      - id: cov
        title: Coverage
        measure: { coverage: { project: web } }
        target: ">= 80"
`,
      { SONAR_TOKEN: 'x' },
    );
    expect(next).toEqual([
      'okrs.yaml:13:41: objectives[0].key_results[0].measure.coverage.project: SonarQube project "web" is not in sources.sonarqube.projects',
      'okrs.yaml:14:17: objectives[0].key_results[0].target: coverage is a ratio in 0..1: write ">= 0.8" or ">= 80%"',
    ]);
  });

  it('reports bad targets, measures with two kinds, and YAML syntax errors', () => {
    const lines = issuesOf(`version: okr/v1
objectives:
  - id: a
    title: A
    key_results:
      - id: k
        title: K
        measure: { manual: { value: 1 }, promql: "up" }
        target: "about 5"
`);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^okrs\.yaml:8:18: objectives\[0\]\.key_results\[0\]\.measure: a measure has exactly one kind, found promql and manual$/);
    expect(lines[1]).toMatch(/^okrs\.yaml:9:17: objectives\[0\]\.key_results\[0\]\.target: expected a comparison/);
    expect(issuesOf('version: okr/v1\nobjectives: [\n')[0]).toMatch(/^okrs\.yaml:\d+:\d+: \(root\): YAML: /);
  });

  it('interpolates ${VAR:-default} in plain strings and skips disabled sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-cfg-'));
    const file = join(dir, 'okrs.yaml');
    writeFileSync(
      file,
      `version: okr/v1
prometheus:
  url: \${PROM_URL:-http://127.0.0.1:9090}
sources:
  jira:
    enabled: false
    url: https://x.atlassian.net
    email: a@b.c
    api_token: \${NOT_SET_BECAUSE_DISABLED}
`,
    );
    const { config } = loadConfig(file, { env: {} });
    expect(config.prometheus.url).toBe('http://127.0.0.1:9090');
    expect(config.sources.jira?.enabled).toBe(false);
  });
});

describe('okr-metrics schema', () => {
  it('matches the committed okr-schema.json that okrs.example.yaml points editors at', () => {
    const out = execFileSync(process.execPath, [cli, 'schema'], { encoding: 'utf8' });
    expect(readFileSync(join(root, 'okr-schema.json'), 'utf8'), 'run: npx okr-metrics schema > okr-schema.json').toBe(out);
  });

  it('prints a JSON Schema editors can use', () => {
    const out = execFileSync(process.execPath, [cli, 'schema'], { encoding: 'utf8' });
    const schema = JSON.parse(out) as { properties: Record<string, unknown>; required?: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['version', 'sources', 'objectives', 'teams', 'prometheus']));
    expect(schema.required).toEqual(['version']);
  });
});

describe('references a team names but no local source collects', () => {
  const file = (service: string) => `version: okr/v1
teams:
  platform: { services: [topups-api, ${service}], jira_boards: [Web] }
sources:
  apilogs:
    services:
      - { name: topups-api, files: [access.log] }
  jira: { url: https://x.atlassian.net, email: bot@x.com, api_token: "\${JIRA_API_TOKEN}", boards: [Platform] }
objectives:
  - id: o
    title: O
    key_results:
      - { id: a, title: A, measure: { availability: { service: ${service} } }, target: "> 99%" }
      - { id: b, title: B, measure: { story_points: { boards: Web } }, target: ">= 10" }
`;

  it('warns with file:line:col when a KR names a service only a team lists, and the file stays valid', () => {
    const loaded = parseConfig(file('apii'), 'okrs.yaml', { env: { JIRA_API_TOKEN: 'x' } });
    expect(loaded.warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toEqual([
      '13:64 service "apii" is listed only under teams, not in the settings of sources.apilogs: this exporter does not collect it, so the key result has no data unless another okr-metrics exports it',
    ]);
  });

  it('does not warn for boards a team names: the Jira collector reads them too', () => {
    const loaded = parseConfig(file('topups-api'), 'okrs.yaml', { env: { JIRA_API_TOKEN: 'x' } });
    expect(loaded.warnings).toEqual([]);
  });

  it('prints the warning from check on stderr and exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-warn-'));
    writeFileSync(join(dir, 'okrs.yaml'), file('apii'));
    const r = spawnSync(process.execPath, [cli, 'check', '-c', join(dir, 'okrs.yaml')], { encoding: 'utf8', env: { ...process.env, JIRA_API_TOKEN: 'x' } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: .*okrs\.yaml:13:64: objectives\[0\]\.key_results\[0\]\.measure\.availability\.service: service "apii" is listed only under teams/m,
    );
  });
});
