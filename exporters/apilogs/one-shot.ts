/**
 * One-shot mode (like `mtail --one_shot`): read whole files synchronously in large chunks
 * and count them. Synchronous reads are the fastest path in Node for a single pass, and
 * nothing else runs in the process meanwhile.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.js';
import type { ServiceCounters } from './service-counters.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface OneShotResult {
  files: number;
  /** Files that could not be opened, with the reason (the rest are still counted). */
  failed: Array<{ file: string; error: string }>;
}

/** Count every line of `file` into `counters`. Throws only on open/read errors. */
export function countFile(file: string, counters: ServiceCounters, buf = Buffer.allocUnsafe(MAX_LINE_BYTES + CHUNK_BYTES)): void {
  const fd = openSync(file, 'r');
  try {
    const splitter = new LineSplitter(counters);
    let carry = 0;
    for (;;) {
      const n = readSync(fd, buf, carry, buf.length - carry, null);
      if (n === 0) break;
      counters.bytesRead += n;
      const len = carry + n;
      const keep = splitter.process(buf, len);
      carry = len - keep;
      if (carry > 0) buf.copyWithin(0, keep, len);
    }
    splitter.finish(buf, 0, carry);
  } finally {
    closeSync(fd);
  }
}

export function countFiles(files: readonly string[], counters: ServiceCounters): OneShotResult {
  const buf = Buffer.allocUnsafe(MAX_LINE_BYTES + CHUNK_BYTES);
  const failed: OneShotResult['failed'] = [];
  for (const f of files) {
    try {
      countFile(f, counters, buf);
    } catch (e) {
      failed.push({ file: f, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  }
  return { files: files.length - failed.length, failed };
}
