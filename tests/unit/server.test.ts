/**
 * The service's promise: /metrics always answers with every healthy source's series, and a
 * source that throws, hangs or returns garbage shows up as okr_source_up 0 with its last good
 * values kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CollectContext, Collector, Snapshot } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import { silentLogger } from '../../src/core/logger.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer, type RunningServer } from '../../src/serve/http-server.js';
import { fixedClock } from '../../src/core/clock.js';

/** The runner stamps last successes with it: a fixed instant, whatever today is. */
const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));

function gauge(name: string, value: number): Snapshot {
  return [{ name, help: `${name} help`, type: 'gauge', samples: [{ labels: { board: 'Platform' }, value }] }];
}

/** A collector whose behaviour per call is scripted. */
class ScriptedCollector implements Collector {
  calls = 0;
  constructor(
    readonly source: string,
    private readonly script: Array<(ctx: CollectContext) => Promise<Snapshot>>,
  ) {}
  collect(ctx: CollectContext): Promise<Snapshot> {
    const step = this.script[Math.min(this.calls, this.script.length - 1)]!;
    this.calls++;
    return step(ctx);
  }
}

const healthy = (name: string, value: number) => async () => gauge(name, value);
const throwing = async (): Promise<Snapshot> => {
  throw new SourceError('auth', 'jira: 401 check sources.jira.api_token');
};
const hanging = (): Promise<Snapshot> => new Promise(() => {}); // ignores its abort signal on purpose
const garbage = async () => [{ name: 'bad metric name!', help: 'x', type: 'gauge', samples: [] }] as unknown as Snapshot;

let server: RunningServer | undefined;
let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await server?.stop();
  server = undefined;
  scheduler = undefined;
});

async function serve(collectors: Collector[], timeoutSeconds = 0.2): Promise<RunningServer> {
  scheduler = new Scheduler(
    collectors.map((collector) => ({ collector, intervalSeconds: 3600, timeoutSeconds })),
    silentLogger(),
    clock,
  );
  const s = scheduler;
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    snapshot: () => s.snapshot(),
    health: () => s.health(),
    ready: () => s.ready(),
    processMetrics: false,
  });
  return server;
}

async function scrape(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/metrics`);
  return { status: res.status, body: await res.text() };
}

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('exporter service with failing collectors', () => {
  it('serves the healthy source while the others throw, hang or return garbage', async () => {
    const good = new ScriptedCollector('jira', [healthy('jira_sprint_story_points', 64)]);
    const bad = new ScriptedCollector('sonarqube', [throwing]);
    const stuck = new ScriptedCollector('bitbucket', [hanging]);
    const junk = new ScriptedCollector('apilogs', [garbage]);
    const srv = await serve([good, bad, stuck, junk]);

    // Before any collection finished, /metrics already answers.
    expect((await scrape(srv.url)).status).toBe(200);
    for (const r of scheduler!.runners) await r.runOnce();

    for (let i = 0; i < 3; i++) {
      const { status, body } = await scrape(srv.url);
      expect(status).toBe(200);
      expect(value(body, 'jira_sprint_story_points{board="Platform"}')).toBe(64);
      expect(value(body, 'okr_source_up{source="jira"}')).toBe(1);
      expect(value(body, 'okr_source_up{source="sonarqube"}')).toBe(0);
      expect(value(body, 'okr_source_up{source="bitbucket"}')).toBe(0);
      expect(value(body, 'okr_source_up{source="apilogs"}')).toBe(0);
      expect(value(body, 'okr_source_errors_total{source="sonarqube",reason="auth"}')).toBe(1);
      expect(value(body, 'okr_source_errors_total{source="bitbucket",reason="timeout"}')).toBe(1);
      expect(value(body, 'okr_source_errors_total{source="apilogs",reason="invalid_output"}')).toBe(1);
      expect(body).not.toContain('bad metric name');
    }

    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    const detail = (await ready.json()) as { sources: Array<{ source: string; error: { reason: string } | null }> };
    expect(detail.sources.find((s) => s.source === 'bitbucket')!.error!.reason).toBe('timeout');
  });

  it('keeps the last good values of a source that later fails', async () => {
    const flaky = new ScriptedCollector('sonarqube', [healthy('sonarqube_coverage_ratio', 0.81), throwing, hanging]);
    const srv = await serve([flaky]);
    const runner = scheduler!.runners[0]!;

    await runner.runOnce();
    let body = (await scrape(srv.url)).body;
    expect(value(body, 'sonarqube_coverage_ratio{board="Platform"}')).toBe(0.81);
    const firstSuccess = value(body, 'okr_source_last_success_timestamp_seconds{source="sonarqube"}')!;
    expect(firstSuccess).toBe(clock.now() / 1000); // stamped by the injected clock

    await runner.runOnce(); // throws
    await runner.runOnce(); // hangs past the timeout
    await runner.runOnce(); // previous run still hanging: not started again
    expect(flaky.calls).toBe(3);
    body = (await scrape(srv.url)).body;
    expect(value(body, 'sonarqube_coverage_ratio{board="Platform"}')).toBe(0.81);
    expect(value(body, 'okr_source_up{source="sonarqube"}')).toBe(0);
    expect(value(body, 'okr_source_last_success_timestamp_seconds{source="sonarqube"}')).toBe(firstSuccess);
    expect(value(body, 'okr_source_errors_total{source="sonarqube",reason="timeout"}')).toBe(2);
  });

  it('is not ready until every source has collected once or failed with a reason', async () => {
    const slow = new ScriptedCollector('jira', [() => new Promise((r) => setTimeout(() => r(gauge('jira_query_issues', 3)), 100))]);
    const srv = await serve([slow], 5);
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    await scheduler!.runners[0]!.runOnce();
    expect((await fetch(`${srv.url}/readyz`)).status).toBe(200);
  });

  it('backs off exponentially with jitter after failures and returns to the interval', () => {
    scheduler = new Scheduler([{ collector: new ScriptedCollector('jira', [throwing]), intervalSeconds: 600, timeoutSeconds: 1 }], silentLogger(), clock);
    const r = scheduler.runners[0]!;
    const h = r.getHealth() as { consecutiveFailures: number };
    const delays = [0, 1, 2, 3, 10].map((n) => {
      h.consecutiveFailures = n;
      return r.nextDelayMs();
    });
    expect(delays[0]).toBeGreaterThanOrEqual(540_000);
    expect(delays[0]).toBeLessThanOrEqual(660_000);
    expect(delays[1]).toBeGreaterThanOrEqual(12_000); // 15 s ± 20%
    expect(delays[1]).toBeLessThanOrEqual(18_000);
    expect(delays[2]).toBeGreaterThanOrEqual(24_000);
    expect(delays[3]).toBeGreaterThanOrEqual(48_000);
    expect(delays[4]).toBeLessThanOrEqual(720_000); // capped
  });

  it('runs collectors on their interval without overlapping runs', async () => {
    let running = 0;
    let maxRunning = 0;
    const busy: Collector = {
      source: 'jira',
      collect: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        return gauge('jira_query_issues', 1);
      },
    };
    const calls = { n: 0 };
    const counted: Collector = { source: 'jira', collect: (ctx) => (calls.n++, busy.collect(ctx)) };
    scheduler = new Scheduler([{ collector: counted, intervalSeconds: 0.01, timeoutSeconds: 1 }], silentLogger(), clock);
    scheduler.start();
    for (let i = 0; i < 100 && calls.n < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls.n).toBeGreaterThanOrEqual(4);
    expect(maxRunning).toBe(1);
  });
});
