/**
 * A real Prometheus on the generated config and rules, scraping the real exporter server fed by
 * fake sources: every generated rule evaluates cleanly, and every PromQL expression of every
 * dashboard panel and variable is valid and returns at least one series.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { EXPORTER_JOB } from '../../src/conventions.js';
import { PATHS } from '../../src/generate/generate.js';
import { prometheusConfig } from '../../src/generate/provisioning.js';
import { renderYaml } from '../../src/generate/render.js';
import { DELIVERY_PERFORMANCE_GROUP } from '../../src/generate/recording-rules.js';
import { EXAMPLE, generateExample } from '../generate/support.js';
import { fakeApilogs, fakeBitbucket, fakeJira, fakeSonarqube, krEngineFamilies, startFakeExporter, withExtra, type FakeExporter } from './fake-sources.js';
import { dashboardQueries, waitForDashboardData } from '../support/dashboard-queries.js';
import { eventually, instantQuery, startPrometheus, type RunningProcess } from '../support/prometheus-process.js';
// A real Prometheus scrapes in real time: the fakes' counters and dates move with the system clock.
import { systemClock } from '../../src/core/clock.js';

let dir: string | undefined;
let exporter: FakeExporter | undefined;
let prom: RunningProcess | undefined;
let dashboards: Array<{ uid: string; json: Record<string, unknown> }> = [];
let alertCount = 0;
let recordCount = 0;

beforeAll(async () => {
  const config = loadConfig(EXAMPLE, { env: {} }).config;
  const g = generateExample();
  dir = g.dir;
  dashboards = g.generated.dashboards;
  alertCount = g.generated.alerts.groups.reduce((n, gr) => n + gr.rules.length, 0);
  recordCount = g.generated.recording.groups.reduce((n, gr) => n + gr.rules.length, 0);
  exporter = await startFakeExporter(
    [
      withExtra(fakeApilogs('topups-api', { rps: 20, errorShare: () => 0.002 }, systemClock), () => krEngineFamilies(config, systemClock)),
      fakeJira(config, systemClock),
      fakeSonarqube(config),
      fakeBitbucket(config, systemClock),
    ],
    systemClock,
  );
  const file = join(dir, 'prometheus-test.yml');
  // The generated config, pointed at the test's exporter, with 1s scrape and evaluation intervals.
  writeFileSync(
    file,
    renderYaml(
      prometheusConfig({
        exporterTargets: [`127.0.0.1:${exporter.server.port}`],
        alertmanagerTargets: [],
        scrapeInterval: '1s',
        evaluationInterval: '1s',
        ruleFiles: [join(dir, PATHS.recordingRules), join(dir, PATHS.alertRules)],
      }),
      'okrs.example.yaml',
    ),
  );
  prom = await startPrometheus({ configFile: file });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('generated stack on a real Prometheus', () => {
  it('scrapes the exporter and loads every generated rule', async () => {
    await eventually(
      'the exporter to be scraped',
      async () => ((await instantQuery(prom!.url, `up{job="${EXPORTER_JOB}"} == 1`)).length > 0 ? true : undefined),
      20_000,
    );
    const r = (await (await fetch(`${prom!.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ type: string; name: string; health: string; lastError?: string }> }> };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.filter((x) => x.type === 'alerting')).toHaveLength(alertCount);
    expect(rules.filter((x) => x.type === 'recording')).toHaveLength(recordCount);
  });

  it('every rule evaluates without error', async () => {
    // The rolling-period KR group and the delivery-performance group run every 5m, so they may
    // not have run yet ("unknown"); none may fail.
    const bad = await eventually(
      'every 1s-group rule to evaluate',
      async () => {
        const r = (await (await fetch(`${prom!.url}/api/v1/rules`)).json()) as {
          data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const all = r.data.groups.flatMap((g) => g.rules.map((x) => ({ group: g.name, ...x })));
        const unknown = all.filter((x) => x.health === 'unknown' && x.group !== 'okr-key-results' && x.group !== DELIVERY_PERFORMANCE_GROUP);
        return unknown.length === 0 ? all.filter((x) => x.health === 'err') : undefined;
      },
      20_000,
    );
    expect(bad.map((b) => `${b.group}/${b.name}: ${b.lastError}`)).toEqual([]);
  });

  it('every dashboard panel and variable query is valid and returns at least one series', async () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(7);
    // The delivery-performance dashboard reads the delivery source, which these fakes do not
    // feed: the end-to-end test (the demo's delivery simulation) checks its every query.
    const all = dashboardQueries(dashboards.filter((d) => d.uid !== 'okr-delivery-performance'));
    expect(all.length).toBeGreaterThan(40);
    expect(await waitForDashboardData(prom!.url, all, 30_000, 1000)).toEqual([]);
  }, 60_000);

  it('the checks above can fail: an invalid query throws, a query for a missing series is empty', async () => {
    await expect(instantQuery(prom!.url, 'rate(up)')).rejects.toThrow(/range vector/);
    expect(await instantQuery(prom!.url, 'okr_no_such_series')).toEqual([]);
  });
});
