/**
 * `serve` runs the KR engine: /metrics carries okr_key_result_* for the current period and
 * /report serves the HTML review. Prometheus is replaced by a scripted query client here; the
 * real one is exercised in tests/integration/kr-engine.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/serve/service.js';
import { KrEngine } from '../../src/engine/engine.js';
import { VERSION } from '../../src/version.js';
import { parseConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { InstantSample, PromQueryClient } from '../../src/engine/prometheus-client.js';
import { promtoolCheckMetrics } from '../support/binaries.js';
import { fixedClock } from '../../src/core/clock.js';

const NOW = Date.parse('2026-08-16T00:00:00Z'); // half-way through 2026-Q3 (46 of 92 days)

function config(dir: string) {
  return parseConfig(
    `version: okr/v1
organization: Example Engineering
server: { state_dir: ${dir} }
teams:
  platform: { services: [api] }
objectives:
  - id: stability
    title: Improve product stability
    key_results:
      - id: availability
        title: API availability > 99%
        measure: { availability: { service: api } }
        target: "> 99%"
        team: platform
      - id: talks
        title: At least 6 talks
        measure: { promql: "sum(talks_total)", unit: count }
        target: ">= 6"
        tracking: pace
      - id: docs
        title: Docs coverage
        measure: { promql: "sum(missing_metric)", unit: ratio }
        target: ">= 0.5"
`,
    join(dir, 'okrs.yaml'),
    { env: {} },
  );
}

const Q3_START = Date.parse('2026-07-01T00:00:00Z');
const Q3_END = Date.parse('2026-10-01T00:00:00Z');

class ScriptedProm implements PromQueryClient {
  readonly baseUrl = 'http://prometheus.test';
  queries: string[] = [];
  async query(expr: string, at: number): Promise<InstantSample[]> {
    this.queries.push(expr);
    if (expr.startsWith('count_over_time')) return [];
    if (expr.includes('api_requests_total')) return [{ labels: {}, value: 0.995 }];
    // Six talks by the end at a steady pace: 3 half-way.
    if (expr.includes('talks_total')) return [{ labels: {}, value: (6 * (at - Q3_START)) / (Q3_END - Q3_START) }];
    return [];
  }
}

let service: RunningService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

describe('serve with the KR engine', () => {
  it('exports key-result metrics and serves the HTML review', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-serve-'));
    const prom = new ScriptedProm();
    service = await startService(config(dir), { host: '127.0.0.1', port: 0, logger: silentLogger(), prom, clock: fixedClock(NOW) });
    await service.engine!.runOnce();
    const body = await (await fetch(`${service.url}/metrics`)).text();
    const line = (s: string) =>
      body
        .split('\n')
        .find((l) => l.startsWith(s))
        ?.split(' ')
        .pop();
    const avail = 'objective="stability",key_result="availability",period="2026-Q3",team="platform"';
    expect(line(`okr_metrics_build_info{version="${VERSION}",nodejs="${process.version}"}`)).toBe('1');
    expect(line(`okr_key_result_value{${avail}}`)).toBe('0.995');
    expect(line(`okr_key_result_target{${avail}}`)).toBe('0.99');
    expect(line(`okr_key_result_progress_ratio{${avail}}`)).toBe('1');
    expect(line(`okr_key_result_expected_progress_ratio{${avail}}`)).toBe('0.5');
    expect(line(`okr_key_result_status{${avail},status="on_track"}`)).toBe('1');
    expect(line(`okr_key_result_status{${avail},status="done"}`)).toBe('0');
    const talks = 'objective="stability",key_result="talks",period="2026-Q3",team=""';
    expect(line(`okr_key_result_progress_ratio{${talks}}`)).toBe('0.5');
    expect(line(`okr_key_result_status{${talks},status="on_track"}`)).toBe('1');
    // No series: no value, no progress, status no_data, and it does not drag the objective down.
    const docs = 'objective="stability",key_result="docs",period="2026-Q3",team=""';
    expect(line(`okr_key_result_value{${docs}}`)).toBeUndefined();
    expect(line(`okr_key_result_status{${docs},status="no_data"}`)).toBe('1');
    expect(line('okr_objective_progress_ratio{objective="stability"}')).toBe('0.75');
    expect(await promtoolCheckMetrics(body)).toBe('');

    const report = await fetch(`${service.url}/report`);
    expect(report.status).toBe(200);
    const html = await report.text();
    expect(html).toContain('<title>OKR review 2026-Q3: Example Engineering</title>');
    expect(html.match(/<tr class="kr"/g)).toHaveLength(3);
    // The value query is the documented availability expansion with the window filled in.
    expect(prom.queries).toContain(
      '1 - ((sum(increase(api_requests_total{service="api",code=~"5.."}[3974400s])) or vector(0)) / sum(increase(api_requests_total{service="api"}[3974400s])))',
    );
  });
});

describe('manual key results', () => {
  it('note when the value was taken (as_of) beside the note', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-manual-'));
    const loaded = parseConfig(
      `version: okr/v1
objectives:
  - id: people
    title: People
    key_results:
      - id: upskilled
        title: Upskill every engineer
        measure: { manual: { value: 0.25, as_of: "2026-09-01", note: "survey" }, unit: ratio }
        target: ">= 1"
`,
      join(dir, 'okrs.yaml'),
      { env: {} },
    );
    const ev = await new KrEngine({ loaded, prom: new ScriptedProm(), clock: fixedClock(NOW) }).evaluateCurrent();
    const kr = ev.objectives[0]!.keyResults[0]!;
    expect(kr.value).toBe(0.25);
    expect(kr.notes).toBe('survey; value as of 2026-09-01');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('okr-metrics report arguments', () => {
  it('rejects an unknown period name with exit code 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-report-'));
    const file = join(dir, 'okrs.yaml');
    writeFileSync(file, 'version: okr/v1\n');
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../dist/src/cli/main.js'), 'report', '-c', file, '--period', 'Q3-2026'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--period "Q3-2026" is not a period name (expected e.g. 2026-Q3, 2026-07 or 2026)');
  });
});

describe('sprint periods', () => {
  it('evaluates a sprint KR over the running sprint taken from the Jira exporter timestamps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-sprint-'));
    const loaded = parseConfig(
      `version: okr/v1
sources:
  jira:
    enabled: false
    url: https://example.atlassian.net
    email: bot@example.com
    api_token: \${JIRA_API_TOKEN}
    boards: [Platform]
objectives:
  - id: delivery
    title: Deliver
    key_results:
      - id: velocity
        title: More than 60 points per sprint
        measure: { story_points_per_sprint: { board: Platform } }
        target: "> 60"
        period: sprint
`,
      join(dir, 'okrs.yaml'),
      { env: {} },
    );
    const s = (iso: string) => Date.parse(iso) / 1000;
    const queries: Array<{ expr: string; at: number }> = [];
    const prom: PromQueryClient = {
      baseUrl: 'http://prometheus.test',
      async query(expr, at) {
        queries.push({ expr, at });
        if (expr.includes('max_over_time(jira_sprint_start_timestamp_seconds'))
          return [
            { labels: { sprint: '41' }, value: s('2026-07-27T09:00:00Z') },
            { labels: { sprint: '42' }, value: s('2026-08-10T09:00:00Z') },
          ];
        if (expr.includes('max_over_time(jira_sprint_complete_timestamp_seconds')) return [{ labels: { sprint: '41' }, value: s('2026-08-10T08:00:00Z') }];
        if (expr.includes('max_over_time(jira_sprint_end_timestamp_seconds'))
          return [
            { labels: { sprint: '41' }, value: s('2026-08-10T09:00:00Z') },
            { labels: { sprint: '42' }, value: s('2026-08-24T09:00:00Z') },
          ];
        if (expr.startsWith('avg(max by (board, sprint) (last_over_time(jira_sprint_story_points')) return [{ labels: {}, value: 64 }];
        return [];
      },
    };
    const { KrEngine } = await import('../../src/engine/engine.js');
    const now = Date.parse('2026-08-17T09:00:00Z'); // half-way through sprint 42
    const ev = await new KrEngine({ loaded, prom, clock: fixedClock(now), forecastPoints: 2 }).evaluateCurrent();
    const k = ev.objectives[0]!.keyResults[0]!;
    expect(k.period).toMatchObject({ kind: 'sprint', name: 'sprint 42', start: Date.parse('2026-08-10T09:00:00Z'), end: Date.parse('2026-08-24T09:00:00Z') });
    expect(k.expectedProgress).toBe(0.5);
    expect(k.value).toBe(64);
    expect(k.status).toBe('on_track');
    // Sprints are read for the KR's board with the measure's own (escaped) matcher.
    expect(queries.some((q) => q.expr.includes('jira_sprint_start_timestamp_seconds{board="Platform"}[400d]'))).toBe(true);
    // The measure ran with the sprint's own bounds as placeholders.
    const measure = queries.find((q) => q.expr.startsWith('avg(max by (board, sprint) (last_over_time(jira_sprint_story_points') && q.at === now)!;
    expect(measure.expr).toContain(`>= ${s('2026-08-10T09:00:00Z')} < ${s('2026-08-24T09:00:00Z')}`);
  });
});
