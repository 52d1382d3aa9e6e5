/**
 * A known two-quarter history (2026-Q2 and 2026-Q3, plus March for Q2's baseline) for the
 * example OKRs, written as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`.
 * Every figure the KR engine should find is derivable by hand from the constants below; the
 * engine test states them.
 *
 * API counters are sampled every 5 minutes (rate windows need it); gauges hourly, so the test
 * Prometheus runs with --query.lookback-delta=1h. A counter sample at t closes the 5 minutes up to
 * t: those requests belong to the quarter the 5 minutes lie in (the engine reads a period's
 * samples in (start, end]), so the sample at 00:00 on 1 July still counts Q2's last 5 minutes.
 */
import { OpenMetricsWriter, type Point } from '../../src/backfill/openmetrics-writer.js';

export const HISTORY_FROM = Date.parse('2026-03-01T00:00:00Z');
export const HISTORY_TO = Date.parse('2026-10-01T01:00:00Z');
const FIVE_MIN = 300_000;
const HOUR = 3_600_000;
const Q2 = Date.parse('2026-04-01T00:00:00Z');
const Q3 = Date.parse('2026-07-01T00:00:00Z');

/** Requests per 5 minutes: 1000, of which these fail (5xx). */
export const FAILURES_PER_STEP = { q1: 5, q2: 5, q3: 8, outage: 900 };
/** A six-hour outage on 2026-08-20: 72 five-minute steps at 90% failures. */
export const OUTAGE = { from: Date.parse('2026-08-20T10:00:00Z'), to: Date.parse('2026-08-20T16:00:00Z') };

/** Cumulative latency histogram per 5 minutes (le → count of 1000), by quarter. */
export const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1];
export const LATENCY_PER_STEP: Record<'q1' | 'q2' | 'q3', number[]> = {
  q1: [400, 850, 970, 1000], // p95 = 0.25 + (950-850)/(970-850)·0.25 = 0.458333…
  q2: [500, 890, 980, 1000], // p95 = 0.25 + (950-890)/(980-890)·0.25 = 0.416666…
  q3: [600, 940, 990, 1000], // p95 = 0.25 + (950-940)/(990-940)·0.25 = 0.30
};

export interface SprintFixture {
  board: string;
  team: string;
  id: string;
  start: string;
  complete: string | null;
  committed: number;
  completed: number;
}

const SPRINT_DATES: Array<[string, string | null]> = [
  ['2026-03-20', '2026-04-03'],
  ['2026-04-03', '2026-04-17'],
  ['2026-04-17', '2026-05-01'],
  ['2026-05-01', '2026-05-15'],
  ['2026-05-15', '2026-05-29'],
  ['2026-05-29', '2026-06-12'],
  ['2026-06-12', '2026-06-26'],
  ['2026-06-26', '2026-07-10'],
  ['2026-07-10', '2026-07-24'],
  ['2026-07-24', '2026-08-07'],
  ['2026-08-07', '2026-08-21'],
  ['2026-08-21', '2026-09-04'],
  ['2026-09-04', '2026-09-18'],
  ['2026-09-18', null], // active on 2026-10-01
];
/** Completed points per sprint, in date order (Q2 closes sprints 1–7, Q3 sprints 8–13). */
export const COMPLETED: Record<string, number[]> = {
  Platform: [55, 62, 58, 64, 61, 66, 57, 70, 72, 65, 68, 74, 69, 20],
  Admin: [20, 20, 20, 20, 20, 20, 20, 22, 22, 22, 22, 22, 22, 5],
  Metabase: [10, 10, 10, 10, 10, 10, 10, 9, 9, 9, 9, 9, 9, 2],
};
const TEAM: Record<string, string> = { Platform: 'platform', Admin: 'backoffice', Metabase: 'backoffice' };
const BOARD_BASE_ID: Record<string, number> = { Platform: 100, Admin: 200, Metabase: 300 };

export function sprints(): SprintFixture[] {
  return Object.entries(COMPLETED).flatMap(([board, points]) =>
    SPRINT_DATES.map(([start, complete], i) => ({
      board,
      team: TEAM[board]!,
      id: String(BOARD_BASE_ID[board]! + i + 1),
      start: `${start}T09:00:00Z`,
      complete: complete ? `${complete}T12:00:00Z` : null,
      committed: points[i]! + 2,
      completed: points[i]!,
    })),
  );
}

/** JQL events (the date each counted issue happened); counts restart every quarter. */
export const JQL_EVENTS: Record<string, string[]> = {
  improvement_areas: ['2026-05-10', '2026-06-01', '2026-06-20', '2026-08-01', '2026-09-10'],
  blog_posts: ['2026-04-20', '2026-06-15', '2026-07-05', '2026-08-15', '2026-09-25'],
  show_and_tell: ['2026-04-10', '2026-04-24', '2026-05-08', '2026-05-22', '2026-06-05', '2026-06-19', '2026-07-17', '2026-08-14', '2026-09-11', '2026-09-25'],
  security_incidents: ['2026-08-20'],
};

