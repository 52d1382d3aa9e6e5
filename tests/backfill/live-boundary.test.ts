/**
 * The boundary with the live exporter: a Prometheus that already holds the exporter's
 * okr_source_up{source="apilogs"} from 12:00 makes a backfill up to midnight a usage error that
 * names the instant to stop at; stopping there passes. An unreachable Prometheus only warns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMetricsWriter } from '../../src/backfill/openmetrics-writer.js';
import { runBackfillCommand } from '../../src/backfill/backfill-command.js';
import { UsageError } from '../../src/config/config-error.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { freePort } from '../support/binaries.js';
import { createBlocks, startPrometheus, type PrometheusProcess } from '../support/prometheus-process.js';
import { writeArchivedLog } from './backfill-fixtures.js';
import { fixedClock } from '../../src/core/clock.js';

let dir: string;
let prom: PrometheusProcess;
let loaded: LoadedConfig;
const LIVE_FROM = Date.parse('2026-08-20T12:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-backfill-live-'));
  const om = join(dir, 'live.om');
  const w = new OpenMetricsWriter(om);
  const points: Array<[number, number]> = [];
  for (let t = LIVE_FROM; t <= LIVE_FROM + 2 * 3600_000; t += 30_000) points.push([t, 1]);
  await w.family('okr_source_up', 'Live exporter health.', [{ labels: { source: 'apilogs', job: 'okr-metrics' }, points }]);
  await w.close();
  await createBlocks(om, join(dir, 'data'));
  prom = await startPrometheus({ dataDir: join(dir, 'data') });
  const logFile = writeArchivedLog(join(dir, 'logs'));
  loaded = parseConfig(
    `version: okr/v1\nserver:\n  state_dir: ${join(dir, 'state')}\nprometheus:\n  url: ${prom.url}\nsources:\n  apilogs:\n    services:\n      - name: topups-api\n        files: ["${logFile}"]\nobjectives: []\n`,
    join(dir, 'okrs.yaml'),
    { env: {} },
  );
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (to: string, prometheus?: string) =>
  runBackfillCommand(
    loaded,
    { from: '2026-08-20', to, out: join(dir, 'out'), blocks: false, prometheus },
    { logger: silentLogger(), clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')), promtool: null },
  );

describe('the live boundary', () => {
  it('refuses a range the live exporter already covers, naming where to stop', async () => {
    const e = await run('2026-08-21').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe(
      `--to 2026-08-21T00:00:00.000Z: Prometheus at ${prom.url} already has live apilogs samples from 2026-08-20T12:00:00.000Z (okr_source_up); backfill up to the exporter's first scrape: --to 2026-08-20T12:00:00.000Z`,
    );
  });

  it('backfills up to the first live sample', async () => {
    const r = await run('2026-08-20T12:00:00Z');
    expect(r.outcomes.map((o) => [o.source, o.status])).toEqual([['apilogs', 'written']]);
    expect(r.grid.lastMs).toBe(LIVE_FROM - 300_000);
  });

  it('only warns when Prometheus cannot be asked', async () => {
    const r = await run('2026-08-20T06:00:00Z', `http://127.0.0.1:${await freePort()}`);
    expect(r.failed).toBe(false);
  });
});
