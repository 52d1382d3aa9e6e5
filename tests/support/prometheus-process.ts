/**
 * Real Prometheus and Alertmanager for tests: the shared launcher (src/prometheus-tools.ts),
 * with a missing binary as an error (call `stop()` in afterAll). Also the backfill step
 * (`promtool tsdb create-blocks-from openmetrics`) and the query helpers tests share.
 */
import { createBlocks as createBlocksWith } from '../../src/backfill/backfill-run.js';
import {
  startAlertmanager as startAlertmanagerWith,
  startPrometheus as startPrometheusWith,
  type PrometheusOptions,
  type RunningProcess,
} from '../../src/prometheus-tools.js';
import { requireBinary } from './binaries.js';

export type { PrometheusOptions, RunningProcess };
export type PrometheusProcess = RunningProcess;

export function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusProcess> {
  return startPrometheusWith(requireBinary('prometheus'), opts);
}

export function startAlertmanager(configFile: string): Promise<RunningProcess> {
  return startAlertmanagerWith(requireBinary('prometheus-alertmanager'), configFile);
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
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : ''}`,
  );
}
