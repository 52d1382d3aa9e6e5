/**
 * The KR engine against a real Prometheus loaded with a known two-quarter history (backfilled
 * TSDB blocks): exact values, baselines, statuses and ledger rows for 2026-Q2 and 2026-Q3, a
 * target edit that leaves the closed quarter alone, the golden Markdown review of the example
 * OKRs, and the HTML review rendered in headless Chromium.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/report/report-command.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { KrEngine, type Evaluation, type KrResult } from '../../src/engine/engine.js';
import { Ledger } from '../../src/engine/ledger.js';
import { PrometheusClient, type PromQueryClient } from '../../src/engine/prometheus-client.js';
import { requireBinary } from '../support/binaries.js';
import { writeHistory } from '../support/okr-history.js';
import { createBlocks, startPrometheus, type PrometheusProcess } from '../support/prometheus-process.js';
import { fixedClock } from '../../src/core/clock.js';

const root = resolve(import.meta.dirname, '../..');
const goldenMd = join(root, 'tests/golden/report-2026-Q3.md');
const artifacts = join(root, 'test-artifacts');

const RUN_1 = Date.parse('2026-07-15T00:00:00Z'); // Q2 closed, Q3 half-way
const RUN_2 = Date.parse('2026-10-01T00:30:00Z'); // Q3 closed
const RUN_3 = Date.parse('2026-10-01T00:45:00Z'); // after editing a target

let prom: PrometheusProcess;
let client: PromQueryClient;
let dir: string;
let loaded: LoadedConfig;
let ledger: Ledger;
let run1: Evaluation;
let run2: Evaluation;

function kr(ev: Evaluation, id: string): KrResult {
  const k = ev.objectives.flatMap((o) => o.keyResults).find((x) => x.id === id);
  if (!k) throw new Error(`no KR ${id}`);
  return k;
}

beforeAll(async () => {
  requireBinary('promtool');
  dir = mkdtempSync(join(tmpdir(), 'okr-engine-'));
  const om = join(dir, 'history.om');
  await writeHistory(om);
  const dataDir = join(dir, 'data');
  await createBlocks(om, dataDir);
  rmSync(om);
  // Gauges are hourly in the fixture: let instant queries see the last hour.
  prom = await startPrometheus({ dataDir, args: ['--query.lookback-delta=1h'] });
  const real = new PrometheusClient(prom.url);
  // A fixed name in reports, so the golden file does not depend on the port.
  client = { baseUrl: 'http://prometheus:9090', query: (e, t) => real.query(e, t) };
  loaded = loadConfig(join(root, 'okrs.example.yaml'), { env: {} });
  ledger = new Ledger(join(dir, 'ledger.sqlite'));
  run1 = await new KrEngine({ loaded, prom: client, ledger, clock: fixedClock(RUN_1) }).evaluateCurrent();
  run2 = await new KrEngine({ loaded, prom: client, ledger, clock: fixedClock(RUN_2) }).evaluateCurrent();
}, 240_000);

afterAll(async () => {
  ledger?.close();
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('KR engine over two quarters of history', () => {
  it('closes 2026-Q2 in the ledger with exact values, baselines and statuses', () => {
    const row = (id: string) => ledger.get(id, '2026-Q2')!;
    expect(row('api-availability')).toMatchObject({ final_status: 'done', target_text: '> 99%', target_value: 0.99 });
    expect(row('api-availability').final_value).toBeCloseTo(0.995, 12);
    expect(row('system-downtime')).toMatchObject({ final_value: 0, final_status: 'done' });
    // p95 fell from 458.3 ms (Q1) to 416.7 ms: 9.1% better, short of the 10% asked.
    expect(row('api-latency').baseline).toBeCloseTo(0.458333333, 6);
    expect(row('api-latency').target_value).toBeCloseTo(0.4125, 6);
    expect(row('api-latency').final_value).toBeCloseTo(0.416666667, 6);
    expect(row('api-latency').final_progress).toBeCloseTo(0.909090909, 6);
    expect(row('api-latency').final_status).toBe('off_track');
    expect(row('sprint-velocity').final_value).toBeCloseTo(423 / 7, 9);
    expect(row('sprint-velocity').final_status).toBe('done');
    expect(row('backoffice-points')).toMatchObject({ final_value: 210, final_status: 'done' });
    expect(row('code-coverage').baseline).toBeCloseTo(0.55, 9);
    expect(row('code-coverage').target_value).toBeCloseTo(0.6, 9);
    // Read at the quarter's end, the instant Q3's period_start baseline is read at: 1 July's (0.63 + 0.53) / 2.
    expect(row('code-coverage').final_value).toBeCloseTo(0.58, 9);
    expect(row('code-coverage').final_progress).toBeCloseTo(0.6, 9);
    expect(row('code-coverage').final_status).toBe('off_track');
    expect(row('security-incidents')).toMatchObject({ final_value: 0, final_status: 'done' });
    expect(row('improvement-areas')).toMatchObject({ final_value: 3, final_status: 'done' });
    expect(row('blog-posts')).toMatchObject({ final_value: 2, final_status: 'done' });
    expect(row('show-and-tell')).toMatchObject({ final_value: 6, final_status: 'done' });
  });

  it('evaluates 2026-Q3 half-way with the baselines frozen at its start', () => {
    const latency = kr(run1, 'api-latency');
    expect(latency.period.name).toBe('2026-Q3');
    expect(latency.baseline).toBeCloseTo(0.416666667, 6); // Q2's final value, from the ledger
    expect(latency.value).toBeCloseTo(0.3, 6);
    expect(latency.status).toBe('on_track');
    const coverage = kr(run1, 'code-coverage');
    expect(coverage.baseline).toBeCloseTo(0.58, 9);
    expect(coverage.value).toBeCloseTo(0.58, 9);
    expect(coverage.expectedProgress).toBeCloseTo(14 / 92, 9);
    expect(kr(run1, 'blog-posts')).toMatchObject({ value: 1, status: 'on_track' }); // 1 of 2 at 15% of the quarter
    expect(kr(run1, 'show-and-tell').value).toBe(0);
    expect(kr(run1, 'show-and-tell').status).toBe('off_track');
    expect(kr(run1, 'sprint-velocity').value).toBe(70);
    expect(ledger.get('code-coverage', '2026-Q3')!.baseline_frozen_at).toBe(RUN_1);
  });

  it('closes 2026-Q3 with exact values and statuses', () => {
    const row = (id: string) => ledger.get(id, '2026-Q3')!;
    // The quarter's 26,496 five-minute increments (92 days): 26,424 at 0.8% failures and 72 outage steps at 90%.
    expect(row('api-availability').final_value).toBeCloseTo(1 - (26424 * 8 + 72 * 900) / 26496000, 12);
    expect(row('api-availability').final_status).toBe('off_track');
    // The outage's 72 slots of the quarter's own 26,496.
    expect(row('system-downtime').final_value).toBeCloseTo(72 / 26496, 13);
    expect(row('system-downtime').final_status).toBe('off_track');
    expect(row('api-latency').baseline).toBeCloseTo(0.416666667, 6);
    expect(row('api-latency').target_value).toBeCloseTo(0.375, 6);
    expect(row('api-latency').final_value).toBeCloseTo(0.3, 6);
    expect(row('api-latency').final_status).toBe('done');
    expect(row('sprint-velocity').final_value).toBeCloseTo(418 / 6, 9);
    expect(row('backoffice-points')).toMatchObject({ final_value: 186, final_status: 'off_track' });
    expect(row('backoffice-points').final_progress).toBeCloseTo(0.93, 9);
    expect(row('code-coverage').baseline).toBeCloseTo(0.58, 9);
    expect(row('code-coverage').final_value).toBeCloseTo(0.635, 9);
    expect(row('code-coverage').final_status).toBe('done');
    expect(row('security-incidents')).toMatchObject({ final_value: 1, final_status: 'off_track' });
    expect(row('improvement-areas')).toMatchObject({ final_value: 2, final_status: 'off_track' });
    expect(row('blog-posts')).toMatchObject({ final_value: 3, final_status: 'done' });
    expect(row('show-and-tell')).toMatchObject({ final_value: 4, final_status: 'off_track' });
    expect(row('staging-bottleneck')).toMatchObject({ final_value: 1, final_status: 'done' });
    expect(row('single-engineer-dependency')).toMatchObject({ final_value: 0.7, final_status: 'off_track', final_progress: 0.7 });
    // The next quarter opened with Q3's figures as its baseline.
    expect(ledger.get('api-latency', '2026-Q4')!.baseline).toBeCloseTo(0.3, 6);
    expect(kr(run2, 'api-latency').period.name).toBe('2026-Q4');
  });

  it('leaves the closed quarter untouched when a target is edited later', async () => {
    const before = ledger.get('api-availability', '2026-Q3');
    const edited = join(dir, 'okrs-edited.yaml');
    writeFileSync(edited, readFileSync(join(root, 'okrs.example.yaml'), 'utf8').replace('target: "> 99%"', 'target: "> 98%"'));
    const changed = loadConfig(edited, { env: {} });
    await new KrEngine({ loaded: changed, prom: client, ledger, clock: fixedClock(RUN_3) }).evaluateCurrent();
    expect(ledger.get('api-availability', '2026-Q3')).toEqual(before);
    expect(ledger.get('api-availability', '2026-Q4')).toMatchObject({ target_text: '> 98%', target_value: 0.98 });
    const report = (await runReport(changed, { period: '2026-Q3', format: 'json', prom: client, ledger, clock: fixedClock(RUN_3) })).text;
    const doc = JSON.parse(report) as { objectives: Array<{ key_results: Array<{ id: string; target: string; status: string }> }> };
    expect(doc.objectives.flatMap((o) => o.key_results).find((k) => k.id === 'api-availability')).toMatchObject({ target: '> 99%', status: 'off_track' });
  });

  it('report never writes the ledger: a missing one is not created, an open quarter is not closed', async () => {
    const copy = join(dir, 'read-only');
    mkdirSync(copy, { recursive: true });
    writeFileSync(join(copy, 'okrs.yaml'), readFileSync(join(root, 'okrs.example.yaml'), 'utf8'));
    const own = loadConfig(join(copy, 'okrs.yaml'), { env: {} });
    const file = join(copy, '.okr-metrics', 'ledger.sqlite');
    await runReport(own, { period: '2026-Q2', format: 'json', prom: client, clock: fixedClock(RUN_2) });
    expect(existsSync(file)).toBe(false);
    // serve saw 2026-Q3 open (RUN_1); a report after the quarter ended leaves it open: only serve freezes.
    const served = new Ledger(file);
    await new KrEngine({ loaded: own, prom: client, ledger: served, clock: fixedClock(RUN_1) }).evaluateCurrent();
    const before = served.rows();
    served.close();
    expect(before.filter((r) => r.period === '2026-Q3' && r.closed_at === null).length).toBeGreaterThan(10);
    const doc = JSON.parse((await runReport(own, { period: '2026-Q3', format: 'json', prom: client, clock: fixedClock(RUN_2) })).text) as {
      objectives: Array<{ key_results: Array<{ id: string; value: number | null; from_ledger: boolean }> }>;
    };
    expect(doc.objectives.flatMap((o) => o.key_results).find((k) => k.id === 'backoffice-points')).toMatchObject({ value: 186, from_ledger: false });
    const after = new Ledger(file, { readonly: true });
    expect(after.rows()).toEqual(before);
    after.close();
  });

  it('marks a baseline built from a third of its quarter, with its instant and PromQL', async () => {
    const doc = JSON.parse(
      (await runReport(loaded, { period: '2026-Q2', format: 'json', prom: client, ledger: new Ledger(':memory:'), clock: fixedClock(RUN_2) })).text,
    ) as {
      objectives: Array<{ key_results: Array<Record<string, unknown> & { id: string }> }>;
    };
    const latency = doc.objectives.flatMap((o) => o.key_results).find((k) => k.id === 'api-latency')!;
    // History starts on 1 March: 744 of 2026-Q1's 2,160 hours have samples.
    expect((latency.baseline_observed as { share: number }).share).toBeCloseTo(744 / 2160, 12);
    expect(latency.baseline_at).toBe('2026-04-01T00:00:00.000Z');
    expect(latency.baseline_promql).toContain('[7776000s]');
    expect(latency.problem).toBe('baseline from partial data: 34% of 2026-Q1 observed');
    expect(latency.baseline as number).toBeCloseTo(0.458333333, 6);
  });

  it('writes the golden Markdown review of 2026-Q3', async () => {
    const md = (await runReport(loaded, { period: '2026-Q3', format: 'md', prom: client, ledger, clock: fixedClock(RUN_2) })).text;
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(join(root, 'tests/golden'), { recursive: true });
      writeFileSync(goldenMd, md);
    }
    expect(existsSync(goldenMd), 'golden file missing: run with UPDATE_GOLDEN=1').toBe(true);
    expect(md).toBe(readFileSync(goldenMd, 'utf8'));
    expect(md).toContain('| **OKRs** | **Status** | **Progress** |');
    expect(md.match(/^\| [^*].* \| (✅|🟢|🟠|🔴|⚪) /gm)).toHaveLength(13);
  });

  it('renders every KR row of the HTML review in headless Chromium', async () => {
    const html = (await runReport(loaded, { period: '2026-Q3', format: 'html', prom: client, ledger, clock: fixedClock(RUN_2) })).text;
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, 'report-2026-Q3.html');
    writeFileSync(file, html);
    const browser = await chromium.launch({
      executablePath: requireBinary('chromium'),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${file}`);
      const rows = page.locator('tr.kr');
      expect(await rows.count()).toBe(13);
      for (const id of loaded.config.objectives.flatMap((o) => o.key_results.map((k) => k.id))) {
        await expect(page.locator(`tr.kr[data-kr="${id}"]`).isVisible()).resolves.toBe(true);
      }
      expect(await page.locator('tr.kr[data-kr="api-availability"] td.status').textContent()).toContain('off track');
      expect(await page.locator('svg.spark').count()).toBe(13);
      await page.screenshot({ path: join(artifacts, 'report-2026-Q3.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(existsSync(join(artifacts, 'report-2026-Q3.png'))).toBe(true);
  });
});
