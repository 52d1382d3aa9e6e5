/**
 * Real Prometheus and Alertmanager (Debian packages) as plain child processes: temp data dir,
 * 127.0.0.1 and a free port, bounded readiness wait, killed by `stop()` (call it in afterAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireBinary } from '../support/binaries.js';

export interface RunningProcess {
  url: string;
  port: number;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function waitReady(url: string, proc: ChildProcess, output: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode}:\n${output()}`);
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${output()}`);
}

async function startProcess(binary: string, args: (port: number, dataDir: string) => string[]): Promise<RunningProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'okr-proc-'));
  const proc = spawn(requireBinary(binary), args(port, dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
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
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, proc, () => log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, port, output: () => log, stop };
}

export function startPrometheus(configFile: string): Promise<RunningProcess> {
  return startProcess('prometheus', (port, dataDir) => [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // Without this Prometheus holds back alerts that fire in its first seconds.
    '--rules.alert.resend-delay=1s',
    '--log.level=warn',
  ]);
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
