/**
 * What the two Bitbucket Cloud API classes (cloud-client.ts: pull requests, pipelines, Code
 * Insights; deployments-client.ts: environments and deployments) share about the `bitbucket`
 * npm client: loading it, one client per collection with its requests through HttpClient, and
 * turning the library's errors into SourceErrors that say what to fix.
 */
import { createRequire } from 'node:module';
import { redact } from '../../src/core/secrets.js';
import { SourceError, type CollectContext } from '../../src/core/source.js';
import { errorBodyMessage, reasonFor, type HttpClient } from '../../src/core/http-client.js';

type ClientClass<C> = new (options: { baseUrl: string; notice: boolean; request: { fetch: typeof fetch } }) => C;
let clientClass: ClientClass<unknown> | undefined;

// The package is a UMD/CJS bundle without an `exports` map (the named ESM import is
// undefined), and its typings pull in raw .ts sources that fail this project's strict
// `verbatimModuleSyntax` check even with skipLibCheck. So it is loaded through require and
// typed by each caller's small interface of what it calls. It is loaded on first use, not at
// import: requiring it takes ~0.1 s, which every `serve` would otherwise pay at start-up (the
// registry imports this module) even without a Bitbucket Cloud source.
function loadClientClass<C>(): ClientClass<C> {
  clientClass ??= (createRequire(import.meta.url)('bitbucket') as { Bitbucket: ClientClass<unknown> }).Bitbucket;
  return clientClass as ClientClass<C>;
}

/** What the library throws for an HTTP error answer (after HttpClient's retries). */
export interface LibraryHttpError {
  name: 'HTTPError';
  status: number;
  message: string;
  error?: unknown;
  request?: { method?: string; url?: string };
}

export function isLibraryHttpError(e: unknown): e is LibraryHttpError {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'HTTPError' && typeof (e as { status?: unknown }).status === 'number';
}

/** Hints per status for an error message: the setting or the thing to check. */
export type StatusHints = Partial<Record<number, string>>;

/**
 * One `bitbucket` client per collection (building one costs ~70 ms: it registers every
 * endpoint), whose fetch is HttpClient's (auth header, concurrency, retries, request counts).
 */
export class CloudLibrary<C> {
  private readonly clients = new WeakMap<CollectContext, { bb: C; thrown: Map<string, unknown> }>();

  constructor(
    private readonly http: HttpClient,
    private readonly baseUrl: string,
    private readonly hints: StatusHints,
  ) {}

  private clientFor(ctx: CollectContext): { bb: C; thrown: Map<string, unknown> } {
    const existing = this.clients.get(ctx);
    if (existing) return existing;
    // What fetch threw (network failure after retries, abort), by URL: the library re-wraps
    // it as a bare HTTPError 500, and the original says more.
    const thrown = new Map<string, unknown>();
    const viaHttpClient = this.http.fetchFor(ctx);
    const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
      try {
        return await viaHttpClient(input, init);
      } catch (e) {
        thrown.set(input instanceof Request ? input.url : String(input), e);
        throw e;
      }
    }) as typeof fetch;
    const Client = loadClientClass<C>();
    const entry = { bb: new Client({ baseUrl: this.baseUrl, notice: false, request: { fetch: fetchFn } }), thrown };
    this.clients.set(ctx, entry);
    return entry;
  }

  /** Run `fn` with this collection's client; the library's HTTPError becomes a SourceError that says what to fix. */
  async call<T>(ctx: CollectContext, fn: (bb: C) => Promise<T>): Promise<T> {
    const { bb, thrown } = this.clientFor(ctx);
    try {
      return await fn(bb);
    } catch (e) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (!isLibraryHttpError(e)) throw e;
      const original = e.request?.url !== undefined ? thrown.get(e.request.url) : undefined;
      if (original instanceof Error) throw original;
      throw this.translate(e);
    }
  }

  private translate(e: LibraryHttpError): SourceError {
    let where = 'request';
    try {
      if (e.request?.url) where = `${e.request.method ?? 'GET'} ${new URL(e.request.url).pathname}`;
    } catch {
      // keep the generic wording
    }
    const detail = errorBodyMessage(e.error);
    const hint = this.hints[e.status] !== undefined ? `: ${this.hints[e.status]}` : '';
    return new SourceError(reasonFor(e.status), redact(`bitbucket: ${where} answered ${e.status}${hint}${detail ? ` (${detail})` : ''}`), e.status);
  }
}
