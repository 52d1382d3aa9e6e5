/**
 * The whole system as a newcomer meets it, through `startDemo` (what `okr-metrics demo` runs):
 * fake Jira, SonarQube and Bitbucket servers and a synthetic access log → the real collectors and
 * exporter → a real Prometheus on the generated config and rules → a real Alertmanager on the
 * generated routing → the KR engine → `okr-metrics report` (the built CLI, as a user runs it).
 *
 * Time is compressed where the demo allows it: 1-2 s refreshes, scrapes and evaluations, a 1m
 * alert window with `for: 3s`. A real Prometheus scrapes in real time, so the demo runs on the
 * system clock, and the OKR calendar is derived from the same instant: its quarter began between
 * 15 and 46 days ago, so every board has closed a sprint in it (two-week sprints), and it is
 * at most about half over, so a short incident can put quarter-to-date availability below 99%
 * while a clean rest of the quarter would still recover it: `at_risk`.
 * Every server is on 127.0.0.1 and a free port; the last test stops them and checks they are gone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_NAMES, KR_METRICS } from '../../src/conventions.js';
import { SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { RUNNER_METRICS } from '../../src/core/runner-metrics.js';
import { startDemo, type RunningDemo } from '../../src/demo/demo.js';
import type { LoadedConfig } from '../../src/config/load-config.js';
import { calendarOf, periodContaining, previousPeriod } from '../../src/core/periods.js';
import { silentLogger } from '../../src/core/logger.js';
import { systemClock } from '../../src/core/clock.js';
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
 * The OKR calendar for the test, derived from `now`: the quarter starts on the 1st of this UTC
 * month when that is at least 15 days ago, else on the 1st of the previous one. The demo's
 * boards close a sprint every 14 days, so each has closed one inside the quarter; the quarter
 * (89-92 days) is at most 46 days old.
 */
function testCalendar(now: number): { timezone: string; month: number; quarterStart: number } {
  const d = new Date(now);
  const thisMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const start = now - thisMonth >= MIN_QUARTER_AGE ? thisMonth : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  return { timezone: 'UTC', month: new Date(start).getUTCMonth() + 1, quarterStart: start };
}

/**
 * An error share that puts quarter-to-date availability below 99% and keeps it above the
 * lowest value a clean rest of the quarter still lifts to 99% (`value × elapsed + (1 - elapsed)
 * > 0.99`), half-way between the two; at most 2.5%. The demo's background 5xx share is 0.1%.
 */
function incidentShare(now: number, loaded: LoadedConfig): number {
  const q = periodContaining('quarter', now, calendarOf(loaded.config.calendar));
  const elapsed = (now - q.start) / (q.end - q.start);
  const lowest = 1 - 0.01 / elapsed;
  return Math.min(0.025, 1 - 0.001 - (0.99 + lowest) / 2);
}

const DAY = 24 * HOUR;
const MIN_QUARTER_AGE = 15 * DAY;
/** The one reading of the clock the calendar and the assertions derive from. */
const NOW = systemClock.now();

beforeAll(async () => {
  const calendar = testCalendar(NOW);
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
    clock: systemClock,
    say: (line) => said.push(line),
  });
  // The incident runs from the start, so quarter-to-date availability is soon the incident
  // traffic's (the history's first hour is thin).
  demo.incident(30 * 60_000, incidentShare(NOW, demo.loaded));
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function availabilityKr() {
  return demo!.service
    .engine!.lastEvaluation()
    ?.objectives.flatMap((o) => o.keyResults)
    .find((k) => k.id === 'api-availability');
}

