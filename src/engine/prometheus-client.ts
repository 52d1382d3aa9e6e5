/** Instant queries against Prometheus's HTTP API, for the KR engine and reports. */
import type { LoadedConfig } from '../config/load-config.js';
import { redact, resolveSecret } from '../core/secrets.js';

export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

export interface PromQueryClient {
  /** Evaluate `expr` at `timeMs`; returns every series (a scalar becomes one unlabelled sample). */
  query(expr: string, timeMs: number): Promise<InstantSample[]>;
  readonly baseUrl: string;
}

/** In the error of a query that never reached Prometheus. */
export const UNREACHABLE = 'is unreachable';

export class PrometheusClient implements PromQueryClient {
  constructor(
    readonly baseUrl: string,
    private readonly authHeader?: string,
    private readonly timeoutMs = 30_000,
  ) {}

  static fromConfig(loaded: LoadedConfig, urlOverride?: string): PrometheusClient {
    const p = loaded.config.prometheus;
    const ctx = { env: loaded.env, baseDir: loaded.baseDir };
    const bearer = resolveSecret(p, 'bearer_token', ctx);
    let header: string | undefined;
    if (bearer) header = `Bearer ${bearer.reveal()}`;
    else if (p.basic_auth) {
      const pw = resolveSecret(p.basic_auth, 'password', ctx);
      header = `Basic ${Buffer.from(`${p.basic_auth.username}:${pw?.reveal() ?? ''}`).toString('base64')}`;
    }
    return new PrometheusClient(urlOverride ?? p.url, header);
  }

  async query(expr: string, timeMs: number): Promise<InstantSample[]> {
    const url = new URL('api/v1/query', this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    const body = new URLSearchParams({ query: expr, time: (timeMs / 1000).toFixed(3) });
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.authHeader ? { authorization: this.authHeader } : {}) },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new Error(`Prometheus at ${this.baseUrl} ${UNREACHABLE} (${cause}); set prometheus.url or --prometheus`);
    }
    const json = (await res.json().catch(() => ({}))) as {
      status?: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (!res.ok || json.status !== 'success' || !json.data) {
      throw new Error(redact(`Prometheus rejected the query (${res.status}): ${json.error ?? 'no error text'}; query: ${expr}`));
    }
    const { resultType, result } = json.data;
    if (resultType === 'scalar') {
      const [, v] = result as [number, string];
      return [{ labels: {}, value: Number(v) }];
    }
    if (resultType === 'vector') {
      return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    }
    throw new Error(`query returned a ${resultType}, expected an instant vector or scalar: ${expr}`);
  }
}
