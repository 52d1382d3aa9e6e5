/**
 * Acceptance of "nothing lost on restart", as an operator would see it: the real `okr-metrics
 * serve` (dist) follows an access log that a writer appends to at a steady rate, while the
 * exporter is stopped by SIGTERM and killed by SIGKILL several times and the log rotates both
 * ways (rename + create, copytruncate), sometimes while the exporter is down. A scraper reads
 * /metrics about every second, as Prometheus would. The total Prometheus would compute from
 * those scrapes (per series: increases, a decrease taken as a counter reset) must equal the
 * lines written, exactly. Bounded: about 30 s of writing, 127.0.0.1 only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { nginxLine } from '../../exporters/apilogs/testing/apilogs-fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');

const WRITE_MS = 30_000;
const BATCH = 20;
const BATCH_EVERY_MS = 20;
const RESTART_EVERY_MS = 4_000;
const ROTATE_EVERY_MS = 2_700;
const SCRAPE_EVERY_MS = 1_000;

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** Series name+labels → value, for the families the test reads. */
function parseExposition(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!/^(api_log_lines_total|api_requests_total|api_request_duration_seconds_count)\{/.test(line)) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** What Prometheus' increase() over the whole run adds up to: per series, a decrease is a reset. */
class PromTotals {
  private readonly last = new Map<string, number>();
  readonly totals = new Map<string, number>();
  resets = 0;
  add(samples: Map<string, number>): void {
    for (const [series, v] of samples) {
      // Every series starts at 0 before the first line: the log is empty when the run starts.
      const prev = this.last.get(series) ?? 0;
      const inc = v >= prev ? v - prev : v;
      if (v < prev) this.resets++;
      this.totals.set(series, (this.totals.get(series) ?? 0) + inc);
      this.last.set(series, v);
    }
  }
  sum(prefix: string): number {
    let n = 0;
    for (const [s, v] of this.totals) if (s.startsWith(prefix)) n += v;
    return n;
  }
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('soak: restarts (SIGTERM, SIGKILL) and rotations (rename, copytruncate) under a steady writer', () => {
  it('the totals Prometheus computes from the scrapes equal the lines written, exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-soak-'));
    mkdirSync(join(dir, 'logs'));
    const log = join(dir, 'logs', 'access.log');
    writeFileSync(log, '');
    const port = await freePort();
    const config = join(dir, 'okrs.yaml');
    writeFileSync(
      config,
      `version: okr/v1
server: { state_dir: state }
sources:
  apilogs:
    refresh_interval: 1s
    poll_interval: 50ms
    services:
      - name: api
        files: ["logs/access.log*"]
        start_at: beginning
`,
    );
    const url = `http://127.0.0.1:${port}`;
    let exporter: ChildProcess | undefined;
    let stderr = '';
    const start = () => {
      const c = spawn(process.execPath, [cli, 'serve', '-c', config, '--host', '127.0.0.1', '--port', String(port)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, OKR_METRICS_LOG_LEVEL: 'warn' },
      });
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      children.push(c);
      exporter = c;
    };
    const stop = async (signal: 'SIGTERM' | 'SIGKILL') => {
      const c = exporter!;
      exporter = undefined;
      if (process.env.DEBUG_SOAK) events.push(`${Math.round(performance.now() - t0)} ${signal} at ${written}`);
      const exited = new Promise<void>((ok) => c.once('exit', () => ok()));
      c.kill(signal);
      await Promise.race([exited, sleep(10_000)]);
      expect(c.exitCode !== null || c.signalCode !== null, `exporter did not stop on ${signal}`).toBe(true);
      if (signal === 'SIGTERM') expect(c.exitCode, stderr).toBe(0);
    };

    let written = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        let batch = '';
        for (let i = 0; i < BATCH; i++) {
          written++;
          batch += `${nginxLine(written % 3 === 0 ? 'POST' : 'GET', `/v1/topups/${written}`, written % 11 === 0 ? 503 : 200, '0.05')}\n`;
        }
        appendFileSync(log, batch);
        await sleep(BATCH_EVERY_MS);
      }
    })();

    const events: string[] = [];
    let t0 = performance.now();
    const prom = new PromTotals();
    let scrapes = 0;
    let failedScrapes = 0;
    const scrape = async () => {
      try {
        const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) });
        if (!r.ok) throw new Error(String(r.status));
        const samples = parseExposition(await r.text());
        prom.add(samples);
        if (process.env.DEBUG_SOAK)
          events.push(`${Math.round(performance.now() - t0)} scrape ${samples.get('api_log_lines_total{service="api",result="parsed"}')} written ${written}`);
        scrapes++;
      } catch {
        failedScrapes++; // down, as Prometheus would see it: no sample
      }
    };
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await scrape();
        await sleep(SCRAPE_EVERY_MS * (0.8 + 0.4 * Math.random()));
      }
    })();

    let rotations = 0;
    const rotate = () => {
      if (process.env.DEBUG_SOAK) events.push(`${Math.round(performance.now() - t0)} rotate ${rotations % 2 === 0 ? 'rename' : 'copytruncate'} at ${written}`);
      // Synchronous: the writer never appends between the copy and the truncate. Rotated files
      // are shifted (.1 → .2 ...) but never deleted: a file deleted while the exporter is down
      // takes its unread lines with it, whatever the exporter does (start-up on a loaded
      // machine can take seconds).
      for (let k = rotations; k >= 1; k--) if (existsSync(`${log}.${k}`)) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
      if (rotations % 2 === 0) {
        renameSync(log, `${log}.1`);
        writeFileSync(log, '');
      } else {
        copyFileSync(log, `${log}.1`);
        truncateSync(log, 0);
      }
      rotations++;
    };

    start();
    t0 = performance.now();
    let nextRotation = t0 + ROTATE_EVERY_MS;
    let nextRestart = t0 + RESTART_EVERY_MS;
    let restarts = 0;
    while (performance.now() - t0 < WRITE_MS) {
      if (performance.now() >= nextRotation) {
        rotate();
        nextRotation += ROTATE_EVERY_MS;
      }
      if (performance.now() >= nextRestart) {
        await stop(restarts % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
        // Down for a while: lines pile up, and a rotation may happen meanwhile.
        await sleep(600);
        if (restarts % 3 === 1) rotate();
        start();
        restarts++;
        nextRestart += RESTART_EVERY_MS;
      }
      await sleep(100);
    }
    writing = false;
    await writer;

    // Let the exporter catch up: scrape until the totals reach the lines written (bounded).
    for (let i = 0; i < 40 && prom.sum('api_log_lines_total{service="api",result="parsed"}') < written; i++) await sleep(500);
    await sleep(2_000); // a few more scrapes: anything counted twice would show now
    scraping = false;
    await scraper;
    await stop('SIGTERM');

    const summary = { written, rotations, restarts, scrapes, failedScrapes, resets: prom.resets };
    console.log(`soak: ${JSON.stringify(summary)}`);
    // DEBUG_SOAK=1 prints the timeline (restarts, rotations, scrapes) for a failure's diagnosis.
    if (process.env.DEBUG_SOAK) console.log(events.join('\n'));
    expect(restarts).toBeGreaterThanOrEqual(6);
    expect(rotations).toBeGreaterThanOrEqual(10);
    expect(written).toBeGreaterThan(10_000);
    expect(prom.sum('api_log_lines_total{service="api",result="parsed"}'), stderr).toBe(written);
    expect(prom.sum('api_log_lines_total{service="api",result="malformed"}')).toBe(0);
    expect(prom.sum('api_requests_total{')).toBe(written);
    expect(
      prom.sum('api_requests_total{service="api",route="/v1/topups/:id",method="GET",code="503"}') +
        prom.sum('api_requests_total{service="api",route="/v1/topups/:id",method="POST",code="503"}'),
    ).toBe(Math.floor(written / 11));
    expect(prom.sum('api_request_duration_seconds_count{')).toBe(written);
    // Counters continue across restarts: Prometheus never sees a reset.
    expect(prom.resets).toBe(0);
  }, 90_000);
});
