/**
 * Request paths → bounded `route` label values, working on the log's bytes.
 *
 * Order of decisions: query string and fragment stripped; configured templates
 * (`/v1/topups/:id`, `/static/*`) win; otherwise id-like segments (numbers, dates, hex, UUIDs,
 * ULIDs, long mixed tokens) become `:id`, version segments (`v1`, a number right after `api`)
 * stay. The hot path hashes the normalised bytes and only builds a string when a route gets
 * its label, so a million lines with ids in their paths cost no per-line string allocation.
 *
 * The cap: at most `maxRoutes` discovered routes have a label; the others count as
 * OVERFLOW_ROUTE. Which ones is decided by traffic, not by arrival: every route seen is
 * counted (exported ones exactly, the others in a space-saving sketch of as many candidates,
 * so memory stays bounded), counts decay by a quarter at every epoch (5 × max_routes lines, at
 * least 1000, and in `serve` at least a minute), and at the end of an epoch a candidate
 * replaces an exported route that has been idle for eight epochs, or that it beats four times
 * over. A route keeps its label for at least four epochs, so labels do not flap. A demoted route's series stay exported,
 * frozen, for a grace period (the last scrape sees their final values), then disappear: a
 * counter that stays exported never goes backwards. In one-shot mode, where nobody saw the
 * series, a dropped route's counts are added to OVERFLOW_ROUTE instead, so totals add up.
 */
import type { Clock } from '../../src/core/clock.js';
import { OVERFLOW_ROUTE } from './metrics.js';

/** Route id of OVERFLOW_ROUTE in every table. */
export const OVERFLOW_ROUTE_ID = 0;
const MAX_SEGMENTS = 64;
const MAX_PATH_BYTES = 8192;
/**
 * Per byte, what normalise() adds to its packed per-segment counts: 1 for a digit, 1 << 8
 * for a hex letter, 1 << 16 for a dash or "_", 1 << 24 for another letter; negative for bytes
 * that end a segment ("/") or the path (`endBytes`).
 */
const INC_SLASH = -1;
const INC_END = -2;
function classIncrements(endBytes: readonly number[]): Int32Array {
  const t = new Int32Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = c <= 0x66 ? 1 << 8 : 1 << 24;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = c <= 0x46 ? 1 << 8 : 1 << 24;
  t[0x5f] = 1 << 16;
  t[0x2d] = 1 << 16;
  t[0x2f] = INC_SLASH;
  for (const c of endBytes) t[c] = INC_END;
  return t;
}
/** In an nginx request line the target ends at a space or double quote, its path at "?" or "#". */
const TARGET_CLASS_INC = classIncrements([0x20, 0x22, 0x3f, 0x23]);
/** An already-decoded path (JSON, regex) may hold spaces and quotes: only "?" and "#" end it. */
const PATH_CLASS_INC = classIncrements([0x3f, 0x23]);
const SCAN_NONE = 0;
const SCAN_FAST = 1;
const SCAN_SLOW = 2;
const SCAN_TOO_LONG = 3;

interface Template {
  /** Literal segment bytes, or null for a `:param` segment. */
  segments: Array<Uint8Array | null>;
  /** Ends with `*`: matches any number of further segments. */
  rest: boolean;
  routeId: number;
}

export type RouteLookup = number;

/** How the cap decides; see the file comment. */
export interface RouteCapPolicy {
  /** Routed lines between two decisions, at least (default: 5 × maxRoutes, at least 1000). */
  epochLines?: number;
  /** And at least this long between two decisions, by `clock` (0: lines only). */
  epochMs?: number;
  clock?: Clock;
  /** Epochs a demoted route's series stay exported, frozen, before they are dropped. */
  graceEpochs?: number;
  /** Add a dropped route's counts to OVERFLOW_ROUTE (one-shot) instead of dropping its series (live). */
  foldDropped?: boolean;
}

