/**
 * One service's counters, aggregated into flat arrays indexed by small integer keys
 * (route id, method id, status). Label objects are only built when a snapshot is rendered,
 * so counting a line allocates nothing.
 */
import { LABEL } from '../../src/core/labels.js';
import type { Sample } from '../../src/core/source.js';
import { histogramSamples } from '../../src/core/snapshot.js';
import { IntSlotMap } from './int-slot-map.js';
import { METHOD_NAMES, methodIdFromString } from './http-method.js';
import { emptyParsedRequest, type LineParser } from './parsed-request.js';
import { OVERFLOW_ROUTE_ID, type RouteTable } from './route-table.js';

const METHOD_SLOTS = 16;
const STATUS_SLOTS = 1024;

function grow(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class ServiceCounters {
  parsed = 0;
  malformed = 0;
  /** Requests counted under the overflow route because of the cap (their route had no label). */
  overflow = 0;
  bytesRead = 0;
  rotations = 0;
  filesWatched = 0;
  filesMissing = 0;

  private readonly out = emptyParsedRequest();
  private requestSlot = new IntSlotMap(256);
  private requestKeys: number[] = [];
  private requestCounts: Float64Array = new Float64Array(64);
  private seriesSlot = new IntSlotMap(64);
  private seriesKeys: number[] = [];
  private bucketCounts: Float64Array;
  private sums: Float64Array = new Float64Array(16);
  private readonly stride: number;

  constructor(
    readonly service: string,
    private readonly parser: LineParser,
    readonly routes: RouteTable,
    readonly buckets: readonly number[],
  ) {
    this.stride = buckets.length + 1;
    this.bucketCounts = new Float64Array(16 * this.stride);
    routes.onDrop = (ids) => this.dropRoutes(ids);
  }

  /**
   * The route cap took these routes' labels away for good: their rows go, or (one-shot) are
   * added to the overflow route's, so the totals still add up. Rare (at an epoch's end), so
   * the rows are simply rebuilt.
   */
  private dropRoutes(ids: readonly number[]): void {
    const drop = new Set(ids);
    const fold = this.routes.foldDropped;
    const moved = (rm: number) => (drop.has(Math.floor(rm / METHOD_SLOTS)) ? (fold ? OVERFLOW_ROUTE_ID * METHOD_SLOTS + (rm % METHOD_SLOTS) : -1) : rm);

    const keys = this.requestKeys;
    const counts = this.requestCounts;
    this.requestKeys = [];
    this.requestSlot = new IntSlotMap(Math.max(256, keys.length));
    this.requestCounts = new Float64Array(Math.max(64, keys.length));
    keys.forEach((key, slot) => {
      const status = key % STATUS_SLOTS;
      const rm = (key - status) / STATUS_SLOTS;
      const to = moved(rm);
      if (to < 0) return;
      if (to !== rm) this.overflow += counts[slot]!;
      const s = this.requestSlotFor(to * STATUS_SLOTS + status);
      this.requestCounts[s]! += counts[slot]!;
    });

    const series = this.seriesKeys;
    const buckets = this.bucketCounts;
    const sums = this.sums;
    this.seriesKeys = [];
    this.seriesSlot = new IntSlotMap(Math.max(64, series.length));
    this.bucketCounts = new Float64Array(Math.max(16, series.length) * this.stride);
    this.sums = new Float64Array(Math.max(16, series.length));
    series.forEach((rm, old) => {
      const to = moved(rm);
      if (to < 0) return;
      const n = this.seriesFor(to);
      for (let i = 0; i < this.stride; i++) this.bucketCounts[n * this.stride + i]! += buckets[old * this.stride + i]!;
      this.sums[n]! += sums[old]!;
    });
  }

  /** Count one line buf[start, end) (no newline); false when it is malformed. */
  line(buf: Buffer, start: number, end: number): boolean {
    const r = this.out;
    if (!this.parser.parse(buf, start, end, r)) {
      this.malformed++;
      return false;
    }
    this.parsed++;
    if (this.routes.overflowed) this.overflow++;
    const rm = r.routeId * METHOD_SLOTS + r.methodId;
    // Slot first: requestSlotFor may replace this.requestCounts with a grown copy.
    const slot = this.requestSlotFor(rm * STATUS_SLOTS + r.status);
    this.requestCounts[slot]!++;
    const d = r.duration;
    if (d !== d) return true; // NaN: the line logged no duration
    const series = this.seriesFor(rm);
    const b = this.buckets;
    let i = 0;
    while (i < b.length && d > b[i]!) i++;
    this.bucketCounts[series * this.stride + i]!++;
    this.sums[series]! += d;
    return true;
  }

  /** The counts in a plain, transferable form (labels by name), for merging across threads. */
  exportCounts(): ExportedCounts {
    return {
      parsed: this.parsed,
      malformed: this.malformed,
      overflow: this.overflow,
      bytesRead: this.bytesRead,
      requests: this.requestRows(),
      durations: this.seriesKeys.map((rm, series) => [
        this.routeName(rm),
        rm % METHOD_SLOTS,
        Array.from(this.bucketCounts.subarray(series * this.stride, (series + 1) * this.stride)),
        this.sums[series]!,
      ]),
    };
  }

  /** [route, method id, status, count] of every request slot, decoded from its key. */
  private requestRows(): ExportedCounts['requests'] {
    return this.requestKeys.map((key, slot) => {
      const status = key % STATUS_SLOTS;
      const rm = (key - status) / STATUS_SLOTS;
      return [this.routeName(rm), rm % METHOD_SLOTS, status, this.requestCounts[slot]!];
    });
  }

  /** Route label of a route × method key. */
  private routeName(rm: number): string {
    return this.routes.names[Math.floor(rm / METHOD_SLOTS)]!;
  }

  /**
   * Add counts exported by another ServiceCounters of the same service. Its routes go
   * through this table's cap after this table's own routes.
   */
  mergeCounts(x: ExportedCounts): void {
    this.parsed += x.parsed;
    this.malformed += x.malformed;
    this.overflow += x.overflow;
    this.bytesRead += x.bytesRead;
    const routeIds = new Map<string, number>();
    const routeId = (name: string) => {
      let id = routeIds.get(name);
      if (id === undefined) {
        id = this.routes.routeIdByName(name);
        routeIds.set(name, id);
      }
      return id;
    };
    for (const [name, methodId, status, count] of x.requests) {
      const id = routeId(name);
      // A route of theirs that no longer fits under our cap: newly folded into "other".
      if (id === OVERFLOW_ROUTE_ID && name !== this.routes.names[OVERFLOW_ROUTE_ID]) this.overflow += count;
      const slot = this.requestSlotFor((id * METHOD_SLOTS + methodId) * STATUS_SLOTS + status);
      this.requestCounts[slot]! += count;
    }
    for (const [name, methodId, buckets, sum] of x.durations) {
      const series = this.seriesFor(routeId(name) * METHOD_SLOTS + methodId);
      for (let i = 0; i < this.stride; i++) this.bucketCounts[series * this.stride + i]! += buckets[i] ?? 0;
      this.sums[series]! += sum;
    }
  }

  /**
   * The cumulative counts as the checkpoint keeps them (labels by name), so that a restarted
   * exporter continues its counters where they were instead of resetting them.
   */
  saveCounts(): SavedCounts {
    const x = this.exportCounts();
    return {
      parsed: x.parsed,
      malformed: x.malformed,
      overflow: x.overflow,
      bytes_read: x.bytesRead,
      rotations: this.rotations,
      buckets: [...this.buckets],
      requests: x.requests.map(([route, m, status, count]) => [route, METHOD_NAMES[m]!, status, count]),
      durations: x.durations.map(([route, m, buckets, sum]) => [route, METHOD_NAMES[m]!, buckets, sum]),
    };
  }

  /**
   * Start from counts a previous run saved. Returns false when the latency histogram could not
   * be restored (the buckets changed since): it starts from zero, a reset Prometheus handles.
   */
  restoreCounts(s: SavedCounts): boolean {
    const sameBuckets = s.buckets.length === this.buckets.length && s.buckets.every((b, i) => b === this.buckets[i]);
    this.mergeCounts({
      parsed: s.parsed,
      malformed: s.malformed,
      overflow: s.overflow,
      bytesRead: s.bytes_read,
      requests: s.requests.map(([route, m, status, count]) => [route, methodIdFromString(m), status, count]),
      durations: sameBuckets ? s.durations.map(([route, m, buckets, sum]) => [route, methodIdFromString(m), buckets, sum]) : [],
    });
    this.rotations += s.rotations;
    return sameBuckets || s.durations.length === 0;
  }

  private requestSlotFor(key: number): number {
    let slot = this.requestSlot.get(key);
    if (slot < 0) {
      slot = this.requestKeys.length;
      this.requestKeys.push(key);
      this.requestSlot.set(key, slot);
      this.requestCounts = grow(this.requestCounts, slot + 1);
    }
    return slot;
  }

  private seriesFor(rm: number): number {
    let series = this.seriesSlot.get(rm);
    if (series < 0) {
      series = this.seriesKeys.length;
      this.seriesKeys.push(rm);
      this.seriesSlot.set(rm, series);
      this.bucketCounts = grow(this.bucketCounts, (series + 1) * this.stride);
      this.sums = grow(this.sums, series + 1);
    }
    return series;
  }

  /** Count a line that could not even be handed to the parser (too long, invalid UTF-8). */
  malformedLine(): void {
    this.malformed++;
  }

  /** Total requests counted (for tests and the benchmark's cross-check). */
  get requests(): number {
    let n = 0;
    for (let i = 0; i < this.requestKeys.length; i++) n += this.requestCounts[i]!;
    return n;
  }

  requestSamples(): Sample[] {
    const rows = this.requestRows().map(([route, methodId, status, value]) => ({ route, method: METHOD_NAMES[methodId]!, code: String(status), value }));
    rows.sort((a, b) => cmp(a.route, b.route) || cmp(a.method, b.method) || cmp(a.code, b.code));
    return rows.map((r) => ({
      labels: { [LABEL.service]: this.service, [LABEL.route]: r.route, [LABEL.method]: r.method, [LABEL.code]: r.code },
      value: r.value,
    }));
  }

  durationSamples(): Sample[] {
    const rows = this.seriesKeys.map((rm, series) => ({ route: this.routeName(rm), method: METHOD_NAMES[rm % METHOD_SLOTS]!, series }));
    rows.sort((a, b) => cmp(a.route, b.route) || cmp(a.method, b.method));
    return rows.flatMap((r) =>
      histogramSamples(
        { [LABEL.service]: this.service, [LABEL.route]: r.route, [LABEL.method]: r.method },
        this.buckets,
        this.bucketCounts.subarray(r.series * this.stride, (r.series + 1) * this.stride),
        this.sums[r.series]!,
      ),
    );
  }
}

/** ServiceCounters' counts by label value: [route, method id, status, count] and [route, method id, bucket counts, sum]. */
export interface ExportedCounts {
  parsed: number;
  malformed: number;
  overflow: number;
  bytesRead: number;
  requests: Array<[string, number, number, number]>;
  durations: Array<[string, number, number[], number]>;
}

/** A service's counters in the checkpoint: [route, method, status, count] and [route, method, per-bucket counts, sum]. */
export interface SavedCounts {
  parsed: number;
  malformed: number;
  overflow: number;
  bytes_read: number;
  rotations: number;
  /** The upper bounds the duration rows were counted with. */
  buckets: number[];
  requests: Array<[string, string, number, number]>;
  durations: Array<[string, string, number[], number]>;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const HELP = {
  requests: 'HTTP requests read from access logs, by service, route template, method and exact status code.',
  duration: 'Request duration from access logs (request_time or upstream time), by service, route template and method.',
  lines: 'Access log lines read, by result: parsed, or malformed (garbage, truncated, over 1 MiB, invalid UTF-8).',
  overflow: `Requests whose route was folded into route="other" because the service reached its route cap (max_routes).`,
  bytes: 'Bytes read from access logs.',
  rotations: 'Log rotations seen (rename+create or copytruncate).',
  files: 'Access log files currently followed.',
  missing: 'Configured log paths or globs that currently match no file; they are retried every poll.',
} as const;
