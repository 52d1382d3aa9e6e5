/**
 * Instant queries against a Prometheus-compatible HTTP API (Prometheus, Thanos Query, Mimir's
 * query frontend, VictoriaMetrics), for the KR engine, reports and the backfill's boundary check.
 */
import { z } from 'zod';
import type { LoadedConfig } from '../config/load-config.js';
import { isSecretHeader } from '../core/config-primitives.js';
import { redact, resolveSecret, Secret } from '../core/secrets.js';

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

export interface PrometheusClientOptions {
  /** Sent with every query; credentials as Secret, so they are scrubbed from every message. */
  headers?: Readonly<Record<string, string | Secret>>;
  timeoutMs?: number;
}

/** A sample's value: Prometheus writes numbers as strings ("NaN" and "+Inf" included). */
const SampleValue = z.tuple([z.number(), z.string()]);

/** The body of /api/v1/query, as far as the engine reads it (other keys, e.g. warnings, pass). */
const QueryResponse = z.object({
  status: z.enum(['success', 'error']),
  error: z.string().optional(),
  /** VictoriaMetrics cluster: some vmstorage nodes did not answer. */
  isPartial: z.boolean().optional(),
  data: z
    .discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('scalar'), result: SampleValue }),
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: SampleValue })) }),
      z.object({ resultType: z.literal('matrix'), result: z.unknown() }),
      z.object({ resultType: z.literal('string'), result: z.unknown() }),
    ])
    .optional(),
});

export class PrometheusClient implements PromQueryClient {
  private readonly headers: Readonly<Record<string, string | Secret>>;
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    opts: PrometheusClientOptions = {},
  ) {
    this.headers = opts.headers ?? {};
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    // Fail at start-up, not on every query, and without fetch's message (it quotes the value).
    for (const [name, value] of Object.entries(this.headers)) {
      try {
        new Headers().set(name, value instanceof Secret ? value.reveal() : value);
      } catch {
        throw new Error(
          `prometheus.headers: the value of ${name} holds characters an HTTP header cannot carry (a line break, a control or non-Latin-1 character)`,
        );
      }
    }
  }

  static fromConfig(loaded: LoadedConfig, urlOverride?: string): PrometheusClient {
    const p = loaded.config.prometheus;
    const ctx = { env: loaded.env, baseDir: loaded.baseDir };
    const headers: Record<string, string | Secret> = {};
    for (const [name, value] of Object.entries(p.headers ?? {})) {
      // Credential headers hold an ${ENV_VAR} reference until now (the loader keeps it unread).
      headers[name] = isSecretHeader(name) ? resolveSecret(p.headers!, name, ctx)! : value;
    }
    const bearer = resolveSecret(p, 'bearer_token', ctx);
    if (bearer) headers.authorization = new Secret(`Bearer ${bearer.reveal()}`);
    else if (p.basic_auth) {
      const pw = resolveSecret(p.basic_auth, 'password', ctx);
      const encoded = new Secret(Buffer.from(`${p.basic_auth.username}:${pw?.reveal() ?? ''}`).toString('base64'));
      headers.authorization = new Secret(`Basic ${encoded.reveal()}`);
    }
    return new PrometheusClient(urlOverride ?? p.url, { headers });
  }

  async query(expr: string, timeMs: number): Promise<InstantSample[]> {
    const url = new URL('api/v1/query', this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    // A figure from part of the data is a wrong figure (and a closing period freezes it): Thanos
    // Query and vmselect answer with what they have unless told not to. Prometheus ignores both.
    const body = new URLSearchParams({ query: expr, time: (timeMs / 1000).toFixed(3), partial_response: 'false', deny_partial_response: '1' });
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.headers)) headers.set(name, value instanceof Secret ? value.reveal() : value);
    headers.set('content-type', 'application/x-www-form-urlencoded');
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new Error(redact(`Prometheus at ${this.baseUrl} ${UNREACHABLE} (${cause}); set prometheus.url or --prometheus`));
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = QueryResponse.safeParse(json);
    if (parsed.success && parsed.data.status === 'success' && res.ok && parsed.data.data) {
      if (parsed.data.isPartial === true) throw new Error(redact(`Prometheus at ${this.baseUrl} answered from part of its data (isPartial); query: ${expr}`));
      const data = parsed.data.data;
      if (data.resultType === 'scalar') return [{ labels: {}, value: Number(data.result[1]) }];
      if (data.resultType === 'vector') return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
      throw new Error(`query returned a ${data.resultType}, expected an instant vector or scalar: ${expr}`);
    }
    if (parsed.success || res.status >= 400) {
      // A proxy in front of the store may answer in plain text; its first line says why.
      const why = parsed.success ? (parsed.data.error ?? 'no error text') : text.split('\n')[0]!.slice(0, 200) || 'no error text';
      throw new Error(redact(`Prometheus rejected the query (${res.status}): ${why}; query: ${expr}`));
    }
    throw new Error(
      redact(
        `Prometheus at ${this.baseUrl} answered with a body that is not the query API's (invalid_output): ${parsed.error.issues[0]?.message ?? ''}; query: ${expr}`,
      ),
    );
  }
}
