/**
 * Request paths → bounded `route` label values, working on the log's bytes.
 *
 * Order of decisions: query string and fragment stripped; configured templates
 * (`/v1/topups/:id`, `/static/*`) win; otherwise segments that are numbers, UUIDs or long
 * hex ids become `:id`. Each service keeps at most `maxRoutes` distinct routes; later new
 * routes fold into OVERFLOW_ROUTE. The hot path hashes the normalised bytes and only builds
 * a string the first time a route is seen, so a million lines with ids in their paths cost
 * no per-line string allocation.
 */
import { OVERFLOW_ROUTE } from './metrics.js';

/** Route id of OVERFLOW_ROUTE in every table. */
export const OVERFLOW_ROUTE_ID = 0;
const MAX_SEGMENTS = 64;
const MAX_PATH_BYTES = 8192;
/**
 * Per byte, what normalise() adds to its packed per-segment counts: 1 for a digit, 1 << 8
 * for a hex letter, 1 << 16 for a dash, 0 otherwise; negative for bytes that end a segment
 * ("/") or the path (`endBytes`).
 */
const INC_SLASH = -1;
const INC_END = -2;
function classIncrements(endBytes: readonly number[]): Int32Array {
  const t = new Int32Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x66; c++) t[c] = 1 << 8;
  for (let c = 0x41; c <= 0x46; c++) t[c] = 1 << 8;
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

export class RouteTable {
  /** Label value per route id; id 0 is the overflow route. */
  readonly names: string[] = [OVERFLOW_ROUTE];
  private readonly templates: Template[] = [];
  // Open addressing over the normalised bytes: slot → 1 + index into keys (0 = empty).
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly keys: Uint8Array[] = [];
  private readonly keyRoute: number[] = [];
  // Scratch space reused by every lookup.
  private readonly segStart = new Int32Array(MAX_SEGMENTS);
  private readonly segEnd = new Int32Array(MAX_SEGMENTS);
  // "/1" (2 bytes) becomes "/:id" (4 bytes): twice the longest path is always enough.
  private readonly scratch = new Uint8Array(2 * MAX_PATH_BYTES + 8);
  /** The same bytes as 32-bit words, for hashing four bytes at a time. */
  private readonly scratchWords = new Int32Array(this.scratch.buffer);
  /** True when the last lookup folded a new route into the overflow route. */
  overflowed = false;

  constructor(
    templates: readonly string[],
    readonly maxRoutes: number,
  ) {
    for (const t of templates) this.addTemplate(t);
    let size = 1024;
    while (size < maxRoutes * 4) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
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

  /** Distinct routes discovered by the heuristics (templates not included). */
  get discoveredRoutes(): number {
    return this.keys.length;
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
    return this.normalisedTooLong ? OVERFLOW_ROUTE_ID : this.lookupNormalised(this.normalisedLen);
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
    // Digits, hex letters and dashes of the current segment, packed 8 bits each into one
    // integer: one table load and one add per byte, no branches on the byte's class.
    let acc = 0;
    out[0] = 0x2f;
    let i = start + 1;
    for (; ; i++) {
      const c = i < limit ? buf[i]! : 0x3f;
      const v = classes[c]!;
      if (v < 0) {
        const segLen = len - segOut;
        if (segLen > 0 && (segLen < 256 ? isId(segLen, acc & 0xff, (acc >>> 8) & 0xff, (acc >>> 16) & 0xff, out, segOut) : isIdSegment(out, segOut, len))) {
          len = segOut;
          out[len++] = 0x3a; // ':'
          out[len++] = 0x69; // 'i'
          out[len++] = 0x64; // 'd'
        }
        if (v !== INC_SLASH) break;
        out[len++] = 0x2f;
        segOut = len;
        acc = 0;
        continue;
      }
      out[len++] = c;
      acc += v;
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
    if (mode === SCAN_FAST) return this.lookupNormalised(this.normalisedLen);
    if (mode === SCAN_SLOW) return this.lookup(this.scannedBuf, this.scannedStart, this.scannedEnd);
    return OVERFLOW_ROUTE_ID;
  }

  /** Route id of a label value this or another table produced (merging counts across threads). */
  routeIdByName(name: string): RouteLookup {
    this.overflowed = false;
    if (name === this.names[OVERFLOW_ROUTE_ID]) return OVERFLOW_ROUTE_ID;
    for (const t of this.templates) if (this.names[t.routeId] === name) return t.routeId;
    const b = Buffer.from(name, 'utf8');
    if (b.length > this.scratch.length) return OVERFLOW_ROUTE_ID;
    this.scratch.set(b);
    return this.lookupNormalised(b.length);
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

  /** Route id of the normalised path in scratch[0, len). */
  private lookupNormalised(len: number): RouteLookup {
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
    const slots = this.slots;
    const mask = this.mask;
    let slot = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const entry = slots[slot]!;
      if (entry === 0) break;
      const k = this.keys[entry - 1]!;
      if (k.length === len) {
        let i = 0;
        while (i < len && k[i] === key[i]) i++;
        if (i === len) return this.keyRoute[entry - 1]!;
      }
      slot = (slot + 1) & mask;
    }
    if (this.keys.length >= this.maxRoutes) {
      this.overflowed = true;
      return OVERFLOW_ROUTE_ID;
    }
    const copy = key.slice(0, len);
    const routeId = this.names.length;
    this.names.push(Buffer.from(copy.buffer, copy.byteOffset, copy.length).toString('utf8'));
    this.keys.push(copy);
    this.keyRoute.push(routeId);
    slots[slot] = this.keys.length;
    return routeId;
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
 * Numbers, UUIDs (8-4-4-4-12 hex) and hex strings of 16+ characters with a digit in them,
 * decided from the segment's character counts (bytes at out[at, at+len)).
 */
function isId(len: number, digits: number, hex: number, dashes: number, out: Uint8Array, at: number): boolean {
  if (digits === len) return true;
  if (len === 36 && dashes === 4 && digits + hex === 32) {
    return out[at + 8] === 0x2d && out[at + 13] === 0x2d && out[at + 18] === 0x2d && out[at + 23] === 0x2d;
  }
  return len >= 16 && dashes === 0 && digits > 0 && digits + hex === len;
}

/** Whether buf[s, e) is a segment the heuristics replace by `:id`. */
export function isIdSegment(buf: Uint8Array, s: number, e: number): boolean {
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) digits++;
    else if ((c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) hex++;
    else if (c === 0x2d) dashes++;
  }
  return e > s && isId(e - s, digits, hex, dashes, buf, s);
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
