#!/usr/bin/env node
/**
 * Rule-cost benchmark: what the generated recording and alerting rules cost a real Prometheus
 * per evaluation, with `services` services (default 50) of synthetic history over `days` days
 * (default 30), backfilled with `promtool tsdb create-blocks-from openmetrics`.
 *
 * Per service: api_requests_total for 2 routes × 3 codes (200, 404, 500) and
 * api_request_duration_seconds_bucket for 2 routes × 6 buckets, plus the 5m series the rules
 * record (okr:api_requests:rate5m, okr:api_errors:rate5m, okr:api_request_duration_seconds_bucket:rate5m)
 * as Prometheus would have recorded them: one sample every `step` (default 5m) for both, so
 * raw and recorded series have the same density (at a 30s scrape and evaluation every figure is
 * about ten times larger; the ratios stay).
 *
 * Two runs on the same data, each a fresh Prometheus on a free 127.0.0.1 port evaluating every
 * `interval` (default 30s, as docker-compose), figures taken from the evaluations after the
 * first (medians):
 *   baseline  every window from raw counters, [1d], [3d] and [30d] included (the rules before
 *             issue 17, as sloth generates its non-30d windows);
 *   current   the windows of a day and longer from the recorded 5m series (what `generate` writes).
 * Printed: sum and max of prometheus_rule_group_last_duration_seconds over the rule groups, and
 * the rules' own evaluation times (/api/v1/rules) split into long-window rules (an expression
 * with [1d], [3d] or [30d]) and the rest; the KR group's rolling-quarter measures (every 5m,
 * alike in both runs) are left out of every figure.
 *
 *   npm run bench:rules
 *   node bench/rules/run.mjs --services 10 --days 7 --interval 15s
 *
 * Needs `npm run build` (the npm script runs it). History and blocks are kept in bench/out/rules.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng } from '../apilogs/generate-log.mjs';
import { opt, root } from '../bench-cli.mjs';

const dist = join(root, 'dist');
const SERVICES = Number(opt('services', 50));
const DAYS = Number(opt('days', 30));
const STEP_MIN = Number(String(opt('step', '5m')).replace(/m$/, ''));
const INTERVAL = opt('interval', '30s');
const ROUNDS = Number(opt('rounds', 4));
const log = (m) => process.stderr.write(`${m}\n`);

const mod = async (p) => import(pathToFileURL(join(dist, p)).href);
if (!existsSync(join(dist, 'src/generate/recording-rules.js'))) throw new Error('run `npm run build` first');
const { parseConfig } = await mod('src/config/load-config.js');
const { buildModel } = await mod('src/generate/model.js');
const { recordingRules } = await mod('src/generate/recording-rules.js');
const { alertRules } = await mod('src/generate/alert-rules.js');
const { stampRunbooks } = await mod('src/generate/runbooks.js');
const { renderYaml } = await mod('src/generate/render.js');
const { createBlocks } = await mod('src/backfill/backfill-run.js');
const { findBinary, startPrometheus } = await mod('src/prometheus-tools.js');
const { systemClock } = await mod('src/core/clock.js');

const promtool = findBinary('promtool');
const prometheus = findBinary('prometheus');
if (!promtool || !prometheus) throw new Error('prometheus and promtool are needed: apt-get install -y prometheus');

const out = join(root, 'bench/out/rules');
mkdirSync(out, { recursive: true });
const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i + 1).padStart(3, '0')}`);

// ---- rules: the OKR file of 50 availability KRs, generated both ways
const okr = [
  'version: okr/v1',
  'sources:',
  '  apilogs:',
  '    services:',
  ...names.map((n) => `      - { name: ${n}, files: ["/var/log/${n}.log"] }`),
  'objectives:',
  '  - id: reliability',
  '    title: Reliability',
  '    key_results:',
  ...names.flatMap((n) => [
    `      - id: ${n}-availability`,
    `        title: ${n} above 99.5%`,
    `        measure: { availability: { service: ${n} } }`,
    '        target: "> 99.5%"',
  ]),
  '',
].join('\n');
const model = buildModel(parseConfig(okr, join(out, 'okrs.yaml'), { env: {} }).config);
const alertsFile = join(out, 'alerts.rules.yml');
writeFileSync(alertsFile, renderYaml(stampRunbooks(alertRules(model)), 'bench'));
const ruleSets = {
  baseline: recordingRules(model, { rawLongWindows: true }),
  current: recordingRules(model),
};
for (const [k, v] of Object.entries(ruleSets)) writeFileSync(join(out, `${k}.rules.yml`), renderYaml(v, 'bench'));

// ---- history: OpenMetrics files, 10 services each, then blocks (kept between runs)
const stepMs = STEP_MIN * 60_000;
const endMs = Math.floor(systemClock.now() / stepMs) * stepMs - stepMs;
const startMs = endMs - DAYS * 86_400_000;
const dataDir = join(out, `tsdb-${SERVICES}x${DAYS}d-${STEP_MIN}m`);
const LE = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
const ROUTES = ['/v1/items/:id', '/v1/orders'];
const CODES = ['200', '404', '500'];

async function writeHistory(file, services, from, to) {
  const w = createWriteStream(file);
  let buf = '';
  const emit = async (s) => {
    buf += s;
    if (buf.length > 1 << 20) {
      if (!w.write(buf)) await once(w, 'drain');
      buf = '';
    }
  };
  // Per service and step: requests per route, split by code; latency per route into buckets.
  const steps = Math.round((to - from) / stepMs);
  const sim = services.map((svc, si) => {
    const rnd = prng(1000 + names.indexOf(svc));
    const base = 100 + ((si * 37) % 900); // requests a minute
    const rows = [];
    for (let i = 0; i <= steps; i++) {
      const load = base * STEP_MIN * (0.6 + 0.4 * Math.sin(((i * stepMs) / 86_400_000) * 2 * Math.PI) ** 2) * (0.9 + 0.2 * rnd());
      const perRoute = ROUTES.map((_, r) => {
        const n = Math.round(load * (r === 0 ? 0.7 : 0.3));
        const e500 = Math.round(n * 0.004 * (rnd() < 0.01 ? 20 : 1) * rnd() * 2);
        const e404 = Math.round(n * 0.03 * rnd());
        const fast = rnd();
        const cum = [0.5, 0.75, 0.9, 0.97, 0.995, 1].map((q) => Math.round(n * Math.min(1, q * (0.95 + 0.05 * fast))));
        cum[cum.length - 1] = n;
        return { codes: [n - e500 - e404, e404, e500], buckets: cum };
      });
      rows.push(perRoute);
    }
    return rows;
  });
  const ts = (i) => String((from + i * stepMs) / 1000);
  const family = async (name, seriesList) => {
    await emit(`# TYPE ${name} unknown\n`);
    for (const { labels, values } of seriesList) for (let i = 0; i < values.length; i++) await emit(`${name}{${labels}} ${values[i]} ${ts(i)}\n`);
  };
  const cumulative = (xs) => {
    let c = 0;
    return xs.map((x) => (c += x));
  };
  const rate = (xs) => xs.map((x) => x / (STEP_MIN * 60));
  const reqSeries = [];
  const bucketSeries = [];
  const recReq = [];
  const recErr = [];
  const recBuckets = [];
  services.forEach((svc, si) => {
    const rows = sim[si];
    ROUTES.forEach((route, r) => {
      CODES.forEach((code, c) =>
        reqSeries.push({ labels: `service="${svc}",route="${route}",code="${code}"`, values: cumulative(rows.map((row) => row[r].codes[c])) }),
      );
      LE.forEach((le, b) =>
        bucketSeries.push({ labels: `service="${svc}",route="${route}",le="${le}"`, values: cumulative(rows.map((row) => row[r].buckets[b])) }),
      );
    });
    recReq.push({ labels: `service="${svc}"`, values: rate(rows.map((row) => row.reduce((n, x) => n + x.codes[0] + x.codes[1] + x.codes[2], 0))) });
    recErr.push({ labels: `service="${svc}"`, values: rate(rows.map((row) => row.reduce((n, x) => n + x.codes[2], 0))) });
    LE.forEach((le, b) =>
      recBuckets.push({ labels: `service="${svc}",le="${le}"`, values: rate(rows.map((row) => row.reduce((n, x) => n + x.buckets[b], 0))) }),
    );
  });
  await family('api_requests_total', reqSeries);
  await family('api_request_duration_seconds_bucket', bucketSeries);
  await family('okr:api_requests:rate5m', recReq);
  await family('okr:api_errors:rate5m', recErr);
  await family('okr:api_request_duration_seconds_bucket:rate5m', recBuckets);
  await emit('# EOF\n');
  w.end(buf);
  await once(w, 'finish');
  return reqSeries.length + bucketSeries.length + recReq.length + recErr.length + recBuckets.length;
}

if (!existsSync(join(dataDir, 'ready'))) {
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const t0 = performance.now();
  let series = 0;
  for (let i = 0; i < SERVICES; i += 10) {
    const file = join(out, `history-${i}.om`);
    series += await writeHistory(file, names.slice(i, i + 10), startMs, endMs);
    await createBlocks(promtool, file, dataDir);
    rmSync(file);
    log(`  history: services ${i + 1}-${Math.min(SERVICES, i + 10)} backfilled`);
  }
  writeFileSync(join(dataDir, 'ready'), `${series} series, ${DAYS} days every ${STEP_MIN}m, up to ${new Date(endMs).toISOString()}\n`);
  log(`history: ${series} series × ${Math.round((endMs - startMs) / stepMs) + 1} samples in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} else {
  log(`history: reusing ${dataDir} (delete it after a day: the rules read the last ${DAYS} days from now)`);
}

// ---- runs
async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const groups = {};
  for (const m of text.matchAll(
    /^prometheus_rule_group_(last_duration_seconds|last_evaluation_timestamp_seconds|iterations_missed_total)\{rule_group="[^"]*;([^"]+)"\} (\S+)$/gm,
  ))
    (groups[m[2]] ??= {})[m[1]] = Number(m[3]);
  return groups;
}

async function ruleTimes(url) {
  const body = await (await fetch(`${url}/api/v1/rules`)).json();
  let long = 0;
  let rest = 0;
  let kr = 0;
  for (const g of body.data.groups)
    for (const r of g.rules) {
      // The KR group's rolling-quarter measures (raw [90d], every 5m) are the same in both runs.
      if (g.name === 'okr-key-results') kr += r.evaluationTime;
      else if (/\[(1d|3d|30d)\]/.test(r.query)) long += r.evaluationTime;
      else rest += r.evaluationTime;
    }
  return { long, rest, kr };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function run(name) {
  const cfg = join(out, `prometheus-${name}.yml`);
  writeFileSync(cfg, `global:\n  evaluation_interval: ${INTERVAL}\nrule_files:\n  - ${join(out, `${name}.rules.yml`)}\n  - ${alertsFile}\n`);
  log(`${name}: starting Prometheus on ${dataDir} ...`);
  const prom = await startPrometheus(prometheus, { configFile: cfg, dataDir });
  try {
    const rounds = new Map(); // group → Map(evaluation timestamp → duration)
    const times = [];
    let seenAll = 0;
    const deadline = performance.now() + (ROUNDS + 3) * 1000 * (Number.parseInt(INTERVAL) * (INTERVAL.endsWith('m') ? 60 : 1)) + 60_000;
    while (performance.now() < deadline && seenAll < ROUNDS + 1) {
      await new Promise((r) => setTimeout(r, 5000));
      const g = await metrics(prom.url);
      for (const [group, v] of Object.entries(g)) {
        if (!v.last_evaluation_timestamp_seconds) continue;
        const m = rounds.get(group) ?? new Map();
        if (!m.has(v.last_evaluation_timestamp_seconds)) {
          m.set(v.last_evaluation_timestamp_seconds, v.last_duration_seconds);
          if (group.startsWith('okr-api-')) times.push(await ruleTimes(prom.url));
        }
        rounds.set(group, m);
      }
      seenAll = Math.min(...[...rounds.entries()].filter(([group]) => group.startsWith('okr-api-')).map(([, m]) => m.size));
    }
    const missed = Object.values(await metrics(prom.url)).reduce((n, v) => n + (v.iterations_missed_total ?? 0), 0);
    // The first evaluation warms caches: medians over the later ones.
    // The KR group (rolling-quarter measures, every 5m, alike in both runs) may or may not have run yet: left out.
    const per = [...rounds.entries()]
      .filter(([group]) => group !== 'okr-key-results')
      .map(([group, m]) => ({ group, d: median([...m.values()].slice(1).length ? [...m.values()].slice(1) : [...m.values()]) }));
    const api = per.filter((p) => p.group.startsWith('okr-api-'));
    const later = times.slice(Math.floor(times.length / 3));
    return {
      run: name,
      groups: per.length,
      'sum of group durations (s)': per.reduce((n, p) => n + p.d, 0),
      'max group (s)': Math.max(...per.map((p) => p.d)),
      'per-service group, median (s)': median(api.map((p) => p.d)),
      'long-window rules (s)': median(later.map((t) => t.long)),
      'other rules (s)': median(later.map((t) => t.rest)),
      'missed iterations': missed,
    };
  } finally {
    await prom.stop();
  }
}

const results = [];
for (const name of ['baseline', 'current']) results.push(await run(name));
const [b, c] = results;
const fmt = (x) => (typeof x === 'number' ? Number(x.toPrecision(4)) : x);
console.log(`rule cost: ${SERVICES} services, ${DAYS} days of history every ${STEP_MIN}m, evaluation every ${INTERVAL}`);
console.table(results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fmt(v)]))));
console.log(
  `current vs baseline: group durations ×${fmt(c['sum of group durations (s)'] / b['sum of group durations (s)'])}, ` +
    `long-window rules ×${fmt(c['long-window rules (s)'] / b['long-window rules (s)'])}; ` +
    `in the baseline the long windows cost ${fmt(b['long-window rules (s)'] / b['other rules (s)'])}× the rest together`,
);
