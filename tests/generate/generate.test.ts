/** Unit tests of the generation chain: determinism, the runbook pass, dashboards' house style, provisioning. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import {
  ALERT_NAMES,
  ALERT_SEVERITIES,
  DASHBOARD_UID,
  DATASOURCE_UID,
  KR_METRICS,
  NO_SUCCESS,
  SLO_BURN_RATE_WINDOWS,
  SLO_MIN_REQUESTS_LONG_WINDOW,
} from '../../src/conventions.js';
import { durationSeconds } from '../../src/core/config-primitives.js';
import { targetThresholds } from '../../src/generate/dashboards/common.js';
import { generate, PATHS } from '../../src/generate/generate.js';
import { GenerateError } from '../../src/generate/model.js';
import { ALERTMANAGER_ENV, expandEnv, RETENTION } from '../../src/generate/provisioning.js';
import { apiWindows } from '../../src/generate/recording-rules.js';
import { GENERATED_BY } from '../../src/generate/render.js';
import type { AlertingRule, RuleFile } from '../../src/generate/rule-types.js';
import { stampRunbooks } from '../../src/generate/runbooks.js';
import { checkFiles, writeFiles } from '../../src/generate/write-files.js';
import { parseTarget, type Target } from '../../src/engine/target.js';
import { requireBinary } from '../support/binaries.js';
import { EXAMPLE, REPO_ROOT } from './support.js';

const example = () => generate(loadConfig(EXAMPLE, { env: {} }));
type Json = Record<string, unknown>;

function minimal(extra = ''): string {
  return `version: okr/v1
teams:
  t:
    services: [svc]
objectives:
  - id: o
    title: O
    key_results:
      - id: avail
        title: A
        measure: { availability: { service: svc } }
        target: "${extra || '> 99%'}"
`;
}

describe('generate', () => {
  it('is deterministic: two runs give byte-identical files, each with one trailing newline and the marker', () => {
    const a = example().files;
    const b = example().files;
    expect(a).toEqual(b);
    expect(a.map((f) => f.path)).toEqual([...a.map((f) => f.path)].sort());
    for (const f of a) {
      expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), f.path).toBe(true);
      if (/\.ya?ml$/.test(f.path)) expect(f.content.startsWith(`# ${GENERATED_BY}.`), f.path).toBe(true);
      else expect((JSON.parse(f.content) as Json).description, f.path).toContain(GENERATED_BY);
    }
  });

  it('names recording rules level:metric:operations and covers every SLI and burn-rate window', () => {
    const g = example();
    const records = g.recording.groups.flatMap((gr) => gr.rules.map((r) => r.record));
    for (const r of records) expect(r).toMatch(/^okr:[a-z0-9_]+:[a-z0-9_]+$/);
    for (const w of apiWindows()) {
      expect(records).toContain(`okr:api_availability:ratio_rate${w}`);
      expect(records).toContain(`okr:api_request_duration_seconds:p95_rate${w}`);
    }
    for (const w of SLO_BURN_RATE_WINDOWS) expect(apiWindows()).toEqual(expect.arrayContaining([w.long, w.short]));
    expect(apiWindows()).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']);
  });

  it('the rolling downtime series counts a slot without requests as up, as the measure does (no_traffic: down records the measure itself)', () => {
    const rolling = (noTraffic: string) =>
      generate(
        parseConfig(
          minimal('== 0').replace('measure: { availability: { service: svc } }', `measure: { downtime: { service: svc, no_traffic: ${noTraffic} } }`),
          'okrs.yaml',
          { env: {} },
        ),
      )
        .recording.groups.flatMap((gr) => gr.rules)
        .find((r) => r.record === 'okr:key_result_measure:rolling_period')!.expr;
    // NaN availability (no requests) < 0.5 is false: not down.
    expect(rolling('up')).toBe('avg_over_time((okr:api_availability:ratio_rate5m{service="svc"} < bool 0.5)[90d:5m])');
    expect(rolling('down')).toContain('== bool 0');
  });

  it('takes the availability threshold from the KR target, not a constant', () => {
    const rules = (t: string) =>
      generate(parseConfig(minimal(t), 'okrs.yaml', { env: {} }))
        .alerts.groups.flatMap((g) => g.rules)
        .filter((r) => r.alert === ALERT_NAMES.availabilityBelowTarget);
    const forecast = (recent: string) =>
      `((okr_key_result_expected_progress_ratio{key_result="avail"} * okr_key_result_value{key_result="avail"} + (1 - okr_key_result_expected_progress_ratio{key_result="avail"}) * on () group_left () ${recent}) or okr_key_result_value{key_result="avail"})`;
    expect(rules('> 99%')[0]!.expr).toBe(`${forecast('okr:api_availability:ratio_rate1d{service="svc"}')} <= 0.99`);
    expect(rules('>= 99.95%')[0]!.expr).toBe(`${forecast('okr:api_availability:ratio_rate1d{service="svc"}')} < 0.9995`);
    const burn = generate(parseConfig(minimal('>= 99.95%'), 'okrs.yaml', { env: {} }))
      .alerts.groups.flatMap((g) => g.rules)
      .find((r) => r.alert === ALERT_NAMES.errorBudgetBurnPageFast)!;
    expect(burn.expr).toContain('(14.4 * 0.0005)');
  });

  it('availability KR alert: a 10m ticket over 1d by default, the file overrides each setting, and it needs the engine', () => {
    const avail = (extra: string) =>
      generate(parseConfig(`${minimal()}${extra}`, 'okrs.yaml', { env: {} }))
        .alerts.groups.flatMap((g) => g.rules)
        .filter((r) => r.alert === ALERT_NAMES.availabilityBelowTarget);
    for (const setting of ['', '        alert: true\n', '        alert: {}\n']) {
      const [a] = avail(setting);
      expect(a!.labels.severity, setting).toBe('ticket');
      expect(a!.for).toBe('10m');
      expect(a!.expr).toContain('okr:api_availability:ratio_rate1d{service="svc"}');
    }
    const [paged] = avail('        alert: { severity: page, window: 1h, for: 0s }\n');
    expect(paged!.labels.severity).toBe('page');
    expect(paged!.for).toBeUndefined();
    expect(paged!.expr).toContain('okr:api_availability:ratio_rate1h{service="svc"}');
    expect(avail('        alert: false\n')).toEqual([]);
    const noEngine = generate(parseConfig(minimal().replace('version: okr/v1\n', 'version: okr/v1\nengine: { enabled: false }\n'), 'okrs.yaml', { env: {} }));
    const names = noEngine.alerts.groups.flatMap((g) => g.rules).map((r) => r.alert);
    expect(names).not.toContain(ALERT_NAMES.availabilityBelowTarget);
    expect(names).toContain(ALERT_NAMES.errorBudgetBurnPageFast);
    expect(names).toContain(ALERT_NAMES.noSuccessfulRequests);
  });

  it('burn-rate alerts: no for, a request minimum over the long window; the no-success alert counts non-failures', () => {
    const rules = generate(parseConfig(minimal(), 'okrs.yaml', { env: {} })).alerts.groups.flatMap((g) => g.rules);
    for (const w of SLO_BURN_RATE_WINDOWS) {
      const r = rules.find((x) => x.labels.long_window === w.long)!;
      expect(r.for).toBeUndefined();
      expect(r.expr).toContain(`okr:api_requests:rate${w.long}{service="svc"} * ${durationSeconds(w.long)} >= ${SLO_MIN_REQUESTS_LONG_WINDOW}`);
    }
    const none = rules.find((r) => r.alert === ALERT_NAMES.noSuccessfulRequests)!;
    expect(none.labels.severity).toBe('page');
    expect(none.expr).toBe(
      `okr:api_requests:rate${NO_SUCCESS.window}{service="svc"} * ${durationSeconds(NO_SUCCESS.window)} >= ${NO_SUCCESS.minRequests} unless on (service) sum by (service) (rate(api_requests_total{service="svc",code!~"5.."}[${NO_SUCCESS.window}])) > 0`,
    );
  });

  it('the absent-data alert matches a list of boards exactly as the measure does (regex-escaped)', () => {
    const okrs = `version: okr/v1
sources:
  jira: { url: https://example.atlassian.net, email: a@example.com, api_token: "\${JIRA_TOKEN}", boards: ["Web (EU)", Core] }
objectives:
  - id: o
    title: O
    key_results:
      - id: points
        title: P
        measure: { story_points: { boards: ["Web (EU)", Core] } }
        target: ">= 100"
`;
    const g = generate(parseConfig(okrs, 'okrs.yaml', { env: { JIRA_TOKEN: 't' } }));
    const absent = g.alerts.groups.flatMap((x) => x.rules).find((r) => r.alert === ALERT_NAMES.measureDataAbsent)!;
    expect(absent.expr).toBe('absent(jira_sprint_story_points{board=~"Web \\\\(EU\\\\)|Core"})');
    expect(g.model.krs[0]!.measure.promql).toContain('{board=~"Web \\\\(EU\\\\)|Core",');
  });

  it('rejects an availability target that is not a ratio to stay above', () => {
    expect(() => generate(parseConfig(minimal('< 50%'), 'okrs.yaml', { env: {} }))).toThrow(GenerateError);
  });

  it('an OKR file with no objectives still gets the exporter-health alerts and all dashboards', () => {
    const g = generate(parseConfig('version: okr/v1\n', 'okrs.yaml', { env: {} }));
    expect(g.alerts.groups.flatMap((x) => x.rules).map((r) => r.alert)).toContain(ALERT_NAMES.sourceDown);
    expect(g.dashboards).toHaveLength(7);
  });
});

describe('alerts and runbooks', () => {
  const alerts = example().alerts.groups.flatMap((g) => g.rules);
  const runbooks = readFileSync(join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
  const anchors = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]!.toLowerCase()));

  it('every alert has severity, summary, description and a runbook_url whose section exists', () => {
    expect(alerts.length).toBeGreaterThan(10);
    for (const a of alerts) {
      expect(ALERT_SEVERITIES).toContain(a.labels.severity);
      expect(a.annotations.summary, a.alert).toBeTruthy();
      expect(a.annotations.description, a.alert).toBeTruthy();
      const anchor = /docs\/runbooks\.md#([a-z]+)$/.exec(a.annotations.runbook_url ?? '')?.[1];
      expect(anchor, a.alert).toBe(a.alert.toLowerCase());
      expect(anchors, `docs/runbooks.md has no "## ${a.alert}" section`).toContain(anchor);
    }
  });

  it('the runbook page documents every alert name the generator can emit', () => {
    for (const name of Object.values(ALERT_NAMES)) expect(anchors).toContain(name.toLowerCase());
  });

  it('the runbook pass rejects an alert without severity or summary', () => {
    const file = (labels: Record<string, string>, annotations: Record<string, string>): RuleFile<AlertingRule> => ({
      groups: [{ name: 'g', rules: [{ alert: 'X', expr: 'up == 0', labels, annotations }] }],
    });
    expect(() => stampRunbooks(file({}, { summary: 's', description: 'd' }))).toThrow(/severity/);
    expect(() => stampRunbooks(file({ severity: 'critical' }, { summary: 's', description: 'd' }))).toThrow(/severity/);
    expect(() => stampRunbooks(file({ severity: 'page' }, { description: 'd' }))).toThrow(/summary/);
    expect(stampRunbooks(file({ severity: 'page' }, { summary: 's', description: 'd' })).groups[0]!.rules[0]!.annotations.runbook_url).toMatch(/#x$/);
  });
});

describe('dashboards', () => {
  const g = example();

  it('have the stable uids, schemaVersion 39, unique panel ids and the fixed datasource uid everywhere', () => {
    expect(g.dashboards.map((d) => d.uid).sort()).toEqual(Object.values(DASHBOARD_UID).sort());
    for (const d of g.dashboards) {
      expect(d.json.uid).toBe(d.uid);
      expect(d.json.schemaVersion).toBe(39);
      expect(d.json.id).toBeUndefined();
      const panels = d.json.panels as Json[];
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
      expect(ids).toEqual(ids.map((_, i) => i + 1));
      for (const p of panels.filter((x) => x.type !== 'row')) {
        expect((p.datasource as Json).uid, `${d.uid} ${String(p.title)}`).toBe(DATASOURCE_UID);
        const targets = p.targets as Json[];
        expect(targets.length, `${d.uid} ${String(p.title)}`).toBeGreaterThan(0);
        const refIds = targets.map((t) => t.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
        for (const t of targets) expect((t.datasource as Json).uid).toBe(DATASOURCE_UID);
      }
      for (const v of ((d.json.templating as Json).list as Json[]) ?? []) expect((v.datasource as Json).uid).toBe(DATASOURCE_UID);
    }
  });

  it('have team and service variables where they apply', () => {
    const vars = (uid: string) => (((g.dashboards.find((d) => d.uid === uid)!.json.templating as Json).list as Json[]) ?? []).map((v) => v.name);
    for (const uid of [DASHBOARD_UID.overview, DASHBOARD_UID.api, DASHBOARD_UID.delivery, DASHBOARD_UID.quality, DASHBOARD_UID.bitbucket])
      expect(vars(uid)).toContain('team');
    expect(vars(DASHBOARD_UID.api)).toEqual(['team', 'service']);
    expect(vars(DASHBOARD_UID.deliveryPerformance)).toEqual(['team', 'service']);
  });

  it('overview: one row per objective and value, target, progress and status per key result', () => {
    const config = loadConfig(EXAMPLE, { env: {} }).config;
    const panels = g.dashboards.find((d) => d.uid === DASHBOARD_UID.overview)!.json.panels as Json[];
    expect(panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(config.objectives.map((o) => o.title));
    const exprs = panels.flatMap((p) => ((p.targets as Json[] | undefined) ?? []).map((t) => String(t.expr)));
    for (const o of config.objectives)
      for (const kr of o.key_results)
        for (const metric of [KR_METRICS.value, KR_METRICS.target, KR_METRICS.progress, KR_METRICS.status])
          expect(
            exprs.some((e) => e.startsWith(`${metric}{objective="${o.id}",key_result="${kr.id}"}`)),
            `${kr.id} ${metric}`,
          ).toBe(true);
  });

  it('overview: the team table shows no Time column, and names its value "progress"', () => {
    const panels = g.dashboards.find((d) => d.uid === DASHBOARD_UID.overview)!.json.panels as Json[];
    const tablePanel = panels.find((p) => p.type === 'table')!;
    const organize = (tablePanel.transformations as Json[]).find((t) => t.id === 'organize')!;
    expect(((organize.options as Json).excludeByName as Json).Time).toBe(true);
    expect(((organize.options as Json).renameByName as Json).Value).toBe('progress');
  });

  it("exporter health: a rate says it is per second, and Prometheus' up reads down/up in red/green", () => {
    const panels = g.dashboards.find((d) => d.uid === DASHBOARD_UID.health)!.json.panels as Json[];
    const lines = panels.find((p) => String(p.title).startsWith('API log lines'))!;
    expect(String((lines.targets as Json[])[0]!.expr)).toContain('rate(');
    expect(((lines.fieldConfig as Json).defaults as Json).unit).toBe('suffix: lines/s');
    for (const title of ['Exporter scraped', 'Source up']) {
      const defaults = (panels.find((p) => p.title === title)!.fieldConfig as Json).defaults as Json;
      expect((defaults.mappings as Json[])[0], title).toEqual({
        type: 'value',
        options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } },
      });
      expect((defaults.thresholds as Json).steps, title).toEqual([
        { value: null, color: 'red' },
        { value: 1, color: 'green' },
      ]);
    }
  });

  it('colours values by thresholds taken from the target', () => {
    const steps = (t: string) => targetThresholds(parseTarget(t) as Target).build().steps;
    expect(steps('> 99%')).toEqual([
      { value: null, color: 'red' },
      { value: 0.99, color: 'green' },
    ]);
    expect(steps('< 0.3')).toEqual([
      { value: null, color: 'green' },
      { value: 0.3, color: 'red' },
    ]);
    expect(steps('-10%')).toEqual([{ value: null, color: 'blue' }]);
  });

  it('the delivery bar chart draws the 60-point velocity target line', () => {
    const panels = g.dashboards.find((d) => d.uid === DASHBOARD_UID.delivery)!.json.panels as Json[];
    const bars = panels.find((p) => p.type === 'barchart')!;
    const defaults = (bars.fieldConfig as Json).defaults as Json;
    expect((defaults.thresholds as Json).steps).toEqual([
      { value: null, color: 'red' },
      { value: 60, color: 'green' },
    ]);
    expect(((defaults.custom as Json).thresholdsStyle as Json).mode).toBe('line');
  });
});

describe('provisioning', () => {
  const files = new Map(example().files.map((f) => [f.path, f.content]));

  it('Grafana: the datasource has the fixed uid; the provider reads the mounted dashboards', () => {
    const ds = parse(files.get(PATHS.grafanaDatasource)!) as { datasources: Json[] };
    expect(ds.datasources[0]).toMatchObject({ uid: DATASOURCE_UID, type: 'prometheus' });
    const prov = parse(files.get(PATHS.grafanaDashboards)!) as { providers: Array<{ options: { path: string } }> };
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(`./dashboards:${prov.providers[0]!.options.path}:ro`);
  });

  it('Alertmanager: routes every severity, and the template with no environment is a valid config (amtool)', () => {
    const template = files.get(PATHS.alertmanager)!;
    const routes = (parse(template) as { route: { routes: Array<{ matchers: string[] }> } }).route.routes;
    for (const s of ALERT_SEVERITIES)
      expect(
        routes.some((r) => r.matchers.includes(`severity="${s}"`)),
        s,
      ).toBe(true);
    for (const v of Object.values(ALERTMANAGER_ENV)) expect(template).toContain(`\${${v}:-`);
    const dir = mkdtempSync(join(tmpdir(), 'okr-am-'));
    try {
      writeFileSync(join(dir, 'am.yml'), expandEnv(template, {}));
      const r = spawnSync(requireBinary('amtool'), ['check-config', join(dir, 'am.yml')], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('render-config.sh fills the template exactly as expandEnv does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-am-'));
    try {
      const template = files.get(PATHS.alertmanager)!;
      writeFileSync(join(dir, 'in.yml'), template);
      const env = { [ALERTMANAGER_ENV.webhookUrl]: 'https://hooks.example.com/a?b=1&c=2', [ALERTMANAGER_ENV.slackChannel]: '#team' };
      const r = spawnSync('sh', [join(REPO_ROOT, 'provisioning/alertmanager/render-config.sh'), join(dir, 'in.yml'), join(dir, 'out.yml')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, RENDER_ONLY: '1', ...env },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(dir, 'out.yml'), 'utf8')).toBe(expandEnv(template, env));
      expect(readFileSync(join(dir, 'out.yml'), 'utf8')).toContain('https://hooks.example.com/a?b=1&c=2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('docker-compose: pinned images, health checks, provisioning mounted, retention >= 400 days', () => {
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Json> };
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'grafana', 'okr-metrics', 'prometheus']);
    for (const [name, s] of Object.entries(compose.services)) {
      // okr-metrics is built here (Dockerfile, its base images pinned: tests/unit/docker.test.ts).
      if (s.build === undefined) expect(String(s.image), name).toMatch(/:v?\d+\.\d+\.\d+/);
      expect(s.healthcheck, name).toBeDefined();
    }
    const cmd = (compose.services.prometheus!.command as string[]).join(' ');
    const retention = /--storage\.tsdb\.retention\.time=(\d+)d/.exec(cmd)?.[1];
    expect(Number(retention)).toBeGreaterThanOrEqual(400);
    expect(`${RETENTION}`).toBe(`${retention}d`);
    expect(compose.services.prometheus!.volumes).toContain('./provisioning/prometheus:/etc/prometheus:ro');
    expect(compose.services.alertmanager!.volumes).toContain('./provisioning/alertmanager:/etc/alertmanager:ro');
  });
});

describe('writing files', () => {
  it('writes every file, leaves no temporary directory, and check finds no difference afterwards', () => {
    const out = mkdtempSync(join(tmpdir(), 'okr-write-'));
    try {
      const { files } = example();
      writeFiles(out, files);
      expect(readdirSync(out).sort()).toEqual(['dashboards', 'provisioning']);
      for (const f of files) expect(existsSync(join(out, f.path))).toBe(true);
      expect(checkFiles(out, files)).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a failure half-way rolls back: the old files stay, no new file is left behind', () => {
    const out = mkdtempSync(join(tmpdir(), 'okr-write-'));
    try {
      const { files } = example();
      writeFiles(out, files);
      // provisioning/prometheus becomes a file: every path under it fails, after dashboards/ moved.
      rmSync(join(out, 'provisioning/prometheus'), { recursive: true });
      writeFileSync(join(out, 'provisioning/prometheus'), 'in the way\n');
      const changed = files.map((f) => ({ ...f, content: f.content.replace('okr-metrics', 'okr-metrics-v2') }));
      expect(() => writeFiles(out, changed)).toThrow();
      const before = files.filter((f) => !f.path.startsWith('provisioning/prometheus/'));
      expect(checkFiles(out, before)).toEqual([]);
      expect(readdirSync(out).sort()).toEqual(['dashboards', 'provisioning']);
      expect(() => writeFiles(join(out, 'dashboards'), [{ path: '.', content: 'x' }])).toThrow(/directory/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('an invalid OKR file writes nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'okr-write-'));
    try {
      expect(() => {
        const loaded = parseConfig(minimal('< 50%'), 'okrs.yaml', { env: {} });
        writeFiles(out, generate(loaded).files);
      }).toThrow(GenerateError);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('alerts.runbook_base_url', () => {
  it('points every runbook_url at the configured runbook page', () => {
    const g = generate(
      parseConfig(
        `version: okr/v1
alerts: { runbook_base_url: "https://wiki.example.com/okr/runbooks" }
teams: { platform: { services: [api] } }
objectives:
  - id: o
    title: O
    key_results:
      - id: a
        title: A
        measure: { availability: { service: api } }
        target: "> 99%"
`,
        'okrs.yaml',
        { env: {} },
      ),
    );
    const file = g.files.find((f) => f.path === PATHS.alertRules)!;
    const rules = (parse(file.content) as RuleFile<AlertingRule>).groups.flatMap((x) => x.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) expect(r.annotations.runbook_url).toBe(`https://wiki.example.com/okr/runbooks#${r.alert.toLowerCase()}`);
  });
});

describe('the DORA measures', () => {
  const g = generate(
    loadConfig(join(REPO_ROOT, 'okrs.dora.example.yaml'), { env: { OKR_METRICS_TOKEN: 't', BITBUCKET_ACCESS_TOKEN: 'b', JIRA_API_TOKEN: 'j' } }),
  );

  it('get the delivery performance rules, and each KR its rolling measure', () => {
    const groups = g.recording.groups;
    expect(groups.find((x) => x.name === 'okr-delivery-performance')!.rules.map((r) => r.record)).toEqual([
      'okr:delivery_deployments:per_day_30d',
      'okr:delivery_lead_time_seconds:p50_30d',
      'okr:delivery_lead_time_seconds:p90_30d',
      'okr:delivery_change_failures:ratio_30d',
      'okr:delivery_recovery_time_seconds:p50_30d',
      'okr:delivery_recovery_time_seconds:p90_30d',
    ]);
    const rolling = groups.find((x) => x.name === 'okr-key-results')!.rules;
    expect(rolling.find((r) => r.labels?.key_result === 'deploy-daily')!.expr).toBe(
      'sum(rate(delivery_deployments_total{status="successful",service="topups-api"}[90d])) * 86400',
    );
  });

  it('alert over 30 days unless the key result says otherwise', () => {
    const file = readFileSync(join(REPO_ROOT, 'okrs.dora.example.yaml'), 'utf8').replace('target: "< 15%"', 'target: "< 15%"\n        alert: true');
    const alerts = generate(
      parseConfig(file, join(REPO_ROOT, 'okrs.yaml'), { env: { OKR_METRICS_TOKEN: 't', BITBUCKET_ACCESS_TOKEN: 'b', JIRA_API_TOKEN: 'j' } }),
    ).alerts.groups.flatMap((x) => x.rules);
    const off = alerts.find((a) => a.alert === 'OkrKeyResultOffTarget' && a.labels.key_result === 'change-failure-rate')!;
    expect(off.expr).toBe(
      '(sum(increase(delivery_deployment_outcomes_total{outcome!="none",service=~"topups-api|admin-portal"}[30d])) / sum(increase(delivery_deployment_outcomes_total{service=~"topups-api|admin-portal"}[30d]))) >= 0.15',
    );
    expect(alerts.filter((a) => a.alert === 'OkrMeasureDataAbsent').map((a) => a.expr)).toContain(
      'absent(delivery_deployments_total{service=~"topups-api|admin-portal"})',
    );
  });

  it('colour the Delivery performance dashboard by the DORA levels of the 2024 report, and say so', () => {
    const dash = g.dashboards.find((d) => d.uid === DASHBOARD_UID.deliveryPerformance)!.json;
    // The 2024 Accelerate State of DevOps report (dora.dev/research/2024/dora-report/): elite deploys on demand, high daily to weekly,
    // medium weekly to monthly; lead time under a day, a week, a month; change failure 5%, 20% (high), 10% (medium), 40%; recovery
    // under an hour (elite), under a day (high and medium).
    expect(dash.description).toContain('DORA 2024 performance levels');
    expect(dash.description).toContain('https://dora.dev/research/2024/dora-report/');
    const panels = (dash.panels as Json[]).filter((p) => p.type === 'stat' || p.type === 'timeseries');
    const steps = (title: string) =>
      panels.filter((p) => (p.title as string).startsWith(title)).map((p) => (((p.fieldConfig as Json).defaults as Json).thresholds as Json).steps as Json[]);
    const day = 86_400;
    const expected: Record<string, Array<[number | null, string]>> = {
      'Deployment frequency': [
        [null, 'red'],
        [1 / 30, 'orange'],
        [1 / 7, 'yellow'],
        [1, 'green'],
      ],
      'Lead time for changes': [
        [null, 'green'],
        [day, 'yellow'],
        [7 * day, 'orange'],
        [30 * day, 'red'],
      ],
      'Change failure rate': [
        [null, 'green'],
        [0.05, 'yellow'],
        [0.1, 'orange'],
        [0.2, 'red'],
      ],
      'Failed deployment recovery time': [
        [null, 'green'],
        [3600, 'yellow'],
        [day, 'red'],
      ],
    };
    for (const [title, want] of Object.entries(expected)) {
      const found = steps(title);
      expect(found, title).toHaveLength(2); // the stat and the rolling time series
      for (const f of found) expect(f.map((x) => [x.value, x.color])).toEqual(want);
    }
    for (const p of panels.filter((x) => Object.keys(expected).some((t) => (x.title as string).startsWith(t))))
      expect(p.description, p.title as string).toContain('DORA 2024 levels');
  });
});
