/**
 * Two replicas on one state directory (docs/high-availability.md): the first takes the lock and
 * collects; the second, a standby, answers /healthz and /metrics (okr_metrics_active 0, no
 * source or key-result series), calls no source API and opens no state file, and takes over when
 * the first stops (in-process) or is killed with SIGKILL (two CLI processes). Across the
 * takeover the counters continue from the checkpoint: compared with counts made here from the
 * lines written and the pull requests in the fake Bitbucket, nothing is doubled or lost. The
 * ledger holds one row per key result and period, and every state file reads back valid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCloud, type FakeCloud, type FakeCloudPr } from '../../exporters/bitbucket/simulator/fake-cloud-server.js';
import { loadState, STATE_FILE_NAME } from '../../exporters/bitbucket/state-file.js';
import { loadCheckpoint } from '../../exporters/apilogs/checkpoint.js';
import { nginxLine } from '../../exporters/apilogs/testing/apilogs-fixtures.js';
import { parseConfig } from '../../src/config/load-config.js';
import { ManualClock } from '../../src/core/clock.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { LOCK_FILE } from '../../src/core/state-lock.js';
import { KrEngine } from '../../src/engine/engine.js';
import { Ledger } from '../../src/engine/ledger.js';
import type { InstantSample, PromQueryClient } from '../../src/engine/prometheus-client.js';
import { startService, type RunningService } from '../../src/serve/service.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const H = 3600_000;
const NOW = Date.parse('2026-08-16T00:00:00Z'); // mid 2026-Q3
const EMAIL = 'dev@example.com';
const TOKEN = 'ATATT3xFfGF0-ha-token-value';
const BASIC = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`;
const TOPUPS = (code: number) => `api_requests_total{service="topups-api",route="/v1/topups/:id",method="GET",code="${code}"}`;
const MERGED = 'bitbucket_pull_requests_merged_total{repo="api",team="platform"}';

/** `lease`: short where the clock is a ManualClock (a lease never runs out on it); longer for processes on the system clock, so that a loaded machine's pause does not fence them. */
function okrYaml(withEngine: boolean, lease = '600ms'): string {
  return `version: okr/v1
organization: Example Engineering
server: { state_dir: state, lock_lease: ${lease} }
teams:
  platform: { services: [topups-api], repos: [api] }
${
  withEngine
    ? `objectives:
  - id: stability
    title: Improve product stability
    key_results:
      - id: availability
        title: API availability > 99%
        measure: { availability: { service: topups-api } }
        target: "> 99%"
        team: platform
`
    : ''
}sources:
  apilogs:
    refresh_interval: 200ms
    poll_interval: 20ms
    services:
      - name: topups-api
        files: ["logs/topups.access.log"]
        routes: [/v1/topups/:id]
        start_at: beginning
  bitbucket:
    workspace: acme
    url: \${BB_URL}/2.0
    email: ${EMAIL}
    api_token: \${BB_TOKEN}
    refresh_interval: 1h
`;
}

/** Merged pull requests `from`..`to`, each merged two hours after it opened, all in the 90 days before `now` (context for a first refresh then, not counted). */
function merged(from: number, to: number, now: number): FakeCloudPr[] {
  const out: FakeCloudPr[] = [];
  for (let id = from; id <= to; id++) out.push({ id, state: 'MERGED', createdMs: now - (100 - id) * H, updatedMs: now - (98 - id) * H });
  return out;
}

/** Merged pull requests `from`..`to`, merged at `at` (after serve started: counted). */
function mergedAt(from: number, to: number, at: number): FakeCloudPr[] {
  const out: FakeCloudPr[] = [];
  for (let id = from; id <= to; id++) out.push({ id, state: 'MERGED', createdMs: at - 2 * H, updatedMs: at });
  return out;
}
/** The pull requests the fake shows merged at or after `start`: what serve counts. */
const mergedSince = (fake: FakeCloud, start: number) =>
  String(fake.fixture.repos[0]!.pullRequests.filter((p) => p.state === 'MERGED' && p.updatedMs >= start).length);

async function fakeBitbucket(now: number): Promise<FakeCloud> {
  return startFakeCloud({
    workspace: 'acme',
    authorization: BASIC,
    repos: [{ slug: 'api', mainbranch: 'main', pullRequests: merged(1, 5, now), pipelines: [], branches: { main: 'aaa111' }, reports: {} }],
  });
}