/** `serve`: decisions at most once a minute; demoted series stay two epochs so scrapes see them end. */
export const LIVE_ROUTE_CAP: RouteCapPolicy = { epochMs: 60_000, graceEpochs: 2, foldDropped: false };
/** `okr-metrics logs`: one exposition at the end, so dropped counts go to route="other". */
export const ONE_SHOT_ROUTE_CAP: RouteCapPolicy = { epochMs: 0, graceEpochs: 0, foldDropped: true };

/** Epochs a route keeps its label after getting it, whatever happens. */
export const MIN_LABEL_EPOCHS = 4;
/**
 * Epochs without a request after which an exported route gives way to any candidate. Long:
 * routes near the cap's edge see a request every few epochs, and swapping them on chance
 * gaps would only make labels come and go (bench/apilogs/route-cap.mjs measures the churn).
 */
export const IDLE_EPOCHS = 8;
/** Otherwise a candidate needs this many times the exported route's (decayed) count... */
export const BUSIER_FACTOR = 4;
/** ...plus this much, which is also what any candidate needs at least (about a request per epoch, sustained). */
export const MIN_PROMOTE_COUNT = 4;
/** Counts are multiplied by this at every epoch end: about four epochs of memory. */
const DECAY = 0.75;

const STATE_EXPORTED = 1;
const STATE_CANDIDATE = 2;

export class RouteTable {
  /** Label value per route id; id 0 is the overflow route, then templates, then discovered routes. */
  readonly names: string[] = [OVERFLOW_ROUTE];
  private readonly templates: Template[] = [];
  // Open addressing over the normalised bytes: slot → 1 + entry index (0 = empty).
  private readonly slots: Int32Array;
  private readonly mask: number;
  // Entries: every route tracked, exported or candidate, in parallel typed arrays.
  private readonly keys: Array<Uint8Array | undefined>;
  private readonly hashes: Int32Array;
  private readonly state: Uint8Array;
  /** Route id of an exported entry; of a candidate, its still-frozen route id or -1. */
  private readonly routeOf: Int32Array;
  /** Requests, decayed at every epoch end. */
  private readonly count: Float64Array;
  /** Space-saving overestimate inherited on entering the sketch (decayed alike). */
  private readonly error: Float64Array;
  /**
   * Epoch ends in a row that found the count where the previous one left it (no request in
   * between): idleness is read off the counts at epoch ends, so a request costs one add.
   */
  private readonly idleEpochs: Float64Array;
  /** The count as the last epoch end left it. */
  private readonly settled: Float64Array;
  private readonly sinceEpoch: Float64Array;
  private entries = 0;
  private exported = 0;
  // Candidates: a min-heap of entry indices by count (decay keeps its order).
  private readonly heap: Int32Array;
  private readonly heapPos: Int32Array;
  private heapSize = 0;
  private readonly candidateCap: number;
  // Route ids of dropped routes, for reuse; frozen ids of demoted routes with their last epoch.
  private readonly freeIds: number[] = [];
  private frozen: Array<{ routeId: number; until: number; entry: number }> = [];
  // Epochs.
  private readonly epochLines: number;
  private readonly epochMs: number;
  private readonly clock: Clock | undefined;
  private readonly graceEpochs: number;
  readonly foldDropped: boolean;
  private epoch = 0;
  private linesInEpoch = 0;
  private nextCheck: number;
  private epochStartMs = 0;
  /** Called at an epoch end with the route ids whose rows must go (folded or dropped). */
  onDrop: ((routeIds: readonly number[]) => void) | undefined;
  /** Label changes so far (for tests and the route-cap benchmark). */
  promotions = 0;
  demotions = 0;
  // Scratch space reused by every lookup.
  private readonly segStart = new Int32Array(MAX_SEGMENTS);
  private readonly segEnd = new Int32Array(MAX_SEGMENTS);
  // "/1" (2 bytes) becomes "/:id" (4 bytes): twice the longest path is always enough.
  private readonly scratch = new Uint8Array(2 * MAX_PATH_BYTES + 8);
  /** The same bytes as 32-bit words, for hashing four bytes at a time. */
  private readonly scratchWords = new Int32Array(this.scratch.buffer);
  /** True when the last lookup counted its request under OVERFLOW_ROUTE because of the cap. */
  overflowed = false;