describe('end to end: sources → exporter → Prometheus → rules, dashboards, alerts → KR engine → report', () => {
  it('puts at least one closed sprint of every board in this quarter, and keeps it at most half over, whatever the date', () => {
    for (const at of [
      '2026-11-26T02:00:00Z',
      '2026-12-01T00:10:00Z',
      '2026-12-07T02:00:00Z',
      '2026-12-15T23:59:00Z',
      '2026-12-16T00:00:00Z',
      '2027-01-31T23:59:00Z',
      '2028-02-29T12:00:00Z',
    ]) {
      const c = testCalendar(Date.parse(at));
      const age = Date.parse(at) - c.quarterStart;
      expect(age, at).toBeGreaterThanOrEqual(MIN_QUARTER_AGE);
      expect(age, at).toBeLessThanOrEqual(46 * DAY + 1);
      expect(new Date(c.quarterStart).getUTCDate(), at).toBe(1);
      expect(new Date(c.quarterStart).getUTCMonth() + 1, at).toBe(c.month);
    }
    expect(demo!.loaded.config.calendar.fiscal_year_start_month).toBe(testCalendar(NOW).month);
  });

  it('starts everything on loopback and says where it is', () => {
    expect(demo!.prometheus).toBeDefined();
    expect(demo!.alertmanager).toBeDefined();
    for (const url of [demo!.exporterUrl, demo!.prometheusUrl, demo!.alertmanager!.url, demo!.simulations.get('jira')!.server!.url])
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo!.summary().join('\n')).toContain(`${demo!.exporterUrl}/metrics`);
  });

  it('rebuilds the previous quarter with the real backfill and Prometheus loads it while running', async () => {
    const h = await demo!.history!;
    expect(h.outcomes.map((o) => `${o.source} ${o.status}`).sort()).toEqual([
      'apilogs written',
      'bitbucket written',
      'delivery written',
      'jira written',
      'sonarqube written',
    ]);
    expect(h.lines).toBeGreaterThan(100_000);
    // Blocks copied into the running Prometheus' data directory show up at its next block reload (each minute).
    const days = Math.ceil((systemClock.now() - h.fromMs) / 86_400_000);
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
      'okr_source_up == 1 for all five sources in Prometheus',
      async () => {
        const r = await instantQuery(demo!.prometheusUrl, `${RUNNER_METRICS.up} == 1`);
        const sources = r.map((s) => s.metric.source).sort();
        return sources.length === 5 ? sources : undefined;
      },
      30_000,
    );
    expect(up).toEqual(['apilogs', 'bitbucket', 'delivery', 'jira', 'sonarqube']);
    // The fakes were really asked, with the credentials from the demo's secret files.
    expect(demo!.simulations.get('jira')!.server!.requests.some((r) => r.path === '/rest/agile/1.0/board')).toBe(true);
    expect(demo!.simulations.get('sonarqube')!.server!.requests.length).toBeGreaterThan(0);
    expect(demo!.simulations.get('bitbucket')!.server!.requests.length).toBeGreaterThan(0);
  }, 40_000);

  it('every generated rule evaluates cleanly, and every key result has a value', async () => {
    const r = (await (await fetch(`${demo!.prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const rules = r.data.groups.flatMap((g) => g.rules.map((x) => ({ group: g.name, ...x })));
    expect(rules.length).toBeGreaterThan(30);
    expect(rules.filter((x) => x.health === 'err').map((x) => `${x.group}/${x.name}: ${x.lastError}`)).toEqual([]);
    const noData = await eventually(
      'a KR evaluation with every key result measured',
      async () => {
        const krs = demo!.service.engine!.lastEvaluation()?.objectives.flatMap((o) => o.keyResults) ?? [];
        const missing = krs.filter((k) => k.status === 'no_data').map((k) => `${k.id}: ${k.problem}`);
        // The 13 example KRs and the 4 DORA KRs of okrs.dora.example.yaml.
        return krs.length === 17 && missing.length === 0 ? missing : undefined;
      },
      // One evaluation over months of history takes seconds to tens of seconds on a busy machine.
      120_000,
      1000,
    );
    expect(noData).toEqual([]);
  }, 130_000);

  it('the DORA counters join the history without counting it twice', async () => {
    // Counting starts with serve: the live counters begin at 0, the feeds' 90 days before being the history's (which ends 3 h ago).
    const firstLive = await instantQuery(demo!.prometheusUrl, `min_over_time(delivery_deployments_total{service="topups-api",status="successful"}[1h])`);
    expect(firstLive).toHaveLength(1);
    expect(Number(firstLive[0]!.value[1])).toBeLessThanOrEqual(1);
    // Over the previous quarter and this one so far (history to this quarter's first hour, then a few live minutes): the demo
    // deploys topups-api in two windows a weekday, each taken with chance 0.95, about 1.36 a day (10/7 × 0.95) over the previous
    // quarter. Counted a second time, the feeds' 90 days would nearly double it.
    const calendar = calendarOf(demo!.loaded.config.calendar);
    const quarter = periodContaining('quarter', systemClock.now(), calendar);
    const previous = previousPeriod(quarter, calendar);
    const window = Math.floor((systemClock.now() - previous.start) / 1000);
    const total = await instantQuery(demo!.prometheusUrl, `sum(increase(delivery_deployments_total{service="topups-api",status="successful"}[${window}s]))`);
    const perDay = Number(total[0]!.value[1]) / ((quarter.start - previous.start) / DAY);
    expect(perDay).toBeGreaterThan(1.0);
    expect(perDay).toBeLessThan(1.8);
  });

  it('every panel and variable query of every generated dashboard returns data', async () => {
    const dashDir = join(dir, 'generated', 'dashboards');
    const dashboards = readdirSync(dashDir).map((f) => ({ uid: f, json: JSON.parse(readFileSync(join(dashDir, f), 'utf8')) as Record<string, unknown> }));
    const queries = dashboardQueries(dashboards);
    expect(dashboards).toHaveLength(7);
    expect(queries.length).toBeGreaterThan(40);
    // Every query, this quarter's recovery time KR too: the demo's first live deployment fails and
    // is retried at once, and the simulated Bitbucket settles its deployment list in seconds.
    expect(await waitForDashboardData(demo!.prometheusUrl, queries, 45_000, 2000)).toEqual([]);
  }, 60_000);

  it('an incident drives availability below 99%: the alert reaches the webhook and the KR is at risk', async () => {
    // The incident started with the demo (beforeAll): quarter-to-date availability sinks
    // towards a value under target but recoverable (incidentShare).
    expect(demo!.simulations.get('apilogs')!.currentIncident!()?.errorShare).toBe(incidentShare(NOW, demo!.loaded));
    const alert = await eventually(
      'the availability alert at the webhook receiver',
      async () =>
        demo!
          .receiver!.received.flatMap((p) => p.alerts.map((a) => ({ ...a, receiver: p.receiver })))
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
        return k?.status === 'at_risk' && k.value !== undefined && k.value < 0.9895 ? k : undefined;
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
    const { stdout } = await run(process.execPath, [cli, 'report', '-c', demo!.configFile], {
      timeout: 30_000,
      env: { ...process.env, NO_PROXY: '127.0.0.1' },
    });
    const krs = demo!.loaded.config.objectives.flatMap((o) => o.key_results);
    expect(krs).toHaveLength(17);
    const rows = stdout.split('\n').filter((l) => l.startsWith('| '));
    for (const kr of krs) {
      expect(
        rows.some((r) => r.startsWith(`| ${kr.title} |`)),
        kr.title,
      ).toBe(true);
      expect(stdout).toContain(`### ${kr.id}: `);
    }
    const row = rows.find((r) => r.startsWith('| API availability > 99% |'))!;
    expect(row.split('|')[2]).toContain('at risk');
  }, 40_000);

  it('stops every server and process it started', async () => {
    const urls = [
      `${demo!.exporterUrl}/metrics`,
      `${demo!.prometheusUrl}/-/ready`,
      `${demo!.alertmanager!.url}/-/ready`,
      demo!.simulations.get('jira')!.server!.url,
      demo!.receiver!.url,
    ];
    await demo!.stop();
    demo = undefined;
    for (const url of urls) await expect(fetch(url, { signal: AbortSignal.timeout(2000) }), url).rejects.toThrow();
  }, 30_000);
});
