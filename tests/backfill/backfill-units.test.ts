/** The backfill's small parts: dating log lines, runs of samples, the OpenMetrics text, progress, arguments. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { family } from '../../src/core/snapshot.js';
import { parseTimeLocal, parseTimeText, timestampReader } from '../../exporters/apilogs/log-timestamps.js';
import { OpenMetricsWriter } from '../../src/backfill/openmetrics-writer.js';
import { BackfillProgress, formatDuration } from '../../src/backfill/progress-bar.js';
import { SeriesTimeline } from '../../src/core/series-timeline.js';
import { parseStep, stepGrid } from '../../src/core/step-grid.js';
import { defaultEnd, parseInstant, runBackfillCommand } from '../../src/backfill/backfill-command.js';
import { UsageError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { fixedClock } from '../../src/core/clock.js';

const line = (s: string) => {
  const b = Buffer.from(s);
  return [b, 0, b.length] as const;
};

describe('dating log lines', () => {
  it('reads nginx $time_local with its offset, and rejects impossible times', () => {
    expect(parseTimeLocal('20/Aug/2026:10:00:00 +0200')).toBe(Date.parse('2026-08-20T08:00:00Z'));
    expect(parseTimeLocal('20/Aug/2026:10:00:00 -0130')).toBe(Date.parse('2026-08-20T11:30:00Z'));
    expect(parseTimeLocal('20/Aug/2026:24:00:00 +0000')).toBeNaN();
    expect(parseTimeLocal('20/Foo/2026:10:00:00 +0000')).toBeNaN();
  });

  it('reads epoch seconds, epoch milliseconds and ISO 8601', () => {
    expect(parseTimeText('1787212800.5')).toBe(1787212800500);
    expect(parseTimeText('1787212800500')).toBe(1787212800500);
    expect(parseTimeText('2026-08-20T08:00:00.500Z')).toBe(1787212800500);
  });

  it('finds the time variable of any nginx log_format, the JSON time field and a regex time group', () => {
    const iso = timestampReader({ name: 'a', format: 'nginx', log_format: '$remote_addr [$time_iso8601] "$request" $status $request_time' });
    expect(iso(...line('1.2.3.4 [2026-08-20T10:00:00+02:00] "GET / HTTP/1.1" 200 0.1'))).toBe(Date.parse('2026-08-20T08:00:00Z'));
    const msec = timestampReader({ name: 'a', format: 'nginx', log_format: '$msec $status "$request" $request_time' });
    expect(msec(...line('1787212800.250 200 "GET / HTTP/1.1" 0.1'))).toBe(1787212800250);
    expect(msec(...line('garbage'))).toBeNaN();
    const json = timestampReader({
      name: 'a',
      format: 'json',
      log_format: '',
      json_fields: { status: 'status', method: 'method', path: 'path', duration: 'duration', duration_unit: 's', time: 'ts' },
    });
    expect(json(...line('{"time":"ignored","ts":1787212800,"status":200}'))).toBe(1787212800000);
    const dflt = timestampReader({ name: 'a', format: 'json', log_format: '' });
    expect(dflt(...line('{"@timestamp":"2026-08-20T08:00:00Z","status":200}'))).toBe(1787212800000);
    const rx = timestampReader({ name: 'a', format: 'regex', log_format: '', regex: '^(?<time>\\S+) (?<status>\\d+) (?<path>\\S+)$' });
    expect(rx(...line('2026-08-20T08:00:00Z 200 /x'))).toBe(1787212800000);
  });

  it('refuses formats without a time', () => {
    expect(() => timestampReader({ name: 'api', format: 'nginx', log_format: '"$request" $status' })).toThrow(
      'apilogs service api: log_format has no $time_local, $time_iso8601 or $msec',
    );
    expect(() => timestampReader({ name: 'api', format: 'regex', log_format: '', regex: '(?<status>\\d+) (?<path>\\S+)' })).toThrow('named group (?<time>...)');
  });
});

describe('timeline and OpenMetrics', () => {
  it('keeps equal consecutive values as one run and writes one sample per step, families sorted', async () => {
    const grid = stepGrid(0, 1_200_000, 300_000); // 0, 300, 600, 900 s
    const tl = new SeriesTimeline(grid);
    const snap = (v: number) => [
      family('b_total', 'B.', 'counter', [{ labels: { x: 'q"1' }, value: v }]),
      family('a', 'A.', 'histogram', [{ suffix: '_bucket' as const, labels: { le: '+Inf' }, value: v }]),
    ];
    tl.hold(0, 300_000, snap(1));
    tl.record(600_000, snap(1));
    tl.record(900_000, snap(2.5));
    expect(tl.samples).toBe(8);
    expect(tl.sorted().map((s) => s.count)).toEqual([2, 2]);
    expect(() => tl.record(600_000, snap(3))).toThrow('out of time order');
    const dir = mkdtempSync(join(tmpdir(), 'okr-om-'));
    try {
      const w = new OpenMetricsWriter(join(dir, 'x.om'));
      await w.timeline(tl);
      await w.close();
      expect(readFileSync(join(dir, 'x.om'), 'utf8')).toBe(
        [
          '# HELP a_bucket A.',
          '# TYPE a_bucket unknown',
          'a_bucket{le="+Inf"} 1 0',
          'a_bucket{le="+Inf"} 1 300',
          'a_bucket{le="+Inf"} 1 600',
          'a_bucket{le="+Inf"} 2.5 900',
          '# HELP b_total B.',
          '# TYPE b_total unknown',
          'b_total{x="q\\"1"} 1 0',
          'b_total{x="q\\"1"} 1 300',
          'b_total{x="q\\"1"} 1 600',
          'b_total{x="q\\"1"} 2.5 900',
          '# EOF',
          '',
        ].join('\n'),
      );
      expect(w.samples).toBe(8);
      expect(w.digest).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('aligns the grid to the epoch and rejects steps under a second', () => {
    expect(stepGrid(Date.parse('2026-01-01T00:01:00Z'), Date.parse('2026-01-01T00:20:00Z'), 300_000)).toEqual({
      stepMs: 300_000,
      firstMs: Date.parse('2026-01-01T00:05:00Z'),
      lastMs: Date.parse('2026-01-01T00:15:00Z'),
    });
    expect(parseStep('5m')).toBe(300_000);
    expect(() => parseStep('500ms')).toThrow();
  });
});

describe('progress', () => {
  it('redraws one line per source on a terminal, with a bar and the time left', () => {
    let out = '';
    let now = 0;
    const p = new BackfillProgress({ stream: { write: (s: string) => ((out += s), true), isTTY: true }, intervalMs: 60_000, now: () => now });
    const jira = p.source('jira');
    const logs = p.source('apilogs');
    jira.setTotal(4);
    jira.advance(1);
    jira.request();
    logs.setTotal(100);
    logs.advance(50);
    logs.lines(1_234_567);
    now = 10_000;
    p.close();
    expect(out).toBe(
      '\r\x1b[2Kjira       [#####...............]   25%  1 requests  ETA 30s\n\r\x1b[2Kapilogs    [##########..........]   50%  0 requests  1,234,567 lines  ETA 10s\n',
    );
    expect(formatDuration(3_725_000)).toBe('1h02m');
  });

  it('prints plain lines elsewhere, and each source once when it ends', () => {
    let out = '';
    const p = new BackfillProgress({ stream: { write: (s: string) => ((out += s), true) }, intervalMs: 60_000, now: () => 0 });
    const s = p.source('sonarqube');
    s.setTotal(2);
    s.advance(2);
    s.finish('done, 10 samples');
    p.close();
    expect(out).toBe('sonarqube  100%  0 requests  done, 10 samples\n');
  });
});

describe('arguments', () => {
  const loaded = parseConfig('version: okr/v1\ncalendar:\n  timezone: Europe/Berlin\nobjectives: []\n', '/tmp/okrs.yaml', { env: {} });
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('reads days in the calendar time zone and ends by default at the last midnight 3 hours ago', () => {
    expect(parseInstant('2026-01-01', 'Europe/Berlin', now, '--from')).toBe(Date.parse('2025-12-31T23:00:00Z'));
    expect(parseInstant('now', 'UTC', now, '--to')).toBe(now - 3 * 3600_000);
    expect(defaultEnd('Europe/Berlin', now)).toBe(Date.parse('2026-11-24T23:00:00Z'));
    // At 01:00 the last midnight is too recent: the one before.
    expect(defaultEnd('UTC', Date.parse('2026-11-25T01:00:00Z'))).toBe(Date.parse('2026-11-24T00:00:00Z'));
  });

  it('rejects what it cannot do with a usage error', async () => {
    const run = (o: object) =>
      runBackfillCommand(loaded, { from: '2026-01-01', prometheus: false, ...o }, { logger: silentLogger(), clock: fixedClock(now), promtool: null });
    await expect(run({ sources: 'gitlab' })).rejects.toThrow(UsageError);
    await expect(run({ sources: 'jira,gitlab' })).rejects.toThrow('--sources gitlab: expected some of jira, sonarqube, bitbucket, apilogs');
    await expect(run({ sources: ',' })).rejects.toThrow('--sources: name at least one source');
    await expect(run({ to: '2026-11-25T11:00:00Z' })).rejects.toThrow('must be at least 3 hours ago');
    await expect(run({ to: '2025-01-01' })).rejects.toThrow('must be after --from');
    await expect(run({ from: 'yesterday' })).rejects.toThrow('--from yesterday: expected YYYY-MM-DD');
    await expect(run({ step: '1ms' })).rejects.toThrow(UsageError);
  });
});
