/**
 * Follows access logs like `tail -F`, for every service: globs re-expanded on each poll,
 * files tracked by identity (device + inode) rather than by name, so a file renamed by
 * rotation is read to its end under its new name (or through the open descriptor once it
 * leaves the glob), and the new file at the old name is read from its first byte.
 *
 * copytruncate rotation is recognised two ways: the followed file shrinks, or its first
 * bytes change. The copy it leaves behind (access.log.1) starts with the same bytes as the
 * content we had been reading, so when such a copy appears it resumes at the offset we had
 * reached in the original: lines written just before the copy are counted once, never twice.
 *
 * The checkpoint keeps, with each file's offset, the counters those offsets produced: a restart
 * continues both, so Prometheus sees no reset and no line is lost or counted twice, whether the
 * process stopped gracefully or was killed. A file copied and truncated while we were down is
 * recognised by its first bytes, and resumes where its original was left.
 *
 * All file system calls are synchronous within one poll: a poll is then atomic with respect
 * to the rest of the process (scrapes, checkpoints), and a per-poll read budget keeps one
 * huge backlog from blocking the event loop for long.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { type CheckpointFile, type FileCheckpoint, headHash, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type FormatDetector, type FormatProbe, type FormatWarning } from './format-detection.js';
import { LineSplitter, MAX_LINE_BYTES, READ_CHUNK_BYTES, readBuffer } from './line-splitter.js';
import type { ServiceCounters } from './service-counters.js';
import type { Clock } from '../../src/core/clock.js';

/** Bytes of a file's beginning kept as its fingerprint. */
const HEAD_BYTES = 1024;
/** Bytes read per poll across all files before yielding to the event loop. */
const POLL_BUDGET_BYTES = 4 * 1024 * 1024;
/**
 * A file that left the globs (renamed away, deleted) is still read for this long and at
 * least this many polls before it is closed: nginx writes to the old file until it reopens
 * its logs after logrotate's USR1.
 */
const ORPHAN_GRACE_MS = 5000;
const ORPHAN_GRACE_POLLS = 4;
/**
 * How long (and at least how many polls) a copy waits for its original's truncation before
 * it is taken for a plain duplicate. Generous: copying a big log takes logrotate a while,
 * and the copy is visible (and growing) all along.
 */
const TWIN_WAIT_MS = 60_000;
const TWIN_WAIT_POLLS = 20;
/** Truncated originals remembered for their copies, at most. */
const RETIRED_KEEP = 16;
/** Rotated, compressed files are never access logs we can read. */
const COMPRESSED_RE = /\.(gz|bz2|xz|zst|zip|lz4|br)$/i;

export interface TailedService {
  name: string;
  files: readonly string[];
  startAt: 'end' | 'beginning';
  counters: ServiceCounters;
  /** Checks the first lines read from each file against the format (a warning when most do not fit). */
  detector?: FormatDetector;
}

export interface TailerOptions {
  services: readonly TailedService[];
  /** Directory relative patterns are resolved against (the config file's). */
  baseDir: string;
  stateFile: string;
  pollIntervalMs: number;
  logger: Logger;
  /** Grace and twin-wait deadlines, the checkpoint's saved_at. */
  clock: Clock;
}

interface FollowedFile {
  key: string;
  path: string;
  /** Where the file was first seen; once it is elsewhere it has been rotated away. */
  birthPath: string;
  rotatedAway: boolean;
  dev: number;
  ino: number;
  fd: number;
  /** Just past the last complete line counted: what the checkpoint stores. */
  offset: number;
  /** Bytes read so far; readPos - offset bytes are an unfinished line in `carry`. */
  readPos: number;
  carry: Buffer | undefined;
  head: Buffer;
  splitter: LineSplitter;
  /** Watching the first lines read from the file, until it has decided. */
  probe: FormatProbe | undefined;
  /** Polls since the file stopped matching the service's globs (0 while it matches). */
  orphanPolls: number;
  /** When it stopped matching (ms since epoch). */
  orphanSince: number;
  /** A copy waiting for its original (the file it was copied from) to be truncated. */
  twinOf: FollowedFile | undefined;
  twinPolls: number;
  twinSince: number;
}

