/**
 * Real Prometheus (Debian package) as a child process on a free loopback port with a
 * temporary data directory, started and stopped by the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireBinary } from './binaries.js';

export interface PrometheusProcess {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
  logs(): string;
}

export async function waitFor(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

export async function startPrometheus(opts: { config?: string; dataDir?: string; args?: string[] } = {}): Promise<PrometheusProcess> {
  const bin = requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'okr-prom-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, opts.config ?? 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=10y',
      '--web.enable-lifecycle',
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let logs = '';
  child.stdout?.on('data', (c: Buffer) => (logs += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (logs += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  };
  try {
    await waitFor(`${url}/-/ready`);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${logs.slice(-2000)}`);
  }
  return { url, dataDir, stop, logs: () => logs };
}

/** `promtool tsdb create-blocks-from openmetrics` into `dataDir`. */
export function createBlocks(openMetricsFile: string, dataDir: string): void {
  const r = spawnSync(requireBinary('promtool'), ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=744h', openMetricsFile, dataDir], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`promtool create-blocks failed (${r.status}): ${r.stdout}${r.stderr}`.slice(0, 3000));
}
