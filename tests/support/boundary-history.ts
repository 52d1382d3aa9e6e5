/**
 * A held-out history for the truth test (tests/integration/kr-truth.test.ts): 2026-Q2 and
 * 2026-Q3 (and the last 3 days of Q1) with the irregularities KR figures go wrong on, kept as
 * raw samples so the test computes every expected figure from them by plain arithmetic:
 *
 *   - API counters of `checkout` (requests by code 200/503, latency buckets): a sample every
 *     5 minutes, every minute on the days where something happens; 100 requests a minute, one
 *     in four minutes with one 503;
 *   - outages: 09:00-09:30 on 20 May (80 % failures); 23:55 on 30 June to 00:10 on 1 July across
 *     the quarter boundary (90 %); the last 5 minutes of Q3 (90 %);
 *   - a scrape gap: no samples between 10:03 and 10:20 on 12 May (requests go on);
 *   - an exporter restart on 3 August: no samples after 14:06, the counters restart from 0 at
 *     14:11 and re-read the log from the 14:06 checkpoint (nothing lost, nothing counted twice);
 *   - no requests at all between 02:00 and 04:00 on 10 August (samples go on);
 *   - Jira refreshed every 15 minutes (:06, :21, :36, :51) and scraped a minute later, keeping
 *     the last 4 closed sprints per board: a Core sprint closes at 23:53 on 30 June (Q2's last
 *     minutes), a Mobile sprint exactly at 00:00 on 1 July, a Core sprint at 23:57 on 30 September;
 *   - SonarQube coverage of two projects, `api` measured on two branches (main and dev).
 *
 * Scrapes land on whole minutes, so Prometheus extrapolates nothing at slot or period edges
 * that do not border a gap; around the gap and the restart both request series share their
 * sample times, so a slot's ratio is the same extrapolated or not.
 */
import { OpenMetricsWriter, type Point } from '../../src/backfill/openmetrics-writer.js';

const MIN = 60_000;
const FIVE = 5 * MIN;
const HOUR = 60 * MIN;
const at = (iso: string) => Date.parse(iso);

export const FROM = at('2026-03-29T00:00:00Z');
export const TO = at('2026-10-01T02:00:00Z');
export const Q1 = { name: '2026-Q1', start: at('2026-01-01T00:00:00Z'), end: at('2026-04-01T00:00:00Z') };
export const Q2 = { name: '2026-Q2', start: at('2026-04-01T00:00:00Z'), end: at('2026-07-01T00:00:00Z') };
export const Q3 = { name: '2026-Q3', start: at('2026-07-01T00:00:00Z'), end: at('2026-10-01T00:00:00Z') };

export const OUTAGES = [
  { from: at('2026-05-20T09:00:00Z'), to: at('2026-05-20T09:30:00Z'), failed: 80 },
  { from: at('2026-06-30T23:55:00Z'), to: at('2026-07-01T00:10:00Z'), failed: 90 },
  { from: at('2026-09-30T23:55:00Z'), to: at('2026-10-01T00:00:00Z'), failed: 90 },
];
export const SCRAPE_GAP = { after: at('2026-05-12T10:03:00Z'), before: at('2026-05-12T10:20:00Z') };
export const RESTART = { lastScrape: at('2026-08-03T14:06:00Z'), up: at('2026-08-03T14:11:00Z') };
export const NO_TRAFFIC = { from: at('2026-08-10T02:00:00Z'), to: at('2026-08-10T04:00:00Z') };
/** Days (and hours) scraped every minute. */
const DENSE: Array<[number, number]> = [
  [at('2026-05-12T00:00:00Z'), at('2026-05-13T00:00:00Z')],
  [at('2026-05-20T08:00:00Z'), at('2026-05-20T11:00:00Z')],
  [at('2026-06-30T22:00:00Z'), at('2026-07-01T01:00:00Z')],
  [at('2026-08-03T12:00:00Z'), at('2026-08-03T16:00:00Z')],
  [at('2026-08-10T01:00:00Z'), at('2026-08-10T05:00:00Z')],
  [at('2026-09-30T22:00:00Z'), at('2026-10-01T01:00:00Z')],
];

export const SERVICE = 'checkout';
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1] as const;
/** Requests per minute at or under each bucket (of 100), by the quarter the minute lies in. */
const LATENCY: Record<string, number[]> = {
  '2026-Q1': [40, 80, 95, 100],
  '2026-Q2': [50, 85, 97, 100],
  '2026-Q3': [60, 90, 98, 100],
  '2026-Q4': [60, 90, 98, 100],
};

export interface Series {
  name: string;
  labels: Record<string, string>;
  points: Point[];
}

