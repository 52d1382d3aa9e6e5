/**
 * Counting in several threads gives the same counts as one pass: ranges cut at line starts
 * cover every byte once, and counts merge by label value (with the route cap applied).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntSlotMap } from './int-slot-map.js';
import { countFile, countFileRange, splitFiles } from './one-shot.js';
import { countText, nginxLine, requestTable, service } from './testing/apilogs-fixtures.js';

function writeLogs(dir: string): string[] {
  const lines = (n: number, offset: number) =>
    Array.from({ length: n }, (_, i) =>
      nginxLine(
        ['GET', 'POST', 'PUT'][(i + offset) % 3]!,
        `/r${(i + offset) % 7}/${i}`,
        [200, 201, 404, 503][(i * 7 + offset) % 4]!,
        `0.${String((i * 37) % 1000).padStart(3, '0')}`,
      ),
    ).join('\n');
  const files = [join(dir, 'a.txt'), join(dir, 'empty.txt'), join(dir, 'b.txt'), join(dir, 'c.txt')];
  writeFileSync(files[0]!, `${lines(3000, 0)}\nnot a log line\n`);
  writeFileSync(files[1]!, '');
  writeFileSync(files[2]!, `${lines(1234, 5)}\n`);
  writeFileSync(files[3]!, lines(777, 9)); // no final newline
  return files;
}

describe('splitting files into ranges', () => {
  it('cuts only after newlines and covers every byte of every file exactly once', () => {
    const files = writeLogs(mkdtempSync(join(tmpdir(), 'apilogs-split-')));
    for (const parts of [1, 2, 3, 5]) {
      const { ranges, failed } = splitFiles(files, parts);
      expect(failed).toEqual([]);
      expect(ranges).toHaveLength(parts);
      for (const f of files) {
        const bytes = readFileSync(f);
        const mine = ranges.flat().filter((r) => r.file === f);
        let at = 0;
        for (const r of mine) {
          expect(r.start).toBe(at);
          if (r.start > 0) expect(bytes[r.start - 1]).toBe(10);
          at = Number.isFinite(r.end) ? r.end : bytes.length;
        }
        expect(at).toBe(bytes.length);
      }
    }
  });

  it('counting the ranges separately and merging equals one pass', () => {
    const files = writeLogs(mkdtempSync(join(tmpdir(), 'apilogs-split-')));
    const whole = service();
    for (const f of files) countFile(f, whole);
    const { ranges } = splitFiles(files, 3);
    const merged = service();
    for (const f of ranges[0]!) countFileRange(f, merged);
    for (const part of ranges.slice(1)) {
      const other = service();
      for (const f of part) countFileRange(f, other);
      merged.mergeCounts(JSON.parse(JSON.stringify(other.exportCounts())));
    }
    expect([merged.parsed, merged.malformed, merged.bytesRead]).toEqual([whole.parsed, whole.malformed, whole.bytesRead]);
    expect([merged.parsed, merged.malformed]).toEqual([3000 + 1234 + 777, 1]);
    expect(requestTable(merged)).toEqual(requestTable(whole));
    const hist = (c: typeof whole) => c.durationSamples().filter((s) => s.suffix !== '_sum');
    expect(hist(merged)).toEqual(hist(whole));
  });

  it('applies the route cap to merged routes and counts what it folds', () => {
    const a = countText(service({ max_routes: 3 }), ['/a', '/b', '/a'].map((p) => nginxLine('GET', p, 200, '0.1')).join('\n'));
    const b = countText(service({ max_routes: 3 }), ['/c', '/d', '/d', '/e', '/a'].map((p) => nginxLine('GET', p, 200, '0.1')).join('\n'));
    // b folded its fourth route (/a) itself; merged, /c still fits, /d and /e do not.
    expect([requestTable(b)['other GET 200'], b.overflow]).toEqual([1, 1]);
    a.mergeCounts(b.exportCounts());
    expect(requestTable(a)).toEqual({ '/a GET 200': 2, '/b GET 200': 1, '/c GET 200': 1, 'other GET 200': 4 });
    expect(a.overflow).toBe(4);
  });
});

describe('IntSlotMap', () => {
  it('behaves like a Map of non-negative integers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 2 }), fc.nat()), { maxLength: 2000 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 31 - 2 })),
        (pairs, probes) => {
          const m = new IntSlotMap(4);
          const ref = new Map<number, number>();
          for (const [k, v] of pairs) {
            m.set(k, v);
            ref.set(k, v);
          }
          expect(m.size).toBe(ref.size);
          for (const [k] of pairs) expect(m.get(k)).toBe(ref.get(k));
          for (const k of probes) expect(m.get(k)).toBe(ref.get(k) ?? -1);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('okr-metrics logs --threads 2 (the built CLI, real worker threads)', () => {
  it('prints the same counts as one thread', () => {
    const main = join(import.meta.dirname, '../../dist/src/cli/main.js');
    expect(existsSync(join(import.meta.dirname, '../../dist/exporters/apilogs/one-shot-worker.js')), 'dist/ is missing or stale: npm run build').toBe(true);
    const files = writeLogs(mkdtempSync(join(tmpdir(), 'apilogs-threads-')));
    const run = (threads: string) => spawnSync(process.execPath, [main, 'logs', '--threads', threads, ...files], { encoding: 'utf8' });
    const one = run('1');
    const two = run('2');
    expect([one.status, two.status, two.stderr]).toEqual([0, 0, '']);
    const counts = (out: string) =>
      out.split('\n').filter((l) => /^(api_requests_total|api_log_lines_total|api_request_duration_seconds_(bucket|count))\{/.test(l));
    expect(counts(two.stdout)).toEqual(counts(one.stdout));
    expect(counts(one.stdout).find((l) => l.startsWith('api_log_lines_total{service="api",result="parsed"}'))).toBe(
      'api_log_lines_total{service="api",result="parsed"} 5011',
    );
  });

  it('reads standard input for "-" (e.g. zcat access.log.2.gz | okr-metrics logs -)', () => {
    const main = join(import.meta.dirname, '../../dist/src/cli/main.js');
    const files = writeLogs(mkdtempSync(join(tmpdir(), 'apilogs-stdin-')));
    const fromFile = spawnSync(process.execPath, [main, 'logs', files[2]!], { encoding: 'utf8' });
    const fromStdin = spawnSync(process.execPath, [main, 'logs', '-'], { encoding: 'utf8', input: readFileSync(files[2]!) });
    expect([fromStdin.status, fromStdin.stderr]).toEqual([0, '']);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
    expect(fromStdin.stdout).toContain('api_log_lines_total{service="api",result="parsed"} 1234\n');
  });
});
