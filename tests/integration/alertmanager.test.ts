/**
 * End to end: requests appended to a fake API access log are read by the real `serve` (apilogs
 * source and the KR engine, which reads the real Prometheus); availability drops below the 99% KR
 * target; the generated alerts fire in a real Prometheus; the generated Alertmanager config routes
 * them by severity to a webhook receiver run by this test, with the expected labels. First 5%
 * errors: the KR forecast alert (a ticket) fires and no page does; then every request fails: the
 * fast burn-rate page fires. The OKR file is the example's availability KR with its `for:`
 * shortened to 2s and a 5m forecast window, the engine evaluates every second and Alertmanager's
 * grouping waits are 1s, so the test takes seconds.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startAlertReceiver, type AlertReceiver, type WebhookAlert } from '../../src/demo/alert-receiver.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { nginxLine } from '../../exporters/apilogs/testing/apilogs-fixtures.js';
import { startService, type RunningService } from '../../src/serve/service.js';
import { parseConfig } from '../../src/config/load-config.js';
import { ALERT_NAMES, RECORDING_RULES } from '../../src/conventions.js';
import { generate, PATHS } from '../../src/generate/generate.js';
import { ALERTMANAGER_ENV, prometheusConfig, renderAlertmanagerConfig } from '../../src/generate/provisioning.js';
import { writeFiles } from '../../src/generate/write-files.js';
import { freePort, requireBinary } from '../support/binaries.js';
import { silentLogger } from '../../src/core/logger.js';
import { systemClock } from '../../src/core/clock.js';
import { eventually, instantQuery, startAlertmanager, startPrometheus, type RunningProcess } from '../support/prometheus-process.js';

let dir: string | undefined;
let webhook: AlertReceiver | undefined;
let exporter: RunningService | undefined;
let writer: NodeJS.Timeout | undefined;
let am: RunningProcess | undefined;
let prom: RunningProcess | undefined;
let errorShare = 0;

/** The example's platform team and availability KR, reading a log file of the test; the engine reads `promUrl`. */
const okrFile = (promUrl: string) => `version: okr/v1
server: { state_dir: state }
prometheus: { url: "${promUrl}" }
engine: { interval: 1s }
teams:
  platform: { services: [topups-api] }
sources:
  apilogs:
    refresh_interval: 1s
    poll_interval: 50ms
    services:
      - name: topups-api
        files: ["logs/topups-api.access.log"]
        routes: [/v1/topups/:id]
        start_at: beginning
objectives:
  - id: move-fast
    title: Move fast and deploy fast with Engineering
    key_results:
      - id: api-availability
        title: API availability > 99%
        measure: { availability: { service: topups-api } }
        target: "> 99%"
        alert: { for: 2s, severity: ticket, window: 5m }
        team: platform
`;

/** 50 requests every 100 ms, `errorShare` of them answered 503. */
function appendTraffic(file: string): void {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) lines.push(nginxLine('GET', `/v1/topups/${i}`, i < 50 * errorShare ? 503 : 200, '0.042'));
  appendFileSync(file, `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-alerting-'));
  const promPort = await freePort();
  const loaded = parseConfig(okrFile(`http://127.0.0.1:${promPort}`), join(dir, 'okrs.yaml'), { env: {} });
  writeFiles(dir, generate(loaded).files);
  const log = join(dir, 'logs/topups-api.access.log');
  mkdirSync(join(dir, 'logs'));
  writeFileSync(log, '');
  appendTraffic(log);
  writer = setInterval(() => appendTraffic(log), 100);

  webhook = await startAlertReceiver('127.0.0.1', () => undefined);

  // The generated Alertmanager template, filled in the way render-config.sh fills it at
  // container start; other receivers point at a closed local port (no traffic leaves 127.0.0.1).
  const amFile = join(dir, 'alertmanager-test.yml');
  writeFileSync(
    amFile,
    renderAlertmanagerConfig(
      readFileSync(join(dir, PATHS.alertmanager), 'utf8'),
      { [ALERTMANAGER_ENV.webhookUrl]: webhook.url, [ALERTMANAGER_ENV.opsgenieApiUrl]: 'http://127.0.0.1:9/' },
      '1s',
    ),
  );
  const check = spawnSync(requireBinary('amtool'), ['check-config', amFile], { encoding: 'utf8' });
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  am = await startAlertmanager(amFile);

  // A real Prometheus scrapes in real time: the service runs on the system clock.
  exporter = await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock: systemClock });
  const promFile = join(dir, 'prometheus-test.yml');
  writeFileSync(
    promFile,
    stringify(
      prometheusConfig({
        exporterTargets: [`127.0.0.1:${exporter.port}`],
        alertmanagerTargets: [`127.0.0.1:${am.port}`],
        scrapeInterval: '1s',
        evaluationInterval: '1s',
        ruleFiles: [join(dir, PATHS.recordingRules), join(dir, PATHS.alertRules)],
      }),
    ),
  );
  prom = await startPrometheus({ configFile: promFile, port: promPort });
}, 60_000);

