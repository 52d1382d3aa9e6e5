/**
 * Serving snapshots through a prom-client Registry. Snapshot families change shape between
 * refreshes (series appear and vanish), so each family is registered as a small metric
 * object whose `get()` reads the values prepared for the current scrape, and families that
 * disappear are unregistered. `get()` never throws: one throwing metric fails the whole scrape.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Registry, type Metric } from 'prom-client';
import type { MetricFamily, Snapshot } from '../core/source.js';
import { mergeSnapshots } from '../core/snapshot.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';

type Provider = () => Snapshot;
const gzipAsync = promisify(gzip);

interface PromValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

class FamilyMetric {
  readonly aggregator = 'sum' as const;
  current: MetricFamily;
  constructor(fam: MetricFamily) {
    this.current = fam;
  }
  get name(): string {
    return this.current.name;
  }
  get help(): string {
    return this.current.help;
  }
  get type(): string {
    return this.current.type;
  }
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: PromValue[] }> {
    const f = this.current;
    return {
      name: f.name,
      help: f.help,
      type: f.type,
      aggregator: 'sum',
      values: f.samples.map((s) => (s.suffix ? { value: s.value, labels: s.labels, metricName: f.name + s.suffix } : { value: s.value, labels: s.labels })),
    };
  }
  reset(): void {}
}

export class ExpositionRegistry {
  readonly registry: Registry;
  private readonly providers: Provider[] = [];
  private readonly families = new Map<string, FamilyMetric>();
  /** The last rendering (and its gzip, made when first asked for) and the data version it was made from. */
  private cached: { version: string; body: Promise<Buffer>; gzip?: Promise<Buffer> } | undefined;
  /** Names another registry serves beside this one (process metrics): never rendered twice. */
  private readonly reserved: ReadonlySet<string>;

  /** Problems already logged: each is logged once when it starts, not on every scrape. */
  private readonly logged = new Set<string>();

  constructor(
    registry = new Registry(),
    reserved: ReadonlySet<string> = new Set(),
    private readonly logger?: Logger,
  ) {
    this.registry = registry;
    this.reserved = reserved;
  }

  private warnOnce(message: string, cause: unknown): void {
    const text = `${message}: ${redact(cause instanceof Error ? cause.message : String(cause))}`;
    if (this.logged.has(text)) return;
    this.logged.add(text);
    this.logger?.warn(text);
  }

  /** A provider is called on every scrape; it must be cheap (it reads cached values). */
  addProvider(p: Provider): void {
    this.providers.push(p);
  }

  private sync(): void {
    const parts: Snapshot[] = [];
    for (const p of this.providers) {
      try {
        parts.push(p());
      } catch (e) {
        // A provider that throws contributes nothing this scrape; the rest still render.
        this.warnOnce('a metrics provider failed; its families are missing from this scrape', e);
      }
    }
    const merged = mergeSnapshots(...parts);
    const present = new Set<string>();
    for (const fam of merged) {
      if (this.reserved.has(fam.name)) continue;
      present.add(fam.name);
      const existing = this.families.get(fam.name);
      if (existing) existing.current = fam;
      else {
        const metric = new FamilyMetric(fam);
        try {
          this.registry.registerMetric(metric as unknown as Metric);
          this.families.set(fam.name, metric);
        } catch (e) {
          // Name already taken by a prom-client metric (e.g. default metrics): skip the family.
          this.warnOnce(`metric family ${fam.name} is not exported`, e);
        }
      }
    }
    for (const [name] of this.families) {
      if (!present.has(name)) {
        this.registry.removeSingleMetric(name);
        this.families.delete(name);
      }
    }
  }

  async metrics(): Promise<string> {
    this.sync();
    return this.registry.metrics();
  }

  /**
   * The rendering as bytes, made again only when `version` changed since the last one: a scrape
   * of unchanged data (the usual case: sources refresh every 15 s to 30 min) costs a buffer
   * write, and concurrent scrapes share one rendering.
   */
  rendered(version: string): Promise<Buffer> {
    if (this.cached?.version === version) return this.cached.body;
    const body = this.metrics().then((text) => Buffer.from(text, 'utf8'));
    const entry: { version: string; body: Promise<Buffer>; gzip?: Promise<Buffer> } = { version, body };
    this.cached = entry;
    body.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return body;
  }

  /** The same rendering gzipped (what Prometheus asks for), compressed once per version, off the event loop. */
  renderedGzip(version: string): Promise<Buffer> {
    const body = this.rendered(version);
    const entry = this.cached!;
    entry.gzip ??= body.then((b) => gzipAsync(b));
    return entry.gzip;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Prometheus text exposition of one snapshot (one-shot commands, golden files). */
export async function renderSnapshot(snapshot: Snapshot): Promise<string> {
  const reg = new ExpositionRegistry();
  reg.addProvider(() => snapshot);
  return reg.metrics();
}