  constructor(
    templates: readonly string[],
    readonly maxRoutes: number,
    policy: RouteCapPolicy = {},
  ) {
    for (const t of templates) this.addTemplate(t);
    this.candidateCap = Math.max(maxRoutes, 16);
    const capacity = maxRoutes + this.candidateCap;
    let size = 1024;
    while (size < capacity * 4) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.keys = new Array<Uint8Array | undefined>(capacity);
    this.hashes = new Int32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.routeOf = new Int32Array(capacity).fill(-1);
    this.count = new Float64Array(capacity);
    this.error = new Float64Array(capacity);
    this.idleEpochs = new Float64Array(capacity);
    this.settled = new Float64Array(capacity);
    this.sinceEpoch = new Float64Array(capacity);
    this.heap = new Int32Array(this.candidateCap);
    this.heapPos = new Int32Array(capacity).fill(-1);
    this.epochLines = policy.epochLines ?? Math.max(1000, 5 * maxRoutes);
    this.epochMs = policy.epochMs ?? 0;
    this.clock = policy.clock;
    this.graceEpochs = policy.graceEpochs ?? 0;
    this.foldDropped = policy.foldDropped ?? false;
    this.nextCheck = this.epochLines;
    if (this.clock && this.epochMs > 0) this.epochStartMs = this.clock.now();
  }

  private addTemplate(template: string): void {
    const parts = template.split('/').slice(1);
    const rest = parts[parts.length - 1] === '*';
    if (rest) parts.pop();
    const routeId = this.names.length;
    this.names.push(template);
    this.templates.push({
      segments: parts.map((p) => (p.startsWith(':') ? null : Buffer.from(p, 'utf8'))),
      rest,
      routeId,
    });
  }

  /** Discovered routes with a label now (templates not included). */
  get discoveredRoutes(): number {
    return this.exported;
  }

  /** Routes tracked, labelled or not: at most twice the cap (at least the cap plus 16). */
  get trackedRoutes(): number {
    return this.entries;
  }

  /** Labels of the discovered routes exported now (for tests and the route-cap benchmark). */
  exportedNames(): string[] {
    const out: string[] = [];
    for (let e = 0; e < this.entries; e++) if (this.state[e] === STATE_EXPORTED) out.push(this.names[this.routeOf[e]!]!);
    return out.sort();
  }

  /** Route id of the request target buf[start, end) (a path, possibly with query or an absolute URL). */
  lookup(buf: Uint8Array, start: number, end: number): RouteLookup {
    this.overflowed = false;
    if (start < end && buf[start] !== 0x2f) {
      // Absolute-form targets (proxies): drop scheme and authority.
      start = skipAuthority(buf, start, end);
      if (start < 0) return OVERFLOW_ROUTE_ID;
    }
    if (this.templates.length > 0) {
      const t = this.matchTemplates(buf, start, end);
      if (t >= 0) return t;
    }
    this.normalise(buf, start, end, PATH_CLASS_INC);
    return this.normalisedTooLong ? OVERFLOW_ROUTE_ID : this.lookupNormalised(this.normalisedLen, true);
  }

  // Results of the last normalise().
  private normalisedLen = 0;
  private normalisedTooLong = false;

