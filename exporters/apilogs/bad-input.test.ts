/** Bad input is counted and skipped, never fatal: exact counts for each kind. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from './line-splitter.js';
import { countFile, countFiles } from './one-shot.js';
import { countText, nginxLine, requestTable, service } from './testing/apilogs-fixtures.js';

const good = nginxLine('GET', '/v1/topups/1', 200, '0.010');

describe('bad input', () => {
  it('garbage lines: each one malformed', () => {
    const c = countText(service(), [good, '\u0000\u0001\u0002', 'GET / HTTP/1.1', '{}', '         ', good].join('\n'));
    expect([c.parsed, c.malformed]).toEqual([2, 4]);
  });

  it('blank lines and CRLF line ends: blank lines are not lines, CR is stripped', () => {
    const c = countText(service(), `${good}\r\n\n\r\n${good}\n\n`);
    expect([c.parsed, c.malformed]).toEqual([2, 0]);
  });

  it('truncated lines: a cut-off line is malformed, the next line still counts', () => {
    const c = countText(service(), [good.slice(0, 40), good, good.slice(0, good.indexOf('HTTP')), good].join('\n'));
    expect([c.parsed, c.malformed]).toEqual([2, 2]);
  });

  it('an unterminated last line at the end of a file is counted (one-shot)', () => {
    const c = countText(service(), `${good}\n${good}`);
    expect([c.parsed, c.malformed]).toEqual([2, 0]);
  });

  it('lines over 1 MiB: one malformed each, whether they fit in one read or span several', () => {
    const huge = `${good.slice(0, 50)}${'x'.repeat(MAX_LINE_BYTES + 10)}`;
    const exact = `10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "${'y'.repeat(MAX_LINE_BYTES - 200)}" 0.001`;
    expect(exact.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
    const c = countText(service(), [good, huge, good, exact, huge].join('\n'));
    expect([c.parsed, c.malformed]).toEqual([3, 2]);

    // Through the file reader: 3 MiB lines span the 4 MiB read buffer boundaries.
    const dir = mkdtempSync(join(tmpdir(), 'apilogs-bad-'));
    const file = join(dir, 'big.txt');
    const big = 'z'.repeat(3 * MAX_LINE_BYTES);
    writeFileSync(file, [good, big, good, big, big, good, big].join('\n'));
    const c2 = service();
    countFile(file, c2);
    expect([c2.parsed, c2.malformed]).toEqual([3, 4]);
  });

  it('invalid UTF-8: the line is malformed, its neighbours are not', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${good}\n`),
      Buffer.from(nginxLine('GET', '/caf', 200, '0.001').replace('/caf', '/caf\u00ff')),
      Buffer.from('\n'),
      Buffer.from(`${good}\n`),
    ]);
    // Replace the UTF-8 encoding of U+00FF (c3 bf) with a lone 0xff byte.
    const i = bytes.indexOf(Buffer.from([0xc3, 0xbf]));
    const broken = Buffer.concat([bytes.subarray(0, i), Buffer.from([0xff]), bytes.subarray(i + 2)]);
    const c = countText(service(), broken);
    expect([c.parsed, c.malformed]).toEqual([2, 1]);
    // Valid multi-byte UTF-8 in a path is fine and becomes the route label as is.
    const ok = countText(service(), nginxLine('GET', '/café', 200, '0.001'));
    expect(requestTable(ok)).toEqual({ '/café GET 200': 1 });
  });

  it('empty files count nothing; a missing file is reported and the others are still read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apilogs-bad-'));
    writeFileSync(join(dir, 'empty.txt'), '');
    writeFileSync(join(dir, 'one.txt'), `${good}\n`);
    const c = service();
    const r = countFiles([join(dir, 'empty.txt'), join(dir, 'missing.txt'), join(dir, 'one.txt')], c);
    expect(r).toEqual({ files: 2, failed: [{ file: join(dir, 'missing.txt'), error: 'ENOENT' }], formatWarnings: [] });
    expect([c.parsed, c.malformed, c.bytesRead]).toEqual([1, 0, good.length + 1]);
  });
});
