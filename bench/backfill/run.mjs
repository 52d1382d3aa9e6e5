#!/usr/bin/env node
/**
 * Backfill benchmark, end to end through the CLI (`okr-metrics backfill`), printing figures:
 *   jira     a year of a 10-board Jira (fake server on 127.0.0.1: 26 two-week sprints per
 *            board, velocity chart, one quarterly JQL query with an issue a day)
 *   apilogs  30 days of archived nginx logs, 1,000,000 lines a day, gzip
 * Each at the default 5-minute step, three CLI runs: rebuild + OpenMetrics (--no-blocks: wall
 * time, requests or lines per second, samples, size, peak RSS of the node process), blocks
 * (promtool on the unchanged files), and a rerun (everything skipped).
 *
 *   node bench/backfill/run.mjs                      # both, full size
 *   node bench/backfill/run.mjs --only apilogs --days 3 --per-day 200000 --no-blocks
 *
 * Compiles src/ and exporters/ into bench/out/backfill-dist (dist/ is left alone).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateArchive } from './generate-archive.mjs';
import { JQL, yearOfJira } from './fake-jira-year.mjs';
import { args, opt, root } from '../bench-cli.mjs';

const out = join(root, 'bench/out/backfill');
const dist = join(root, 'bench/out/backfill-dist');
const ONLY = opt('only', 'jira,apilogs').split(',');
const DAYS = Number(opt('days', 30));
const PER_DAY = Number(opt('per-day', 1_000_000));
const BOARDS = Number(opt('boards', 10));
const BLOCKS = !args.includes('--no-blocks');
const log = (m) => process.stderr.write(`${m}\n`);
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

function dirSize(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((n, f) => n + dirSize(join(p, f)), 0);
}

log('compiling into bench/out/backfill-dist ...');
const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'bench/backfill/tsconfig.json')], { encoding: 'utf8' });
if (!existsSync(join(dist, 'src/cli/main.js'))) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
const main = join(dist, 'src/cli/main.js');
mkdirSync(out, { recursive: true });

/**
 * Run the CLI under /usr/bin/time; returns wall seconds, peak RSS and the summary. Asynchronous:
 * the fake Jira answers from this very process.
 */
async function backfill(config, extra, blocks = BLOCKS) {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M', process.execPath, main, 'backfill', '-c', config, ...extra, ...(blocks ? [] : ['--no-blocks'])], {
    env: { ...process.env, BENCH_JIRA_TOKEN: 'bench-token' },
  });
  const r = { stdout: '', stderr: '', status: null };
  child.stdout.on('data', (c) => (r.stdout += c));
  child.stderr.on('data', (c) => (r.stderr = (r.stderr + c).slice(-20000)));
  r.status = await new Promise((res) => child.on('exit', res));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`backfill failed (${r.status}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  const rssKb = Number(r.stderr.trim().split('\n').at(-1));
  return { seconds, rssMb: rssKb / 1024, stdout: r.stdout, stderr: r.stderr };
}

function samplesOf(stdout, source) {
  const m = new RegExp(`${source}: \\w+, ([\\d,]+) samples`).exec(stdout);
  return m ? Number(m[1].replaceAll(',', '')) : NaN;
}

/**
 * The three CLI runs: rebuild + OpenMetrics, blocks only (the files are unchanged), a rerun.
 * `rate(r)` gives the source's own figure from the first run, taken before the others start.
 */
async function threeRuns(label, dir, source, argv, rate) {
  const config = join(dir, 'okrs.yaml');
  const r = await backfill(config, argv, false);
  const own = rate(r);
  const blocks = BLOCKS ? await backfill(config, argv) : undefined;
  const again = await backfill(config, argv);
  return {
    source: label,
    wall_s: r.seconds.toFixed(1),
    ...own,
    samples: samplesOf(r.stdout, source),
    openmetrics: mb(dirSize(join(dir, 'out', source))),
    promtool_s: blocks ? blocks.seconds.toFixed(1) : '-',
    blocks: BLOCKS ? mb(dirSize(join(dir, 'out/blocks'))) : '-',
    peak_rss: `${r.rssMb.toFixed(0)} MB`,
    rerun_s: again.seconds.toFixed(1),
  };
}

const results = [];

if (ONLY.includes('jira')) {
  const fakeMod = await import(pathToFileURL(join(dist, 'exporters/jira/testing/fake-jira.js')).href);
  const to = Date.UTC(2026, 10, 1);
  const from = Date.UTC(2025, 10, 1);
  const fake = await fakeMod.startFakeJira(yearOfJira(fakeMod, { boards: BOARDS, from, to }));
  try {
    const dir = join(out, 'jira');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const boards = Array.from({ length: BOARDS }, (_, i) => `      - { id: ${i + 1}, team: team${i % 3} }`).join('\n');
    writeFileSync(
      join(dir, 'okrs.yaml'),
      `version: okr/v1\ncalendar:\n  timezone: UTC\nserver:\n  state_dir: ${dir}/state\nsources:\n  jira:\n    flavor: cloud\n    url: ${fake.url}\n    email: bench@example.com\n    api_token: \${BENCH_JIRA_TOKEN}\n    boards:\n${boards}\n    queries:\n      bench_issues: '${JQL}'\nobjectives: []\n`,
    );
    log(`jira: a year of ${BOARDS} boards ...`);
    const argv = ['--from', '2025-11-01', '--to', '2026-11-01', '--sources', 'jira', '--out', join(dir, 'out')];
    results.push(await threeRuns(`jira (${BOARDS} boards, 1 year)`, dir, 'jira', argv, () => ({ requests: fake.requests.length })));
  } finally {
    await fake.close();
  }
}

if (ONLY.includes('apilogs')) {
  const firstDay = Date.UTC(2026, 9, 1);
  const logs = join(out, `logs-${DAYS}x${PER_DAY}`);
  log(`apilogs: generating ${DAYS} days x ${PER_DAY} lines (kept in ${logs}) ...`);
  const t0 = Date.now();
  const files = await generateArchive(logs, { days: DAYS, perDay: PER_DAY, firstDay });
  log(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${mb(files.reduce((n, f) => n + statSync(f).size, 0))} gzip`);
  const dir = join(out, 'apilogs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'okrs.yaml'),
    `version: okr/v1\ncalendar:\n  timezone: UTC\nserver:\n  state_dir: ${dir}/state\nsources:\n  apilogs:\n    services:\n      - name: topups-api\n        files: ["${logs}/access.log"]\n        routes: [/v1/topups/:id, /v1/operators/:id, /v1/accounts/:id]\nobjectives: []\n`,
  );
  const to = new Date(firstDay + DAYS * 86400_000).toISOString().slice(0, 10);
  const argv = ['--from', '2026-10-01', '--to', to, '--sources', 'apilogs', '--out', join(dir, 'out')];
  log(`apilogs: backfilling ${DAYS * PER_DAY} lines ...`);
  results.push(
    await threeRuns(`apilogs (${DAYS} days x ${PER_DAY.toLocaleString('en-US')} lines, gzip)`, dir, 'apilogs', argv, (r) => ({
      lines_per_s: Math.round((DAYS * PER_DAY) / r.seconds).toLocaleString('en-US'),
    })),
  );
}

console.log(JSON.stringify(results, null, 2));