  /**
   * Copy the path starting at buf[start] (a "/") into scratch up to the first byte `classes`
   * marks as an end (or `end`), replacing id segments by ":id" as each ends. Sets
   * normalisedLen and normalisedTooLong (the path goes on past MAX_PATH_BYTES); returns the
   * index it stopped at.
   */
  private normalise(buf: Uint8Array, start: number, end: number, classes: Int32Array): number {
    const out = this.scratch;
    const limit = Math.min(end, start + MAX_PATH_BYTES);
    let len = 1;
    let segOut = 1;
    // Digits, hex letters, dashes (and "_") and other letters of the current segment, packed 8 bits
    // each into one integer: one table load and one add per byte, no branches on the byte's class.
    let acc = 0;
    let afterApi = false;
    out[0] = 0x2f;
    let i = start + 1;
    for (; ; i++) {
      const c = i < limit ? buf[i]! : 0x3f;
      const v = classes[c]!;
      if (v < 0) {
        const segLen = len - segOut;
        if (segLen > 0) {
          if (
            segLen < 256 ? isId(segLen, acc & 0xff, (acc >>> 8) & 0xff, (acc >>> 16) & 0xff, acc >>> 24, out, segOut, afterApi) : isIdSegment(out, segOut, len)
          ) {
            len = segOut;
            out[len++] = 0x3a; // ':'
            out[len++] = 0x69; // 'i'
            out[len++] = 0x64; // 'd'
            afterApi = false;
          } else {
            afterApi = segLen === 3 && (out[segOut]! | 0x20) === 0x61 && (out[segOut + 1]! | 0x20) === 0x70 && (out[segOut + 2]! | 0x20) === 0x69;
          }
        } else {
          afterApi = false;
        }
        if (v !== INC_SLASH) break;
        out[len++] = 0x2f;
        segOut = len;
        acc = 0;
        continue;
      }
      out[len++] = c;
      acc = (acc + v) | 0;
    }
    this.normalisedLen = len;
    // A path cut at the limit (it goes on past MAX_PATH_BYTES) is too long to be a route.
    this.normalisedTooLong = i === limit && limit < end && classes[buf[limit]!] !== INC_END;
    return i;
  }

  // State between scanTarget() and resolveScanned().
  private scanned = SCAN_NONE;
  private scannedBuf: Uint8Array = this.scratch;
  private scannedStart = 0;
  private scannedEnd = 0;

  /**
   * The nginx fast path: normalise the request target starting at buf[start] while finding
   * where it ends (the first space or double quote, or `end`), in one pass over its bytes.
   * Returns that end; resolveScanned() then gives the route id once the whole line proved
   * valid, so a malformed line never takes a place under the route cap.
   */
  scanTarget(buf: Uint8Array, start: number, end: number): number {
    if (this.templates.length > 0 || buf[start] !== 0x2f) {
      let e = start;
      while (e < end && buf[e] !== 0x20 && buf[e] !== 0x22) e++;
      this.scanned = SCAN_SLOW;
      this.scannedBuf = buf;
      this.scannedStart = start;
      this.scannedEnd = e;
      return e;
    }
    let i = this.normalise(buf, start, end, TARGET_CLASS_INC);
    // Past the path: the query string (or the rest of an over-long path) up to the end of the target.
    while (i < end && buf[i] !== 0x20 && buf[i] !== 0x22) i++;
    this.scanned = this.normalisedTooLong ? SCAN_TOO_LONG : SCAN_FAST;
    return i;
  }

  /** Route id of the target seen by the last scanTarget(). */
  resolveScanned(): RouteLookup {
    const mode = this.scanned;
    this.scanned = SCAN_NONE;
    this.overflowed = false;
    if (mode === SCAN_FAST) return this.lookupNormalised(this.normalisedLen, true);
    if (mode === SCAN_SLOW) return this.lookup(this.scannedBuf, this.scannedStart, this.scannedEnd);
    return OVERFLOW_ROUTE_ID;
  }

  /**
   * Route id of a label value this or another table produced (merging counts across threads):
   * a route with a label here, or a new one while there is room; else OVERFLOW_ROUTE_ID.
   */
  routeIdByName(name: string): RouteLookup {
    this.overflowed = false;
    if (name === this.names[OVERFLOW_ROUTE_ID]) return OVERFLOW_ROUTE_ID;
    for (const t of this.templates) if (this.names[t.routeId] === name) return t.routeId;
    const b = Buffer.from(name, 'utf8');
    if (b.length > this.scratch.length - 4) return OVERFLOW_ROUTE_ID;
    this.scratch.set(b);
    return this.lookupNormalised(b.length, false);
  }

