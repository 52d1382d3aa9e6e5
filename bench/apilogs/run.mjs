#!/usr/bin/env node
/**
 * apilogs benchmark: `okr-metrics logs` against Debian's mtail on the same reproducible
 * 1,000,000-line nginx log, side by side in one run, plus tail mode (lines/s appended while
 * /metrics is scraped). Builds nothing but `npm run build` when dist/ is missing.
 *
 *   npm run bench:apilogs                 # 1M lines, best of 3 runs each
 *   npm run bench:apilogs -- --lines 200000 --runs 1 --skip-tail
 *   npm run bench:apilogs -- --only-tail
 *
 * Throughput is end to end (process start to exit, as a user runs it); the in-process
 * counting rate of okr-metrics (--stats) is printed too. Peak RSS is /usr/bin/time's
 * maximum resident set size.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, statSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeLog } from './generate-log.mjs';
import { args, log, opt, root } from '../bench-cli.mjs';
import { freePort } from '../../dist/src/prometheus-tools.js';

const out = join(root, 'bench/out');
const LINES = Number(opt('lines', 1_000_000));
const RUNS = Number(opt('runs', 3));
const SEED = Number(opt('seed', 42));
const SKIP_TAIL = args.includes('--skip-tail');
const ONLY_TAIL = args.includes('--only-tail');
const main = join(root, 'dist/src/cli/main.js');

/** Run a command under /usr/bin/time -v; returns stdout, wall seconds and peak RSS in KiB. */
function timed(cmd, cmdArgs) {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...cmdArgs], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  const wall = r.stderr.match(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/);
  const rss = r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const cpu = Number(r.stderr.match(/User time \(seconds\): ([\d.]+)/)[1]) + Number(r.stderr.match(/System time \(seconds\): ([\d.]+)/)[1]);
  return { stdout: r.stdout, stderr: r.stderr, seconds, cpu, rssKiB: Number(rss[1]) };
}

