import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countText, requestTable, service } from '../testing/apilogs-fixtures.js';
import { AccessLogWriter, dailyShape, historyChunks, latencyScale, scheduleIncidents } from './access-log-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'okr-demo-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-26T12:00:00Z');

/** Requests by status class, counted by the real apilogs parser. */
function byClass(text: string): { lines: number; parsed: number; failed: number } {
  const c = countText(service({ routes: ['/v1/topups/:id', '/v1/operators/:id'] }), text);
  const table = requestTable(c);
  let parsed = 0;
  let failed = 0;
  for (const [key, n] of Object.entries(table)) {
    parsed += n;
    if (/ 5\d\d$/.test(key)) failed += n;
  }
  return { lines: text.split('\n').filter(Boolean).length, parsed, failed };
}

describe('demo access log', () => {
  it('writes lines the real nginx parser reads in full, with templated routes and about 0.1% errors', () => {
    const text = [...historyChunks(T0, T0 + 2 * 3_600_000, { baseErrorShare: 0.001, incidents: [] }, 1, 3)].map((c) => c.text).join('');
    const r = byClass(text);
    expect(r.lines).toBeGreaterThan(50_000);
    expect(r.parsed).toBe(r.lines); // nothing malformed
    expect(r.failed / r.parsed).toBeGreaterThan(0.0005);
    expect(r.failed / r.parsed).toBeLessThan(0.002);
    const routes = Object.keys(requestTable(countText(service({ routes: ['/v1/topups/:id', '/v1/operators/:id'] }), text))).map((k) => k.split(' ')[0]);
    expect(new Set(routes)).toEqual(new Set(['/v1/topups', '/v1/topups/:id', '/v1/operators/:id', '/v1/countries']));
  });

  it('follows a daily pattern and gets faster each quarter', () => {
    expect(dailyShape(Date.parse('2026-11-26T14:00:00Z'))).toBeCloseTo(1, 9);
    expect(dailyShape(Date.parse('2026-11-26T02:00:00Z'))).toBeCloseTo(0.2, 9);
    expect(latencyScale(Date.parse('2026-11-01T00:00:00Z')) / latencyScale(Date.parse('2026-08-01T00:00:00Z'))).toBeCloseTo(0.9, 9);
  });

  it('injected and scheduled incidents fail their share of requests, then stop', () => {
    let now = T0;
    const file = join(dir, 'live.log');
    const w = new AccessLogWriter({ file, clock: { now: () => now }, rateScale: 20 });
    now += 10_000;
    w.writeDue();
    const before = byClass(readFileSync(file, 'utf8'));
    expect(before.failed / before.parsed).toBeLessThan(0.01);
    w.injectIncident(60_000, 0.3);
    expect(w.currentIncident()?.errorShare).toBe(0.3);
    const size = readFileSync(file, 'utf8').length;
    now += 60_000;
    w.writeDue();
    const during = byClass(readFileSync(file, 'utf8').slice(size));
    expect(during.failed / during.parsed).toBeGreaterThan(0.25);
    expect(during.failed / during.parsed).toBeLessThan(0.35);
    expect(w.currentIncident()).toBeUndefined();
    const incidents = scheduleIncidents(T0, T0 + 30 * 86_400_000, 86_400_000, () => 0.5);
    expect(incidents.length).toBeGreaterThan(20);
    expect(incidents.every((i) => i.toMs - i.fromMs >= 5 * 60_000 && i.errorShare >= 0.15)).toBe(true);
  });
});
