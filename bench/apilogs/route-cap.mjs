#!/usr/bin/env node
/**
 * Route-cap coverage on a generated long-tail access log: the share of requests counted under a
 * route label rather than route="other", for
 *   - the 200 busiest routes (the best any cap of 200 can do, knowing the whole file),
 *   - the 200 first-seen routes (the cap before issue 15),
 *   - `okr-metrics logs --max-routes 200` (the one-shot cap), and the same cap as `serve` runs
 *     it (simulated on the same lines: live policy, decisions by lines), with its label changes.
 *
 *   node bench/apilogs/route-cap.mjs [--lines 200000] [--routes 3000] [--zipf 1.0] [--crawl 0.1] [--cap 200] [--seed 7] [--baseline DIR]
 *
 * The log: `--routes` distinct routes (after id normalisation) with Zipf(`--zipf`) popularity;
 * the first `--crawl` share of the lines comes from a crawler walking the long tail uniformly
 * (ranks past 2 × cap), so that the busy routes appear only after many rare ones. Paths carry
 * ids (numbers, UUIDs, dates) that normalise away. `--baseline DIR`: also run the
 * `okr-metrics` built in DIR (e.g. a checkout of the commit before) to cross-check first-seen.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng } from './generate-log.mjs';
import { opt, root } from '../bench-cli.mjs';

const LINES = Number(opt('lines', 200_000));
const ROUTES = Number(opt('routes', 3000));
const ZIPF = Number(opt('zipf', 1.0));
const CRAWL = Number(opt('crawl', 0.1));
const CAP = Number(opt('cap', 200));
const SEED = Number(opt('seed', 7));
const BASELINE = opt('baseline', undefined);
const main = join(root, 'dist/src/cli/main.js');

const rnd = prng(SEED);
const WORDS = ['news', 'blog', 'shop', 'docs', 'help', 'api', 'export', 'team', 'events', 'jobs', 'media', 'store', 'forum', 'wiki', 'static'];
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
const pad = (n) => String(n).padStart(2, '0');
/** Route r: a template whose id placeholders are filled per line; its label is the template with :id. */
function routeOf(r) {
  const w = WORDS[r % WORDS.length];
  switch (r % 5) {
    case 0:
      return { label: `/${w}/page-${r}`, path: () => `/${w}/page-${r}` };
    case 1:
      return { label: `/${w}/item${r}/:id`, path: () => `/${w}/item${r}/${1 + Math.floor(rnd() * 1e6)}` };
    case 2:
      return {
        label: `/${w}/export${r}/:id/summary`,
        path: () => `/${w}/export${r}/20${pad(10 + Math.floor(rnd() * 15))}-${pad(1 + Math.floor(rnd() * 12))}-${pad(1 + Math.floor(rnd() * 28))}/summary`,
      };
    case 3:
      return { label: `/${w}/u${r}/:id/profile`, path: () => `/${w}/u${r}/${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}/profile` };
    default:
      return { label: `/api/1/${w}${r}`, path: () => `/api/1/${w}${r}?page=${Math.floor(rnd() * 9)}` };
  }
}
const routes = Array.from({ length: ROUTES }, (_, r) => routeOf(r));
// Zipf weights by rank; which route has which rank is shuffled, so ranks are not in path order.
const order = routes.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rnd() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const cumulative = [];
let total = 0;
for (let k = 1; k <= ROUTES; k++) cumulative.push((total += 1 / k ** ZIPF));
function zipfRank() {
  const x = rnd() * total;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const tailFrom = Math.min(2 * CAP, ROUTES - 1);

const lines = [];
const labels = [];
for (let i = 0; i < LINES; i++) {
  const rank = i < CRAWL * LINES ? tailFrom + Math.floor(rnd() * (ROUTES - tailFrom)) : zipfRank();
  const route = routes[order[rank]];
  labels.push(route.label);
  const status = rnd() < 0.02 ? 404 : 200;
  lines.push(`10.1.${i % 256}.${(i >> 8) % 256} - - [01/Nov/2026:10:00:00 +0000] "GET ${route.path()} HTTP/1.1" ${status} 100 "-" "bench" 0.0${1 + (i % 9)}`);
}
const out = join(root, 'bench/out');
mkdirSync(out, { recursive: true });
const file = join(out, `route-cap-${LINES}-${ROUTES}-z${ZIPF}-seed${SEED}.log`);
writeFileSync(file, `${lines.join('\n')}\n`);

// Ground truth from the generator, independent of okr-metrics.
const counts = new Map();
for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
const busiest = [...counts.values()]
  .sort((a, b) => b - a)
  .slice(0, CAP)
  .reduce((a, b) => a + b, 0);
const firstSeen = new Set();
for (const l of labels) if (firstSeen.size < CAP) firstSeen.add(l);
const firstSeenCovered = labels.filter((l) => firstSeen.has(l)).length;

function coverageOf(exposition) {
  let all = 0;
  let other = 0;
  const routeLabels = new Set();
  for (const line of exposition.split('\n')) {
    if (!line.startsWith('api_requests_total{')) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    const route = /route="([^"]*)"/.exec(line)[1];
    all += v;
    if (route === 'other') other += v;
    else routeLabels.add(route);
  }
  return { all, covered: all - other, labels: routeLabels.size, wrong: [...routeLabels].filter((r) => !counts.has(r)) };
}
function runCli(mainJs) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [mainJs, 'logs', '--max-routes', String(CAP), file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { ...coverageOf(r.stdout), seconds: (performance.now() - t) / 1000 };
}
const now = runCli(main);
const base = BASELINE ? runCli(join(resolve(BASELINE), 'dist/src/cli/main.js')) : undefined;

