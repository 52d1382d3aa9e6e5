/**
 * Building and checking snapshots. Collectors build families with these helpers; the runner
 * validates every snapshot before caching it, so a collector returning garbage can never
 * break the exposition format or another source's series.
 */
import type { Labels, MetricFamily, MetricType, Sample, Snapshot } from './source.js';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function family(name: string, help: string, type: MetricType, samples: Sample[] = []): MetricFamily {
  return { name, help, type, samples };
}

/** Histogram samples (`_bucket` per le including +Inf, `_sum`, `_count`) from per-bucket counts. */
export function histogramSamples(labels: Labels, upperBounds: readonly number[], bucketCounts: ArrayLike<number>, sum: number): Sample[] {
  // bucketCounts[i] counts observations in (upperBounds[i-1], upperBounds[i]]; the last slot is +Inf.
  const out: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < upperBounds.length; i++) {
    cumulative += bucketCounts[i] ?? 0;
    out.push({ suffix: '_bucket', labels: { ...labels, le: String(upperBounds[i]!) }, value: cumulative });
  }
  cumulative += bucketCounts[upperBounds.length] ?? 0;
  out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: cumulative });
  out.push({ suffix: '_sum', labels, value: sum });
  out.push({ suffix: '_count', labels, value: cumulative });
  return out;
}

/** Why a snapshot is unusable, or undefined when it is fine. */
export function snapshotProblem(snapshot: unknown): string | undefined {
  if (!Array.isArray(snapshot)) return `expected an array of metric families, got ${typeof snapshot}`;
  const names = new Set<string>();
  for (const f of snapshot as unknown[]) {
    if (f === null || typeof f !== 'object') return 'a metric family is not an object';
    const fam = f as Partial<MetricFamily>;
    if (typeof fam.name !== 'string' || !METRIC_NAME_RE.test(fam.name)) return `invalid metric name ${JSON.stringify(fam.name)}`;
    if (names.has(fam.name)) return `metric family ${fam.name} appears twice`;
    names.add(fam.name);
    if (typeof fam.help !== 'string') return `${fam.name}: help must be a string`;
    if (fam.type !== 'gauge' && fam.type !== 'counter' && fam.type !== 'histogram') return `${fam.name}: unknown type ${String(fam.type)}`;
    if (!Array.isArray(fam.samples)) return `${fam.name}: samples must be an array`;
    const seen = new Set<string>();
    for (const s of fam.samples as unknown[]) {
      const sample = s as Partial<Sample> | null;
      if (!sample || typeof sample !== 'object') return `${fam.name}: a sample is not an object`;
      if (typeof sample.value !== 'number') return `${fam.name}: sample value is ${typeof sample.value}, not a number`;
      if (fam.type === 'counter' && (sample.value < 0 || Number.isNaN(sample.value))) return `${fam.name}: counter value ${sample.value} is negative or NaN`;
      if (sample.suffix !== undefined && (fam.type !== 'histogram' || !['_bucket', '_sum', '_count'].includes(sample.suffix)))
        return `${fam.name}: unexpected sample suffix ${String(sample.suffix)}`;
      if (!sample.labels || typeof sample.labels !== 'object') return `${fam.name}: sample labels must be an object`;
      for (const [k, v] of Object.entries(sample.labels)) {
        if (!LABEL_NAME_RE.test(k) || k.startsWith('__')) return `${fam.name}: invalid label name ${JSON.stringify(k)}`;
        if (typeof v !== 'string') return `${fam.name}: label ${k} has a non-string value`;
      }
      const key = `${sample.suffix ?? ''}${JSON.stringify(Object.entries(sample.labels).sort())}`;
      if (seen.has(key)) return `${fam.name}: duplicate series ${key}`;
      seen.add(key);
    }
  }
  return undefined;
}

/** Combine snapshots whose families may share names (samples are concatenated). */
export function mergeSnapshots(...parts: Snapshot[]): Snapshot {
  const byName = new Map<string, MetricFamily>();
  for (const part of parts) {
    for (const f of part) {
      const existing = byName.get(f.name);
      if (existing) existing.samples.push(...f.samples);
      else byName.set(f.name, { ...f, samples: [...f.samples] });
    }
  }
  return [...byName.values()];
}
