/**
 * HTTP methods as small integer ids, read straight from log bytes. Methods outside the
 * standard set share one id (label OTHER) so a scanner sending `FOO /` cannot grow the
 * label set.
 */
import { OTHER_METHOD, STANDARD_HTTP_METHODS } from './metrics.js';

/** Label value of each method id; the last id is OTHER. */
export const METHOD_NAMES: readonly string[] = [...STANDARD_HTTP_METHODS, OTHER_METHOD];
export const OTHER_METHOD_ID: number = STANDARD_HTTP_METHODS.length;

const METHOD_BYTES = STANDARD_HTTP_METHODS.map((m) => Buffer.from(m, 'latin1'));

/** Method id of the bytes buf[start, end). Case-sensitive, as HTTP methods are. */
export function methodIdFromBytes(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  // Most lines are GET or POST: check those without a loop.
  if (len === 3 && buf[start] === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 0;
  if (len === 4 && buf[start] === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) return 2;
  for (let id = 0; id < METHOD_BYTES.length; id++) {
    const m = METHOD_BYTES[id]!;
    if (m.length !== len) continue;
    let k = 0;
    while (k < len && buf[start + k] === m[k]) k++;
    if (k === len) return id;
  }
  return OTHER_METHOD_ID;
}

export function methodIdFromString(method: string): number {
  const i = (STANDARD_HTTP_METHODS as readonly string[]).indexOf(method);
  return i === -1 ? OTHER_METHOD_ID : i;
}