  /** Route id of an already-decoded path (JSON and regex formats). */
  lookupString(path: string): RouteLookup {
    const b = Buffer.from(path, 'utf8');
    return this.lookup(b, 0, b.length);
  }

  /** Route id of the first template matching buf[start, end) (a path without query), else -1. */
  private matchTemplates(buf: Uint8Array, start: number, end: number): number {
    for (let i = start; i < end; i++) {
      if (buf[i] === 0x3f || buf[i] === 0x23) {
        end = i;
        break;
      }
    }
    const ss = this.segStart;
    const se = this.segEnd;
    let n = 0;
    let segBegin = start + 1;
    for (let i = start + 1; i <= end; i++) {
      if (i === end || buf[i] === 0x2f) {
        if (n === MAX_SEGMENTS) return -1;
        ss[n] = segBegin;
        se[n] = i;
        n++;
        segBegin = i + 1;
      }
    }
    for (const t of this.templates) if (matchTemplate(t, buf, ss, se, n)) return t.routeId;
    return -1;
  }

  /**
   * Route id of the normalised path in scratch[0, len). `counted`: a request (it counts for
   * the cap and may end an epoch); otherwise a lookup by name that changes nothing but may
   * give a label while there is room.
   */
  private lookupNormalised(len: number, counted: boolean): RouteLookup {
    if (counted && ++this.linesInEpoch >= this.nextCheck) this.maybeEndEpoch();
    const key = this.scratch;
    // Hash four bytes at a time (the bytes past len are zeroed first); equal keys are still
    // compared byte by byte below, so the hash only has to spread.
    const words = len >> 2;
    key[len] = 0;
    key[len + 1] = 0;
    key[len + 2] = 0;
    key[len + 3] = 0;
    const w = this.scratchWords;
    let h = len;
    for (let i = 0; i <= words; i++) {
      h = Math.imul(h ^ w[i]!, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h ^= h >>> 15;
    const slots = this.slots;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const s = slots[slot]!;
      if (s === 0) break;
      const e = s - 1;
      const k = this.keys[e]!;
      if (k.length === len) {
        let i = 0;
        while (i < len && k[i] === key[i]) i++;
        if (i === len) {
          if (!counted) return this.state[e] === STATE_EXPORTED ? this.routeOf[e]! : OVERFLOW_ROUTE_ID;
          this.count[e]! += 1;
          if (this.state[e] === STATE_EXPORTED) return this.routeOf[e]!;
          return this.candidateHit(e);
        }
      }
      slot = (slot + 1) & mask;
    }
    return this.lookupNew(len, h, slot, counted);
  }

  /** A route not tracked yet (kept out of lookupNormalised, which stays small for the hits). */
  private lookupNew(len: number, h: number, slot: number, counted: boolean): RouteLookup {
    const key = this.scratch;
    if (this.exported < this.maxRoutes) {
      // Room under the cap: a label at once (the first routes of a service, or after drops).
      const e = this.newEntry(key.slice(0, len), h, slot);
      this.count[e] = counted ? 1 : 0;
      this.promote(e);
      return this.routeOf[e]!;
    }
    if (!counted) return OVERFLOW_ROUTE_ID;
    this.overflowed = true;
    if (this.heapSize < this.candidateCap) {
      const e = this.newEntry(key.slice(0, len), h, slot);
      this.count[e] = 1;
      this.error[e] = 0;
      this.state[e] = STATE_CANDIDATE;
      this.heapPush(e);
      return OVERFLOW_ROUTE_ID;
    }
    // Space-saving: the least counted candidate makes room; the newcomer inherits its count
    // as a possible overestimate (`error`), so only what it gets beyond that is sure.
    const victim = this.heap[0]!;
    const inherited = this.count[victim]!;
    this.releaseEntry(victim);
    const e = this.reuseEntry(victim, key.slice(0, len), h);
    this.count[e] = inherited + 1;
    this.error[e] = inherited;
    this.state[e] = STATE_CANDIDATE;
    this.heapDown(0);
    return OVERFLOW_ROUTE_ID;
  }

  /** A request of a route without a label: counted under OVERFLOW_ROUTE, its count reorders the sketch. */
  private candidateHit(e: number): RouteLookup {
    this.heapDown(this.heapPos[e]!);
    this.overflowed = true;
    return OVERFLOW_ROUTE_ID;
  }

  private newEntry(key: Uint8Array, h: number, slot: number): number {
    const e = this.entries++;
    this.keys[e] = key;
    this.hashes[e] = h;
    this.slots[slot] = e + 1;
    this.idleEpochs[e] = 0;
    this.settled[e] = -1;
    return e;
  }

  /** Put a released entry index back in use for another key (its slot found anew). */
  private reuseEntry(e: number, key: Uint8Array, h: number): number {
    this.keys[e] = key;
    this.hashes[e] = h;
    let slot = h & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = e + 1;
    this.idleEpochs[e] = 0;
    this.settled[e] = -1;
    this.routeOf[e] = -1;
    return e;
  }

  /** Forget an evicted candidate's key (backward-shift deletion keeps probe chains whole). */
  private releaseEntry(e: number): void {
    const mask = this.mask;
    let slot = this.hashes[e]! & mask;
    while (this.slots[slot] !== e + 1) slot = (slot + 1) & mask;
    for (;;) {
      this.slots[slot] = 0;
      let next = (slot + 1) & mask;
      for (;;) {
        const s = this.slots[next]!;
        if (s === 0) return;
        const home = this.hashes[s - 1]! & mask;
        // Move it back when its home is not in the (cyclic) range (slot, next].
        const inRange = slot <= next ? home > slot && home <= next : home > slot || home <= next;
        if (!inRange) {
          this.slots[slot] = s;
          slot = next;
          break;
        }
        next = (next + 1) & mask;
      }
    }
  }

  /**
   * Give entry e a label: its route's frozen id back (its counters go on from their frozen
   * values; found by name too, when the entry was evicted and came back), a free one, or a new one.
   */
  private promote(e: number): void {
    let id = this.routeOf[e]!;
    if (id < 0 && this.frozen.length > 0) {
      const k = this.keys[e]!;
      const name = Buffer.from(k.buffer, k.byteOffset, k.length).toString('utf8');
      id = this.frozen.find((f) => this.names[f.routeId] === name)?.routeId ?? -1;
    }
    if (id >= 0) {
      this.frozen = this.frozen.filter((f) => f.routeId !== id);
    } else {
      id = this.freeIds.pop() ?? this.names.length;
      const k = this.keys[e]!;
      this.names[id] = Buffer.from(k.buffer, k.byteOffset, k.length).toString('utf8');
    }
    this.routeOf[e] = id;
    this.state[e] = STATE_EXPORTED;
    this.sinceEpoch[e] = this.epoch;
    this.exported++;
    this.promotions++;
  }

  private maybeEndEpoch(): void {
    if (this.clock && this.epochMs > 0) {
      const now = this.clock.now();
      if (now - this.epochStartMs < this.epochMs) {
        // Enough lines, not yet enough time: look at the clock again a little later.
        this.nextCheck = this.linesInEpoch + Math.max(64, this.epochLines >> 4);
        return;
      }
      this.epochStartMs = now;
    }
    this.endEpoch();
  }

  /** Decide the labels for the next epoch, then decay every count. */
  endEpoch(): void {
    const drops: number[] = [];
    for (let e = 0; e < this.entries; e++) this.idleEpochs[e] = this.count[e] === this.settled[e] ? this.idleEpochs[e]! + 1 : 0;
    if (this.heapSize > 0) {
      const sure = (e: number) => this.count[e]! - this.error[e]!;
      const candidates = Array.from(this.heap.subarray(0, this.heapSize))
        .filter((e) => sure(e) >= MIN_PROMOTE_COUNT)
        .sort((a, b) => sure(b) - sure(a));
      if (candidates.length > 0) {
        const idle = (e: number) => this.idleEpochs[e]! >= IDLE_EPOCHS;
        const weakest: number[] = [];
        for (let e = 0; e < this.entries; e++) {
          if (this.state[e] === STATE_EXPORTED && this.epoch - this.sinceEpoch[e]! >= MIN_LABEL_EPOCHS) weakest.push(e);
        }
        weakest.sort((a, b) => Number(idle(b)) - Number(idle(a)) || this.count[a]! - this.count[b]!);
        let j = 0;
        for (const c of candidates) {
          const w = weakest[j];
          if (w === undefined || !(idle(w) || sure(c) >= BUSIER_FACTOR * this.count[w]! + MIN_PROMOTE_COUNT)) break;
          j++;
          this.heapRemove(c);
          this.demote(w, drops);
          this.promote(c);
        }
      }
    }
    // Frozen series whose grace is over go (after the promotions: one that got its label back goes on).
    if (this.frozen.length > 0) {
      const keep: typeof this.frozen = [];
      for (const f of this.frozen) {
        if (f.until > this.epoch) keep.push(f);
        else {
          if (this.routeOf[f.entry] === f.routeId && this.state[f.entry] === STATE_CANDIDATE) this.routeOf[f.entry] = -1;
          drops.push(f.routeId);
        }
      }
      this.frozen = keep;
    }
    for (let e = 0; e < this.entries; e++) {
      this.count[e]! *= DECAY;
      this.error[e]! *= DECAY;
    }
    this.settle();
    this.epoch++;
    this.linesInEpoch = 0;
    this.nextCheck = this.epochLines;
    if (drops.length > 0) {
      for (const id of drops) this.freeIds.push(id);
      this.onDrop?.(drops);
    }
  }

  /** Remember the counts as decayed, to see at the next epoch end which ones had no request. */
  private settle(): void {
    for (let e = 0; e < this.entries; e++) this.settled[e] = this.count[e]!;
  }

  /** Entry e loses its label: it becomes a candidate; its series stay frozen for the grace period, or go now. */
  private demote(e: number, drops: number[]): void {
    const id = this.routeOf[e]!;
    this.state[e] = STATE_CANDIDATE;
    this.exported--;
    this.demotions++;
    this.heapPush(e);
    if (this.graceEpochs > 0) {
      this.frozen.push({ routeId: id, until: this.epoch + this.graceEpochs, entry: e });
    } else {
      this.routeOf[e] = -1;
      drops.push(id);
    }
  }

  // The candidates' min-heap, by count.
  private heapPush(e: number): void {
    const i = this.heapSize++;
    this.heap[i] = e;
    this.heapPos[e] = i;
    this.heapUp(i);
  }

  private heapRemove(e: number): void {
    const i = this.heapPos[e]!;
    const last = this.heap[--this.heapSize]!;
    this.heapPos[e] = -1;
    if (i === this.heapSize) return;
    this.heap[i] = last;
    this.heapPos[last] = i;
    this.heapUp(i);
    this.heapDown(this.heapPos[last]);
  }

  private heapUp(i: number): void {
    const heap = this.heap;
    const e = heap[i]!;
    const c = this.count[e]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = heap[p]!;
      if (this.count[pe]! <= c) break;
      heap[i] = pe;
      this.heapPos[pe] = i;
      i = p;
    }
    heap[i] = e;
    this.heapPos[e] = i;
  }

