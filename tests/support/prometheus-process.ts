/**
 * Real Prometheus and Alertmanager (Debian packages) as plain child processes on a free
 * loopback port with a data directory, a bounded readiness wait, killed by `stop()` (call it
 * in afterAll). Also the backfill step (`promtool tsdb create-blocks-from openmetrics`) and
 * the small query helpers integration tests share.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlocks as createBlocksWith } from '../../src/backfill/backfill-run.js';
import { freePort, requireBinary } from './binaries.js';

export interface RunningProcess {
  url: string;
  port: number;
  dataDir: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}
export type PrometheusProcess = RunningProcess;

async function startProcess(binary: string, args: (port: number, dataDir: string) => string[], dataDir?: string): Promise<RunningProcess> {
  const port = await freePort();
  // A data directory we create is ours to remove; one the caller passes (backfilled blocks) is not.
  const ownDir = dataDir === undefined ? mkdtempSync(join(tmpdir(), 'okr-proc-')) : undefined;
  const dir = dataDir ?? ownDir!;
  const proc = spawn(requireBinary(binary), args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${binary} exited with ${proc.exitCode}:\n${log}`);
      try {
        if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${url} not ready after 20000 ms:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, port, dataDir: dir, output: () => log, stop };
}

export interface PrometheusOptions {
  /** A config file to use, or `config` text to write to one (default: no scrapes). */
  configFile?: string;
  config?: string;
  /** Data directory, e.g. one holding backfilled blocks; default a temporary one. */
  dataDir?: string;
  args?: string[];
}

export function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusProcess> {
  let configFile = opts.configFile;
  if (configFile === undefined) {
    configFile = join(mkdtempSync(join(tmpdir(), 'okr-prom-')), 'prometheus.yml');
    writeFileSync(configFile, opts.config ?? 'global:\n  scrape_interval: 1m\n');
  }
  const file = configFile;
  return startProcess(
    'prometheus',
    (port, dataDir) => [
      `--config.file=${file}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled history is months old: keep it.
      '--storage.tsdb.retention.time=10y',
      // Without this Prometheus holds back alerts that fire in its first seconds.
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
      ...(opts.args ?? []),
    ],
    opts.dataDir,
  );
}

export function startAlertmanager(configFile: string): Promise<RunningProcess> {
  return startProcess('prometheus-alertmanager', (port, dataDir) => [
    `--config.file=${configFile}`,
    `--storage.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // No gossip: a single instance, and no port we did not choose.
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
}

/** The backfill's own block step (`promtool tsdb create-blocks-from openmetrics`) into `dataDir`. */
export function createBlocks(openMetricsFile: string, dataDir: string): Promise<void> {
  return createBlocksWith(requireBinary('promtool'), openMetricsFile, dataDir);
}

export interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; throws with Prometheus's error text when the query is invalid. */
export async function instantQuery(prometheusUrl: string, expr: string): Promise<PromVector[]> {
  const r = await fetch(`${prometheusUrl}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query: expr }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? r.status}`);
  const res = body.data!.result;
  if (body.data!.resultType === 'scalar') return [{ metric: {}, value: res as [number, string] }];
  return res as PromVector[];
}

/** Poll until `check` returns a value (not undefined), or fail after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