/** api_requests_total by "route method code" (other labels, like mtail's prog, ignored). */
function requestCounts(exposition) {
  const m = new Map();
  for (const line of exposition.split('\n')) {
    if (!line.startsWith('api_requests_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const key = `${labels.route} ${labels.method} ${labels.code}`;
    m.set(key, (m.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return m;
}

function histogramCount(exposition) {
  let n = 0;
  for (const line of exposition.split('\n')) if (line.startsWith('api_request_duration_seconds_count{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** Series (name and labels) that appear more than once: Prometheus would reject the scrape. */
function duplicateSeries(exposition) {
  const seen = new Set();
  const dup = [];
  for (const line of exposition.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    if (seen.has(series)) dup.push(series);
    seen.add(series);
  }
  return dup;
}

function sameCounts(a, b) {
  const problems = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) problems.push(`${k}: okr-metrics ${a.get(k)} vs mtail ${b.get(k)}`);
  return problems;
}

const best = (xs) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function oneShot(file, bytes) {
  const progs = join(out, 'mtail-progs');
  mkdirSync(progs, { recursive: true });
  copyFileSync(join(root, 'bench/apilogs/apilogs.mtail'), join(progs, 'apilogs.mtail'));
  const runs = { mtail: [], okr: [], okr2: [] };
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    log(`run ${i + 1}/${RUNS}: mtail ...`);
    runs.mtail.push(
      timed('/usr/bin/mtail', [
        '--logtostderr',
        '--one_shot',
        '--one_shot_format',
        'prometheus',
        '--emit_prog_label=false',
        '--address',
        '127.0.0.1',
        '--port',
        String(port),
        '--progs',
        progs,
        '--logs',
        file,
      ]),
    );
    log(`run ${i + 1}/${RUNS}: okr-metrics logs ...`);
    runs.okr.push(timed(process.execPath, [main, 'logs', '--stats', '--service', 'api', file]));
    log(`run ${i + 1}/${RUNS}: okr-metrics logs --threads 2 ...`);
    runs.okr2.push(timed(process.execPath, [main, 'logs', '--threads', '2', '--service', 'api', file]));
  }
  const m = best(runs.mtail);
  const o = best(runs.okr);
  const o2 = best(runs.okr2);
  const problems2 = sameCounts(requestCounts(o2.stdout), requestCounts(m.stdout));
  const mCounts = requestCounts(m.stdout);
  const oCounts = requestCounts(o.stdout);
  const problems = sameCounts(oCounts, mCounts);
  for (const r of [o, o2]) for (const d of duplicateSeries(r.stdout).slice(0, 5)) problems.push(`duplicate series in okr-metrics output: ${d}`);
  const total = [...oCounts.values()].reduce((a, b) => a + b, 0);
  const stats = Object.fromEntries(
    o.stderr
      .split('\n')
      .find((l) => l.startsWith('lines='))
      ?.split(' ')
      .map((kv) => kv.split('=')) ?? [],
  );
  const row = (name, r, all) => ({
    tool: name,
    'best wall s': r.seconds.toFixed(2),
    'median wall s': median(all.map((x) => x.seconds)).toFixed(2),
    'lines/s': fmt(LINES / r.seconds),
    'MB/s': fmt(bytes / 1e6 / r.seconds, 1),
    'peak RSS MiB': fmt(r.rssKiB / 1024, 1),
    'CPU s': r.cpu.toFixed(2),
    'lines/CPU-s': fmt(LINES / r.cpu),
  });
  console.log(`\none-shot, ${fmt(LINES)} lines, ${fmt(bytes / 1e6, 1)} MB, best of ${RUNS} runs each (end to end, process start to exit)`);
  console.table([row('mtail 3.0.0~rc50', m, runs.mtail), row('okr-metrics logs', o, runs.okr), row('okr-metrics logs --threads 2', o2, runs.okr2)]);
  console.log(
    `ratio (lines/s, okr-metrics / mtail): best ${(m.seconds / o.seconds).toFixed(1)}x, median ${(median(runs.mtail.map((x) => x.seconds)) / median(runs.okr.map((x) => x.seconds))).toFixed(1)}x; --threads 2: best ${(m.seconds / o2.seconds).toFixed(1)}x; per CPU second: ${(m.cpu / o.cpu).toFixed(1)}x`,
  );
  console.log(
    `okr-metrics counting only (no start-up, no rendering): ${fmt(Number(stats.lines_per_second))} lines/s, ${fmt(bytes / 1e6 / Number(stats.count_seconds), 1)} MB/s`,
  );
  console.log(
    `request counts: okr-metrics ${fmt(total)}, mtail ${fmt([...mCounts.values()].reduce((a, b) => a + b, 0))}, ${oCounts.size} series; histogram counts ${fmt(histogramCount(o.stdout))} / ${fmt(histogramCount(m.stdout))}: ${problems.length === 0 ? 'identical' : `DIFFERENT\n  ${problems.slice(0, 10).join('\n  ')}`}`,
  );
  if (problems2.length > 0) console.log(`--threads 2 request counts DIFFER from mtail: ${problems2.slice(0, 5).join('; ')}`);
  return { ok: problems.length === 0 && problems2.length === 0 && total === LINES, ratio: m.seconds / o.seconds, rssMiB: Math.max(o.rssKiB, o2.rssKiB) / 1024 };
}

/** Tail mode: `okr-metrics serve` with only apilogs follows a file that a writer appends to as fast as it can, while /metrics is scraped every 100 ms. */
async function tailMode(file) {
  const dir = join(out, 'tail');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const live = join(dir, 'access.log');
  writeFileSync(live, '');
  const port = await freePort();
  writeFileSync(
    join(dir, 'okrs.yaml'),
    `version: okr/v1\norganization: bench\nserver: { host: 127.0.0.1, port: ${port}, state_dir: state }\nsources:\n  apilogs:\n    refresh_interval: 1s\n    poll_interval: 100ms\n    services:\n      - name: api\n        files: [access.log]\n`,
  );
  const child = spawn(process.execPath, [main, 'serve', '-c', join(dir, 'okrs.yaml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, OKR_METRICS_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}/metrics`;
  const scrape = async () => {
    const t = performance.now();
    const body = await (await fetch(url)).text();
    const line = body.split('\n').find((l) => l.startsWith('api_log_lines_total{service="api",result="parsed"}'));
    return { parsed: line ? Number(line.split(' ').pop()) : 0, ms: performance.now() - t };
  };
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error(`serve did not come up: ${stderr}`);
      try {
        await scrape();
        break;
      } catch {
        await sleep(100);
      }
    }
    await sleep(1500); // first collection done: the file is followed from its (empty) end
    const src = openSync(file, 'r');
    const chunk = Buffer.allocUnsafe(1 << 20);
    const started = performance.now();
    let writing = true;
    const scrapes = [];
    const scraper = (async () => {
      while (writing || scrapes.length === 0 || scrapes[scrapes.length - 1].parsed < LINES) {
        scrapes.push(await scrape());
        if (performance.now() - started > 120_000) break;
        await sleep(100);
      }
    })();
    // Append whole lines in 1 MiB slices, yielding between them so scrapes interleave.
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(src, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const data = Buffer.concat([carry, chunk.subarray(0, n)]);
      const cut = data.lastIndexOf(10) + 1;
      appendFileSync(live, data.subarray(0, cut));
      carry = Buffer.from(data.subarray(cut));
      await sleep(0);
    }
    closeSync(src);
    const appendSeconds = (performance.now() - started) / 1000;
    writing = false;
    await scraper;
    const last = scrapes[scrapes.length - 1];
    const doneAt = (performance.now() - started) / 1000;
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const hwm = Number(status.match(/VmHWM:\s+(\d+)/)[1]);
    console.log(`\ntail mode (okr-metrics serve, apilogs only, poll 100ms, /metrics scraped every 100ms while appending):`);
    console.table([
      {
        'lines appended': fmt(LINES),
        'append s': appendSeconds.toFixed(2),
        'all counted after s': doneAt.toFixed(2),
        'lines/s followed': fmt(LINES / doneAt),
        scrapes: scrapes.length,
        'median scrape ms': median(scrapes.map((s) => s.ms)).toFixed(1),
        'max scrape ms': Math.max(...scrapes.map((s) => s.ms)).toFixed(1),
        'peak RSS MiB': fmt(hwm / 1024, 1),
      },
    ]);
    console.log(`counted ${fmt(last.parsed)} of ${fmt(LINES)} lines: ${last.parsed === LINES ? 'complete' : 'INCOMPLETE'}`);
    return { ok: last.parsed === LINES };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function run() {
  if (!existsSync(main)) {
    log('dist/ missing: npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
  mkdirSync(out, { recursive: true });
  const file = join(out, `access-${LINES}-seed${SEED}.log`);
  const meta = `${file}.json`;
  let bytes;
  if (existsSync(file) && existsSync(meta) && JSON.parse(readFileSync(meta, 'utf8')).bytes === statSync(file).size) {
    bytes = statSync(file).size;
  } else {
    log(`generating ${file} ...`);
    bytes = await writeLog(file, LINES, SEED);
    writeFileSync(meta, JSON.stringify({ lines: LINES, seed: SEED, bytes }));
  }
  console.log(
    `machine: ${(await import('node:os')).cpus()[0].model}, ${(await import('node:os')).cpus().length} cpus, load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; node ${process.version}`,
  );
  const shot = ONLY_TAIL ? { ok: true, ratio: Number.NaN, rssMiB: 0 } : await oneShot(file, bytes);
  const tail = SKIP_TAIL ? { ok: true } : await tailMode(file);
  const verdict = [];
  if (!shot.ok) verdict.push('request counts differ');
  if (shot.rssMiB > 100) verdict.push(`peak RSS ${shot.rssMiB.toFixed(1)} MiB > 100 MiB`);
  if (!tail.ok) verdict.push('tail mode incomplete');
  console.log(
    `\n${verdict.length === 0 ? 'OK' : `PROBLEMS: ${verdict.join('; ')}`} (goal: >= 20x mtail lines/s, floor 10x; measured ${shot.ratio.toFixed(1)}x)`,
  );
  if (verdict.length > 0) process.exitCode = 1;
}

await run();
