/**
 * The one HTTP client every SaaS collector uses (Node's fetch underneath): auth headers,
 * bounded concurrency, `429` + `Retry-After` and 5xx backoff, a request budget per hour and the
 * APIs' own rate-limit headers (it pauses when they say little is left), request counting for
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
  /**
   * A 429 without Retry-After is taken as this Retry-After. Undefined: retried with the usual
   * short backoff. APIs with hourly limits (Bitbucket Cloud) set it: retrying within seconds
   * only spends more of the hour, and every other request of the refresh would run into it too.
   */
  missingRetryAfterSeconds?: number;
  /** Setting to name when the credentials are refused, e.g. "sources.jira.api_token". */
  credentialSetting?: string;
  /**
   * Most requests sent in any rolling hour (retries included), spread over refreshes: see
   * `requestBudget`. Undefined: no budget of our own (the API's headers are still honoured).
   */
  budget?: RequestBudget;
  /** Setting to name when the budget holds requests back, e.g. "sources.bitbucket.max_requests_per_hour". */
  budgetSetting?: string;
  /** Reads "now" for Retry-After, rate-limit resets and the budget. */
  clock: Clock;
  /** Replaceable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/**
 * A request budget as a token bucket: `burst` requests at once, refilled at `refillPerHour`.
 * Any window of an hour then holds at most burst + refillPerHour requests: `requestBudget`
 * makes that sum the hourly figure, so a provider's rolling-hour limit is never passed, and the
 * burst is one refresh's share, so the hour is spread over the refreshes instead of spent by the
 * first of them.
 */
export interface RequestBudget {
  perHour: number;
  burst: number;
  refillPerHour: number;
}

/**
 * The budget for at most `perHour` requests in any rolling hour when a refresh runs every
 * `intervalSeconds`: a refresh may spend what one interval earns (perHour · I / (3600 + I)), and
 * the bucket refills the rest over the hour. Undefined for 0 (no budget).
 */
export function requestBudget(perHour: number, intervalSeconds: number): RequestBudget | undefined {
  if (perHour <= 0) return undefined;
  const burst = Math.max(1, Math.floor((perHour * intervalSeconds) / (3600 + intervalSeconds)));
  return { perHour, burst, refillPerHour: Math.max(0, perHour - burst) };
}

/**
 * A request the client did not send: the budget is spent, or the API said (429, or rate-limit
 * headers showing little left) to wait longer than the client waits. Reason `rate_limited`;
 * counted as okr_source_requests_total{status="rate_limited"}. Collectors keep the last values
 * of what it stopped and try again next refresh.
 */
export class HeldBackError extends SourceError {
  constructor(message: string) {
    super('rate_limited', message);
    this.name = 'HeldBackError';
  }
}

/** Below this share of its limit left, an API's rate-limit headers make the client pause. */
const LOW_SHARE = 0.1;
/** How long to pause when the headers say little is left but not when it refills. */
const DEFAULT_PAUSE_SECONDS = 60;
/** Longest pause a reset header may ask for (a wrong clock must not stop a source for a day). */
const MAX_PAUSE_SECONDS = 3600;

