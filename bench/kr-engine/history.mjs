/**
 * A year (or `days`) of history for the example OKRs (okrs.example.yaml), as OpenMetrics for
 * `promtool tsdb create-blocks-from openmetrics`: what a year of `okr-metrics serve` scraped by
 * Prometheus leaves behind, thinned where the engine does not care.
 *
 *   api_requests_total (codes 200 and 503), api_request_duration_seconds_{bucket,count,sum}
 *     for topups-api, one sample every `scrapeMs` (default 60 s), 200 requests a minute,
 *     0.5 % failures, one 40-minute outage a month;
 *   Jira: three boards of two-week sprints, each sprint's series from its start until it is no
 *     longer one of the last 12 closed (as the exporter keeps them), and the four JQL counts of
 *     the current quarter; SonarQube coverage of two projects: one sample every `gaugeMs`
 *     (default 15 min, so Prometheus runs with a lookback longer than that).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const MIN = 60_000;
const DAY = 86_400_000;

function quarterStart(t) {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}

export async function writeYear(dist, file, { from, to, scrapeMs = MIN, gaugeMs = 15 * MIN }) {
  const { OpenMetricsWriter } = await import(pathToFileURL(join(dist, 'src/backfill/openmetrics-writer.js')).href);
  const w = new OpenMetricsWriter(file);
  const api = { service: 'topups-api', route: '/v1/topups/:id', method: 'POST' };
  const perStep = Math.max(1, Math.round((200 * scrapeMs) / MIN));
  const les = [0.1, 0.25, 0.5, 1];
  const shares = [0.55, 0.9, 0.98, 1];
  const ok = [];
  const fail = [];
  const buckets = les.map(() => []);
  const inf = [];
  const sum = [];
  let okT = 0;
  let failT = 0;
  let sumT = 0;
  const bT = les.map(() => 0);
  for (let t = from, i = 0; t <= to; t += scrapeMs, i++) {
    if (i > 0) {
      const d = new Date(t);
      const outage = d.getUTCDate() === 12 && d.getUTCHours() === 3 && d.getUTCMinutes() < 40;
      const f = outage ? perStep : Math.round(perStep * 0.005);
      failT += f;
      okT += perStep - f;
      shares.forEach((s, b) => (bT[b] += Math.round(perStep * s)));
      sumT += perStep * 0.15;
    }
    ok.push([t, okT]);
    fail.push([t, failT]);
    bT.forEach((c, b) => buckets[b].push([t, c]));
    inf.push([t, okT + failT]);
    sum.push([t, sumT]);
  }
  await w.family('api_requests_total', 'Requests.', [
    { labels: { ...api, code: '200' }, points: ok },
    { labels: { ...api, code: '503' }, points: fail },
  ]);
  await w.family('api_request_duration_seconds_bucket', 'Latency.', [
    ...les.map((le, b) => ({ labels: { ...api, le: String(le) }, points: buckets[b] })),
    { labels: { ...api, le: '+Inf' }, points: inf },
  ]);
  await w.family('api_request_duration_seconds_count', 'Latency.', [{ labels: api, points: inf }]);
  await w.family('api_request_duration_seconds_sum', 'Latency.', [{ labels: api, points: sum }]);

  // Jira: two-week sprints from the first Monday-ish of the history, closing at 12:00.
  const gauges = [];
  for (let t = from; t <= to; t += gaugeMs) gauges.push(t);
  const boards = { Platform: ['platform', 60], Admin: ['backoffice', 20], Metabase: ['backoffice', 10] };
  const sprintSeries = { points: [], start: [], complete: [] };
  for (const [b, [team, base]] of Object.entries(boards)) {
    const sprints = [];
    for (let s = from + 9 * 3600_000, n = 0; s < to; s += 14 * DAY, n++)
      sprints.push({ id: String(n + 1 + sprints.length * 0), start: s, complete: s + 14 * DAY - 9 * 3600_000 + 12 * 3600_000, points: base + (n % 5) });
    sprints.forEach((s, i) => {
      s.id = `${b[0]}${i + 1}`;
      // Alive from its start until the 12th sprint after it closes.
      const gone = sprints[i + 12]?.complete ?? Infinity;
      const alive = gauges.filter((t) => t >= s.start && t < gone);
      const closed = alive.filter((t) => t >= s.complete);
      const l = { board: b, team, sprint: s.id };
      sprintSeries.points.push({ labels: { ...l, state: 'committed' }, points: alive.map((t) => [t, s.points + 2]) });
      sprintSeries.points.push({ labels: { ...l, state: 'completed' }, points: alive.map((t) => [t, t >= s.complete ? s.points : Math.floor(s.points / 2)]) });
      sprintSeries.start.push({ labels: l, points: alive.map((t) => [t, s.start / 1000]) });
      if (closed.length) sprintSeries.complete.push({ labels: l, points: closed.map((t) => [t, s.complete / 1000]) });
    });
  }
  await w.family('jira_sprint_story_points', 'Points.', sprintSeries.points);
  await w.family('jira_sprint_start_timestamp_seconds', 'Start.', sprintSeries.start);
  await w.family('jira_sprint_complete_timestamp_seconds', 'Complete.', sprintSeries.complete);

  const every = { improvement_areas: 20, blog_posts: 30, show_and_tell: 12, security_incidents: 120 };
  await w.family(
    'jira_query_issues',
    'JQL.',
    Object.entries(every).map(([query, days]) => ({
      labels: { query },
      points: gauges.map((t) => [t, Math.floor((t - quarterStart(t)) / (days * DAY))]),
    })),
  );
  await w.family(
    'sonarqube_coverage_ratio',
    'Coverage.',
    ['topups-api', 'admin-portal'].map((project, i) => ({
      labels: { project, branch: 'main', team: i === 0 ? 'platform' : 'backoffice' },
      points: gauges.map((t) => [t, 0.5 + i * 0.05 + ((t - from) / (to - from)) * 0.1]),
    })),
  );
  await w.close();
  return { samples: w.samples };
}