interface Retired {
  head: Buffer;
  offset: number;
}

interface ServiceState {
  svc: TailedService;
  files: Map<string, FollowedFile>;
  retired: Retired[];
  /** Patterns currently matching nothing (logged once when they start missing). */
  missing: Set<string>;
  /** Checkpointed files of this service from the previous run, by key. */
  resume: Map<string, FileCheckpoint>;
  /** The previous run followed this service: files it did not know are new, read from 0. */
  knownBefore: boolean;
  /** Checkpointed files found truncated at start-up: their copy, if one appears, resumes them. */
  truncatedWhileDown: FileCheckpoint[];
}

export class LogTailer {
  private readonly states: ServiceState[];
  private readonly buf = readBuffer();
  private timer: NodeJS.Timeout | undefined;
  private polls = 0;
  private running = false;
  private stopped = false;
  /** Problems already logged (the error policy: log when a problem starts, not every poll). */
  private readonly logged = new Set<string>();

  constructor(private readonly opts: TailerOptions) {
    const checkpoint = loadCheckpoint(opts.stateFile);
    this.states = opts.services.map((svc) => {
      const saved = checkpoint?.counters[svc.name];
      if (saved && !svc.counters.restoreCounts(saved)) {
        opts.logger.warn(
          { service: svc.name, state_file: opts.stateFile },
          'apilogs buckets changed since the checkpoint; the latency histogram restarts from zero',
        );
      }
      return {
        svc,
        files: new Map(),
        retired: [],
        missing: new Set(),
        resume: new Map((checkpoint?.files ?? []).filter((f) => f.service === svc.name).map((f) => [`${f.dev}:${f.ino}`, f])),
        knownBefore: checkpoint?.services.includes(svc.name) ?? false,
        truncatedWhileDown: [],
      };
    });
  }

  /** First poll now (so the first snapshot reflects the files), then on the interval. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.pollNow();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.pollNow(), delayMs);
    this.timer.unref?.();
  }

  private pollNow(): void {
    if (this.stopped) return;
    let more = false;
    try {
      more = this.poll();
    } catch (e) {
      this.warnOnce(`poll:${(e as Error).message}`, { err: (e as Error).message }, 'apilogs poll failed; retrying every poll');
    }
    this.schedule(more ? 0 : this.opts.pollIntervalMs);
  }

  /** One pass over every service. Returns true when the read budget ran out (more to read). */
  poll(): boolean {
    const first = this.polls === 0;
    this.polls++;
    let budget = POLL_BUDGET_BYTES;
    for (const st of this.states) budget = this.pollService(st, first, budget);
    return budget <= 0;
  }