/** One key=value parameter of a structured RateLimit header (`"default";r=17;t=2107`). */
function structuredParam(value: string, key: string): number | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}=(\\d+(?:\\.\\d+)?)`).exec(value);
  return m ? Number(m[1]) : undefined;
}

/** Seconds from now to a reset header: delta seconds, epoch seconds, or an ISO/HTTP date. */
function resetSeconds(v: string | null, now: number): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    // Epoch seconds (Jira has been seen to send them) are far larger than any delta.
    return n > 1e9 ? Math.max(0, n - now / 1000) : n;
  }
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/**
 * What an answer's rate-limit headers say when little is left: how long to pause and why.
 * Read: `X-RateLimit-NearLimit: true` (Jira Cloud and Bitbucket Cloud access tokens: under 20 %
 * left), `X-RateLimit-Remaining` of `X-RateLimit-Limit` (Jira Cloud and Data Center),
 * `RateLimit-Remaining`/`RateLimit-Limit`/`RateLimit-Reset` (IETF draft), the structured
 * `RateLimit: "policy";r=..;t=..` with `RateLimit-Policy: ..;q=..` (and Atlassian's `Beta-`
 * forms), and the reset in `Retry-After`, `X-RateLimit-Reset` or `RateLimit-Reset`.
 * Undefined when there is plenty left (or no header).
 */
export function lowRateLimit(headers: Headers, now: number): { pauseSeconds: number; why: string } | undefined {
  const num = (name: string) => {
    const v = headers.get(name);
    return v !== null && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : undefined;
  };
  let remaining = num('x-ratelimit-remaining') ?? num('ratelimit-remaining');
  let limit = num('x-ratelimit-limit') ?? num('ratelimit-limit');
  let reset =
    resetSeconds(headers.get('retry-after'), now) ?? resetSeconds(headers.get('x-ratelimit-reset'), now) ?? resetSeconds(headers.get('ratelimit-reset'), now);
  for (const prefix of ['', 'beta-']) {
    const structured = headers.get(`${prefix}ratelimit`);
    if (structured === null || remaining !== undefined) continue;
    remaining = structuredParam(structured, 'r');
    reset ??= structuredParam(structured, 't');
    limit ??= structuredParam(headers.get(`${prefix}ratelimit-policy`) ?? '', 'q');
  }
  const near = /^\s*true\s*$/i.test(headers.get('x-ratelimit-nearlimit') ?? '');
  const low = remaining !== undefined && remaining <= Math.max(1, limit !== undefined ? Math.ceil(limit * LOW_SHARE) : 1);
  if (!near && !low) return undefined;
  const why = low
    ? `${remaining}${limit !== undefined ? ` of ${limit}` : ''} requests left`
    : 'the API says its rate limit is nearly used up (X-RateLimit-NearLimit)';
  return { pauseSeconds: Math.min(MAX_PAUSE_SECONDS, reset ?? DEFAULT_PAUSE_SECONDS), why };
}

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
  /** Budget tokens left and when they were last refilled (clock ms). */
  private tokens: number;
  private refilledAt: number;
  /** Until when (clock ms) the API asked us to pause, and why. */
  private pausedUntil = 0;
  private pauseWhy = '';

  constructor(private readonly opts: HttpClientOptions) {
    this.limit = pLimit(opts.maxConcurrency ?? 4);
    this.tokens = opts.budget?.burst ?? Number.POSITIVE_INFINITY;
    this.refilledAt = opts.clock.now();
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

  /**
   * Requests the budget allows right now (Infinity without a budget), so a collector can plan
   * a refresh: start the work it can finish, leave the rest for the next one.
   */
  requestsAvailable(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  private refill(): void {
    const b = this.opts.budget;
    if (!b) return;
    const now = this.opts.clock.now();
    if (now > this.refilledAt) this.tokens = Math.min(b.burst, this.tokens + ((now - this.refilledAt) / 3_600_000) * b.refillPerHour);
    this.refilledAt = Math.max(this.refilledAt, now);
  }

  /**
   * Before an attempt: wait out a short pause the API asked for, then take a budget token.
   * Throws HeldBackError (and counts the request as held back) when either says no.
   */
  private async admit(ctx: CollectContext, url: URL, method: string, progress: { retrying(error: string, detail?: string): void } | undefined): Promise<void> {
    const sleep = this.opts.sleep ?? abortableSleep;
    const where = `${this.opts.source}: ${method} ${url.pathname}`;
    const waitMs = this.pausedUntil - this.opts.clock.now();
    if (waitMs > 0) {
      if (waitMs > (this.opts.maxRetryAfterSeconds ?? 120) * 1000) {
        ctx.countRequest('rate_limited');
        throw new HeldBackError(`${where} held back: ${this.pauseWhy}; pausing ${Math.ceil(waitMs / 1000)} s, what it did not read keeps its last values`);
      }
      progress?.retrying('rate limit', `${this.pauseWhy}, pausing ${Math.ceil(waitMs / 1000)} s`);
      await sleep(waitMs + (this.opts.random ?? Math.random)() * 250, ctx.signal);
    }
    if (!this.opts.budget) return;
    this.refill();
    if (this.tokens < 1) {
      ctx.countRequest('rate_limited');
      const b = this.opts.budget;
      throw new HeldBackError(
        `${where} held back: the request budget of ${b.perHour} an hour (${this.opts.budgetSetting ?? 'max_requests_per_hour'}) is spent for now; what it did not read keeps its last values and is read in a later refresh`,
      );
    }
    this.tokens -= 1;
  }

  /**
   * Remember a pause the answer asks for (the longest one wins), so the other requests of the
   * collection wait too instead of each running into the limit: a 429's Retry-After, or headers
   * saying little is left.
   */
  private notePause(res: Response): void {
    const now = this.opts.clock.now();
    const after = res.status === 429 ? this.retryAfter(res, now) : undefined;
    const low =
      after !== undefined ? { pauseSeconds: Math.min(MAX_PAUSE_SECONDS, after), why: `the API answered ${statusLine(429)}` } : lowRateLimit(res.headers, now);
    if (!low) return;
    const until = now + low.pauseSeconds * 1000;
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      this.pauseWhy = low.why;
    }
  }

  /** Seconds a retryable answer asks to wait: its Retry-After, or for a 429 without one, `missingRetryAfterSeconds`. */
  private retryAfter(res: Response, now: number): number | undefined {
    return retryAfterSeconds(res.headers, now) ?? (res.status === 429 ? this.opts.missingRetryAfterSeconds : undefined);
  }

  /** A fetch function bound to a collection, for third-party clients (e.g. the `bitbucket` package). */
  fetchFor(ctx: CollectContext): typeof fetch {
    return (input: string | URL | Request, init?: RequestInit) => this.fetch(ctx, input instanceof Request ? input.url : input, init);
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
    /** The pause this request's own 429 set: already said, so admit() does not say it again. */
    let announced = -1;
    try {
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        await this.admit(ctx, url, method, announced === this.pausedUntil ? undefined : progress);
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
        this.notePause(res);
        if (!RETRYABLE.has(res.status) || attempt >= maxRetries) {
          outcome = res.ok ? undefined : statusLine(res.status);
          return res;
        }
        const after = this.retryAfter(res, this.opts.clock.now());
        if (after !== undefined && after > (this.opts.maxRetryAfterSeconds ?? 120)) {
          outcome = statusLine(res.status);
          return res;
        }
        await res.body?.cancel();
        progress?.retrying(statusLine(res.status), after !== undefined ? `Retry-After ${after}s` : undefined);
        if (res.status === 429 && after !== undefined) {
          // notePause() made it everyone's pause: admit() waits it out before the next attempt.
          announced = this.pausedUntil;
          ctx.logger.debug({ status: res.status, url: url.pathname, waitMs: after * 1000 }, 'retrying');
          continue;
        }
        const waitMs = after !== undefined ? after * 1000 + rnd() * 250 : backoffMs(attempt, rnd);
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
