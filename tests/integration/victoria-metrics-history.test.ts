/**
 * The KR engine, `report` and `backfill`, unchanged, against VictoriaMetrics (the Debian
 * single-node server) and against Prometheus holding the same history: the known two quarters of
 * tests/support/okr-history.ts, loaded into Prometheus as promtool blocks and into VictoriaMetrics
 * as the same OpenMetrics posted to /api/v1/import/prometheus (the way docs/long-term-storage.md
 * tells users to load backfill output).
 *
 * Both stores run with a one-hour lookback (the fixture's gauges are hourly): Prometheus'
 * `--query.lookback-delta=1h` is VictoriaMetrics' `-search.maxLookback=1h`. With that, every KR
 * figure of 2026-Q2 and 2026-Q3 (values, baselines, targets, progress, statuses, trends) is the
 * same from both. Downtime too: Prometheus 2 includes the subquery point at a period's first
 * instant and VictoriaMetrics does not, so the measure keeps only the points of the period's own
 * slots (docs/long-term-storage.md): Q3's outage is 72 of its 26,496 slots in both.
 * A year-long downtime subquery exceeds VictoriaMetrics 1.79's default point limit: the KR then
 * says so instead of showing a figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsWriter } from '../../src/backfill/openmetrics-writer.js';
import { runBackfillCommand } from '../../src/backfill/backfill-command.js';
import { runReport } from '../../src/report/report-command.js';
import { UsageError } from '../../src/config/config-error.js';
import { loadConfig, parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { KrEngine, type KrResult } from '../../src/engine/engine.js';
import { Ledger, type LedgerRow } from '../../src/engine/ledger.js';
import { PrometheusClient, type PromQueryClient } from '../../src/engine/prometheus-client.js';
import type { RunningProcess } from '../../src/prometheus-tools.js';
import { writeArchivedLog } from '../backfill/backfill-fixtures.js';
import { HISTORY_TO, writeHistory } from '../support/okr-history.js';
import { createBlocks, startPrometheus } from '../support/prometheus-process.js';
import { importOpenMetrics, startVictoriaMetrics } from '../support/victoria-metrics.js';

const root = resolve(import.meta.dirname, '../..');
const RUN_1 = Date.parse('2026-07-15T00:00:00Z'); // Q2 closed, Q3 half-way
const RUN_2 = Date.parse('2026-10-01T00:30:00Z'); // Q3 closed
/** The live exporter's first sample in the stores (okr_source_up every 30 s for two hours). */
const LIVE_FROM = Date.parse('2026-08-20T12:00:00Z');
const FIVE_MIN = 300_000;
/** Five-minute slots of 2026-Q3 (92 days) and the 72 of the outage on 2026-08-20. */
const Q3_SLOTS = 92 * 288;
const OUTAGE_SLOTS = 72;

type Store = 'prometheus' | 'victoriametrics';
const STORES: Store[] = ['prometheus', 'victoriametrics'];

let dir: string;
let samples: number;
let prom: RunningProcess;
let vm: RunningProcess;
let loaded: LoadedConfig;
const clients = {} as Record<Store, PromQueryClient>;
const ledgers = {} as Record<Store, Ledger>;

/** The store's client under one name, so the reports of both can be compared whole. */
function named(url: string): PromQueryClient {
  const real = new PrometheusClient(url);
  return { baseUrl: 'http://long-term-store', query: (e, t) => real.query(e, t) };
}

async function writeLiveHealth(file: string): Promise<number> {
  const w = new OpenMetricsWriter(file);
  const points: Array<[number, number]> = [];
  for (let t = LIVE_FROM; t <= LIVE_FROM + 2 * 3600_000; t += 30_000) points.push([t, 1]);
  await w.family('okr_source_up', 'Live exporter health.', [{ labels: { source: 'apilogs', job: 'okr-metrics' }, points }]);
  await w.close();
  return points.length;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-vm-history-'));
  const history = join(dir, 'history.om');
  const live = join(dir, 'live.om');
  const [written, livePoints] = await Promise.all([writeHistory(history), writeLiveHealth(live)]);
  samples = written.samples + livePoints;
  const dataDir = join(dir, 'prometheus');
  vm = await startVictoriaMetrics({ args: ['-search.maxLookback=1h'] });
  // promtool is the slow part (~15 s); VictoriaMetrics imports the same files meanwhile.
  await Promise.all([
    (async () => {
      await createBlocks(history, dataDir);
      await createBlocks(live, dataDir); // overlapping blocks: Prometheus reads both
    })(),
    (async () => {
      await importOpenMetrics(vm.url, history);
      await importOpenMetrics(vm.url, live);
    })(),
  ]);
  prom = await startPrometheus({ dataDir, args: ['--query.lookback-delta=1h'] });
  loaded = loadConfig(join(root, 'okrs.example.yaml'), { env: {} });
  for (const store of STORES) {
    clients[store] = named(store === 'prometheus' ? prom.url : vm.url);
    ledgers[store] = new Ledger(join(dir, `${store}.sqlite`));
    await new KrEngine({ loaded, prom: clients[store], ledger: ledgers[store], clock: fixedClock(RUN_1) }).evaluateCurrent();
    await new KrEngine({ loaded, prom: clients[store], ledger: ledgers[store], clock: fixedClock(RUN_2) }).evaluateCurrent();
  }
}, 120_000);