function quarterOf(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

/** Requests in the minute ending at `t` (the minute (t - 1 min, t]). */
function minute(t: number): { ok: number; failed: number; buckets: number[] } {
  if (t > NO_TRAFFIC.from && t <= NO_TRAFFIC.to) return { ok: 0, failed: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
  const outage = OUTAGES.find((o) => t > o.from && t <= o.to);
  const failed = outage ? outage.failed : (t / MIN) % 4 === 0 ? 1 : 0;
  return { ok: 100 - failed, failed, buckets: LATENCY[quarterOf(t - 1)]! };
}

function scrapeTimes(): number[] {
  const times = new Set<number>();
  for (let t = FROM; t <= TO; t += FIVE) times.add(t);
  for (const [a, b] of DENSE) for (let t = a; t <= b; t += MIN) times.add(t);
  return [...times].filter((t) => !(t > SCRAPE_GAP.after && t < SCRAPE_GAP.before) && !(t > RESTART.lastScrape && t <= RESTART.up)).sort((a, b) => a - b);
}

/** The API counters as Prometheus scraped them. */
export function apiSeries(): Series[] {
  const route = { service: SERVICE, route: '/v1/orders', method: 'POST' };
  const times = scrapeTimes();
  const ok: Point[] = [];
  const failed: Point[] = [];
  const buckets: Point[][] = LATENCY_BUCKETS.map(() => []);
  const inf: Point[] = [];
  let c = { ok: 0, failed: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
  let t = FROM;
  for (const s of times) {
    // The restarted exporter starts from 0 and re-reads the log from its checkpoint.
    if (s > RESTART.up && t <= RESTART.up) {
      c = { ok: 0, failed: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
      t = RESTART.lastScrape;
    }
    for (; t < s;) {
      t += MIN;
      const m = minute(t);
      c.ok += m.ok;
      c.failed += m.failed;
      m.buckets.forEach((n, i) => (c.buckets[i]! += (n * (m.ok + m.failed)) / 100));
    }
    ok.push([s, c.ok]);
    failed.push([s, c.failed]);
    c.buckets.forEach((n, i) => buckets[i]!.push([s, n]));
    inf.push([s, c.ok + c.failed]);
  }
  return [
    { name: 'api_requests_total', labels: { ...route, code: '200' }, points: ok },
    { name: 'api_requests_total', labels: { ...route, code: '503' }, points: failed },
    ...LATENCY_BUCKETS.map((le, i) => ({ name: 'api_request_duration_seconds_bucket', labels: { ...route, le: String(le) }, points: buckets[i]! })),
    { name: 'api_request_duration_seconds_bucket', labels: { ...route, le: '+Inf' }, points: inf },
    { name: 'api_request_duration_seconds_count', labels: route, points: inf },
  ];
}

export interface Sprint {
  board: string;
  id: string;
  start: number;
  complete?: number;
  points: number;
}

const SPRINTS: Array<[board: string, start: string, complete: string | null, points: number]> = [
  ['Core', '2026-03-16T09:00:00Z', '2026-03-30T12:00:00Z', 40],
  ['Core', '2026-03-30T13:00:00Z', '2026-04-13T12:00:00Z', 42],
  ['Core', '2026-04-13T13:00:00Z', '2026-04-27T12:00:00Z', 45],
  ['Core', '2026-04-27T13:00:00Z', '2026-05-11T12:00:00Z', 38],
  ['Core', '2026-05-11T13:00:00Z', '2026-05-25T12:00:00Z', 50],
  ['Core', '2026-05-25T13:00:00Z', '2026-06-08T12:00:00Z', 44],
  ['Core', '2026-06-08T13:00:00Z', '2026-06-22T12:00:00Z', 41],
  ['Core', '2026-06-22T13:00:00Z', '2026-06-30T23:53:00Z', 18], // closed in Q2's last minutes
  ['Core', '2026-07-01T09:00:00Z', '2026-07-15T12:00:00Z', 46],
  ['Core', '2026-07-15T13:00:00Z', '2026-07-29T12:00:00Z', 43],
  ['Core', '2026-07-29T13:00:00Z', '2026-08-12T12:00:00Z', 47],
  ['Core', '2026-08-12T13:00:00Z', '2026-08-26T12:00:00Z', 39],
  ['Core', '2026-08-26T13:00:00Z', '2026-09-09T12:00:00Z', 48],
  ['Core', '2026-09-09T13:00:00Z', '2026-09-23T12:00:00Z', 45],
  ['Core', '2026-09-23T13:00:00Z', '2026-09-30T23:57:00Z', 22], // closed in Q3's last minutes
  ['Core', '2026-10-01T09:00:00Z', null, 40],
  ['Mobile', '2026-03-20T09:00:00Z', '2026-04-03T12:00:00Z', 30],
  ['Mobile', '2026-04-03T13:00:00Z', '2026-04-17T12:00:00Z', 28],
  ['Mobile', '2026-04-17T13:00:00Z', '2026-05-01T12:00:00Z', 33],
  ['Mobile', '2026-05-01T13:00:00Z', '2026-05-15T12:00:00Z', 31],
  ['Mobile', '2026-05-15T13:00:00Z', '2026-05-29T12:00:00Z', 29],
  ['Mobile', '2026-05-29T13:00:00Z', '2026-06-17T12:00:00Z', 35],
  ['Mobile', '2026-06-17T13:00:00Z', '2026-07-01T00:00:00Z', 32], // closed exactly on the boundary: Q3's
  ['Mobile', '2026-07-01T09:00:00Z', '2026-07-15T12:00:00Z', 30],
  ['Mobile', '2026-07-15T13:00:00Z', '2026-07-29T12:00:00Z', 27],
  ['Mobile', '2026-07-29T13:00:00Z', '2026-08-12T12:00:00Z', 31],
  ['Mobile', '2026-08-12T13:00:00Z', '2026-08-26T12:00:00Z', 34],
  ['Mobile', '2026-08-26T13:00:00Z', '2026-09-09T12:00:00Z', 30],
  ['Mobile', '2026-09-09T13:00:00Z', '2026-09-23T12:00:00Z', 29],
  ['Mobile', '2026-09-23T13:00:00Z', null, 30],
];

export function sprints(): Sprint[] {
  const n: Record<string, number> = {};
  return SPRINTS.map(([board, start, complete, points]) => {
    n[board] = (n[board] ?? 0) + 1;
    return { board, id: `${board[0]}${n[board]}`, start: at(start), ...(complete ? { complete: at(complete) } : {}), points };
  });
}

/** The exporter keeps this many closed sprints per board (sources.jira.closed_sprints). */
export const CLOSED_SPRINTS = 4;
/** Jira refreshes at :06, :21, :36, :51; each refresh is scraped a minute later. */
export const REFRESH_OFFSET = 6 * MIN;
const GAUGE_STEP = 15 * MIN;

/** Scrape instants of the Jira and SonarQube gauges, with the refresh each one shows. */
function gaugeScrapes(): Array<{ scrape: number; refresh: number }> {
  const out: Array<{ scrape: number; refresh: number }> = [];
  for (let r = FROM + REFRESH_OFFSET; r + MIN <= TO; r += GAUGE_STEP) out.push({ scrape: r + MIN, refresh: r });
  return out;
}

export const INCIDENTS = [at('2026-05-03T10:00:00Z'), at('2026-08-20T12:00:00Z')];

/** Coverage of a project's branch at the time of a refresh (weekly steps). */
function coverage(project: string, branch: string, t: number): number {
  const week = Math.floor((t - FROM) / (7 * 86_400_000));
  if (branch === 'dev') return 0.3;
  return project === 'web' ? 0.6 + week * 0.001 : 0.5 + week * 0.002;
}

/** The Jira and SonarQube series as Prometheus scraped them. */
export function gaugeSeries(): Series[] {
  const all = sprints();
  const scrapes = gaugeScrapes();
  const series = new Map<string, Series>();
  const push = (name: string, labels: Record<string, string>, t: number, v: number) => {
    const key = `${name}${JSON.stringify(labels)}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { name, labels, points: [] }));
    s.points.push([t, v]);
  };
  for (const { scrape, refresh } of scrapes) {
    for (const board of ['Core', 'Mobile']) {
      const mine = all.filter((s) => s.board === board && s.start <= refresh);
      const closed = mine.filter((s) => s.complete !== undefined && s.complete <= refresh);
      const shown = [...closed.slice(-CLOSED_SPRINTS), ...mine.filter((s) => !closed.includes(s))];
      for (const s of shown) {
        const l = { board, team: board.toLowerCase(), sprint: s.id };
        const done = closed.includes(s);
        push('jira_sprint_story_points', { ...l, state: 'committed' }, scrape, s.points + 5);
        push('jira_sprint_story_points', { ...l, state: 'completed' }, scrape, done ? s.points : Math.floor(s.points / 2));
        push('jira_sprint_start_timestamp_seconds', l, scrape, s.start / 1000);
        if (done) push('jira_sprint_complete_timestamp_seconds', l, scrape, s.complete! / 1000);
      }
    }
    const qStart = Date.UTC(new Date(refresh).getUTCFullYear(), Math.floor(new Date(refresh).getUTCMonth() / 3) * 3, 1);
    push('jira_query_issues', { query: 'incidents' }, scrape, INCIDENTS.filter((e) => e >= qStart && e <= refresh).length);
    for (const [project, branch] of [
      ['web', 'main'],
      ['api', 'main'],
      ['api', 'dev'],
    ] as const)
      push('sonarqube_coverage_ratio', { project, branch, team: 'platform' }, scrape, coverage(project, branch, refresh));
  }
  return [...series.values()];
}

export async function writeBoundaryHistory(file: string, all: Series[]): Promise<number> {
  const w = new OpenMetricsWriter(file);
  const names = [...new Set(all.map((s) => s.name))];
  for (const name of names)
    await w.family(
      name,
      `${name} (truth-test history)`,
      all.filter((s) => s.name === name).map((s) => ({ labels: s.labels, points: s.points })),
    );
  await w.close();
  return w.samples;
}

export { HOUR };
