/**
 * The whole system as a newcomer meets it, through `startDemo` (what `okr-metrics demo` runs):
 * fake Jira, SonarQube and Bitbucket servers and a synthetic access log → the real collectors and
 * exporter → a real Prometheus on the generated config and rules → a real Alertmanager on the
 * generated routing → the KR engine → `okr-metrics report` (the built CLI, as a user runs it).
 *
 * Time is compressed where the demo allows it: 1-2 s refreshes, scrapes and evaluations, a 1m
 * alert window with `for: 3s`. The OKR calendar's fiscal year starts this month, so the current
 * quarter is at most a third over and a short incident can put quarter-to-date availability
 * below 99% while a clean rest of the quarter would still recover it: `at_risk`.
 * Every server is on 127.0.0.1 and a free port; the last test stops them and checks they are gone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES, KR_METRICS, RUNNER_METRICS, SONARQUBE_METRICS } from '../../src/conventions.js';
import { startDemo, type RunningDemo } from '../../src/demo/demo.js';
import { silentLogger } from '../../src/log/logger.js';
import { requireBinary } from '../support/binaries.js';
import { dashboardQueries, waitForDashboardData } from '../support/dashboard-queries.js';
import { eventually, instantQuery } from '../support/prometheus-process.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');

let dir: string;
let demo: RunningDemo | undefined;
const said: string[] = [];

const HOUR = 3_600_000;

/**
 * The OKR calendar for the test: the quarter starts on the 1st of this month, so it is at most
 * a third over. Its first hour must be history, which ends at least 3 hours ago: in the first
 * hours of a UTC month the calendar moves to UTC+14, where the month began 14 hours earlier.
 */
function testCalendar(now: number): { timezone: string; month: number; quarterStart: number } {
  const d = new Date(now);
  const utcMonthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const early = now - utcMonthStart < 5 * HOUR;
  return { timezone: early ? 'Etc/GMT-14' : 'UTC', month: d.getUTCMonth() + 1, quarterStart: utcMonthStart - (early ? 14 * HOUR : 0) };
}

