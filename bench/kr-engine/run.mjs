#!/usr/bin/env node
/**
 * KR-engine benchmark: the example's 13 key results (okrs.example.yaml) evaluated by the KR
 * engine against a real Prometheus holding a year of history (bench/kr-engine/history.mjs,
 * backfilled with promtool), mid-quarter (2026-08-16, 2026-Q2 closed, 2026-Q3 half-way).
 *
 * Figures, each the median of `rounds` runs (default 5), for this tree (dist/, `npm run build`)
 * and for a named baseline (default `main`: `git archive main` compiled into bench/out):
 *   first     a fresh engine and empty ledger: what `serve` does on its first evaluation (it
 *             also closes 2026-Q2), and what `report` did before issue 16;
 *   steady    one engine and ledger evaluated every 5 minutes (the `serve` loop), after the first;
 *   report    `report --period 2026-Q3 --format json` and `report --period 2026-Q2` with an
 *             empty ledger (no rows to read, nothing may be written);
 * with the number of queries each sent, and the ratio baseline / this tree.
 *
 *   npm run build && node bench/kr-engine/run.mjs
 *   node bench/kr-engine/run.mjs --days 120 --rounds 3 --baseline none
 *
 * History and blocks are kept in bench/out/kr-engine (regenerated when the options change).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeYear } from './history.mjs';
import { opt, root } from '../bench-cli.mjs';

const out = join(root, 'bench/out/kr-engine');
const DAYS = Number(opt('days', 365));
const SCRAPE_S = Number(String(opt('scrape', '60s')).replace(/s$/, ''));
const ROUNDS = Number(opt('rounds', 5));
const BASELINE = opt('baseline', 'main');
const NOW = Date.parse('2026-08-16T00:00:00Z');
const FROM = NOW - DAYS * 86_400_000;
const log = (m) => process.stderr.write(`${m}\n`);

const dist = join(root, 'dist');
if (!existsSync(join(dist, 'src/engine/engine.js'))) throw new Error('run `npm run build` first');

/** The baseline revision's src/ and exporters/ compiled into bench/out (node_modules resolve from the repo). */
function buildBaseline(rev) {
  const dir = join(out, `baseline-${rev.replace(/[^\w.-]/g, '_')}`);
  const sha = spawnSync('git', ['rev-parse', rev], { cwd: root, encoding: 'utf8' }).stdout.trim();
  if (!sha) throw new Error(`--baseline ${rev}: not a git revision`);
  const stamp = join(dir, 'REVISION');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sha) return { dir: join(dir, 'dist'), sha };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git archive ${sha} src exporters tsconfig.json package.json | tar -x -C "${dir}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(archive.stderr);
  writeFileSync(
    join(dir, 'tsconfig.bench.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, declaration: false, sourceMap: false, rootDir: '.', outDir: 'dist', noUnusedLocals: false, noUnusedParameters: false },
      include: ['src', 'exporters'],
      exclude: ['**/*.test.ts', '**/testing/**', '**/simulator/**', 'src/demo/**'],
    }),
  );
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.bench.json')], { encoding: 'utf8' });
  if (!existsSync(join(dir, 'dist/src/engine/engine.js'))) throw new Error(`baseline ${rev} did not compile: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(stamp, sha);
  return { dir: join(dir, 'dist'), sha };
}

const mod = (d, p) => import(pathToFileURL(join(d, p)).href);
const { findBinary, startPrometheus } = await mod(dist, 'src/prometheus-tools.js');
const { createBlocks } = await mod(dist, 'src/backfill/backfill-run.js');
const promtool = findBinary('promtool');
const prometheus = findBinary('prometheus');
if (!promtool || !prometheus) throw new Error('prometheus and promtool are needed: apt-get install -y prometheus');

mkdirSync(out, { recursive: true });
const key = `days=${DAYS} scrape=${SCRAPE_S}s now=${new Date(NOW).toISOString()} v2`;
const dataDir = join(out, 'data');
if (!existsSync(join(out, 'KEY')) || readFileSync(join(out, 'KEY'), 'utf8') !== key) {
  rmSync(dataDir, { recursive: true, force: true });
  const om = join(out, 'history.om');
  let t = performance.now();
  const { samples } = await writeYear(dist, om, { from: FROM, to: NOW + 3600_000, scrapeMs: SCRAPE_S * 1000 });
  log(`history: ${samples.toLocaleString('en')} samples over ${DAYS} days in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await createBlocks(promtool, om, dataDir);
  log(`blocks: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  rmSync(om);
  writeFileSync(join(out, 'KEY'), key);
}

const prom = await startPrometheus(prometheus, { dataDir, args: ['--query.lookback-delta=20m'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(d) {
  const { loadConfig } = await mod(d, 'src/config/load-config.js');
  const { KrEngine } = await mod(d, 'src/engine/engine.js');
  const { Ledger } = await mod(d, 'src/engine/ledger.js');
  const { PrometheusClient } = await mod(d, 'src/engine/prometheus-client.js');
  const { runReport } = await mod(d, 'src/report/report-command.js');
  const { fixedClock } = await mod(d, 'src/core/clock.js');
  const loaded = loadConfig(join(root, 'okrs.example.yaml'), { env: {} });
  const real = new PrometheusClient(prom.url);
  let queries = 0;
  // Every method the build's client has (instant queries, and range queries where it has them), counted.
  const client = Object.create(real);
  for (const m of ['query', 'queryRange']) if (typeof real[m] === 'function') client[m] = (...a) => (queries++, real[m](...a));
  const timed = async (fn) => {
    queries = 0;
    const t = performance.now();
    await fn();
    return { ms: performance.now() - t, queries };
  };
  const first = () => timed(() => new KrEngine({ loaded, prom: client, ledger: new Ledger(':memory:'), clock: fixedClock(NOW) }).evaluateCurrent());
  await first(); // warm Prometheus' page cache
  const firsts = [];
  for (let i = 0; i < ROUNDS; i++) firsts.push(await first());

  const ledger = new Ledger(':memory:');
  let now = NOW;
  const clock = { now: () => now };
  const engine = new KrEngine({ loaded, prom: client, ledger, clock });
  await engine.evaluateCurrent();
  const steady = [];
  for (let i = 0; i < ROUNDS; i++) {
    now += 300_000;
    steady.push(await timed(() => engine.evaluateCurrent()));
  }
  const report = async (period) => {
    const runs = [];
    for (let i = 0; i < ROUNDS; i++)
      runs.push(
        await timed(() => runReport(loaded, { period, format: 'json', prom: client, ledger: new Ledger(':memory:'), clock: fixedClock(NOW + 3600_000) })),
      );
    return runs;
  };
  const rows = { first: firsts, steady, 'report 2026-Q3': await report('2026-Q3'), 'report 2026-Q2': await report('2026-Q2') };
  return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { ms: median(v.map((x) => x.ms)), queries: median(v.map((x) => x.queries)) }]));
}

try {
  const builds = [['this tree', dist]];
  if (BASELINE !== 'none') {
    const b = buildBaseline(BASELINE);
    builds.unshift([`${BASELINE} (${b.sha.slice(0, 7)})`, b.dir]);
  }
  const results = [];
  for (const [name, d] of builds) {
    log(`measuring ${name}...`);
    results.push([name, await measure(d)]);
  }
  const lines = [
    `KR engine, example OKRs (13 KRs), ${DAYS} days of history (API counters every ${SCRAPE_S} s), evaluated at ${new Date(NOW).toISOString()}, median of ${ROUNDS}`,
    '',
  ];
  const cases = Object.keys(results[0][1]);
  lines.push(`| case | ${results.map(([n]) => `${n}: ms | queries`).join(' | ')} |${results.length > 1 ? ' ratio |' : ''}`);
  lines.push(`|---|${results.map(() => '---:|---:').join('|')}|${results.length > 1 ? '---:|' : ''}`);
  for (const c of cases) {
    const cells = results.map(([, r]) => `${r[c].ms.toFixed(0)} | ${r[c].queries}`);
    const ratio = results.length > 1 ? ` ${(results[0][1][c].ms / results.at(-1)[1][c].ms).toFixed(1)}× |` : '';
    lines.push(`| ${c} | ${cells.join(' | ')} |${ratio}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await prom.stop();
}