/** The access log as the test wrote it: the independent count. */
class AccessLog {
  readonly codes: number[] = [];
  constructor(readonly file: string) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, '');
  }
  append(n: number): void {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const code = this.codes.length % 7 === 3 ? 503 : 200;
      this.codes.push(code);
      lines.push(nginxLine('GET', `/v1/topups/${this.codes.length}`, code, '0.020'));
    }
    appendFileSync(this.file, `${lines.join('\n')}\n`);
  }
  count(code: number): string {
    return String(this.codes.filter((c) => c === code).length);
  }
}

const value = (body: string, series: string) =>
  body
    .split('\n')
    .find((l) => l.startsWith(`${series} `))
    ?.split(' ')
    .pop();

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Scrape until `pred` holds (bounded: about 10 s), returning the last body. */
async function scrapeUntil(url: string, pred: (body: string) => boolean): Promise<string> {
  let body = '';
  for (let i = 0; i < 200; i++) {
    body = await scrape(url).catch(() => '');
    if (pred(body)) return body;
    await sleep(50);
  }
  return body;
}

class ScriptedProm implements PromQueryClient {
  readonly baseUrl = 'http://prometheus.test';
  async query(expr: string): Promise<InstantSample[]> {
    return expr.includes('api_requests_total') ? [{ labels: {}, value: 0.995 }] : [];
  }
}

/** Every state file reads back through its own schema; the lock is gone after a clean stop. */
async function expectValidState(dir: string, log: AccessLog, mergedCount: number): Promise<void> {
  const state = join(dir, 'state');
  const checkpoint = loadCheckpoint(join(state, 'apilogs-checkpoint.json'))!;
  expect(checkpoint.files.find((f) => f.service === 'topups-api')?.offset).toBe(readFileSync(log.file).length);
  // Bitbucket's loader warns (and moves the file aside) when the file fails its schema.
  const out = new PassThrough();
  let warned = '';
  out.on('data', (d: Buffer) => (warned += d.toString()));
  await loadState(state, 'another scope', [], [], createLogger({ destination: out }));
  expect(warned).toContain('belongs to another Bitbucket');
  expect(warned).not.toContain('not valid');
  const saved = JSON.parse(readFileSync(join(state, STATE_FILE_NAME), 'utf8')) as { repos: Record<string, { pullRequests: { merged: number } }> };
  expect(saved.repos.api!.pullRequests.merged).toBe(mergedCount);
  expect(existsSync(join(state, LOCK_FILE))).toBe(false);
}

const services: RunningService[] = [];
const children: ChildProcess[] = [];
let fake: FakeCloud | undefined;
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((ok) => c.once('exit', ok));
    }
  }
  await fake?.close();
  fake = undefined;
});

