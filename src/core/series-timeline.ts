/**
 * What the live exporter would have served at each grid instant, kept as runs of equal values
 * per series. Sources hand over whole snapshots (the same `Snapshot` the live collectors
 * return, rendered by the same functions), so backfilled names, labels and values cannot drift
 * from the live ones. Slow-changing sources (sprints, analyses) cost one run per change, not
 * one sample per step.
 */
import type { Snapshot } from './source.js';
import { ceilToStep, type StepGrid } from './step-grid.js';

export interface SeriesRuns {
  /** Sample name as exposed (`_bucket`, `_total` included). */
  name: string;
  /** `k="v",...` in the order the live snapshot gives the labels. */
  labels: string;
  /** Runs as (first ms, last ms, value) triplets. */
  runs: Float64Array;
  count: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function labelsText(labels: Record<string, string>): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : ''}${k}="${escapeLabel(labels[k]!)}"`;
  return out;
}

export class SeriesTimeline {
  private readonly series = new Map<string, SeriesRuns>();
  /** Family help by sample name, from the live families. */
  readonly help = new Map<string, string>();

  constructor(readonly grid: StepGrid) {}

  /** `snapshot` as served at every grid instant in [fromMs, toMs] (clipped to the grid). */
  hold(fromMs: number, toMs: number, snapshot: Snapshot): void {
    const { stepMs, firstMs, lastMs } = this.grid;
    const from = Math.max(fromMs, firstMs);
    const to = Math.min(toMs, lastMs);
    if (to < from) return;
    for (const f of snapshot) {
      for (const s of f.samples) {
        const name = f.name + (s.suffix ?? '');
        if (!this.help.has(name)) this.help.set(name, f.help);
        const labels = labelsText(s.labels);
        const key = `${name}\u0000${labels}`;
        let r = this.series.get(key);
        if (!r) this.series.set(key, (r = { name, labels, runs: new Float64Array(12), count: 0 }));
        append(r, from, to, s.value, stepMs);
      }
    }
  }

  record(atMs: number, snapshot: Snapshot): void {
    this.hold(atMs, atMs, snapshot);
  }

  /**
   * For sources whose state changes only at known instants (a sprint closing, an analysis):
   * `snapshotAt(t)` is taken at the grid's first instant and at the first grid instant at or
   * after each change inside the grid, oldest first (so it may fold events as it goes), and
   * held until the next one.
   */
  holdFromChanges(changesMs: Iterable<number>, snapshotAt: (t: number) => Snapshot): void {
    const { firstMs, lastMs, stepMs } = this.grid;
    const due = new Set<number>([firstMs]);
    for (const c of changesMs) due.add(ceilToStep(c, stepMs));
    const instants = [...due].filter((t) => t >= firstMs && t <= lastMs).sort((a, b) => a - b);
    for (let k = 0; k < instants.length; k++) {
      const t = instants[k]!;
      this.hold(t, k + 1 < instants.length ? instants[k + 1]! - stepMs : lastMs, snapshotAt(t));
    }
  }

  /** Series sorted by sample name, then labels: the file order, stable across runs. */
  sorted(): SeriesRuns[] {
    return [...this.series.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.labels, b.labels));
  }

  get samples(): number {
    let n = 0;
    for (const r of this.series.values()) for (let i = 0; i < r.count; i++) n += (r.runs[i * 3 + 1]! - r.runs[i * 3]!) / this.grid.stepMs + 1;
    return n;
  }
}

function append(r: SeriesRuns, from: number, to: number, value: number, stepMs: number): void {
  const n = r.count;
  if (n > 0) {
    const lastTo = r.runs[(n - 1) * 3 + 1]!;
    if (from <= lastTo)
      throw new Error(`backfill: ${r.name}{${r.labels}} recorded out of time order (${new Date(from).toISOString()} after ${new Date(lastTo).toISOString()})`);
    if (from === lastTo + stepMs && Object.is(r.runs[(n - 1) * 3 + 2], value)) {
      r.runs[(n - 1) * 3 + 1] = to;
      return;
    }
  }
  if ((n + 1) * 3 > r.runs.length) {
    const b = new Float64Array(r.runs.length * 2);
    b.set(r.runs);
    r.runs = b;
  }
  r.runs[n * 3] = from;
  r.runs[n * 3 + 1] = to;
  r.runs[n * 3 + 2] = value;
  r.count = n + 1;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
