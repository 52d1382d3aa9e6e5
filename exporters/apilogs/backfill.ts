/**
 * Archived access logs (plain or gzip, found by content, not name) counted with the live
 * parser, route table and counters (createServiceCounters), and sampled at each grid instant
 * as the live collector would have served them: a sample at t counts every line dated at or
 * before t. Counters start at zero with the first line at or after --from; lines after --to
 * are left to the live exporter. A line without a readable date counts at the latest date
 * seen, so garbage is still counted (as malformed) and skipped.
 */
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { globSync, isDynamicPattern } from 'tinyglobby';
import type { ApiService, ApilogsConfig } from './config.js';
import { apilogsSnapshot } from './apilogs-snapshot.js';
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.js';
import type { ServiceCounters } from './service-counters.js';
import { createServiceCounters } from './service-setup.js';
import { timestampReader, type TimestampReader } from './log-timestamps.js';
import type { SeriesTimeline } from '../../src/core/series-timeline.js';
import { ceilToStep } from '../../src/core/step-grid.js';
import type { BackfillContext } from '../../src/core/source.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface ApilogsBackfillOptions {
  /** Service name → files to read instead of the configured paths (and their rotated siblings). */
  files?: Record<string, string[]>;
}

export interface ApilogsBackfillStats {
  files: number;
  lines: number;
  /** Lines dated before --from or at/after --to: left out. */
  outOfRange: number;
  malformed: number;
}

/** Configured paths plus their rotated siblings (`access.log` → `access.log*`: .1, .2.gz...). */
export function archivedFiles(svc: Pick<ApiService, 'files'>, baseDir: string, override?: string[]): string[] {
  const patterns = override ?? svc.files.flatMap((p) => [p, `${p}*`]);
  const out = new Set<string>();
  for (const p of patterns) {
    const abs = isAbsolute(p) ? p : resolve(baseDir, p);
    if (!isDynamicPattern(abs)) {
      try {
        if (statSync(abs).isFile()) out.add(abs);
      } catch {
        /* a missing path is reported below when nothing matches at all */
      }
      continue;
    }
    for (const f of globSync(abs, { absolute: true, onlyFiles: true, expandDirectories: false, dot: true })) out.add(f);
  }
  return [...out];
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

function open(file: string, highWaterMark = 1 << 20): { raw: ReturnType<typeof createReadStream>; data: AsyncIterable<Buffer> } {
  const raw = createReadStream(file, { highWaterMark });
  return { raw, data: isGzip(file) ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw };
}

/** Date of a file's first dated line, to read rotated files oldest first whatever their names. */
async function firstDate(file: string, readTime: TimestampReader): Promise<number> {
  const { raw, data } = open(file, 64 * 1024);
  let seen = 0;
  try {
    for await (const chunk of data) {
      let pos = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, pos)) {
        const t = readTime(chunk, pos, nl);
        if (t === t) return t;
        pos = nl + 1;
      }
      seen += chunk.length;
      if (seen > MAX_LINE_BYTES) break;
    }
  } finally {
    raw.destroy();
  }
  return Number.POSITIVE_INFINITY;
}

/** Counts lines into the live counters and samples them at each grid instant they pass. */
class TimedSink {
  lines = 0;
  outOfRange = 0;
  private latest = Number.NaN;
  /** The grid instant the counts so far will be sampled at. */
  private pending: number | undefined;

  constructor(
    private readonly counters: ServiceCounters,
    private readonly readTime: TimestampReader,
    private readonly tl: SeriesTimeline,
    private readonly fromMs: number,
    private readonly toMs: number,
  ) {}

  line(buf: Buffer, start: number, end: number): void {
    this.lines++;
    const t = this.readTime(buf, start, end);
    if (t === t && !(t <= this.latest)) this.latest = t;
    const at = this.latest;
    if (at === at) {
      if (at < this.fromMs || at >= this.toMs) {
        this.outOfRange++;
        return;
      }
      this.advance(at);
    }
    this.counters.bytesRead += end - start + 1;
    this.counters.line(buf, start, end);
  }

  malformedLine(): void {
    this.lines++;
    this.counters.malformedLine();
  }

  /** Counts stay constant from the pending instant until the step before `at`'s. */
  private advance(at: number): void {
    const step = this.tl.grid.stepMs;
    const due = ceilToStep(at, step);
    if (this.pending === undefined) this.pending = due;
    else if (due > this.pending) {
      this.tl.hold(this.pending, due - step, apilogsSnapshot([this.counters], { files: false }));
      this.pending = due;
    }
  }

  finish(): void {
    if (this.pending !== undefined) this.tl.record(this.pending, apilogsSnapshot([this.counters], { files: false }));
  }
}

export async function backfillApilogs(b: BackfillContext<ApilogsConfig>): Promise<ApilogsBackfillStats> {
  const { settings, timeline: tl, progress, range } = b;
  const opts = { files: b.files };
  if (!settings) throw new Error('sources.apilogs is not configured');
  const plan = await Promise.all(
    settings.services.map(async (svc) => {
      const readTime = timestampReader(svc);
      const files = archivedFiles(svc, b.baseDir, opts.files?.[svc.name]);
      if (files.length === 0)
        throw new Error(
          `apilogs service ${svc.name}: no log file matches ${(opts.files?.[svc.name] ?? svc.files).join(', ')} (give archived logs with --log-files ${svc.name}=<glob>)`,
        );
      const dated = await Promise.all(files.map(async (f) => ({ file: f, first: await firstDate(f, readTime), size: statSync(f).size })));
      dated.sort((a, b) => a.first - b.first || (a.file < b.file ? -1 : 1));
      return { svc, readTime, files: dated };
    }),
  );
  progress.setTotal(plan.reduce((n, p) => n + p.files.reduce((m, f) => m + f.size, 0), 0));

  const stats: ApilogsBackfillStats = { files: 0, lines: 0, outOfRange: 0, malformed: 0 };
  const buf = Buffer.allocUnsafe(MAX_LINE_BYTES + CHUNK_BYTES);
  for (const { svc, readTime, files } of plan) {
    const counters = createServiceCounters(svc);
    const sink = new TimedSink(counters, readTime, tl, range.fromMs, range.toMs);
    for (const { file } of files) {
      const splitter = new LineSplitter(sink);
      const { raw, data } = open(file);
      raw.on('data', (c: Buffer | string) => progress.advance(c.length));
      let carry = 0;
      let reported = 0;
      for await (const chunk of data) {
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(chunk.length - off, buf.length - carry);
          chunk.copy(buf, carry, off, off + n);
          off += n;
          const len = carry + n;
          const keep = splitter.process(buf, len);
          carry = len - keep;
          if (carry > 0) buf.copyWithin(0, keep, len);
        }
        progress.lines(sink.lines - reported);
        reported = sink.lines;
      }
      splitter.finish(buf, 0, carry);
      progress.lines(sink.lines - reported);
      stats.files++;
    }
    sink.finish();
    stats.lines += sink.lines;
    stats.outOfRange += sink.outOfRange;
    stats.malformed += counters.malformed;
  }
  return stats;
}