  private heapDown(i: number): void {
    const heap = this.heap;
    const n = this.heapSize;
    const e = heap[i]!;
    const c = this.count[e]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.count[heap[child + 1]!]! < this.count[heap[child]!]!) child++;
      const ce = heap[child]!;
      if (this.count[ce]! >= c) break;
      heap[i] = ce;
      this.heapPos[ce] = i;
      i = child;
    }
    heap[i] = e;
    this.heapPos[e] = i;
  }
}

function matchTemplate(t: Template, buf: Uint8Array, ss: Int32Array, se: Int32Array, n: number): boolean {
  const segs = t.segments;
  if (t.rest ? n < segs.length : n !== segs.length) return false;
  for (let k = 0; k < segs.length; k++) {
    const lit = segs[k];
    const s = ss[k]!;
    const e = se[k]!;
    if (lit === null || lit === undefined) {
      if (e === s) return false; // a parameter matches a non-empty segment only
      continue;
    }
    if (e - s !== lit.length) return false;
    for (let i = 0; i < lit.length; i++) if (buf[s + i] !== lit[i]) return false;
  }
  return true;
}

/**
 * Whether a segment (bytes at out[at, at+len), with its counts of digits, hex letters,
 * dashes or "_", and other letters) is an id:
 * - a number, except one of up to three digits right after an `api` segment (a version);
 * - a UUID (8-4-4-4-12 hex);
 * - hex of 8 characters or more with a digit (object ids, git hashes);
 * - a ULID (26 characters of Crockford's base32 with a digit);
 * - a long mixed token: 16 characters or more of letters, digits, "-" and "_", with at least
 *   two digits and a letter (random keys, slugs with numbers);
 * - a date: `2017-06-29`, `2017-06`, `2017-06-29T10:00:00Z` (`20170629` is a number).
 * `v1`, `v2.1`, words and short codes stay.
 */
