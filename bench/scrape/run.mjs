#!/usr/bin/env node
/**
 * /metrics under concurrent scrapers: the real `okr-metrics serve` (dist) follows an access log
 * with enough routes to expose ~255 KB, then one scraper, then 20 concurrent ones, scrape it.
 * Scrapes send Accept-Encoding: gzip as Prometheus does (--identity: uncompressed).
 * Prints p50/p99 latency (request sent → last byte) of each and the ratio the issue asks for:
 * p99 under 20 concurrent scrapers over a single scraper's p50 and p99 (goal: at most 5×). One
 * event loop serves the scrapes: 20 arriving together wait for each other, so the first ratio is
 * bounded below by queueing (about 20 × the per-request cost over one round trip), whatever the
 * per-request cost; the baseline comparison shows what the rendering cache changes.
 *
 *   npm run bench:scrape
 *   npm run bench:scrape -- --scrapes 300 --concurrency 20 --routes 150
 *   npm run bench:scrape -- --baseline /tmp/okr-base/dist/src/cli/main.js   # also a named other build
 *
 * The baseline is any other build of the CLI (e.g. main before the rendering cache, built in a
 * scratch directory); it runs the same workload and its figures are printed beside ours.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { args, log, opt, root } from '../bench-cli.mjs';
import { freePort } from '../../dist/src/prometheus-tools.js';

const SCRAPES = Number(opt('scrapes', 200));
const CONCURRENCY = Number(opt('concurrency', 20));
const ROUTES = Number(opt('routes', 150));
const BASELINE = opt('baseline', undefined);
/** Prometheus sends Accept-Encoding: gzip; --identity measures uncompressed scrapes. */
const GZIP = !args.includes('--identity');
const OURS = join(root, 'dist/src/cli/main.js');

/** Each scraper keeps its connection open between scrapes, as Prometheus (Go's HTTP client) does. */
const agents = new Map();
function agentOf(id) {
  if (!agents.has(id)) agents.set(id, new Agent({ keepAlive: true, maxSockets: 1 }));
  return agents.get(id);
}

/** One scrape as Prometheus makes it (Accept-Encoding: gzip): milliseconds from request to last byte, and the bytes on the wire. */
function scrape(url, scraper = 0) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    get(url, { agent: agentOf(scraper), headers: GZIP ? { 'Accept-Encoding': 'gzip' } : {} }, (r) => {
      let bytes = 0;
      r.on('data', (d) => (bytes += d.length));
      r.on('end', () => res({ ms: performance.now() - t0, bytes }));
    }).on('error', rej);
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** An access log with ROUTES distinct routes, each with a 200 and a 503 and a spread of durations. */
function workload() {
  const dir = mkdtempSync(join(tmpdir(), 'okr-bench-scrape-'));
  mkdirSync(join(dir, 'logs'));
  const lines = [];
  for (let r = 0; r < ROUTES; r++) {
    for (const [code, d] of [
      [200, '0.004'],
      [200, '0.08'],
      [503, '1.2'],
    ]) {
      lines.push(`10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET /v1/resource-${r}/items HTTP/1.1" ${code} 512 "-" "bench" ${d}`);
    }
  }
  writeFileSync(join(dir, 'logs', 'access.log'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'okrs.yaml'),
    `version: okr/v1\nserver: { state_dir: state }\nsources:\n  apilogs:\n    refresh_interval: 15s\n    services:\n      - { name: api, files: [logs/access.log], start_at: beginning, max_routes: ${ROUTES + 10} }\n`,
  );
  return dir;
}

async function measure(name, cli) {
  const dir = workload();
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, OKR_METRICS_LOG_LEVEL: 'error' },
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    let bytes = 0;
    for (let i = 0; i < 200; i++) {
      try {
        const r = await scrape(url);
        if (r.bytes > (GZIP ? 5_000 : 50_000) && r.bytes === bytes) break; // the first collection is in
        bytes = r.bytes;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    for (let i = 0; i < 20; i++) await scrape(url); // warm-up
    const single = [];
    for (let i = 0; i < SCRAPES; i++) single.push((await scrape(url)).ms);
    const concurrent = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, k) => {
        for (let i = 0; i < Math.ceil(SCRAPES / 4); i++) concurrent.push((await scrape(url, k + 1)).ms);
      }),
    );
    const r = {
      name,
      bytes,
      single_p50_ms: pct(single, 50),
      single_p99_ms: pct(single, 99),
      concurrent_p50_ms: pct(concurrent, 50),
      concurrent_p99_ms: pct(concurrent, 99),
    };
    r.ratio_p99_concurrent_over_single_p50 = r.concurrent_p99_ms / r.single_p50_ms;
    r.ratio_p99_concurrent_over_single_p99 = r.concurrent_p99_ms / r.single_p99_ms;
    return r;
  } finally {
    for (const a of agents.values()) a.destroy();
    agents.clear();
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
  }
}

const fmt = (x) => (typeof x === 'number' && !Number.isInteger(x) ? x.toFixed(2) : String(x));
const results = [await measure('okr-metrics (this build)', OURS)];
if (BASELINE) results.push(await measure(`baseline (${BASELINE})`, BASELINE));
for (const r of results) {
  log(`${r.name}: /metrics ${(r.bytes / 1024).toFixed(0)} KiB on the wire (${GZIP ? 'Accept-Encoding: gzip, as Prometheus' : 'uncompressed'})`);
  log(`  1 scraper:   p50 ${fmt(r.single_p50_ms)} ms, p99 ${fmt(r.single_p99_ms)} ms (${SCRAPES} scrapes)`);
  log(`  ${CONCURRENCY} scrapers: p50 ${fmt(r.concurrent_p50_ms)} ms, p99 ${fmt(r.concurrent_p99_ms)} ms (${CONCURRENCY} × ${Math.ceil(SCRAPES / 4)} scrapes)`);
  log(
    `  p99 with ${CONCURRENCY} scrapers / p50 of one: ${fmt(r.ratio_p99_concurrent_over_single_p50)}×, / p99 of one: ${fmt(r.ratio_p99_concurrent_over_single_p99)}× (goal: at most 5×)`,
  );
}
if (results.length === 2) {
  const [a, b] = results;
  log(
    `vs baseline: p99 with ${CONCURRENCY} scrapers ${fmt(b.concurrent_p99_ms / a.concurrent_p99_ms)}× faster, single p50 ${fmt(b.single_p50_ms / a.single_p50_ms)}× faster; our p99 with ${CONCURRENCY} scrapers is ${fmt(a.concurrent_p99_ms / b.single_p50_ms)}× the baseline's single scrape (p50)`,
  );
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
