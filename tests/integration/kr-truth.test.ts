/**
 * Truth test: the KR figures of two consecutive quarters, computed here from the raw samples of
 * a history with the irregularities figures go wrong on (tests/support/boundary-history.ts: an
 * outage across the quarter boundary and one in a quarter's last 5 minutes, a scrape gap, an
 * exporter restart, a stretch with no requests, sprints closing exactly on and minutes before a
 * quarter boundary, a baseline quarter with 3 days of data, a project measured on two branches),
 * by plain arithmetic (sample differences, slot counts, sums; no PromQL), against what
 * `report --format json` says for 2026-Q2 and 2026-Q3: once from the ledger `serve`'s engine
 * froze while the quarters ran and closed, once straight from Prometheus with no ledger at all.
 * The definitions the arithmetic follows are docs/okr-file.md "When each figure is read".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../../src/backfill/openmetrics-writer.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { KrEngine } from '../../src/engine/engine.js';
import { Ledger } from '../../src/engine/ledger.js';
import { PrometheusClient, type PromQueryClient } from '../../src/engine/prometheus-client.js';
import { runReport } from '../../src/report/report-command.js';
import { apiSeries, gaugeSeries, LATENCY_BUCKETS, Q1, Q2, Q3, writeBoundaryHistory, type Series } from '../support/boundary-history.js';
import { createBlocks, startPrometheus, type PrometheusProcess } from '../support/prometheus-process.js';

const MIN = 60_000;
const LOOKBACK = 20 * MIN;
/** engine.scrape_interval below; Jira's refresh_interval + timeout + it: when sprint figures are read. */
const SCRAPE = 15 * MIN;
const SPRINT_SETTLE = 15 * MIN + 5 * MIN + SCRAPE;

const OKRS = `version: okr/v1
organization: Truth
engine:
  scrape_interval: 15m
sources:
  apilogs:
    services: [{ name: checkout, files: ["/dev/null"] }]
  jira:
    enabled: false
    url: https://example.atlassian.net
    email: bot@example.com
    api_token: \${JIRA_API_TOKEN}
    refresh_interval: 15m
    timeout: 5m
    closed_sprints: 4
    boards: [Core, Mobile]
    queries:
      incidents: project = OPS AND created >= "{{period_start}}" AND created < "{{period_end}}"
  sonarqube:
    enabled: false
    url: https://sonar.example.com
    token: \${SONAR_TOKEN}
    projects: [web, api, { key: api, branch: dev }]
objectives:
  - id: reliable
    title: Reliable checkout
    key_results:
      - { id: availability, title: Availability, measure: { availability: { service: checkout } }, target: "> 99.5%" }
      - { id: downtime, title: No downtime, measure: { downtime: { service: checkout } }, target: "== 0" }
      - { id: downtime-strict, title: No downtime nor silence, measure: { downtime: { service: checkout, no_traffic: down } }, target: "== 0" }
      - { id: latency, title: p95 10% faster, measure: { latency_p95: { service: checkout } }, target: "-10%", baseline: previous_period }
      - id: requests
        title: Serve 13 million requests
        measure: { promql: 'sum(increase(api_requests_total{service="checkout"}[{{window}}]))', unit: count }
        target: ">= 13000000"
  - id: delivery
    title: Deliver
    key_results:
      - { id: points, title: More than 450 points, measure: { story_points: { boards: [Core, Mobile] } }, target: "> 450" }
      - { id: velocity, title: More than 40 points per sprint, measure: { story_points_per_sprint: { board: Core } }, target: "> 40" }
      - { id: incidents, title: No incidents, measure: { jql_count: { query: incidents } }, target: "== 0" }
  - id: quality
    title: Quality
    key_results:
      - { id: coverage, title: Coverage +5 points, measure: { coverage: { project: [web, api], branch: main } }, target: "+5 points", baseline: period_start }
`;

/** serve's engine evaluating while the quarters run and close, freezing into one ledger. */
const SERVE_AT = [
  '2026-05-15T00:00:00Z',
  '2026-07-01T00:10:00Z',
  '2026-07-01T00:20:00Z',
  '2026-07-01T01:00:00Z',
  '2026-08-16T00:00:00Z',
  '2026-10-01T00:20:00Z',
  '2026-10-01T01:00:00Z',
].map(Date.parse);
const REPORT_AT = Date.parse('2026-10-01T01:30:00Z');

