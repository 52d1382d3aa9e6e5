/**
 * The live path into a long-term store: the real exporter (`startService`, an access log that
 * the test keeps writing) → Prometheus scraping it every second and remote-writing everything
 * to VictoriaMetrics → vmalert evaluating the rules `generate` wrote for the OKR file against
 * VictoriaMetrics, writing recordings and alert state back and notifying a real Alertmanager.
 * Prometheus evaluates the same rule files on its own copy, so both evaluations are compared;
 * the KR engine inside the exporter reads VictoriaMetrics (prometheus.url), its figures come
 * back through the same pipeline.
 *
 * Every request in the log fails (503) and takes 0.2 s, so the figures do not depend on timing:
 * error ratio 1, availability 0, p95 0.1 + 0.95 × 0.15 = 0.2425 s (linear in the 0.1–0.25 bucket).
 *
 * Prometheus' own rule results are not remote-written (write_relabel_configs drop okr:* and
 * ALERTS*): a store receiving the same series from two evaluators would interleave them.
 * VictoriaMetrics runs with -search.latencyOffset=1s (default 30 s, which delays what vmalert
 * and the engine see by half a minute; docs/long-term-storage.md).
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/serve/service.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { systemClock } from '../../src/core/clock.js';
import { generate, PATHS } from '../../src/generate/generate.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RunningProcess } from '../../src/prometheus-tools.js';
import { requireBinary } from '../support/binaries.js';
import { eventually, startAlertmanager, startPrometheus } from '../support/prometheus-process.js';
import { startVictoriaMetrics, startVmalert } from '../support/victoria-metrics.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const P95 = 0.1 + 0.95 * (0.25 - 0.1);

let dir: string;
let logFile: string;
let writer: NodeJS.Timeout | undefined;
let vm: RunningProcess | undefined;
let alertmanager: RunningProcess | undefined;
let prom: RunningProcess | undefined;
let vmalert: RunningProcess | undefined;
let service: RunningService | undefined;
let loaded: LoadedConfig;

interface Series {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** An instant query's result (vector or, for a range selector, matrix) at `time` (Unix s). */
async function query(url: string, expr: string, time?: number): Promise<Series[]> {
  const body = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
  const r = await fetch(`${url}/api/v1/query`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  const json = (await r.json()) as { status: string; error?: string; data: { result: Series[] } };
  if (json.status !== 'success') throw new Error(`${expr}: ${json.error}`);
  return json.data.result;
}

function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Each series' value by its labels (vmalert's alertgroup label left out). */
async function byLabels(url: string, expr: string): Promise<Map<string, number>> {
  return new Map(
    (await query(url, expr)).map((s) => {
      const { alertgroup: _, ...labels } = s.metric;
      return [key(labels), Number(s.value![1])];
    }),
  );
}

