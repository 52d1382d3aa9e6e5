/**
 * The Prometheus tools on this machine (Debian packages `prometheus`, `prometheus-alertmanager`):
 * finding them on the PATH, and running Prometheus and Alertmanager as plain child processes on
 * a loopback port with their own data directory, with a bounded readiness wait and a `stop()`
 * that ends them (SIGTERM, then SIGKILL after 5 s). The demo, the backfill (promtool) and the
 * integration tests use them the same way.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RunningProcess {
  url: string;
  port: number;
  dataDir: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** The absolute path of the executable `name` on the PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** `preferred` when it is free on `host`, else any free port; 0 means any. */
export async function portOr(preferred: number, host = '127.0.0.1'): Promise<number> {
  if (preferred === 0) return freePort();
  const free = await new Promise<boolean>((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(preferred, host, () => s.close(() => r(true)));
  });
  return free ? preferred : freePort();
}

const READY_TIMEOUT_MS = 20_000;

/**
 * `binary` with `args(port, dataDir)` on a loopback port, ready once `readyPath` answers 200
 * (Prometheus, Alertmanager and VictoriaMetrics all serve `/-/ready`).
 */
export async function startProcess(
  binary: string,
  args: (port: number, dataDir: string) => string[],
  opts: { dataDir?: string; port?: number; readyPath?: string },
): Promise<RunningProcess> {
  const port = opts.port ?? (await freePort());
  // A data directory we create is ours to remove; one the caller passes (backfilled blocks) is not.
  const ownDir = opts.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'okr-proc-')) : undefined;
  const dir = opts.dataDir ?? ownDir!;
  const proc = spawn(binary, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer) => {
    // The last 64 KiB is enough to explain a failure; a long demo must not grow without bound.
    log = (log + d.toString()).slice(-65_536);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
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
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${binary} exited with ${proc.exitCode}:\n${log}`);
      try {
        if ((await fetch(`${url}${opts.readyPath ?? '/-/ready'}`, { signal: AbortSignal.timeout(1000) })).ok) break;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) throw new Error(`${url} not ready after ${READY_TIMEOUT_MS} ms:\n${log.slice(-2000)}`);
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
  /** Default: a free port. */
  port?: number;
  args?: string[];
}

export async function startPrometheus(binary: string, opts: PrometheusOptions = {}): Promise<RunningProcess> {
  let configFile = opts.configFile;
  // A config directory we create is ours to remove when Prometheus stops (or fails to start).
  let configDir: string | undefined;
  if (configFile === undefined) {
    configDir = mkdtempSync(join(tmpdir(), 'okr-prom-'));
    configFile = join(configDir, 'prometheus.yml');
    writeFileSync(configFile, opts.config ?? 'global:\n  scrape_interval: 1m\n');
  }
  const file = configFile;
  const removeConfig = () => {
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  };
  const started = startProcess(
    binary,
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
    opts,
  );
  const proc = await started.catch((e: unknown) => {
    removeConfig();
    throw e;
  });
  return {
    ...proc,
    stop: async () => {
      await proc.stop();
      removeConfig();
    },
  };
}

export function startAlertmanager(binary: string, configFile: string, opts: { port?: number; dataDir?: string } = {}): Promise<RunningProcess> {
  return startProcess(
    binary,
    (port, dataDir) => [
      `--config.file=${configFile}`,
      `--storage.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: a single instance, and no port we did not choose.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    opts,
  );
}
