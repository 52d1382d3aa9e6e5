/**
 * Splits buffers of log bytes into lines for one file and hands each line to its service's
 * counters. Keeps the state a line can span: an over-long line is counted once as malformed
 * and skipped up to its newline, however many reads that takes.
 */
import { isUtf8 } from 'node:buffer';
/** Lines longer than this (without the newline) are malformed: no access log line is 1 MiB. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Where lines go: a service's counters, or the backfill's dating sink in front of them. */
export interface LineSink {
  /** Count the line buf[start, end) (no newline, valid UTF-8, at most MAX_LINE_BYTES). */
  line(buf: Buffer, start: number, end: number): void;
  /** Count a line that is too long or not valid UTF-8. */
  malformedLine(): void;
}
/** Bytes read from a file at a time. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * A read buffer: a chunk read after the unfinished line carried over from the previous one,
 * which process() keeps only while it is at most MAX_LINE_BYTES.
 */
export function readBuffer(): Buffer {
  return Buffer.allocUnsafe(MAX_LINE_BYTES + READ_CHUNK_BYTES);
}

export class LineSplitter {
  /** Inside an over-long line whose newline has not arrived yet. */
  private discarding = false;

  /**
   * Format detection watching the file's first lines: while set, lines go through it (it
   * counts them into the sink too); dropped as soon as it has decided. A separate call site,
   * so the one to the sink stays monomorphic on the hot path.
   */
  probe: (LineSink & { done: boolean }) | undefined;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  /**
   * Count the complete lines in buf[0, len). Returns where the unfinished last line starts
   * (== len when nothing is left to keep); the caller keeps those bytes for the next call.
   */
  process(buf: Buffer, len: number): number {
    const last = len > 0 ? buf.lastIndexOf(10, len - 1) : -1;
    let pos = 0;
    if (last >= 0) {
      // One native UTF-8 check per buffer; per-line checks only when it fails.
      const allValid = isUtf8(buf.subarray(0, last));
      const c = this.sink;
      const max = this.maxLine;
      while (pos <= last) {
        const nl = buf.indexOf(10, pos);
        if (this.discarding) {
          this.discarding = false;
          pos = nl + 1;
          continue;
        }
        let e = nl;
        if (e > pos && buf[e - 1] === 13) e--;
        if (e > pos) {
          if (this.probe) this.toProbe(buf, pos, e, allValid);
          else if (e - pos > max) c.malformedLine();
          else if (!allValid && !isUtf8(buf.subarray(pos, e))) c.malformedLine();
          else c.line(buf, pos, e);
        }
        pos = nl + 1;
      }
    }
    if (len - pos > this.maxLine) {
      if (!this.discarding) (this.probe ?? this.sink).malformedLine();
      this.discarding = true;
      return len;
    }
    if (this.discarding) return len;
    return pos;
  }

  /** End of input (one-shot, or a rotated file closed): count an unterminated last line. */
  finish(buf: Buffer, start: number, end: number): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (end > start && buf[end - 1] === 13) end--;
    if (end <= start) return;
    const to = this.probe ?? this.sink;
    if (end - start > this.maxLine || !isUtf8(buf.subarray(start, end))) to.malformedLine();
    else to.line(buf, start, end);
  }

  private toProbe(buf: Buffer, start: number, end: number, allValid: boolean): void {
    const p = this.probe!;
    if (end - start > this.maxLine || (!allValid && !isUtf8(buf.subarray(start, end)))) p.malformedLine();
    else p.line(buf, start, end);
    if (p.done) this.probe = undefined;
  }
}