let prom: PrometheusProcess;
let client: PromQueryClient;
let dir: string;
let loaded: LoadedConfig;
let ledger: Ledger;
let raw: Series[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-truth-'));
  raw = [...apiSeries(), ...gaugeSeries()];
  const om = join(dir, 'history.om');
  await writeBoundaryHistory(om, raw);
  await createBlocks(om, join(dir, 'data'));
  rmSync(om);
  prom = await startPrometheus({ dataDir: join(dir, 'data'), args: [`--query.lookback-delta=${LOOKBACK / MIN}m`] });
  client = new PrometheusClient(prom.url);
  loaded = parseConfig(OKRS, join(dir, 'okrs.yaml'), { env: {} });
  ledger = new Ledger(join(dir, 'ledger.sqlite'));
  for (const at of SERVE_AT) await new KrEngine({ loaded, prom: client, ledger, clock: fixedClock(at) }).evaluateCurrent();
}, 300_000);

afterAll(async () => {
  ledger?.close();
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- plain arithmetic over the raw samples -------------------------------------------------

type Period = { name: string; start: number; end: number };

function series(name: string, labels: Record<string, string> = {}): Series[] {
  return raw.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Index of the first sample at or after `t` (samples are in time order). */
function firstAtOrAfter(points: Point[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]![0] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Samples with lo <= t <= hi (a range selector of Prometheus 2 includes both ends). */
function within(points: Point[], lo: number, hi: number): Point[] {
  return points.slice(firstAtOrAfter(points, lo), firstAtOrAfter(points, hi + 1));
}

/** What a counter counted across these samples: differences, and after a restart its new value. */
function counted(points: Point[]): number {
  let n = 0;
  for (let i = 1; i < points.length; i++) n += points[i]![1] >= points[i - 1]![1] ? points[i]![1] - points[i - 1]![1] : points[i]![1];
  return n;
}

/** The last sample at or before `t` within the lookback (an instant query). */
function lastAt(points: Point[], t: number): number | undefined {
  return within(points, t - LOOKBACK, t).at(-1)?.[1];
}

const codes = new Map<string, Point[]>();
const code = (c: string) => {
  if (!codes.has(c)) codes.set(c, series('api_requests_total', { code: c })[0]!.points);
  return codes.get(c)!;
};

function requests(p: Period): { ok: number; failed: number } {
  return { ok: counted(within(code('200'), p.start, p.end)), failed: counted(within(code('503'), p.start, p.end)) };
}

function availability(p: Period): number {
  const r = requests(p);
  return 1 - r.failed / (r.ok + r.failed);
}

/** The period's own 5-minute slots (ending in (start, end]): observed with two samples, down under 50 %. */
function downtime(p: Period, noTrafficDown: boolean): { value: number; observed: number; slots: number } {
  let down = 0;
  let observed = 0;
  let slots = 0;
  for (let end = p.start + 5 * MIN; end <= p.end; end += 5 * MIN) {
    slots++;
    const ok = within(code('200'), end - 5 * MIN, end);
    if (ok.length < 2) continue;
    observed++;
    const failed = within(code('503'), end - 5 * MIN, end);
    const o = counted(ok);
    const all = o + (failed.length >= 2 ? counted(failed) : 0);
    if (o < 0.5 * all || (noTrafficDown && all === 0)) down++;
  }
  return { value: down / observed, observed: observed / slots, slots };
}

/** Hours of the period with two samples of the service's requests. */
function hoursObserved(p: Period): number {
  let observed = 0;
  let hours = 0;
  for (let end = p.start + 60 * MIN; end <= p.end; end += 60 * MIN) {
    hours++;
    if (within(code('200'), end - 60 * MIN, end).length >= 2) observed++;
  }
  return observed / hours;
}

/** The 95th percentile of the requests counted in the period: linear inside the bucket it falls in. */
function p95(p: Period): number {
  const cum = [...LATENCY_BUCKETS.map(String), '+Inf'].map((le) =>
    counted(within(series('api_request_duration_seconds_bucket', { le })[0]!.points, p.start, p.end)),
  );
  const rank = 0.95 * cum.at(-1)!;
  const i = cum.findIndex((c) => c >= rank);
  const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
  const below = i === 0 ? 0 : cum[i - 1]!;
  return lower + (LATENCY_BUCKETS[i]! - lower) * ((rank - below) / (cum[i]! - below));
}

/** Completed points of each sprint that closed in [start, end), as last seen by `at` since the start. */
function sprintPoints(p: Period, at: number, boards: string[]): number[] {
  const out: number[] = [];
  for (const s of series('jira_sprint_story_points', { state: 'completed' }).filter((x) => boards.includes(x.labels.board!))) {
    const seen = within(s.points, p.start, at).at(-1);
    const complete = series('jira_sprint_complete_timestamp_seconds', { board: s.labels.board!, sprint: s.labels.sprint! })[0];
    const closedAt = complete && within(complete.points, p.start, at).at(-1)?.[1];
    if (seen && closedAt !== undefined && closedAt * 1000 >= p.start && closedAt * 1000 < p.end) out.push(seen[1]);
  }
  return out;
}

/** Coverage at an instant: each project's main branch once, averaged. */
function coverage(t: number): number {
  const v = ['web', 'api'].map((project) => lastAt(series('sonarqube_coverage_ratio', { project, branch: 'main' })[0]!.points, t)!);
  return v.reduce((a, b) => a + b, 0) / v.length;
}

interface Expected {
  value: number;
  baseline?: number;
  target_value: number;
  status: 'done' | 'off_track';
  observed?: number;
}

const met = (v: number, op: '>' | '==' | '<=' | '>=', t: number) => (op === '>' ? v > t : op === '>=' ? v >= t : op === '<=' ? v <= t : v === t);

function expected(p: Period, prev: Period): Record<string, Expected> {
  const x = (value: number, op: '>' | '==' | '<=' | '>=', target: number, extra: Partial<Expected> = {}): Expected => ({
    value,
    target_value: target,
    status: met(value, op, target) ? 'done' : 'off_track',
    ...extra,
  });
  const dt = downtime(p, false);
  const strict = downtime(p, true);
  const latencyBaseline = p95(prev);
  const r = requests(p);
  const settled = p.end + SPRINT_SETTLE;
  const points = sprintPoints(p, settled, ['Core', 'Mobile']);
  const velocity = sprintPoints(p, settled, ['Core']);
  const covBase = coverage(p.start);
  return {
    availability: x(availability(p), '>', 0.995, { observed: hoursObserved(p) }),
    downtime: x(dt.value, '==', 0, { observed: dt.observed }),
    'downtime-strict': x(strict.value, '==', 0, { observed: strict.observed }),
    latency: x(p95(p), '<=', latencyBaseline * 0.9, { baseline: latencyBaseline, observed: hoursObserved(p) }),
    requests: x(r.ok + r.failed, '>=', 13_000_000),
    points: x(
      points.reduce((a, b) => a + b, 0),
      '>',
      450,
    ),
    velocity: x(velocity.reduce((a, b) => a + b, 0) / velocity.length, '>', 40),
    // The exporter's count for the quarter as of its last refresh before the end (read 1 s before it).
    incidents: x(lastAt(series('jira_query_issues', { query: 'incidents' })[0]!.points, p.end - 1000)!, '==', 0),
    coverage: x(coverage(p.end), '>=', covBase + 0.05, { baseline: covBase }),
  };
}

interface KrJson {
  id: string;
  value: number | null;
  baseline: number | null;
  target_value: number | null;
  status: string;
  observed: { share: number } | null;
  from_ledger: boolean;
  problem: string | null;
  baseline_observed: { share: number; period: string } | null;
}

async function report(period: string, withLedger: boolean): Promise<Record<string, KrJson>> {
  const text = (
    await runReport(loaded, {
      period,
      format: 'json',
      prom: client,
      clock: fixedClock(REPORT_AT),
      ...(withLedger ? { ledger } : { ledger: new Ledger(':memory:') }),
    })
  ).text;
  const doc = JSON.parse(text) as { objectives: Array<{ key_results: KrJson[] }> };
  return Object.fromEntries(doc.objectives.flatMap((o) => o.key_results).map((k) => [k.id, k]));
}

/** The report's figures in the expectation's shape (floats to 12 significant digits). */
function figures(k: KrJson, e: Expected): Expected {
  const round = (v: number) => Number(v.toPrecision(12));
  return {
    value: round(k.value!),
    ...(e.baseline !== undefined ? { baseline: round(k.baseline!) } : {}),
    target_value: round(k.target_value!),
    status: k.status as Expected['status'],
    ...(e.observed !== undefined ? { observed: round(k.observed!.share) } : {}),
  };
}

function rounded(e: Record<string, Expected>): Record<string, Expected> {
  const round = (v: number) => Number(v.toPrecision(12));
  return Object.fromEntries(
    Object.entries(e).map(([id, x]) => [
      id,
      {
        ...x,
        value: round(x.value),
        target_value: round(x.target_value),
        ...(x.baseline !== undefined ? { baseline: round(x.baseline) } : {}),
        ...(x.observed !== undefined ? { observed: round(x.observed) } : {}),
      },
    ]),
  );
}

describe('KR figures against the raw samples, two quarters', () => {
  for (const [p, prev] of [
    [Q2, Q1],
    [Q3, Q2],
  ] as const) {
    for (const withLedger of [true, false]) {
      it(`report --period ${p.name} --format json ${withLedger ? 'from the ledger serve froze' : 'straight from Prometheus, no ledger'} equals the arithmetic`, async () => {
        const want = rounded(expected(p, prev));
        const got = await report(p.name, withLedger);
        const have = Object.fromEntries(Object.entries(want).map(([id, e]) => [id, figures(got[id]!, e)]));
        expect(have).toEqual(want);
        for (const k of Object.values(got)) expect(k.from_ledger, k.id).toBe(withLedger);
      });
    }
  }

  it('counts each irregularity where it belongs', () => {
    const q2 = expected(Q2, Q1);
    const q3 = expected(Q3, Q2);
    // Q2: the 6 slots of 20 May and its own last slot (23:55-24:00) of 26,205 observed (3 lost to the scrape gap).
    expect(q2.downtime!.value * (26208 - 3)).toBeCloseTo(7, 9);
    expect(q2.downtime!.observed).toBeCloseTo((26208 - 3) / 26208, 12);
    // Q3: 00:00-00:10 on 1 July and its own last slot; the 24 silent slots are not down unless no_traffic: down.
    expect(q3.downtime!.value * 26496).toBeCloseTo(3, 9);
    expect(q3['downtime-strict']!.value * 26496).toBeCloseTo(3 + 24, 9);
    // The sprint closed at 23:53 on 30 June is Q2's; the one closed at 00:00 on 1 July is Q3's.
    expect(q2.points!.value).toBe(42 + 45 + 38 + 50 + 44 + 41 + 18 + (30 + 28 + 33 + 31 + 29 + 35));
    expect(q3.points!.value).toBe(46 + 43 + 47 + 39 + 48 + 45 + 22 + (32 + 30 + 27 + 31 + 34 + 30 + 29));
    expect(q2.velocity!.value).toBeCloseTo(278 / 7, 12);
    expect(q2.velocity!.status).toBe('off_track');
    // Nothing lost or counted twice across the restart and the gap: 100 requests a minute.
    expect(q2.requests!.value).toBe(91 * 1440 * 100);
    expect(q3.requests!.value).toBe((92 * 1440 - 120) * 100);
  });

  it('flags the Q2 baseline built from the 3 days of Q1 it had, and counts print as integers', async () => {
    const q2 = await report('2026-Q2', false);
    expect(q2.latency!.baseline_observed).toMatchObject({ period: '2026-Q1', share: 72 / 2160 });
    expect(q2.latency!.problem).toBe('baseline from partial data: 3.3% of 2026-Q1 observed');
    const md = (await runReport(loaded, { period: '2026-Q3', format: 'md', prom: client, ledger, clock: fixedClock(REPORT_AT) })).text;
    expect(md).toContain('| Serve 13 million requests | ✅ done | 100% | — → 13236000 → ≥ 13000000 |');
  });
});