describe('two replicas on one state directory', () => {
  it('in one process: the standby waits without calling a source, then takes over from the checkpoints; counts and ledger rows once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ha-'));
    fake = await fakeBitbucket(NOW);
    const log = new AccessLog(join(dir, 'logs', 'topups.access.log'));
    log.append(10);
    writeFileSync(join(dir, 'okrs.yaml'), okrYaml(true));
    // Two loads of one file, as two processes would read it.
    const load = () => parseConfig(readFileSync(join(dir, 'okrs.yaml'), 'utf8'), join(dir, 'okrs.yaml'), { env: { BB_URL: fake!.url, BB_TOKEN: TOKEN } });
    const clock = ManualClock.at('2026-08-16T00:00:00Z');
    const opts = { host: '127.0.0.1', port: 0, logger: silentLogger(), clock, prom: new ScriptedProm(), standby: true };

    const a = await startService(load(), opts);
    services.push(a);
    await a.activated;
    expect(a.active()).toBe(true);
    // The 5 merged before serve started are context: counting starts at 0.
    let body = await scrapeUntil(a.url, (b) => value(b, TOPUPS(200)) === log.count(200) && value(b, MERGED) === '0');
    expect(value(body, 'okr_metrics_active')).toBe('1');
    await a.engine!.runOnce();

    const b = await startService(load(), opts);
    services.push(b);
    const calls = fake.requests.length;
    const ledgerFile = join(dir, 'state', 'ledger.sqlite');
    // A few of the standby's lock attempts (every third of the 0.6 s lease).
    await sleep(400);
    expect(b.active()).toBe(false);
    body = await scrape(b.url);
    expect(value(body, 'okr_metrics_active')).toBe('0');
    expect(body).toMatch(/^okr_metrics_build_info\{/m);
    expect(body).not.toMatch(/^(api_|bitbucket_|okr_source_|okr_key_result)/m);
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${b.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, role: 'standby', sources: [] }]);
    expect((await fetch(`${b.url}/report`)).status).toBe(503);
    expect(fake.requests.length).toBe(calls);
    // No engine, so no ledger opened: both are created only once the lock is ours.
    expect(b.engine).toBeUndefined();

    // More traffic and merges; the active one stops with lines it may not have read yet.
    log.append(7);
    fake.fixture.repos[0]!.pullRequests.push(...mergedAt(6, 7, NOW));
    await scrapeUntil(a.url, (x) => value(x, TOPUPS(200)) === log.count(200));
    log.append(4);
    await a.stop();
    services.splice(services.indexOf(a), 1);

    await Promise.race([b.activated, sleep(5_000).then(() => Promise.reject(new Error('the standby did not take over within 5 s')))]);
    expect(b.active()).toBe(true);
    body = await scrapeUntil(b.url, (x) => value(x, TOPUPS(200)) === log.count(200) && value(x, TOPUPS(503)) === log.count(503) && value(x, MERGED) === '2');
    expect(value(body, 'okr_metrics_active')).toBe('1');
    expect(value(body, TOPUPS(200))).toBe(log.count(200));
    expect(value(body, TOPUPS(503))).toBe(log.count(503));
    expect(value(body, 'api_log_lines_total{service="topups-api",result="parsed"}')).toBe(String(log.codes.length));
    expect(value(body, MERGED)).toBe(mergedSince(fake, NOW));

    // The new active one evaluates the same period again: the ledger row stays the first one's.
    const rowsBefore = new Ledger(ledgerFile);
    const first = rowsBefore.rows();
    rowsBefore.close();
    await b.engine!.runOnce();
    await b.engine!.runOnce();
    await b.stop();
    services.splice(services.indexOf(b), 1);
    const ledger = new Ledger(ledgerFile);
    const rows = ledger.rows();
    ledger.close();
    // One row per key result and period (the previous quarter's, for its baseline, and this one's).
    expect(rows.map((r) => `${r.key_result}/${r.period}`)).toEqual(['availability/2026-Q2', 'availability/2026-Q3']);
    expect(rows).toEqual(first);
    await expectValidState(dir, log, 2);
  });

  it('two serve processes: SIGKILL the active one, the standby takes over at its next attempt; nothing doubled, nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ha-'));
    // The children run on the system clock: the fixture is dated from the same clock.
    const now = Date.now();
    fake = await fakeBitbucket(now);
    const log = new AccessLog(join(dir, 'logs', 'topups.access.log'));
    log.append(10);
    writeFileSync(join(dir, 'okrs.yaml'), okrYaml(false, '2s'));
    const serve = () => {
      const child = spawn(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--host', '127.0.0.1', '--port', '0', '--standby'], {
        env: { ...process.env, BB_URL: fake!.url, BB_TOKEN: TOKEN, OKR_METRICS_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const logged = () => stderr;
      const url = (async () => {
        for (let i = 0; i < 200; i++) {
          const port = /"port":(\d+).*"msg":"listening"/.exec(stderr)?.[1];
          if (port) return `http://127.0.0.1:${port}`;
          await sleep(50);
        }
        throw new Error(`serve did not listen: ${stderr}`);
      })();
      return { child, url, logged };
    };

    const a = serve();
    const aUrl = await a.url;
    let body = await scrapeUntil(aUrl, (x) => value(x, TOPUPS(200)) === log.count(200) && value(x, MERGED) === '0');
    expect(value(body, 'okr_metrics_active')).toBe('1');

    const b = serve();
    const bUrl = await b.url;
    const calls = fake.requests.length;
    await sleep(400);
    body = await scrape(bUrl);
    expect(value(body, 'okr_metrics_active')).toBe('0');
    expect(body).not.toMatch(/^(api_|bitbucket_)/m);
    expect(fake.requests.length).toBe(calls);

    // Lines counted and checkpointed, then more that the active one may have read but not
    // checkpointed when it is killed.
    log.append(9);
    await scrapeUntil(aUrl, (x) => value(x, TOPUPS(200)) === log.count(200));
    log.append(5);
    await sleep(30);
    a.child.kill('SIGKILL');
    await new Promise((ok) => a.child.once('exit', ok));
    const killedAt = performance.now();
    log.append(3);
    // Merged after the first process started (it counted from then on), on the children's clock.
    fake.fixture.repos[0]!.pullRequests.push(...mergedAt(6, 8, Date.now()));

    body = await scrapeUntil(bUrl, (x) => value(x, 'okr_metrics_active') === '1');
    const tookOverMs = performance.now() - killedAt;
    expect(value(body, 'okr_metrics_active'), `standby exit ${b.child.exitCode}: ${b.logged()}`).toBe('1');
    expect(b.logged()).toContain(`took over a stale lock of the state directory (process ${a.child.pid} is gone)`);
    body = await scrapeUntil(bUrl, (x) => value(x, TOPUPS(200)) === log.count(200) && value(x, TOPUPS(503)) === log.count(503) && value(x, MERGED) === '3');
    expect(value(body, TOPUPS(200))).toBe(log.count(200));
    expect(value(body, TOPUPS(503))).toBe(log.count(503));
    expect(value(body, 'api_log_lines_total{service="topups-api",result="parsed"}')).toBe(String(log.codes.length));
    expect(value(body, MERGED)).toBe(mergedSince(fake, now));
    // The lease is 2 s; a dead pid on this host is seen at the next attempt (a third of it).
    process.stderr.write(`high-availability: standby took over ${Math.round(tookOverMs)} ms after SIGKILL\n`);

    b.child.kill('SIGTERM');
    await new Promise((ok) => b.child.once('exit', ok));
    expect(b.child.exitCode).toBe(0);
    await expectValidState(dir, log, 3);
  });

  it('ledger writes are keyed by key result and period: a replayed or late write from the other replica is a no-op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ha-'));
    const text = `version: okr/v1
server: { state_dir: state }
objectives:
  - id: community
    title: Be seen
    key_results:
      - id: talks
        title: At least 6 talks
        measure: { promql: "sum(talks_total)", unit: count }
        target: ">= 6"
`;
    const loaded = parseConfig(text, join(dir, 'okrs.yaml'), { env: {} });
    const file = join(dir, 'state', 'ledger.sqlite');
    /** A replica: its own connection to the shared ledger and its own view of Prometheus. */
    const replica = (talks: number) => {
      const ledger = new Ledger(file);
      const prom: PromQueryClient = {
        baseUrl: 'http://prometheus.test',
        query: async (expr) => (expr.includes('talks_total') ? [{ labels: {}, value: talks }] : []),
      };
      return { ledger, at: (iso: string) => new KrEngine({ loaded, prom, ledger, clock: ManualClock.at(iso) }).evaluateCurrent() };
    };
    const a = replica(5);
    const b = replica(7);
    await a.at('2026-09-30T23:50:00Z');
    const opened = a.ledger.get('talks', '2026-Q3')!;
    // B replays the opening: nothing changes (the first baseline and opened_at stay).
    await b.at('2026-09-30T23:55:00Z');
    expect(b.ledger.get('talks', '2026-Q3')).toEqual(opened);
    // B closes Q3 after the boundary; A, frozen meanwhile, wakes up and closes it again with its figures.
    await b.at('2026-10-01T00:10:00Z');
    await a.at('2026-10-01T00:20:00Z');
    const rows = a.ledger.rows();
    // The previous quarter is recorded for its baseline; every key result and period once.
    expect(rows.map((r) => `${r.key_result}/${r.period}`)).toEqual(['talks/2026-Q2', 'talks/2026-Q3', 'talks/2026-Q4']);
    expect(rows[1]).toMatchObject({ opened_at: opened.opened_at, final_value: 7, closed_at: Date.parse('2026-10-01T00:10:00Z') });
    a.ledger.close();
    b.ledger.close();
  });

  it('a holder that finds its lock taken over stops collecting and writes nothing more to the state directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ha-'));
    const log = new AccessLog(join(dir, 'logs', 'topups.access.log'));
    log.append(3);
    const text = okrYaml(false).replace(/ {2}bitbucket:[\s\S]*$/, '');
    const loaded = parseConfig(text, join(dir, 'okrs.yaml'), { env: {} });
    const out = new PassThrough();
    let logged = '';
    out.on('data', (d: Buffer) => (logged += d.toString()));
    let lost: string | undefined;
    const a = await startService(loaded, {
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ destination: out }),
      clock: ManualClock.at('2026-08-16T00:00:00Z'),
      onLockLost: (r) => (lost = r),
    });
    services.push(a);
    await scrapeUntil(a.url, (x) => value(x, TOPUPS(200)) === log.count(200));
    const checkpoint = join(dir, 'state', 'apilogs-checkpoint.json');
    await scrapeUntil(a.url, () => existsSync(checkpoint));
    // Another host's replica took the lock (this one was frozen past its lease, say).
    const other = JSON.stringify({
      pid: 1,
      host: 'okr-metrics-7f9c-abcde',
      started_at: '2026-08-16T00:00:00.000Z',
      command: 'okr-metrics serve',
      token: 'other',
      lease_seconds: 1,
      heartbeat: 0,
    });
    writeFileSync(join(dir, 'state', LOCK_FILE), other);
    for (let i = 0; i < 100 && lost === undefined; i++) await sleep(50);
    expect(lost).toBe('the lock was taken over by pid 1 on okr-metrics-7f9c-abcde, since 2026-08-16T00:00:00.000Z (okr-metrics serve)');
    expect(a.active()).toBe(false);
    const saved = readFileSync(checkpoint, 'utf8');
    log.append(5);
    const body = await scrape(a.url);
    expect(value(body, 'okr_metrics_active')).toBe('0');
    expect(body).not.toMatch(/^api_/m);
    await sleep(300);
    expect(readFileSync(checkpoint, 'utf8')).toBe(saved);
    // Stopping tried to save the checkpoint, and was refused.
    expect(logged).toMatch(/"err":"not writing .*apilogs-checkpoint.json: the lock was taken over.*"msg":"could not save apilogs checkpoint"/);
    await a.stop();
    services.splice(0);
    expect(readFileSync(join(dir, 'state', LOCK_FILE), 'utf8')).toBe(other);
  });

  it("a standby takes over another host's lock once it has seen no heartbeat for a lease, by its own clock", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ha-'));
    const loaded = parseConfig('version: okr/v1\nserver: { state_dir: state, lock_lease: 600ms }\n', join(dir, 'okrs.yaml'), { env: {} });
    mkdirSync(join(dir, 'state'));
    const lockFile = join(dir, 'state', LOCK_FILE);
    const other = (n: number) =>
      JSON.stringify({
        pid: 1,
        host: 'okr-metrics-7f9c-abcde',
        started_at: '2026-08-16T00:00:00.000Z',
        command: 'okr-metrics serve',
        token: 'other',
        lease_seconds: 0.6,
        heartbeat: n,
      });
    writeFileSync(lockFile, other(1));
    const clock = ManualClock.at('2026-08-16T00:00:00Z');
    const out = new PassThrough();
    let logged = '';
    out.on('data', (d: Buffer) => (logged += d.toString()));
    const b = await startService(loaded, { host: '127.0.0.1', port: 0, logger: createLogger({ destination: out }), clock, standby: true });
    services.push(b);
    // Attempts every 0.2 s of real time; the lease runs on the manual clock only.
    await sleep(300);
    clock.advance(500);
    writeFileSync(lockFile, other(2)); // the other host renews
    await sleep(300);
    clock.advance(500);
    await sleep(300);
    // A slow machine only sees the renewal later: still less stale, never more.
    expect(b.active()).toBe(false);
    for (let i = 0; i < 50 && !b.active(); i++) {
      clock.advance(200);
      await sleep(100);
    }
    expect(b.active()).toBe(true);
    const quiet = /took over a stale lock of the state directory \(no heartbeat for ([\d.]+) s, longer than its lease of 0\.6 s\)/.exec(logged)?.[1];
    expect(Number(quiet)).toBeGreaterThanOrEqual(0.6);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, lease_seconds: 0.6 });
  });
});
