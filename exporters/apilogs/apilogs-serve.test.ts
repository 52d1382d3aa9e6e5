/**
 * The scale-out story: `okr-metrics serve` with only the apilogs source on an API host. The
 * service is started in-process on a free port, lines are appended, /metrics is scraped.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/serve/service.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import { fixedClock } from '../../src/core/clock.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';
import { SOURCES } from '../index.js';
import { apilogsPlugin } from './plugin.js';
import { nginxLine } from './testing/apilogs-fixtures.js';

let service: RunningService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

function hostConfig(dir: string) {
  return parseConfig(
    `version: okr/v1
organization: Example Engineering
server: { state_dir: state }
sources:
  apilogs:
    refresh_interval: 1s
    poll_interval: 20ms
    services:
      - name: topups-api
        files: ["logs/topups.access.log*"]
        routes: [/v1/topups/:id]
        start_at: beginning
      - name: admin
        format: json
        json_fields: { duration: ms, duration_unit: ms }
        files: ["logs/admin.jsonl"]
        start_at: beginning
`,
    join(dir, 'okrs.yaml'),
    { env: {} },
  );
}

/** Scrape until `pred` holds (bounded), returning the last body. */
async function scrapeUntil(url: string, pred: (body: string) => boolean): Promise<string> {
  let body = '';
  for (let i = 0; i < 100; i++) {
    body = await (await fetch(`${url}/metrics`)).text();
    if (pred(body)) return body;
    await sleep(50);
  }
  return body;
}

const value = (body: string, series: string) =>
  body
    .split('\n')
    .find((l) => l.startsWith(`${series} `))
    ?.split(' ')
    .pop();

describe('serve with only the apilogs source', () => {
  it('is registered, follows the configured files and exposes the counters', async () => {
    expect(SOURCES).toContain(apilogsPlugin);
    const dir = mkdtempSync(join(tmpdir(), 'apilogs-serve-'));
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'topups.access.log'), `${nginxLine('GET', '/v1/topups/5', 200, '0.020')}\n`);
    writeFileSync(join(logs, 'admin.jsonl'), '{"status":500,"method":"GET","path":"/reports/2026","ms":1500}\n');

    service = await startService(hostConfig(dir), {
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')),
    });
    const topups = 'api_requests_total{service="topups-api",route="/v1/topups/:id",method="GET",code="200"}';
    let body = await scrapeUntil(service.url, (b) => value(b, topups) === '1');
    expect(value(body, topups)).toBe('1');
    expect(value(body, 'api_requests_total{service="admin",route="/reports/:id",method="GET",code="500"}')).toBe('1');
    expect(value(body, 'api_request_duration_seconds_sum{service="admin",route="/reports/:id",method="GET"}')).toBe('1.5');
    expect(value(body, 'okr_source_up{source="apilogs"}')).toBe('1');
    expect(value(body, 'api_log_files_watched{service="topups-api"}')).toBe('1');
    expect(value(body, 'api_log_files_missing{service="admin"}')).toBe('0');

    appendFileSync(
      join(logs, 'topups.access.log'),
      `${nginxLine('GET', '/v1/topups/6', 200, '0.020')}\n${nginxLine('GET', '/v1/topups/7', 503, '1.000')}\nnot a log line\n`,
    );
    body = await scrapeUntil(service.url, (b) => value(b, topups) === '2' && value(b, 'api_log_lines_total{service="topups-api",result="malformed"}') === '1');
    expect(value(body, topups)).toBe('2');
    expect(value(body, 'api_requests_total{service="topups-api",route="/v1/topups/:id",method="GET",code="503"}')).toBe('1');
    expect(value(body, 'api_log_lines_total{service="topups-api",result="parsed"}')).toBe('3');
    expect(value(body, 'api_log_lines_total{service="topups-api",result="malformed"}')).toBe('1');
    expect(await promtoolCheckMetrics(body)).toBe('');

    await service.stop();
    service = undefined;
    const saved = JSON.parse(readFileSync(join(dir, 'state', 'apilogs-checkpoint.json'), 'utf8'));
    expect(saved.files.map((f: { service: string; offset: number }) => [f.service, f.offset]).sort()).toEqual([
      ['admin', readFileSync(join(logs, 'admin.jsonl')).length],
      ['topups-api', readFileSync(join(logs, 'topups.access.log')).length],
    ]);
  });
});