afterAll(async () => {
  if (writer) clearInterval(writer);
  await prom?.stop();
  await am?.stop();
  await exporter?.stop();
  await webhook?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function received(name: string): WebhookAlert[] {
  return webhook!.received.flatMap((p) => p.alerts).filter((a) => a.labels.alertname === name);
}

function receiverOf(name: string): string | undefined {
  return webhook!.received.find((p) => p.alerts.some((x) => x.labels.alertname === name))?.receiver;
}

const KR_LABELS = { objective: 'move-fast', key_result: 'api-availability', service: 'topups-api', team: 'platform', monitor: 'okr-metrics' };

describe('availability alerts through Alertmanager', () => {
  it('stays quiet while availability is above 99%', async () => {
    const sli = `${RECORDING_RULES.apiAvailability('5m')}{service="topups-api"}`;
    await eventually('availability to be recorded', async () => ((await instantQuery(prom!.url, sli)).length > 0 ? true : undefined), 20_000);
    await eventually(
      'the KR engine to export the period-to-date value',
      async () => ((await instantQuery(prom!.url, 'okr_key_result_value{key_result="api-availability"}')).length > 0 ? true : undefined),
      20_000,
    );
    // Several evaluations with `for: 2s` at 100% availability.
    await new Promise((r) => setTimeout(r, 4000));
    expect(Number((await instantQuery(prom!.url, sli))[0]!.value[1])).toBe(1);
    expect(await instantQuery(prom!.url, 'ALERTS')).toEqual([]);
    expect(webhook!.received).toEqual([]);
  }, 60_000);

  it('5% errors: the KR forecast ticket reaches the ticket receiver with the expected labels, and nothing pages', async () => {
    errorShare = 0.05;
    const alerts = await eventually(
      'the webhook to receive the KR forecast alert',
      async () => (received(ALERT_NAMES.availabilityBelowTarget).length > 0 ? received(ALERT_NAMES.availabilityBelowTarget) : undefined),
      45_000,
    );
    const a = alerts[0]!;
    expect(a.status).toBe('firing');
    expect(a.labels).toMatchObject({ alertname: ALERT_NAMES.availabilityBelowTarget, severity: 'ticket', ...KR_LABELS });
    // The engine's period label (the current quarter) comes with the forecast.
    expect(a.labels.period).toMatch(/^\d{4}-Q[1-4]$/);
    expect(a.annotations.runbook_url).toMatch(/runbooks\.md#okravailabilitybelowtarget$/);
    expect(a.annotations.summary).toContain('> 99%');
    expect(receiverOf(ALERT_NAMES.availabilityBelowTarget)).toBe('ticket');
    // 5% is under the 6% and 14.4% page thresholds.
    expect(webhook!.received.flatMap((p) => p.alerts).filter((x) => x.labels.severity === 'page')).toEqual([]);
  }, 60_000);

  it('every request failing: the fast burn-rate page reaches the page receiver', async () => {
    errorShare = 1;
    const alerts = await eventually(
      'the webhook to receive the fast burn-rate page',
      async () => (received(ALERT_NAMES.errorBudgetBurnPageFast).length > 0 ? received(ALERT_NAMES.errorBudgetBurnPageFast) : undefined),
      45_000,
    );
    expect(alerts[0]!.labels).toMatchObject({
      alertname: ALERT_NAMES.errorBudgetBurnPageFast,
      severity: 'page',
      long_window: '1h',
      short_window: '5m',
      ...KR_LABELS,
    });
    expect(alerts[0]!.annotations.runbook_url).toMatch(/runbooks\.md#okrerrorbudgetburnpagefast$/);
    expect(receiverOf(ALERT_NAMES.errorBudgetBurnPageFast)).toBe('page');
  }, 60_000);
});
