/**
 * The one HTTP client every SaaS collector uses (Node's fetch underneath): auth headers,
 * bounded concurrency, `429` + `Retry-After` and 5xx backoff, request counting for
 * okr_source_requests_total, and errors that say what to fix without echoing secrets.
 * Every JSON body is checked against the caller's zod schema: a 200 whose body is not what
 * the collector reads (a proxy's page, another API version) fails with `invalid_output`
 * instead of being read as "nothing", which would turn into zeros downstream.
 */
import { STATUS_CODES } from 'node:http';
import pLimit from 'p-limit';
import type { z } from 'zod';
import { schemaProblem } from './schema-problem.js';
import { redact, registerSecretValue, type Secret } from './secrets.js';
import type { ErrorReason } from './runner-metrics.js';
import { SourceError, type CollectContext } from './source.js';
import type { Clock } from './clock.js';

export type HttpAuth = { type: 'bearer'; token: Secret } | { type: 'basic'; username: string; password: Secret } | undefined;

export interface HttpClientOptions {
  source: string;
  /** Base URL; request paths are resolved against it (absolute URLs are used as they are). */
  baseUrl: string;
  auth?: HttpAuth;
  /** Most requests in flight at once (default 4). */
  maxConcurrency?: number;
  /** Retries after 429, 5xx or a network error (default 4). */
  maxRetries?: number;
  /** Per-request timeout (default 30 s); the collection's own timeout still applies. */
  requestTimeoutMs?: number;
  /** Longest Retry-After honoured; longer waits fail the collection (default 120 s). */
  maxRetryAfterSeconds?: number;
  /** Setting to name when the credentials are refused, e.g. "sources.jira.api_token". */
  credentialSetting?: string;
  /** Reads "now" for a Retry-After given as an HTTP date. */
  clock: Clock;
  /** Replaceable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** The reason an AbortSignal was aborted with, as an Error. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds to wait from a Retry-After header (delta-seconds or HTTP date), if present. */
function retryAfterSeconds(headers: Headers, now: number): number | undefined {
  const v = headers.get('retry-after');
  if (v === null || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/**
 * The human message inside an API error body, whatever its vendor:
 * Jira `{errorMessages, errors}`, SonarQube `{errors:[{msg}]}`,
 * Bitbucket Cloud `{error:{message}}`, Bitbucket DC `{errors:[{message}]}`.
 */
export function errorBodyMessage(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : undefined;
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  if (Array.isArray(b.errorMessages)) parts.push(...b.errorMessages.filter((m): m is string => typeof m === 'string'));
  if (b.errors && typeof b.errors === 'object' && !Array.isArray(b.errors))
    parts.push(...Object.entries(b.errors as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`));
  if (Array.isArray(b.errors))
    for (const e of b.errors) {
      const m = (e as { msg?: unknown; message?: unknown })?.msg ?? (e as { message?: unknown })?.message;
      if (typeof m === 'string') parts.push(m);
    }
  const err = b.error as { message?: unknown; detail?: unknown } | undefined;
  if (err && typeof err.message === 'string') parts.push(typeof err.detail === 'string' ? `${err.message} (${err.detail})` : err.message);
  if (typeof b.message === 'string') parts.push(b.message);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** `503 Service Unavailable`: the status with its standard reason phrase (HTTP/2 answers carry none). */
export function statusLine(status: number): string {
  const text = STATUS_CODES[status];
  return text ? `${status} ${text}` : String(status);
}

/**
 * `body` read through `schema`, or a SourceError `invalid_output` naming where it departs
 * (`where` is e.g. `jira: GET /rest/api/3/search/jql`). For clients that parse bodies
 * themselves (the `bitbucket` package); getJson uses it too.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, where: string, status = 200): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new SourceError('invalid_output', redact(`${where} answered ${status} with an unexpected body: ${schemaProblem(result.error)}`), status);
}

/** The okr_source_errors_total reason of an HTTP error status (also for clients that bypass getJson). */
export function reasonFor(status: number): ErrorReason {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 429) return 'rate_limited';
  return 'http';
}

export class HttpClient {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly authHeader: string | undefined;

  constructor(private readonly opts: HttpClientOptions) {
    this.limit = pLimit(opts.maxConcurrency ?? 4);
    const a = opts.auth;
    if (a?.type === 'bearer') this.authHeader = `Bearer ${a.token.reveal()}`;
    else if (a?.type === 'basic') this.authHeader = `Basic ${Buffer.from(`${a.username}:${a.password.reveal()}`).toString('base64')}`;
    if (this.authHeader) registerSecretValue(this.authHeader.split(' ')[1]!);
  }

  /**
   * GET a JSON document and read it through `schema` (the fields the caller uses). Throws a
   * SourceError on failure after retries, and `invalid_output` when the body does not match.
   */
  async getJson<S extends z.ZodType>(
    ctx: CollectContext,
    path: string,
    schema: S,
    query?: Record<string, string | number | boolean | undefined>,
  ): Promise<z.output<S>> {
    const url = this.url(path, query);
    const res = await this.fetch(ctx, url);
    const text = await res.text();
    if (!res.ok) throw this.errorFor(url, res.status, text);
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      throw new SourceError('http', `${this.opts.source}: GET ${url.pathname} answered ${res.status} with a body that is not JSON`, res.status);
    }
    return parseBody(schema, body, `${this.opts.source}: GET ${url.pathname}`, res.status);
  }

  /**
   * fetch with auth, concurrency limit, retries and counting. Returns the final response,
   * successful or not (non-retryable statuses come back as they are).
   */
  private fetch(ctx: CollectContext, url: URL | string, init: RequestInit = {}): Promise<Response> {
    return this.limit(() => this.fetchWithRetry(ctx, new URL(String(url)), init));
  }

  /** A fetch function bound to a collection, for third-party clients (e.g. the `bitbucket` package). */
  fetchFor(ctx: CollectContext): typeof fetch {
    return ((input: string | URL | Request, init?: RequestInit) =>
      this.fetch(ctx, input instanceof Request ? input.url : input, init));
  }

  private url(path: string, query?: Record<string, string | number | boolean | undefined>): URL {
    const base = this.opts.baseUrl.endsWith('/') ? this.opts.baseUrl : `${this.opts.baseUrl}/`;
    const u = /^https?:\/\//.test(path) ? new URL(path) : new URL(path.replace(/^\//, ''), base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  private async fetchWithRetry(ctx: CollectContext, url: URL, init: RequestInit): Promise<Response> {
    const maxRetries = this.opts.maxRetries ?? 4;
    const sleep = this.opts.sleep ?? abortableSleep;
    const rnd = this.opts.random ?? Math.random;
    const headers = new Headers(init.headers);
    headers.set('accept', 'application/json');
    if (this.authHeader && !headers.has('authorization')) headers.set('authorization', this.authHeader);
    const method = init.method ?? 'GET';
    const progress = ctx.activity?.begin(`${method} ${url.pathname}`);
    let outcome: string | undefined = 'aborted';
    try {
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        progress?.waiting();
        try {
          const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000)]);
          res = await fetch(url, { ...init, headers, signal });
        } catch (e) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          ctx.countRequest('network_error');
          const cause = redact(causeOf(e));
          if (attempt >= maxRetries) {
            outcome = cause;
            throw new SourceError('http', `${this.opts.source}: ${method} ${url.origin}${url.pathname} failed: ${cause}`);
          }
          progress?.retrying(cause);
          await sleep(backoffMs(attempt, rnd), ctx.signal);
          continue;
        }
        ctx.countRequest(res.status);
        if (!RETRYABLE.has(res.status) || attempt >= maxRetries) {
          outcome = res.ok ? undefined : statusLine(res.status);
          return res;
        }
        const after = retryAfterSeconds(res.headers, this.opts.clock.now());
        if (after !== undefined && after > (this.opts.maxRetryAfterSeconds ?? 120)) {
          outcome = statusLine(res.status);
          return res;
        }
        await res.body?.cancel();
        const waitMs = after !== undefined ? after * 1000 + rnd() * 250 : backoffMs(attempt, rnd);
        progress?.retrying(statusLine(res.status), after !== undefined ? `Retry-After ${after}s` : undefined);
        ctx.logger.debug({ status: res.status, url: url.pathname, waitMs }, 'retrying');
        await sleep(waitMs, ctx.signal);
      }
    } finally {
      progress?.end(outcome);
    }
  }

  private errorFor(url: URL, status: number, text: string): SourceError {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    const detail = errorBodyMessage(body);
    const where = `GET ${url.pathname}`;
    let hint = '';
    if (status === 401) hint = `: the credentials were refused; check ${this.opts.credentialSetting ?? 'the source credentials'}`;
    else if (status === 403) hint = `: the credentials lack permission; check what ${this.opts.credentialSetting ?? 'the token'} may access`;
    else if (status === 429) hint = ': rate limited, still after retries';
    const msg = `${this.opts.source}: ${where} answered ${status}${hint}${detail ? ` (${detail})` : ''}`;
    return new SourceError(reasonFor(status), redact(msg), status);
  }
}

function backoffMs(attempt: number, rnd: () => number): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + rnd());
}

function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
