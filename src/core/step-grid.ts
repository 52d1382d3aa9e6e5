/**
 * The fixed time grid every backfilled series is sampled on. Steps are aligned to the Unix
 * epoch (as Prometheus aligns range-query steps), so two runs over overlapping ranges put their
 * samples at the same instants, and a sample at grid time t shows the source as it was at t
 * (events at or before t).
 */
import { durationSeconds } from './config-primitives.js';

export interface StepGrid {
  stepMs: number;
  /** First and last grid instant of the run, Unix ms, both inclusive. */
  firstMs: number;
  lastMs: number;
}

export function parseStep(text: string): number {
  const ms = Math.round(durationSeconds(text) * 1000);
  if (!(ms >= 1000)) throw new Error(`--step ${text}: must be a duration of at least 1s, e.g. 5m`);
  return ms;
}

/** The grid instants within [fromMs, toMs). */
export function stepGrid(fromMs: number, toMs: number, stepMs: number): StepGrid {
  const firstMs = ceilToStep(fromMs, stepMs);
  const lastMs = ceilToStep(toMs, stepMs) - stepMs;
  return { stepMs, firstMs, lastMs };
}

/** The first grid instant at or after `ms`: the first sample that sees an event at `ms`. */
export function ceilToStep(ms: number, stepMs: number): number {
  return Math.ceil(ms / stepMs) * stepMs;
}

export interface GridChunk {
  /** `YYYY-MM` (UTC): the file name of the chunk. */
  name: string;
  firstMs: number;
  lastMs: number;
}

/** The grid cut at UTC month boundaries: one OpenMetrics file and one set of blocks each. */
export function monthChunks(grid: StepGrid): GridChunk[] {
  const out: GridChunk[] = [];
  let t = grid.firstMs;
  while (t <= grid.lastMs) {
    const d = new Date(t);
    const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    const last = Math.min(grid.lastMs, ceilToStep(next, grid.stepMs) - grid.stepMs);
    out.push({ name: `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`, firstMs: t, lastMs: last });
    t = last + grid.stepMs;
  }
  return out;
}