  private pollService(st: ServiceState, first: boolean, budget: number): number {
    const counters = st.svc.counters;
    const seen = new Map<string, { path: string; dev: number; ino: number; size: number }>();
    let missing = 0;
    /** A file could not be looked at this poll (renamed or removed meanwhile): keep the checkpoint's entries. */
    let skipped = false;
    for (const pattern of st.svc.files) {
      const paths = this.expand(pattern);
      let matched = 0;
      for (const path of paths) {
        try {
          const s = statSync(path);
          if (!s.isFile()) continue;
          matched++;
          const key = `${s.dev}:${s.ino}`;
          if (!seen.has(key)) seen.set(key, { path, dev: s.dev, ino: s.ino, size: s.size });
        } catch {
          // Vanished between glob and stat (rotation in progress): next poll sees it.
          skipped = true;
        }
      }
      if (matched === 0) {
        missing++;
        if (!st.missing.has(pattern)) this.opts.logger.warn({ service: st.svc.name, pattern }, 'no access log matches; retrying every poll');
        st.missing.add(pattern);
      } else if (st.missing.delete(pattern)) {
        this.opts.logger.info({ service: st.svc.name, pattern }, 'access log found');
      }
    }
    counters.filesMissing = missing;

    // Files we follow first (this notices truncations before copies are matched to them).
    for (const [key, f] of st.files) {
      const now = seen.get(key);
      if (now) {
        f.path = now.path;
        f.orphanPolls = 0;
      } else {
        if (f.orphanPolls === 0) f.orphanSince = this.opts.clock.now();
        f.orphanPolls++;
      }
      // Rotated away: renamed (to another matching name, or out of the globs) or deleted.
      // Counted once per file, however often logrotate shifts it afterwards.
      if (!f.rotatedAway && (!now || now.path !== f.birthPath)) {
        f.rotatedAway = true;
        counters.rotations++;
      }
      budget -= this.readOrWarn(st, f, budget);
      if (f.orphanPolls > ORPHAN_GRACE_POLLS && this.opts.clock.now() - f.orphanSince >= ORPHAN_GRACE_MS) {
        // Gone from the globs and drained: count an unterminated last line, then let go.
        this.finishFile(st, f);
      }
    }
    // Then files seen for the first time. After a restart, files that still hold what the
    // checkpoint says come first: a copy made while we were down must find its original either
    // followed (a copy in progress: wait for the truncation) or gone from the checkpoint's view.
    let fresh = [...seen].filter(([key]) => !st.files.has(key));
    if (st.resume.size > 0) {
      const intact = new Set(fresh.filter(([key]) => st.resume.has(key) && this.stillHolds(seen, st.resume.get(key)!)).map(([key]) => key));
      fresh = [...fresh.filter(([key]) => intact.has(key)), ...fresh.filter(([key]) => !intact.has(key))];
    }
    for (const [key, s] of fresh) {
      const f = this.openFile(st, key, s, first, seen);
      if (!f) skipped = true;
      if (!f) continue;
      st.files.set(key, f);
      budget -= this.readOrWarn(st, f, budget);
    }
    counters.filesWatched = st.files.size;
    // Once every pattern matches, checkpointed files not found are gone for good (rotated out
    // of the globs while we were down): forget them rather than carry them forever.
    if (missing === 0 && !skipped) {
      st.resume.clear();
      st.truncatedWhileDown = [];
    }
    return budget;
  }

  private expand(pattern: string): string[] {
    const abs = isAbsolute(pattern) ? pattern : resolve(this.opts.baseDir, pattern);
    if (!isDynamicPattern(abs)) return [abs];
    try {
      return globSync(abs, { absolute: true, onlyFiles: true, expandDirectories: false, dot: true }).filter((p) => !COMPRESSED_RE.test(p));
    } catch {
      return [];
    }
  }