/** nginx's default combined format plus $request_time, every request a 503 of 0.2 s. */
function logLines(n: number): string {
  const d = new Date(systemClock.now());
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (x: number) => String(x).padStart(2, '0');
  const stamp = `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  return Array.from({ length: n }, (_, i) => `10.0.0.${i + 1} - - [${stamp}] "POST /v1/topups/${1000 + i} HTTP/1.1" 503 120 "-" "okr-test/1.0" 0.200\n`).join(
    '',
  );
}

beforeAll(async () => {
  for (const b of ['prometheus', 'prometheus-alertmanager', 'victoria-metrics', 'vmalert']) requireBinary(b);
  dir = mkdtempSync(join(tmpdir(), 'okr-vm-live-'));
  logFile = join(dir, 'logs', 'access.log');
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, logLines(20));
  writer = setInterval(() => appendFileSync(logFile, logLines(5)), 250);

  vm = await startVictoriaMetrics({ args: ['-search.latencyOffset=1s'] });
  const amConfig = join(dir, 'alertmanager.yml');
  writeFileSync(amConfig, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
  alertmanager = await startAlertmanager(amConfig);

  loaded = parseConfig(
    `version: okr/v1
organization: Long-term store test
server:
  state_dir: ${join(dir, 'state')}
prometheus:
  url: ${vm.url}
  headers:
    X-Scope-OrgID: okr-test
engine:
  interval: 2s
teams:
  platform:
    services: [topups-api]
sources:
  apilogs:
    services:
      - name: topups-api
        files: ["${logFile}"]
        start_at: beginning
objectives:
  - id: move-fast
    title: Move fast
    key_results:
      - id: api-availability
        title: API availability > 99%
        team: platform
        measure: { availability: { service: topups-api } }
        target: "> 99%"
        alert: { for: 0s }
`,
    join(dir, 'okrs.yaml'),
    { env: {} },
  );
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  const rules = [PATHS.recordingRules, PATHS.alertRules].map((p) => {
    const file = join(rulesDir, p.split('/').at(-1)!);
    writeFileSync(file, generate(loaded).files.find((f) => f.path === p)!.content);
    return file;
  });

  service = await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock: systemClock });
  prom = await startPrometheus({
    config: `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ${JSON.stringify(rules)}
scrape_configs:
  - job_name: okr-metrics
    static_configs:
      - targets: ["127.0.0.1:${service.port}"]
remote_write:
  - url: ${vm.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: "okr:.+|ALERTS|ALERTS_FOR_STATE"
        action: drop
`,
  });
  vmalert = await startVmalert({ rules, datasource: vm.url, remoteWrite: vm.url, notifier: alertmanager.url, evaluationInterval: '1s' });
}, 60_000);

afterAll(async () => {
  if (writer) clearInterval(writer);
  await service?.stop();
  for (const p of [vmalert, prom, alertmanager, vm]) await p?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus remote-writing into VictoriaMetrics, vmalert on the generated rules', () => {
  it('accepts every rule generate wrote for okrs.example.yaml (MetricsQL parses the PromQL, templates render)', async () => {
    const files = ['okr-recording.rules.yml', 'okr-alerts.rules.yml'].map((f) => `-rule=${join(root, 'provisioning/prometheus/rules', f)}`);
    const { stderr } = await run(requireBinary('vmalert'), ['-dryRun', ...files, '-loggerLevel=ERROR'], { timeout: 20_000 });
    expect(stderr).toBe('');
  });

  it('delivers the exporter samples unchanged to VictoriaMetrics', async () => {
    await eventually(
      'apilogs samples in VictoriaMetrics',
      async () => ((await query(vm!.url, 'okr_source_up{source="apilogs"} == 1')).length === 1 ? true : undefined),
      20_000,
    );
    // A window that ended 3 s ago: remote write sends within a second; compare raw samples.
    const samples = async (url: string, at: number) =>
      Object.fromEntries(
        (await query(url, '{__name__=~"api_requests_total|okr_source_up|api_request_duration_seconds_count"}[10s]', at)).map((s) => [key(s.metric), s.values]),
      );
    const same = await eventually(
      'the same raw samples in both',
      async () => {
        const at = systemClock.now() / 1000 - 3;
        const [p, v] = await Promise.all([samples(prom!.url, at), samples(vm!.url, at)]);
        const full = Object.keys(p).length >= 3 && Object.values(p).every((values) => (values?.length ?? 0) >= 5);
        return full && JSON.stringify(p) === JSON.stringify(v) ? p : undefined;
      },
      15_000,
    );
    expect(
      Object.keys(same)
        .map((k) => JSON.parse(k).find(([n]: [string]) => n === '__name__')[1])
        .sort(),
    ).toEqual(expect.arrayContaining(['api_request_duration_seconds_count', 'api_requests_total', 'okr_source_up']));
  });

  it('records every series Prometheus records, with the same figures where they are exact', async () => {
    const recorded = 'okr:api_errors:ratio_rate5m';
    await eventually('vmalert recordings', async () => ((await query(vm!.url, `${recorded} == 1`)).length === 1 ? true : undefined), 20_000);
    const exact: Record<string, number> = {
      'okr:api_errors:ratio_rate5m': 1,
      'okr:api_errors:ratio_rate1h': 1,
      'okr:api_errors:ratio_rate30d': 1,
      'okr:api_availability:ratio_rate5m': 0,
      'okr:api_availability:ratio_rate1h': 0,
      'okr:api_request_duration_seconds:p95_rate5m': P95,
      'okr:api_request_duration_seconds:p95_rate1d': P95,
      'okr:api_route_request_duration_seconds:p95_rate5m': P95,
      'okr:api_error_budget_remaining:ratio_rate30d': 1 - 1 / (1 - 0.99),
    };
    // The okr-key-results group runs every 5 minutes: its first round may precede the data.
    const names = '{__name__=~"okr:.+", __name__!="okr:key_result_measure:rolling_period"}';
    const [p, v] = await eventually(
      'the same recorded series in both',
      async () => {
        const both = await Promise.all([byLabels(prom!.url, names), byLabels(vm!.url, names)]);
        return [...both[0].keys()].sort().join() === [...both[1].keys()].sort().join() ? both : undefined;
      },
      // Rule groups in both evaluate on their own schedules; on two loaded cores (CI runs the
      // unit suite beside this) a round can slip past 15 s.
      45_000,
    );
    expect(p.size).toBeGreaterThan(40);
    for (const [name, value] of Object.entries(exact)) {
      const pick = (m: Map<string, number>) => [...m].filter(([k]) => k.includes(`"${name}"`)).map(([, x]) => x);
      expect(pick(p), `${name} in Prometheus`).toEqual([expect.closeTo(value, 12)]);
      expect(pick(v), `${name} in VictoriaMetrics`).toEqual([expect.closeTo(value, 12)]);
    }
  }, 90_000);

  it('has the same alerts pending and firing as Prometheus, and notifies Alertmanager', async () => {
    const alerts = async (url: string) =>
      (
        (await (await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(5000) })).json()) as {
          data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
        }
      ).data.alerts
        .map(({ labels: { alertgroup: _, ...labels }, state }) => `${state} ${key(labels)}`)
        .sort();
    const [p, v] = await eventually(
      'the same alert states',
      async () => {
        const both = await Promise.all([alerts(prom!.url), alerts(vmalert!.url)]);
        return both[0].length > 0 && both[0].join('\n') === both[1].join('\n') ? both : undefined;
      },
      20_000,
    );
    expect(v).toEqual(p);
    const states = Object.fromEntries(
      v.map((a) => [JSON.parse(a.slice(a.indexOf(' ') + 1)).find(([k]: [string]) => k === 'alertname')[1] as string, a.split(' ')[0]]),
    );
    // Whatever the date: the KR alert's for: 0s fires at once, and so do the burn-rate alerts,
    // which have no for: (their short window filters blips) once the long window holds enough requests.
    expect(states).toMatchObject({
      OkrAvailabilityBelowTarget: 'firing',
      OkrErrorBudgetBurnPageFast: 'firing',
      OkrErrorBudgetBurnPageSlow: 'firing',
      OkrErrorBudgetBurnTicketFast: 'firing',
      OkrErrorBudgetBurnTicketSlow: 'firing',
    });
    const notified = await eventually(
      'the firing alert in Alertmanager',
      async () => {
        const r = (await (await fetch(`${alertmanager!.url}/api/v2/alerts`, { signal: AbortSignal.timeout(5000) })).json()) as Array<{
          labels: Record<string, string>;
        }>;
        return r.find((a) => a.labels.alertname === 'OkrAvailabilityBelowTarget');
      },
      15_000,
    );
    // An availability KR's own alert is a ticket by default: the burn-rate alerts are the pages.
    expect(notified.labels).toMatchObject({ severity: 'ticket', key_result: 'api-availability', service: 'topups-api' });
    // vmalert keeps alert state in the store too (ALERTS, ALERTS_FOR_STATE), with its alertgroup label.
    const state = await eventually(
      'ALERTS in VictoriaMetrics',
      async () => (await query(vm!.url, 'ALERTS{alertname="OkrAvailabilityBelowTarget", alertstate="firing"}'))[0],
      10_000,
    );
    expect(state.metric).toMatchObject({ alertgroup: 'okr-key-result-alerts', severity: 'ticket' });
  });

  it('runs the KR engine on VictoriaMetrics: its figures come back through Prometheus', async () => {
    const value = await eventually(
      'okr_key_result_value from the engine',
      async () => {
        const [s] = await query(vm!.url, 'okr_key_result_value{key_result="api-availability"}');
        return s && Number(s.value![1]) === 0 ? s : undefined;
      },
      20_000,
    );
    expect(value.metric).toMatchObject({ job: 'okr-metrics', objective: 'move-fast' });
    const kr = service!.engine!.lastEvaluation()!.objectives[0]!.keyResults[0]!;
    expect(kr.value).toBe(0);
    expect(kr.promql).toContain('increase(api_requests_total{service="topups-api",code=~"5.."}');
  });
});