beforeAll(async () => {
  const calendar = testCalendar(Date.now());
  for (const b of ['prometheus', 'prometheus-alertmanager', 'promtool']) requireBinary(b);
  dir = mkdtempSync(join(tmpdir(), 'okr-e2e-'));
  demo = await startDemo({
    dir,
    port: 0,
    prometheusPort: 0,
    alertmanagerPort: 0,
    // The previous quarter and the first hour of this one, so baselines exist while this
    // quarter's availability is the live traffic's.
    history: true,
    historyUntil: calendar.quarterStart + HOUR,
    incidentEveryMs: 0,
    // Ratios do not depend on the rate; more requests make them less noisy (night traffic is a fifth of the peak).
    rateScale: 4,
    timing: { saasRefresh: '2s', logRefresh: '1s', engine: '2s', alertFor: '3s', evaluation: '1s', groupWait: '1s' },
    edit: (doc) => {
      doc.setIn(['calendar', 'timezone'], calendar.timezone);
      doc.setIn(['calendar', 'fiscal_year_start_month'], calendar.month);
      // The availability KR's alert looks at the last minute, not the last hour.
      const objectives = doc.toJS() as { objectives: Array<{ key_results: Array<{ id: string }> }> };
      objectives.objectives.forEach((o, i) =>
        o.key_results.forEach((kr, j) => {
          if (kr.id === 'api-availability') doc.setIn(['objectives', i, 'key_results', j, 'alert', 'window'], '1m');
        }),
      );
    },
    logger: silentLogger(),
    say: (line) => said.push(line),
  });
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function availabilityKr() {
  return demo!.service.engine!.lastEvaluation()?.objectives.flatMap((o) => o.keyResults).find((k) => k.id === 'api-availability');
}

describe('end to end: sources → exporter → Prometheus → rules, dashboards, alerts → KR engine → report', () => {
  it('puts this quarter at most a third over, whatever the date', () => {
    for (const at of ['2026-11-26T02:00:00Z', '2026-12-01T02:00:00Z', '2026-12-01T06:00:00Z', '2027-01-31T23:59:00Z']) {
      const c = testCalendar(Date.parse(at));
      expect(Date.parse(at) - c.quarterStart, at).toBeGreaterThanOrEqual(4 * HOUR);
      expect(Date.parse(at) - c.quarterStart, at).toBeLessThanOrEqual(31 * 24 * HOUR);
    }
    expect(demo!.loaded.config.calendar.fiscal_year_start_month).toBe(new Date().getUTCMonth() + 1);
  });

  it('starts everything on loopback and says where it is', () => {
    expect(demo!.prometheus).toBeDefined();
    expect(demo!.alertmanager).toBeDefined();
    for (const url of [demo!.exporterUrl, demo!.prometheusUrl, demo!.alertmanager!.url, demo!.fakes.jira.url]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo!.summary().join('\n')).toContain(`${demo!.exporterUrl}/metrics`);
  });

  it('rebuilds the previous quarter with the real backfill and Prometheus loads it while running', async () => {
    const h = await demo!.history!;
    expect(h.outcomes.map((o) => `${o.source} ${o.status}`).sort()).toEqual(['apilogs written', 'bitbucket written', 'jira written', 'sonarqube written']);
    expect(h.lines).toBeGreaterThan(100_000);
    // Blocks copied into the running Prometheus' data directory show up at its next block reload (each minute).
    const days = Math.ceil((Date.now() - h.fromMs) / 86_400_000);
    const old = await eventually(
      'backfilled samples in Prometheus',
      async () => {
        const r = await instantQuery(demo!.prometheusUrl, `count_over_time(${SONARQUBE_METRICS.coverage}{project="topups-api"}[${days}d])`);
        return r.length > 0 && Number(r[0]!.value[1]) > 1000 ? Number(r[0]!.value[1]) : undefined;
      },
      90_000,
      2000,
    );
    expect(old).toBeGreaterThan(1000);
  }, 240_000);

  it('every source reaches Prometheus through the real collectors', async () => {
    const up = await eventually(
      'okr_source_up == 1 for all four sources in Prometheus',
      async () => {
        const r = await instantQuery(demo!.prometheusUrl, `${RUNNER_METRICS.up} == 1`);
        const sources = r.map((s) => s.metric.source).sort();
        return sources.length === 4 ? sources : undefined;
      },
      30_000,
    );
    expect(up).toEqual(['apilogs', 'bitbucket', 'jira', 'sonarqube']);
    // The fakes were really asked, with the credentials from the demo's secret files.
    expect(demo!.fakes.jira.requests.some((r) => r.path === '/rest/agile/1.0/board')).toBe(true);
    expect(demo!.fakes.sonarqube.requests.length).toBeGreaterThan(0);
    expect(demo!.fakes.bitbucket.requests.length).toBeGreaterThan(0);
  }, 40_000);

  it('every generated rule evaluates cleanly, and every key result has a value', async () => {
    const r = (await (await fetch(`${demo!.prometheusUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> } };
    const rules = r.data.groups.flatMap((g) => g.rules.map((x) => ({ group: g.name, ...x })));
    expect(rules.length).toBeGreaterThan(30);
    expect(rules.filter((x) => x.health === 'err').map((x) => `${x.group}/${x.name}: ${x.lastError}`)).toEqual([]);
    const noData = await eventually(
      'a KR evaluation with every key result measured',
      async () => {
        const krs = demo!.service.engine!.lastEvaluation()?.objectives.flatMap((o) => o.keyResults) ?? [];
        const missing = krs.filter((k) => k.status === 'no_data').map((k) => `${k.id}: ${k.problem}`);
        return krs.length === 13 && missing.length === 0 ? missing : undefined;
      },
      // One evaluation over months of history takes seconds to tens of seconds on a busy machine.
      120_000,
      1000,
    );
    expect(noData).toEqual([]);
  }, 130_000);

  it('every panel and variable query of every generated dashboard returns data', async () => {
    const dashDir = join(dir, 'generated', 'dashboards');
    const dashboards = readdirSync(dashDir).map((f) => ({ uid: f, json: JSON.parse(readFileSync(join(dashDir, f), 'utf8')) as Record<string, unknown> }));
    const queries = dashboardQueries(dashboards);
    expect(dashboards).toHaveLength(6);
    expect(queries.length).toBeGreaterThan(40);
    expect(await waitForDashboardData(demo!.prometheusUrl, queries, 45_000, 2000)).toEqual([]);
  }, 60_000);

  it('an incident drives availability below 99%: the alert reaches the webhook and the KR is at risk', async () => {
    // 3% of requests fail from now on: quarter-to-date availability sinks towards 97%, under
    // target but recoverable (the quarter is at most a third over: 97.03% would still do, and
    // the live traffic would need ~100 times the pre-incident volume to get there).
    demo!.log.injectIncident(10 * 60_000, 0.03);
    const alert = await eventually(
      'the availability alert at the webhook receiver',
      async () =>
        demo!.receiver!.received
          .flatMap((p) => p.alerts.map((a) => ({ ...a, receiver: p.receiver })))
          .find((a) => a.status === 'firing' && a.labels.alertname === ALERT_NAMES.availabilityBelowTarget && a.labels.key_result === 'api-availability'),
      90_000,
      500,
    );
    // The KR forecast (quarter-to-date carried to the quarter's end at the last minute's 97%) is a ticket.
    expect(alert.receiver).toBe('ticket');
    expect(alert.labels.severity).toBe('ticket');
    expect(said.some((l) => l.includes(`FIRING ${ALERT_NAMES.availabilityBelowTarget}`))).toBe(true);

    const kr = await eventually(
      'the KR engine to mark api-availability at risk',
      async () => {
        // Clearly below 99%, so the report's own evaluation a moment later agrees.
        const k = availabilityKr();
        return k?.status === 'at_risk' && k.value !== undefined && k.value < 0.987 ? k : undefined;
      },
      120_000,
    );
    expect(kr.value).toBeLessThan(0.99);
    expect(kr.value).toBeGreaterThan(0.97);
    const exported = await eventually(
      'the at_risk status scraped into Prometheus',
      async () => {
        const r = await instantQuery(demo!.prometheusUrl, `${KR_METRICS.status}{key_result="api-availability",status="at_risk"} == 1`);
        return r.length > 0 ? r : undefined;
      },
      15_000,
    );
    expect(exported).toHaveLength(1);
  }, 240_000);

  it('okr-metrics report shows every example KR, the availability one at risk', async () => {
    const { stdout } = await run(process.execPath, [cli, 'report', '-c', demo!.configFile], { timeout: 30_000, env: { ...process.env, NO_PROXY: '127.0.0.1' } });
    const krs = demo!.loaded.config.objectives.flatMap((o) => o.key_results);
    expect(krs).toHaveLength(13);
    const rows = stdout.split('\n').filter((l) => l.startsWith('| '));
    for (const kr of krs) {
      expect(rows.some((r) => r.startsWith(`| ${kr.title} |`)), kr.title).toBe(true);
      expect(stdout).toContain(`### ${kr.id}: `);
    }
    const row = rows.find((r) => r.startsWith('| API availability > 99% |'))!;
    expect(row.split('|')[2]).toContain('at risk');
  }, 40_000);

  it('stops every server and process it started', async () => {
    const urls = [`${demo!.exporterUrl}/metrics`, `${demo!.prometheusUrl}/-/ready`, `${demo!.alertmanager!.url}/-/ready`, demo!.fakes.jira.url, demo!.receiver!.url];
    await demo!.stop();
    demo = undefined;
    for (const url of urls) await expect(fetch(url, { signal: AbortSignal.timeout(2000) }), url).rejects.toThrow();
  }, 30_000);
});