function isId(len: number, digits: number, hex: number, dashes: number, others: number, out: Uint8Array, at: number, afterApi: boolean): boolean {
  if (digits === len) return !(afterApi && len <= 3);
  if (len === 36 && dashes === 4 && digits + hex === 32 && out[at + 8] === 0x2d && out[at + 13] === 0x2d && out[at + 18] === 0x2d && out[at + 23] === 0x2d)
    return true;
  if (digits === 0) return false;
  if (len >= 8 && digits + hex === len) return true;
  if (len === 26 && digits + hex + others === len && isCrockford(out, at, len)) return true;
  if (len >= 16 && digits >= 2 && digits + hex + dashes + others === len && hex + others > 0) return true;
  return digits >= 6 && isDate(out, at, len);
}

/** Crockford's base32 (either case): digits and letters but I, L, O, U. */
function isCrockford(b: Uint8Array, at: number, len: number): boolean {
  for (let i = at; i < at + len; i++) {
    const c = b[i]! | 0x20;
    if (c === 0x69 || c === 0x6c || c === 0x6f || c === 0x75) return false;
  }
  return true;
}

/** `YYYY-MM` followed by digits, `-`, `:`, `.`, `_`, `T`, `Z` or `+` only. */
function isDate(b: Uint8Array, at: number, len: number): boolean {
  if (len < 7 || b[at + 4] !== 0x2d) return false;
  for (const k of [0, 1, 2, 3, 5, 6]) {
    const c = b[at + k]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  for (let i = at + 7; i < at + len; i++) {
    const c = b[i]!;
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x3a || c === 0x2e || c === 0x5f || c === 0x54 || c === 0x5a || c === 0x2b)) return false;
  }
  return true;
}

/** Whether buf[s, e) is a segment the heuristics replace by `:id` (not counting the `api` rule). */
export function isIdSegment(buf: Uint8Array, s: number, e: number): boolean {
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  let others = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) digits++;
    else if ((c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) hex++;
    else if (c === 0x2d || c === 0x5f) dashes++;
    else if ((c >= 0x67 && c <= 0x7a) || (c >= 0x47 && c <= 0x5a)) others++;
  }
  return e > s && isId(e - s, digits, hex, dashes, others, buf, s, false);
}

/** Index just past `scheme://authority` of an absolute URL, or -1 when the target is not one. */
function skipAuthority(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && buf[i] !== 0x3a) {
    const c = buf[i]!;
    const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!alpha) return -1;
    i++;
  }
  if (i + 2 >= end || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) return -1;
  i += 3;
  while (i < end && buf[i] !== 0x2f) i++;
  return i;
}
