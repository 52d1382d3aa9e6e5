/**
 * One-shot mode (like `mtail --one_shot`): read whole files synchronously in large chunks
 * and count them. Synchronous reads are the fastest path in Node for a single pass, and
 * nothing else runs in the process meanwhile.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FormatDetector, FormatWarning } from './format-detection.js';
import { LineSplitter, MAX_LINE_BYTES, readBuffer } from './line-splitter.js';
import type { ServiceCounters } from './service-counters.js';

export interface OneShotResult {
  files: number;
  /** Files that could not be opened, with the reason (the rest are still counted). */
  failed: Array<{ file: string; error: string }>;
  /** Files whose first lines mostly do not fit the format (with a detector). */
  formatWarnings: FormatWarning[];
}

/** A byte range of a file that starts at a line start and ends at a line start or the file's end. */
export interface FileRange {
  file: string;
  start: number;
  /** Exclusive; Infinity = to the end of the file. */
  end: number;
}

/** The file name that means standard input (`zcat access.log.2.gz | okr-metrics logs -`). */
export const STDIN = '-';

/** Count the lines of buf-sized reads of fd in [start, end) into `counters` (a pipe: start 0, end Infinity). */
function countFd(fd: number, start: number, end: number, counters: ServiceCounters, buf: Buffer, positional: boolean, probe: Probe | undefined): void {
  const splitter = new LineSplitter(counters);
  const p = probe?.detector.probe(counters, probe.file, probe.report).attach(splitter);
  let carry = 0;
  let pos = start;
  while (pos < end) {
    let n: number;
    try {
      n = readSync(fd, buf, carry, Math.min(buf.length - carry, end - pos), positional ? pos : null);
    } catch (e) {
      // A pipe with nothing to read yet (stdin in non-blocking mode): wait for it.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    pos += n;
    counters.bytesRead += n;
    const len = carry + n;
    const keep = splitter.process(buf, len);
    carry = len - keep;
    if (carry > 0) buf.copyWithin(0, keep, len);
  }
  // A range ends at a line start, so only the file's last line can be unterminated.
  splitter.finish(buf, 0, carry);
  p?.settle(true);
}

/** Format detection for a file's first lines: where its warning goes. */
interface Probe {
  detector: FormatDetector;
  file: string;
  report: (w: FormatWarning) => void;
}

/** Count every line of `file` into `counters`. Throws only on open/read errors. */
export function countFile(file: string, counters: ServiceCounters, buf = readBuffer()): void {
  countFileRange({ file, start: 0, end: Infinity }, counters, buf);
}

/**
 * Count a range of a file. With a detector, a range that starts the file has its first lines
 * checked against the format; a warning goes to `report` as soon as it is found.
 */
export function countFileRange(
  range: FileRange,
  counters: ServiceCounters,
  buf = readBuffer(),
  detector?: FormatDetector,
  report?: (w: FormatWarning) => void,
): void {
  const probe = detector && report && range.start === 0 ? { detector, file: range.file, report } : undefined;
  if (range.file === STDIN) {
    countFd(0, 0, Infinity, counters, buf, false, probe);
    return;
  }
  const fd = openSync(range.file, 'r');
  try {
    countFd(fd, range.start, range.end, counters, buf, true, probe);
  } finally {
    closeSync(fd);
  }
}

/** Count whole files; with a detector, format warnings are collected and also handed to `onWarning` at once. */
export function countFiles(
  files: readonly string[],
  counters: ServiceCounters,
  detector?: FormatDetector,
  onWarning?: (w: FormatWarning) => void,
): OneShotResult {
  const buf = readBuffer();
  const failed: OneShotResult['failed'] = [];
  const formatWarnings: FormatWarning[] = [];
  const report = (w: FormatWarning) => {
    formatWarnings.push(w);
    onWarning?.(w);
  };
  for (const f of files) {
    try {
      countFileRange({ file: f, start: 0, end: Infinity }, counters, buf, detector, report);
    } catch (e) {
      failed.push({ file: f, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  }
  return { files: files.length - failed.length, failed, formatWarnings };
}

/**
 * Split readable files into `parts` ranges of about equal size, cut just after a newline.
 * Files that cannot be opened are reported in `failed`; a file is never cut inside a line
 * (a cut point with no newline within 2 MiB after it is dropped).
 */
export function splitFiles(files: readonly string[], parts: number): { ranges: FileRange[][]; failed: OneShotResult['failed'] } {
  const failed: OneShotResult['failed'] = [];
  const sized: Array<{ file: string; size: number; fd: number }> = [];
  for (const file of files) {
    try {
      const fd = openSync(file, 'r');
      sized.push({ file, size: fstatSync(fd).size, fd });
    } catch (e) {
      failed.push({ file, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  }
  const total = sized.reduce((n, f) => n + f.size, 0);
  const share = total / parts;
  const ranges: FileRange[][] = Array.from({ length: parts }, () => []);
  const probe = Buffer.allocUnsafe(2 * MAX_LINE_BYTES);
  let part = 0;
  let used = 0;
  for (const f of sized) {
    let start = 0;
    while (start < f.size || (start === 0 && f.size === 0)) {
      const room = share - used;
      if (part < parts - 1 && room <= 0) {
        part++;
        used = 0;
        continue;
      }
      if (part === parts - 1 || f.size - start <= room) {
        ranges[part]!.push({ file: f.file, start, end: Infinity });
        used += f.size - start;
        break;
      }
      // Cut after the first newline past the share.
      const at = start + Math.max(1, Math.floor(room));
      const n = readSync(f.fd, probe, 0, probe.length, at - 1);
      const nl = probe.subarray(0, n).indexOf(10);
      if (nl < 0) {
        ranges[part]!.push({ file: f.file, start, end: Infinity });
        used += f.size - start;
        break;
      }
      const cut = at + nl;
      ranges[part]!.push({ file: f.file, start, end: cut });
      part++;
      used = 0;
      start = cut;
      if (start >= f.size) break;
    }
    closeSync(f.fd);
  }
  return { ranges, failed };
}