// The same lines through the cap as `serve` runs it (live policy; decisions counted in lines).
const { createServiceCounters } = await import(pathToFileURL(join(root, 'dist/exporters/apilogs/service-setup.js')).href);
const { LIVE_ROUTE_CAP } = await import(pathToFileURL(join(root, 'dist/exporters/apilogs/route-table.js')).href);
const { LineSplitter } = await import(pathToFileURL(join(root, 'dist/exporters/apilogs/line-splitter.js')).href);
const { DEFAULT_NGINX_LOG_FORMAT } = await import(pathToFileURL(join(root, 'dist/exporters/apilogs/nginx-format.js')).href);
const live = createServiceCounters(
  { name: 'bench', format: 'nginx', log_format: DEFAULT_NGINX_LOG_FORMAT, duration_unit: 's', routes: [], max_routes: CAP, buckets: [0.1, 1] },
  { ...LIVE_ROUTE_CAP, epochMs: 0 },
);
const buf = Buffer.from(`${lines.join('\n')}\n`);
new LineSplitter(live).process(buf, buf.length);

const pct = (n, of = LINES) => `${((100 * n) / of).toFixed(1)} %`;
const fmt = (n) => n.toLocaleString('en-US');
console.log(
  `long-tail log: ${fmt(LINES)} lines, ${fmt(counts.size)} distinct routes seen of ${fmt(ROUTES)} (Zipf s=${ZIPF}), first ${pct(CRAWL * LINES)} from a crawler over ranks > ${tailFrom}; cap ${CAP}; seed ${SEED}`,
);
console.log(`file: ${file}`);
const rows = [
  { cap: `the ${CAP} busiest (ideal, knowing the whole file)`, 'requests outside other': fmt(busiest), share: pct(busiest) },
  {
    cap: `the ${CAP} first seen (before issue 15), from the generator's labels`,
    'requests outside other': fmt(firstSeenCovered),
    share: pct(firstSeenCovered),
  },
];
if (base) rows.push({ cap: `okr-metrics logs at ${BASELINE} (first seen)`, 'requests outside other': fmt(base.covered), share: pct(base.covered, base.all) });
rows.push({ cap: 'okr-metrics logs now (one-shot cap)', 'requests outside other': fmt(now.covered), share: pct(now.covered, now.all) });
rows.push({
  cap: 'serve now (live cap, simulated)',
  'requests outside other': fmt(live.parsed - live.overflow),
  share: pct(live.parsed - live.overflow, live.parsed),
});
console.table(rows);
console.log(
  `okr-metrics logs now: ${now.labels} route labels, ${now.all === LINES ? 'all lines counted' : `COUNTED ${now.all} of ${LINES}`}, ${now.wrong.length === 0 ? 'every label is a true route' : `labels that are not routes: ${now.wrong.slice(0, 5).join(', ')}`}; ${now.seconds.toFixed(2)} s`,
);
console.log(
  `serve (simulated): ${live.routes.discoveredRoutes} labels now, ${live.routes.promotions - Math.min(CAP, live.routes.promotions)} promotions after the first ${CAP} and ${live.routes.demotions} demotions over the file`,
);
if (now.all !== LINES || now.wrong.length > 0) process.exitCode = 1;