afterAll(async () => {
  for (const l of Object.values(ledgers)) l.close();
  await prom?.stop();
  await vm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Paths (named by ids where there are ids) whose values differ beyond float noise. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b)) ? [] : [path];
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}.length`];
    return a.flatMap((x, i) => {
      const id = (x as { id?: unknown } | null)?.id;
      return differences(x, b[i], `${path}/${typeof id === 'string' ? id : i}`);
    });
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [path];
}

async function reports(period: string, at: number, fresh: boolean): Promise<Record<Store, unknown>> {
  const out = {} as Record<Store, unknown>;
  for (const store of STORES) {
    const ledger = fresh ? new Ledger(':memory:') : ledgers[store];
    try {
      out[store] = JSON.parse((await runReport(loaded, { period, format: 'json', prom: clients[store], ledger, clock: fixedClock(at) })).text);
    } finally {
      if (fresh) ledger.close();
    }
  }
  return out;
}

describe('VictoriaMetrics as the store the engine reads', () => {
  it('holds every sample of the imported history', async () => {
    const names = [
      'api_requests_total',
      'jira_sprint_story_points',
      'jira_sprint_start_timestamp_seconds',
      'jira_sprint_complete_timestamp_seconds',
      'jira_query_issues',
      'sonarqube_coverage_ratio',
      'okr_source_up',
    ].concat(['bucket', 'count', 'sum'].map((s) => `api_request_duration_seconds_${s}`));
    for (const store of STORES) {
      let total = 0;
      for (const name of names) {
        const [r] = await clients[store].query(`sum(count_over_time(${name}[300d]))`, HISTORY_TO + 1000);
        total += r?.value ?? 0;
      }
      expect(total, store).toBe(samples);
    }
  });

  it('closes 2026-Q2 and 2026-Q3 in the ledger with the figures Prometheus gives', () => {
    const fields = (r: LedgerRow | undefined) =>
      r && {
        baseline: r.baseline,
        target_value: r.target_value,
        final_value: r.final_value,
        final_progress: r.final_progress,
        final_status: r.final_status,
        closed: r.closed_at !== null,
      };
    const krs = loaded.config.objectives.flatMap((o) => o.key_results.map((k) => k.id));
    const differing: string[] = [];
    let closed = 0;
    for (const period of ['2026-Q2', '2026-Q3']) {
      for (const id of krs) {
        const [p, v] = STORES.map((s) => fields(ledgers[s].get(id, period)));
        if (p?.closed) closed++;
        differing.push(...differences(p, v).map((d) => `${id} ${period}${d}`));
      }
    }
    expect(closed).toBeGreaterThan(20);
    expect(differing).toEqual([]);

    // The figures themselves, from the fixture's constants (as in kr-engine.test.ts).
    const row = (id: string, period: string) => ledgers.victoriametrics.get(id, period)!;
    expect(row('api-availability', '2026-Q3').final_value).toBeCloseTo(1 - ((Q3_SLOTS - OUTAGE_SLOTS) * 8 + OUTAGE_SLOTS * 900) / (Q3_SLOTS * 1000), 12);
    expect(row('api-availability', '2026-Q3').final_status).toBe('off_track');
    expect(row('api-latency', '2026-Q2')).toMatchObject({ final_status: 'off_track' });
    expect(row('api-latency', '2026-Q2').baseline).toBeCloseTo(0.458333333333, 12);
    expect(row('api-latency', '2026-Q3').final_value).toBeCloseTo(0.3, 12);
    expect(row('sprint-velocity', '2026-Q3').final_value).toBeCloseTo(418 / 6, 12);
    expect(row('backoffice-points', '2026-Q3')).toMatchObject({ final_value: 186, final_status: 'off_track' });
    expect(row('code-coverage', '2026-Q3').final_value).toBeCloseTo(0.635, 12);
    expect(row('blog-posts', '2026-Q3')).toMatchObject({ final_value: 3, final_status: 'done' });
    // The period's own slots on both: the one that ended at 2026-07-01T00:00 is Q2's.
    expect(ledgers.prometheus.get('system-downtime', '2026-Q3')!.final_value).toBeCloseTo(OUTAGE_SLOTS / Q3_SLOTS, 13);
    expect(row('system-downtime', '2026-Q3').final_value).toBeCloseTo(OUTAGE_SLOTS / Q3_SLOTS, 13);
    expect(row('system-downtime', '2026-Q3').final_status).toBe('off_track');
  });

  it('writes the same report --format json for both quarters, from the ledger and straight from the store', async () => {
    for (const [period, at, fresh] of [
      ['2026-Q2', RUN_2, false],
      ['2026-Q3', RUN_2, false],
      ['2026-Q2', RUN_2, true],
      ['2026-Q3', RUN_2, true],
      ['2026-Q3', RUN_1, true], // open: trend points at instants between samples
    ] as const) {
      const r = await reports(period, at, fresh);
      expect(differences(r.prometheus, r.victoriametrics), `${period} at ${new Date(at).toISOString()}${fresh ? ' without ledger' : ''}`).toEqual([]);
    }
  });

  it('refuses a backfill over live samples the same way as Prometheus, naming where to stop', async () => {
    const logFile = writeArchivedLog(join(dir, 'logs'));
    const small = parseConfig(
      `version: okr/v1\nserver:\n  state_dir: ${join(dir, 'state')}\nsources:\n  apilogs:\n    services:\n      - name: topups-api\n        files: ["${logFile}"]\nobjectives: []\n`,
      join(dir, 'okrs.yaml'),
      { env: {} },
    );
    const run = (to: string, url: string) =>
      runBackfillCommand(
        small,
        { from: '2026-08-20', to, out: join(dir, 'out'), blocks: false, prometheus: url },
        { logger: silentLogger(), clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')), promtool: null },
      );
    const messages = await Promise.all([prom.url, vm.url].map(async (url) => (await run('2026-08-21', url).catch((e: unknown) => e)) as Error));
    for (const [i, url] of [prom.url, vm.url].entries()) {
      expect(messages[i]).toBeInstanceOf(UsageError);
      expect(messages[i]!.message).toBe(
        `--to 2026-08-21T00:00:00.000Z: Prometheus at ${url} already has live apilogs samples from 2026-08-20T12:00:00.000Z (okr_source_up); backfill up to the exporter's first scrape: --to 2026-08-20T12:00:00.000Z`,
      );
    }
    const ok = await run('2026-08-20T12:00:00Z', vm.url);
    expect(ok.outcomes.map((o) => [o.source, o.status])).toEqual([['apilogs', 'written']]);
    expect(ok.grid.lastMs).toBe(LIVE_FROM - FIVE_MIN);
  });

  it('says why a year-long downtime KR has no figure under the default point limit, never a wrong one', async () => {
    const year = parseConfig(
      `version: okr/v1
sources:
  apilogs:
    services: [{ name: topups-api, files: ["/dev/null"] }]
objectives:
  - id: stable
    title: Stable
    key_results:
      - id: yearly-downtime
        title: No downtime this year
        period: year
        measure: { downtime: { service: topups-api } }
        target: "== 0"
`,
      join(dir, 'year.yaml'),
      { env: {} },
    );
    const [onProm, onVm] = (await Promise.all(
      STORES.map(
        async (s) => (await new KrEngine({ loaded: year, prom: clients[s], clock: fixedClock(RUN_2) }).evaluateCurrent()).objectives[0]!.keyResults[0]!,
      ),
    )) as [KrResult, KrResult];
    // 2026-03-01T00:05 (the first slot with two samples) to the evaluation at 2026-10-01T00:30.
    const slots = (RUN_2 - Date.parse('2026-03-01T00:05:00Z')) / FIVE_MIN + 1;
    expect(onProm.value).toBeCloseTo(OUTAGE_SLOTS / slots, 12);
    expect(onVm.value).toBeUndefined();
    expect(onVm.status).toBe('no_data');
    expect(onVm.problem).toContain('cannot exceed -search.maxPointsPerTimeseries=30000');
  });
});
