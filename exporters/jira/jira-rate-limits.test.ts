/**
 * Jira Cloud's rate limits, through the real collector and runner against the fake: the
 * X-RateLimit-* headers make every request pause, a 429 whose Retry-After is longer than the
 * client waits holds the rest of the refresh back (unsent; the source reports `rate_limited`
 * and serves its last figures), and `max_requests_per_hour` refreshes the longest-waiting
 * boards and queries first. Request counts are the fake's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Snapshot } from '../../src/core/source.js';
import { SourceRunner } from '../../src/serve/source-runner.js';
import { JiraCollector } from './jira-collector.js';
import { JIRA_METRICS } from './metrics.js';
import { jiraPlugin } from './plugin.js';
import { startFakeJira, type FakeJira } from './simulator/fake-jira.js';
import { CLOUD_NOW, CLOUD_TOKEN, cloudConfigYaml, cloudDataset } from './testing/jira-dataset.js';

const MIN = 60_000;

let fake: FakeJira;
let stateDir: string;
let clock: ManualClock;
let sleeps: number[];

beforeEach(async () => {
  fake = await startFakeJira(cloudDataset());
  stateDir = mkdtempSync(join(tmpdir(), 'okr-jira-rl-'));
  clock = new ManualClock(CLOUD_NOW.getTime());
  sleeps = [];
});
afterEach(async () => {
  await fake.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function collector(extra = '', logger: Logger = silentLogger()): JiraCollector {
  const loaded = parseConfig(cloudConfigYaml(fake.url, extra), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
  return new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger, stateDir, clock }), {
    // A wait lets the clock move, as real waits let real time pass.
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    random: () => 0,
    maxRetries: 2,
  });
}

function runner(c: JiraCollector, logger: Logger = silentLogger()): SourceRunner {
  return new SourceRunner(c, { intervalSeconds: 900, timeoutSeconds: 60, logger, clock });
}

const completed = (snap: Snapshot, board: string) =>
  snap.find((f) => f.name === JIRA_METRICS.completedPointsTotal)?.samples.find((s) => s.labels.board === board)?.value;

function capturing(): { logger: Logger; lines: Array<{ level: number; msg: string; held_back?: number }> } {
  const lines: Array<{ level: number; msg: string; held_back?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) }) as unknown as Logger;
  return { logger, lines };
}

describe('Jira Cloud rate limits', () => {
  it('pauses every request once X-RateLimit-Remaining runs low, until X-RateLimit-Reset, and still collects everything', async () => {
    const reference = await collector().collect({ signal: new AbortController().signal, logger: silentLogger(), countRequest: () => undefined });
    fake.requests.splice(0);
    rmSync(stateDir, { recursive: true, force: true });
    stateDir = mkdtempSync(join(tmpdir(), 'okr-jira-rl-'));
    // The fifth answer says 3 of 100 are left until 12:01 (Jira's "yyyy-MM-ddTHH:mmZ").
    let n = 0;
    const sentAt: number[] = [];
    fake.data.responseHeaders = () => {
      sentAt.push(clock.now());
      return ++n === 5 ? { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '2026-11-25T12:01Z' } : undefined;
    };
    const r = runner(collector());
    await r.runOnce();
    expect(r.getHealth().up).toBe(true);
    expect(r.lastGood()).toEqual(reference);
    // Requests still in flight then (at most max_concurrency, 4) were answered before noon + 1 min; nothing was sent later before it.
    expect(sleeps.length).toBeGreaterThan(0);
    expect(sentAt.slice(5 + 4).every((t) => t >= Date.parse('2026-11-25T12:01:00Z'))).toBe(true);
    await r.stop();
  });

  it('a 429 whose Retry-After is longer than it waits holds the refresh back unsent: rate_limited, last figures served, fresh once it passed', async () => {
    // One request at a time: none is in flight beside the one answered 429.
    const r = runner(collector('    max_concurrency: 1\n'));
    await r.runOnce();
    const good = r.lastGood();
    expect(completed(good, 'Platform')).toBeGreaterThan(0);
    fake.requests.splice(0);
    // Fifteen minutes later Jira answers the first request with 429 and Retry-After: 600.
    clock.advance(15 * MIN);
    fake.data.failures.push({ path: /./, status: 429, headers: { 'retry-after': '600' }, times: 1 });
    await r.runOnce();
    expect(fake.requests).toHaveLength(1);
    expect(r.getHealth()).toMatchObject({ up: false, lastError: { reason: 'rate_limited' } });
    expect(r.lastGood()).toEqual(good);
    const byStatus = Object.fromEntries(
      r
        .healthFamilies()
        .find((f) => f.name === 'okr_source_requests_total')!
        .samples.map((s) => [s.labels.status, s.value]),
    );
    expect(byStatus['429']).toBe(1);
    expect(byStatus.rate_limited).toBeGreaterThan(0);
    const errors = r
      .healthFamilies()
      .find((f) => f.name === 'okr_source_errors_total')!
      .samples.find((s) => s.labels.reason === 'rate_limited')!;
    expect(errors.value).toBe(1);

    clock.advance(10 * MIN);
    await r.runOnce();
    expect(r.getHealth().up).toBe(true);
    expect(fake.requests.length).toBeGreaterThan(1);
    await r.stop();
  });

  it('max_requests_per_hour: never more in any rolling hour; held-back boards and queries keep their last figures and catch up', async () => {
    const reference = await collector().collect({ signal: new AbortController().signal, logger: silentLogger(), countRequest: () => undefined });
    const unbudgeted = fake.requests.splice(0).length;
    rmSync(stateDir, { recursive: true, force: true });
    stateDir = mkdtempSync(join(tmpdir(), 'okr-jira-rl-'));
    const sentAt: number[] = [];
    fake.data.responseHeaders = () => void sentAt.push(clock.now());
    const log = capturing();
    // 40 an hour every 15 minutes: 40 * 900 / 4500 = 8 at once, 32 more over the hour.
    const r = runner(collector('    max_requests_per_hour: 40\n'), log.logger);
    await r.runOnce();
    expect(fake.requests).toHaveLength(8);
    expect(r.getHealth()).toMatchObject({ up: false, lastError: { reason: 'rate_limited' } });
    let refreshes = 1;
    while (JSON.stringify(r.lastGood()) !== JSON.stringify(reference) && refreshes < 40) {
      clock.advance(15 * MIN);
      await r.runOnce();
      refreshes++;
    }
    // It caught up, refreshes later, never more than 40 requests in any rolling hour.
    expect(r.lastGood()).toEqual(reference);
    expect(unbudgeted).toBeGreaterThan(8);
    expect(refreshes).toBeGreaterThan(1);
    let busiest = 0;
    for (let i = 0, j = 0; i < sentAt.length; i++) {
      while (sentAt[j]! <= sentAt[i]! - 60 * MIN) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).toBeLessThanOrEqual(40);
    // Said once when it began holding things back, once when it stopped.
    const held = log.lines.filter((l) => l.msg.startsWith('jira: the rate limit held'));
    expect(held).toHaveLength(1);
    expect(log.lines.filter((l) => l.msg === 'jira: nothing is held back by the rate limit any more')).toHaveLength(1);
    await r.stop();
  });
});
