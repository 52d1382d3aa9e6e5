/**
 * Serving snapshots through a prom-client Registry. Snapshot families change shape between
 * refreshes (series appear and vanish), so each family is registered as a small metric
 * object whose `get()` reads the values prepared for the current scrape, and families that
 * disappear are unregistered. `get()` never throws: one throwing metric fails the whole scrape.
 */
import { Registry, type Metric } from 'prom-client';
import type { MetricFamily, Snapshot } from '../core/source.js';
import { mergeSnapshots } from '../core/snapshot.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';

type Provider = () => Snapshot;

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

  /** Problems already logged: each is logged once when it starts, not on every scrape. */
  private readonly logged = new Set<string>();

  constructor(
    registry = new Registry(),
    private readonly logger?: Logger,
  ) {
    this.registry = registry;
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