/** Coverage per project per calendar month (SonarQube analyses; constant within a month). */
export const COVERAGE: Record<string, Record<number, number>> = {
  'topups-api': { 3: 0.58, 4: 0.6, 5: 0.61, 6: 0.62, 7: 0.63, 8: 0.66, 9: 0.7, 10: 0.7 },
  'admin-portal': { 3: 0.48, 4: 0.5, 5: 0.51, 6: 0.53, 7: 0.53, 8: 0.55, 9: 0.57, 10: 0.57 },
};

function quarterKey(t: number): 'q1' | 'q2' | 'q3' {
  return t < Q2 ? 'q1' : t < Q3 ? 'q2' : 'q3';
}

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
}

function quarterStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}

export async function writeHistory(file: string): Promise<{ samples: number }> {
  const w = new OpenMetricsWriter(file);
  const api = { service: 'topups-api', route: '/v1/topups/:id', method: 'POST' };

  // api_requests_total by code, and the latency histogram, every 5 minutes.
  const times = steps(HISTORY_FROM, HISTORY_TO, FIVE_MIN);
  const ok: Point[] = [];
  const fail: Point[] = [];
  const buckets: Point[][] = LATENCY_BUCKETS.map(() => []);
  const inf: Point[] = [];
  const sum: Point[] = [];
  let okTotal = 0;
  let failTotal = 0;
  const bucketTotals = LATENCY_BUCKETS.map(() => 0);
  let sumTotal = 0;
  times.forEach((t, i) => {
    if (i > 0) {
      const q = quarterKey(t - FIVE_MIN);
      const f = t > OUTAGE.from && t <= OUTAGE.to ? FAILURES_PER_STEP.outage : FAILURES_PER_STEP[q];
      failTotal += f;
      okTotal += 1000 - f;
      LATENCY_PER_STEP[q].forEach((c, b) => (bucketTotals[b]! += c));
      sumTotal += 150; // 0.15 s mean: only _count and _bucket matter to the measures
    }
    ok.push([t, okTotal]);
    fail.push([t, failTotal]);
    bucketTotals.forEach((c, b) => buckets[b]!.push([t, c]));
    inf.push([t, okTotal + failTotal]);
    sum.push([t, sumTotal]);
  });
  await w.family('api_requests_total', 'Requests by service, route, method and status code.', [
    { labels: { ...api, code: '200' }, points: ok },
    { labels: { ...api, code: '503' }, points: fail },
  ]);
  await w.family('api_request_duration_seconds_bucket', 'Request latency.', [
    ...LATENCY_BUCKETS.map((le, b) => ({ labels: { ...api, le: String(le) }, points: buckets[b]! })),
    { labels: { ...api, le: '+Inf' }, points: inf },
  ]);
  await w.family('api_request_duration_seconds_count', 'Request latency.', [{ labels: api, points: inf }]);
  await w.family('api_request_duration_seconds_sum', 'Request latency.', [{ labels: api, points: sum }]);

  // Jira sprints: each sprint's series from its start (active) on; completion only once closed.
  const hours = steps(HISTORY_FROM, HISTORY_TO, HOUR);
  const all = sprints();
  const from = (_s: SprintFixture, whenMs: number, value: number) => hours.filter((t) => t >= whenMs).map((t): Point => [t, value]);
  const sprintLabels = (s: SprintFixture) => ({ board: s.board, team: s.team, sprint: s.id });
  await w.family(
    'jira_sprint_story_points',
    'Story points per sprint.',
    all.flatMap((s) => [
      { labels: { ...sprintLabels(s), state: 'committed' }, points: from(s, Date.parse(s.start), s.committed) },
      { labels: { ...sprintLabels(s), state: 'completed' }, points: from(s, Date.parse(s.start), s.completed) },
    ]),
  );
  await w.family(
    'jira_sprint_start_timestamp_seconds',
    'Sprint start.',
    all.map((s) => ({ labels: sprintLabels(s), points: from(s, Date.parse(s.start), Date.parse(s.start) / 1000) })),
  );
  await w.family(
    'jira_sprint_complete_timestamp_seconds',
    'Sprint completion.',
    all.filter((s) => s.complete).map((s) => ({ labels: sprintLabels(s), points: from(s, Date.parse(s.complete!), Date.parse(s.complete!) / 1000) })),
  );

  // JQL counts for the current quarter, hourly.
  await w.family(
    'jira_query_issues',
    'Issues matching each named JQL query in the current period.',
    Object.entries(JQL_EVENTS).map(([query, dates]) => ({
      labels: { query },
      points: hours.map((t): Point => {
        const qs = quarterStart(t);
        return [t, dates.filter((d) => Date.parse(`${d}T12:00:00Z`) <= t && Date.parse(`${d}T12:00:00Z`) >= qs).length];
      }),
    })),
  );

  // SonarQube coverage, hourly, constant within each month.
  await w.family(
    'sonarqube_coverage_ratio',
    'Overall coverage, 0..1.',
    Object.entries(COVERAGE).map(([project, byMonth]) => ({
      labels: { project, branch: 'main', team: project === 'topups-api' ? 'platform' : 'backoffice' },
      points: hours.map((t): Point => [t, byMonth[new Date(t).getUTCMonth() + 1]!]),
    })),
  );

  await w.close();
  return { samples: w.samples };
}
