/**
 * Real VictoriaMetrics for tests (Debian package `victoria-metrics`: the single-node server,
 * vmagent, vmalert), started like Prometheus (src/prometheus-tools.ts): a loopback port, its own
 * data directory, a bounded readiness wait, `stop()` in afterAll. Plus the two ways history gets
 * in: the backfill's OpenMetrics files posted to `/api/v1/import/prometheus`, and a flush so a
 * query right after an import sees it.
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { startProcess, type RunningProcess } from '../../src/prometheus-tools.js';
import { requireBinary } from './binaries.js';

export interface VictoriaMetricsOptions {
  dataDir?: string;
  port?: number;
  args?: string[];
}

/**
 * The single-node server. Retention is 100 years because the fixtures sit at fixed 2026 dates
 * (VictoriaMetrics drops samples outside it at ingestion, unlike promtool blocks), and the
 * response cache is off: history imported after a query must not be answered from a cached
 * result (the VictoriaMetrics docs advise the same while backfilling).
 */
export function startVictoriaMetrics(opts: VictoriaMetricsOptions = {}): Promise<RunningProcess> {
  return startProcess(
    requireBinary('victoria-metrics'),
    (port, dataDir) => [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dataDir}`,
      '-retentionPeriod=100y',
      '-search.disableCache',
      '-loggerLevel=WARN',
      ...(opts.args ?? []),
    ],
    opts,
  );
}

/** Make everything ingested so far searchable now (instead of within about a second). */
export async function forceFlush(url: string): Promise<void> {
  const r = await fetch(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`force_flush: ${r.status}`);
}

/**
 * Post an OpenMetrics file written by `okr-metrics backfill` (timestamps in seconds) as it is:
 * the Prometheus text import reads timestamps below 2^31 as seconds.
 */
export async function importOpenMetrics(url: string, file: string): Promise<void> {
  const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
  const r = await fetch(`${url}/api/v1/import/prometheus`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { 'content-type': 'text/plain', 'content-length': String(statSync(file).size) },
    signal: AbortSignal.timeout(60_000),
  });
  if (r.status !== 204) throw new Error(`import of ${file} into ${url}: ${r.status} ${await r.text()}`);
  await forceFlush(url);
}

export interface VmalertOptions {
  /** Rule files (globs allowed), as Prometheus' rule_files. */
  rules: string[];
  datasource: string;
  /** Where recording-rule results and alert state go (the store itself). */
  remoteWrite: string;
  /** An Alertmanager's base URL. */
  notifier: string;
  evaluationInterval: string;
}

/**
 * vmalert evaluating `rules` against `datasource`. Results are flushed every 500 ms instead of
 * 5 s so a test sees them within a second or two.
 */
export function startVmalert(o: VmalertOptions): Promise<RunningProcess> {
  return startProcess(
    requireBinary('vmalert'),
    (port) => [
      ...o.rules.map((r) => `-rule=${r}`),
      `-datasource.url=${o.datasource}`,
      `-remoteWrite.url=${o.remoteWrite}`,
      '-remoteWrite.flushInterval=500ms',
      `-notifier.url=${o.notifier}`,
      `-evaluationInterval=${o.evaluationInterval}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      '-loggerLevel=WARN',
    ],
    {},
  );
}
