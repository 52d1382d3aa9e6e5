/**
 * The HTML review reads true, checked in headless Chromium (text and computed styles) on figures
 * the KR engine produced from a scripted Prometheus:
 *   - a zero-tolerance downtime missed by one slot in a quarter (3.77e-05) never prints as 0 %
 *     beside "off track", and the next quarter compares with that figure, not with "0 %";
 *   - a count keeping pace but forecast to miss its target is at risk, not on track;
 *   - the trend arrow comes with the figure it compares with (the previous quarter, measured when
 *     no ledger froze it), and there is no arrow when that figure is unknown;
 *   - progress bars take their status' colour; sparklines print the range they are drawn in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import type { InstantSample, PromQueryClient } from '../../src/engine/prometheus-client.js';
import { runReport } from '../../src/report/report-command.js';
import { requireBinary } from '../support/binaries.js';

const root = resolve(import.meta.dirname, '../..');
const artifacts = join(root, 'test-artifacts');
const s = (iso: string) => Date.parse(iso) / 1000;
const Q3_END = s('2026-10-01T00:00:00Z');
const Q4_START = Q3_END;
const Q4_END = s('2027-01-01T00:00:00Z');
/** Half-way through 2026-Q4. */
const MID_Q4 = Date.parse('2026-11-15T12:00:00Z');

const okrs = parseConfig(
  `version: okr/v1
sources:
  apilogs:
    services: [{ name: api, files: ["/dev/null"] }]
  jira:
    enabled: false
    url: https://example.atlassian.net
    email: bot@example.com
    api_token: \${JIRA_API_TOKEN}
    boards: [Admin]
    queries: { incidents: project = SEC }
objectives:
  - id: o
    title: Reliable and delivering
    key_results:
      - { id: downtime, title: 0% downtime, measure: { downtime: { service: api } }, target: "== 0" }
      - { id: points, title: Deliver > 200 story points, measure: { story_points: { boards: Admin } }, target: "> 200" }
      - { id: latency, title: Latency 10% better, measure: { latency_p95: { service: api } }, target: "-10%", baseline: previous_period }
      - { id: incidents, title: No incidents, measure: { jql_count: { query: incidents } }, target: "== 0" }
`,
  '/tmp/okrs.yaml',
  { env: {} },
);

/** Answers like Prometheus would for this history: by the period the query's placeholders name. */
const prom: PromQueryClient = {
  baseUrl: 'http://prometheus.test',
  async query(expr: string, at: number): Promise<InstantSample[]> {
    const one = (value: number) => [{ labels: {}, value }];
    const periodEnd = Number(/<= (\d+)\)\)/.exec(expr)?.[1] ?? /< (\d+)\)\)$/.exec(expr)?.[1]);
    if (expr.startsWith('count_over_time')) return one(1e9); // every slot observed
    if (expr.startsWith('avg_over_time')) return one(periodEnd === Q3_END ? 1 / 26496 : 0); // one slot of 2026-Q3 down
    if (expr.startsWith('histogram_quantile')) return one(at <= Q3_END * 1000 ? 0.41666 : 0.3);
    if (expr.startsWith('sum(max by (board, sprint)')) {
      const start = periodEnd === Q4_END ? Q4_START : periodEnd - 92 * 86400;
      return one((192.6 * (at / 1000 - start)) / (Q4_END - Q4_START)); // on pace for 192.6: short of 200
    }
    if (expr.includes('jira_query_issues')) return at <= Q3_END * 1000 ? [] : one(0); // nothing known of 2026-Q3
    return [];
  },
};

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: requireBinary('chromium'),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

async function open(period: string, at: number): Promise<Page> {
  const html = (await runReport(okrs, { period, format: 'html', prom, clock: fixedClock(at) })).text;
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `review-rendering-${period}.html`);
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`file://${file}`);
  return page;
}

const cell = (page: Page, kr: string, n: number) => page.locator(`tr.kr[data-kr="${kr}"] > td:nth-child(${n})`).innerText();
/** The browser's own, inside page functions (the project has no DOM types). */
declare const getComputedStyle: (e: unknown) => { backgroundColor: string };
const barColour = (page: Page, kr: string) => page.locator(`tr.kr[data-kr="${kr}"] .bar > span`).evaluate((e) => getComputedStyle(e).backgroundColor);

describe('the HTML review, rendered', () => {
  it('2026-Q3: a downtime missed by one slot reads 0.0038 %, off track, its bar red', async () => {
    const page = await open('2026-Q3', Date.parse('2026-10-01T01:00:00Z'));
    expect(await cell(page, 'downtime', 2)).toContain('off track');
    const figures = await cell(page, 'downtime', 4);
    expect(figures).toContain('0.0038%');
    expect(figures).not.toMatch(/→ 0% →/);
    expect(await barColour(page, 'downtime')).toBe('rgb(198, 40, 40)');
    await page.close();
  });

  it('2026-Q4 half-way: trends from the figures they compare with, status consistent with the forecast, sparklines with their range', async () => {
    const page = await open('2026-Q4', MID_Q4);
    expect(await cell(page, 'downtime', 5)).toContain('↓ from 0.0038% (2026-Q3)');
    // The latency quarter was never frozen (no ledger): measured, and shown with the arrow.
    expect(await cell(page, 'latency', 5)).toContain('↓ from 416.7 ms (2026-Q3)');
    // Nothing known of the previous quarter: no arrow at all.
    expect(await cell(page, 'incidents', 5)).not.toMatch(/[↑↓→]/);
    // Keeping pace (48% at 50%) but forecast at 192.6 of > 200: at risk, amber bar.
    expect(await cell(page, 'points', 2)).toContain('at risk');
    expect(await cell(page, 'points', 5)).toContain('forecast 192.6');
    expect(await barColour(page, 'points')).toBe('rgb(179, 89, 0)');
    expect(await barColour(page, 'latency')).toBe('rgb(26, 127, 55)');
    // The range the sparkline is drawn in, target included: 0 to 200 points.
    expect(await page.locator('tr.kr[data-kr="points"] svg.spark text.range.max').textContent()).toBe('200');
    expect(await page.locator('tr.kr[data-kr="points"] svg.spark text.range.min').textContent()).toBe('0');
    expect(await page.locator('tr.kr[data-kr="points"] svg.spark').getAttribute('aria-label')).toBe('trend of Deliver > 200 story points from 0 to 200');
    await page.screenshot({ path: join(artifacts, 'review-rendering-2026-Q4.png'), fullPage: true });
    await page.close();
  });
});