  private openFile(
    st: ServiceState,
    key: string,
    s: { path: string; dev: number; ino: number; size: number },
    first: boolean,
    seen: ReadonlyMap<string, { path: string; dev: number; ino: number }>,
  ): FollowedFile | undefined {
    let fd: number;
    try {
      fd = openSync(s.path, 'r');
    } catch (e) {
      this.warnOnce(
        `open:${s.path}:${(e as NodeJS.ErrnoException).code ?? ''}`,
        { service: st.svc.name, file: s.path, err: (e as Error).message },
        'cannot open access log; retrying every poll',
      );
      return undefined;
    }
    if (!this.isFile(fd, s)) {
      // Renamed between our stat and our open (logrotate shifting .1 → .2 ...): the path now
      // names another file. The next poll sees every file under its current name.
      closeSync(fd);
      return undefined;
    }
    const splitter = new LineSplitter(st.svc.counters);
    const f: FollowedFile = {
      key,
      path: s.path,
      birthPath: s.path,
      rotatedAway: false,
      dev: s.dev,
      ino: s.ino,
      fd,
      offset: 0,
      readPos: 0,
      carry: undefined,
      head: Buffer.alloc(0),
      splitter,
      probe: st.svc.detector?.probe(st.svc.counters, s.path, (w) => this.formatWarning(st, w)).attach(splitter),
      orphanPolls: 0,
      orphanSince: 0,
      twinOf: undefined,
      twinPolls: 0,
      twinSince: 0,
    };
    try {
      return this.positionNewFile(st, f, first, seen);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Where a newly opened file starts: its checkpoint, start_at, a copy's original, or 0. */
  private positionNewFile(
    st: ServiceState,
    f: FollowedFile,
    first: boolean,
    seen: ReadonlyMap<string, { path: string; dev: number; ino: number }>,
  ): FollowedFile {
    const { key, fd } = f;
    const size = fstatSync(fd).size;
    const resumed = st.resume.get(key);
    if (resumed) {
      st.resume.delete(key);
      if (this.holds(fd, size, resumed)) {
        this.startAt(f, resumed.offset);
        return f;
      }
      // Same inode, different content (truncated while we were down, or a recycled inode): a
      // copy of the old content, if one shows up, resumes at the old offset. This file may
      // itself be such a copy (logrotate's copy can get the inode of a file it deleted).
      st.truncatedWhileDown.push(resumed);
    }
    // The continuation of a checkpointed file that is gone or no longer holds its content
    // (copytruncate or copy and delete while we were down): it starts with that content.
    const lost = [...st.truncatedWhileDown, ...[...st.resume.values()].filter((r) => !this.stillHolds(seen, r))].find(
      (r) => r.head_len > 0 && this.holds(fd, size, r),
    );
    if (lost) {
      st.truncatedWhileDown = st.truncatedWhileDown.filter((r) => r !== lost);
      if (st.resume.get(`${lost.dev}:${lost.ino}`) === lost) st.resume.delete(`${lost.dev}:${lost.ino}`);
      this.startAt(f, lost.offset);
      return f;
    }
    if (first && !st.knownBefore) {
      if (st.svc.startAt === 'end') this.startAt(f, this.lastLineEnd(fd, size));
      return f;
    }
    // A file that appeared while we were running (or while we were down): is it a copy?
    const head = this.readHead(fd, Math.min(size, HEAD_BYTES));
    if (head.length > 0) {
      const r = st.retired.findIndex((x) => x.head.length > 0 && startsWith(head, x.head));
      if (r >= 0) {
        this.startAt(f, st.retired[r]!.offset);
        st.retired.splice(r, 1);
        return f;
      }
      for (const other of st.files.values()) {
        if (other.head.length > 0 && !other.twinOf && startsWith(head, other.head)) {
          f.twinOf = other;
          f.twinSince = this.opts.clock.now();
          return f;
        }
      }
    }
    return f;
  }

  /** Whether the open descriptor is the file `s` identifies (same device and inode). */
  private isFile(fd: number, s: { dev: number; ino: number }): boolean {
    const now = fstatSync(fd);
    return now.dev === s.dev && now.ino === s.ino;
  }

  /** Whether checkpoint entry `r`'s file is among the files seen and still holds its content. */
  private stillHolds(seen: ReadonlyMap<string, { path: string; dev: number; ino: number }>, r: FileCheckpoint): boolean {
    const s = seen.get(`${r.dev}:${r.ino}`);
    if (!s) return false;
    let fd: number | undefined;
    try {
      fd = openSync(s.path, 'r');
      // Renamed away meanwhile: it still exists, so it is not lost; assume it holds.
      if (!this.isFile(fd, s)) return true;
      return this.holds(fd, fstatSync(fd).size, r);
    } catch {
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Whether the open file (of `size` bytes) holds the content checkpoint entry `r` describes, up to its offset. */
  private holds(fd: number, size: number, r: FileCheckpoint): boolean {
    if (r.offset > size) return false;
    const head = this.readHead(fd, r.head_len);
    return head.length === r.head_len && headHash(head) === r.head_sha1;
  }

  /** Logged when it is found, once per file: the lines keep being counted (as malformed). */
  private formatWarning(st: ServiceState, w: FormatWarning): void {
    this.warnOnce(
      `format:${st.svc.name}:${w.file}`,
      {
        service: st.svc.name,
        file: w.file,
        format: st.svc.detector?.configured,
        lines: w.lines,
        malformed: w.malformed,
        problem: w.problem,
        sample: w.sample,
        ...(w.suggestion
          ? {
              suggestion: `format ${w.suggestion.format}${w.suggestion.hasDuration ? '' : ' (no duration: no latency)'} reads ${w.suggestion.parsed} of these lines`,
            }
          : {}),
      },
      "most of the first lines of an access log do not fit the service's format",
    );
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.logged.has(key)) return;
    if (this.logged.size > 1000) this.logged.clear();
    this.logged.add(key);
    this.opts.logger.warn(fields, message);
  }

  /** Start reading at `offset` (a line boundary): the bytes before it count as read. */
  private startAt(f: FollowedFile, offset: number): void {
    f.offset = offset;
    f.readPos = offset;
    f.head = this.readHead(f.fd, Math.min(offset, HEAD_BYTES));
  }

  /** Offset just past the last newline in the file's last MiB (so a half-written line is read whole). */
  private lastLineEnd(fd: number, size: number): number {
    const from = Math.max(0, size - MAX_LINE_BYTES);
    const n = readSync(fd, this.buf, 0, size - from, from);
    const nl = n > 0 ? this.buf.lastIndexOf(10, n - 1) : -1;
    return nl < 0 ? from : from + nl + 1;
  }

  /** The first `len` bytes of the file (fewer if it is shorter). */
  private readHead(fd: number, len: number): Buffer {
    if (len <= 0) return Buffer.alloc(0);
    const b = Buffer.allocUnsafe(len);
    const n = readSync(fd, b, 0, len, 0);
    return b.subarray(0, n);
  }

  /** readFile(), where a read error (EIO, a file on a vanished mount) costs this file this poll only. */
  private readOrWarn(st: ServiceState, f: FollowedFile, budget: number): number {
    try {
      return this.readFile(st, f, budget);
    } catch (e) {
      this.warnOnce(
        `read:${f.path}:${(e as Error).message}`,
        { service: st.svc.name, file: f.path, err: (e as Error).message },
        'cannot read access log; retrying every poll',
      );
      return 0;
    }
  }

  /** Read new bytes of one file (within budget); returns the bytes read. */
  private readFile(st: ServiceState, f: FollowedFile, budget: number): number {
    const counters = st.svc.counters;
    let size: number;
    try {
      size = fstatSync(f.fd).size;
    } catch {
      return 0;
    }
    if (f.twinOf) {
      const original = f.twinOf;
      f.twinPolls++;
      if (!st.files.has(original.key) || (f.twinPolls > TWIN_WAIT_POLLS && this.opts.clock.now() - f.twinSince >= TWIN_WAIT_MS)) {
        // The original was never truncated: a plain copy of lines already counted.
        f.twinOf = undefined;
        this.startAt(f, this.lastLineEnd(f.fd, size));
      } else {
        return 0;
      }
    }
    if (this.wasTruncated(f, size)) {
      counters.rotations++;
      const copy = [...st.files.values()].find((x) => x.twinOf === f);
      if (copy) {
        copy.twinOf = undefined;
        this.startAt(copy, f.offset);
      } else if (f.head.length > 0) {
        st.retired.push({ head: f.head, offset: f.offset });
        if (st.retired.length > RETIRED_KEEP) st.retired.shift();
      }
      f.offset = 0;
      f.readPos = 0;
      f.carry = undefined;
      f.head = Buffer.alloc(0);
      f.splitter = new LineSplitter(counters);
      f.probe = undefined;
    }
    let total = 0;
    const buf = this.buf;
    while (f.readPos < size && total < budget) {
      const carryLen = f.carry?.length ?? 0;
      if (f.carry) f.carry.copy(buf, 0);
      const want = Math.min(READ_CHUNK_BYTES, size - f.readPos);
      const n = readSync(f.fd, buf, carryLen, want, f.readPos);
      if (n <= 0) break;
      if (f.head.length < HEAD_BYTES && f.readPos === f.head.length) {
        f.head = Buffer.concat([f.head, buf.subarray(carryLen, carryLen + Math.min(n, HEAD_BYTES - f.head.length))]);
      }
      f.readPos += n;
      total += n;
      counters.bytesRead += n;
      const len = carryLen + n;
      const keep = f.splitter.process(buf, len);
      f.carry = keep < len ? Buffer.from(buf.subarray(keep, len)) : undefined;
      f.offset = f.readPos - (len - keep);
    }
    if (f.probe) {
      f.probe.settle(false);
      if (f.probe.done) f.probe = undefined;
    }
    return total;
  }

  /** Shrunk below what we read, or its first bytes are no longer the ones we read. */
  private wasTruncated(f: FollowedFile, size: number): boolean {
    if (size < f.readPos) return true;
    if (f.head.length === 0 || size === f.readPos) return false;
    const now = this.readHead(f.fd, f.head.length);
    return !now.equals(f.head);
  }

  private finishFile(st: ServiceState, f: FollowedFile): void {
    if (f.carry) f.splitter.finish(f.carry, 0, f.carry.length);
    f.probe?.settle(true);
    try {
      closeSync(f.fd);
    } catch {
      // already closed
    }
    st.files.delete(f.key);
  }

  /** The checkpoint as it would be saved now. */
  checkpoint(): CheckpointFile {
    const files: FileCheckpoint[] = [];
    for (const st of this.states) {
      for (const f of st.files.values()) {
        if (f.twinOf) continue;
        const head = this.readHead(f.fd, Math.min(f.offset, HEAD_BYTES));
        files.push({ service: st.svc.name, path: f.path, dev: f.dev, ino: f.ino, offset: f.offset, head_len: head.length, head_sha1: headHash(head) });
      }
      // Files of a previous run not seen yet this run keep their entries until they are.
      for (const r of st.resume.values()) files.push(r);
    }
    return {
      version: 2,
      saved_at: this.opts.clock.now() / 1000,
      services: this.states.map((s) => s.svc.name),
      files,
      counters: Object.fromEntries(this.states.map((s) => [s.svc.name, s.svc.counters.saveCounts()])),
    };
  }

  saveCheckpoint(): void {
    saveCheckpoint(this.opts.stateFile, this.checkpoint());
  }

  /** Stop polling, save the checkpoint, close every file. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.polls > 0) {
      try {
        this.saveCheckpoint();
      } catch (e) {
        this.opts.logger.error({ state_file: this.opts.stateFile, err: (e as Error).message }, 'could not save apilogs checkpoint');
      }
    }
    for (const st of this.states) {
      for (const f of st.files.values()) {
        try {
          closeSync(f.fd);
        } catch {
          // already closed
        }
      }
      st.files.clear();
    }
  }
}

/**
 * Whether a file whose first bytes are `head` is a copy of the content whose first bytes are
 * `prefix`: it starts with all of them, or (a copy still being written) all of its at least
 * 256 bytes are the start of them.
 */
function startsWith(head: Buffer, prefix: Buffer): boolean {
  if (prefix.length <= head.length) return head.subarray(0, prefix.length).equals(prefix);
  return head.length >= 256 && prefix.subarray(0, head.length).equals(head);
}
