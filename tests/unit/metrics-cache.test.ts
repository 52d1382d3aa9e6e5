/**
 * /metrics is rendered once per change of the data (a source refreshed, its health changed, the
 * engine evaluated), not once per scrape: scrapes in between, and concurrent ones, share the
 * rendering. Process metrics stay live.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Collector, Snapshot } from '../../src/core/source.js';
import { startServer, type RunningServer } from '../../src/serve/http-server.js';
import { Scheduler } from '../../src/serve/scheduler.js';

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
let server: RunningServer | undefined;
let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await server?.stop();
  server = undefined;
  scheduler = undefined;
});

const gauge = (value: number): Snapshot => [{ name: 'demo_value', help: 'a value', type: 'gauge', samples: [{ labels: { k: 'v' }, value }] }];

describe('/metrics rendering cache', () => {
  it('renders again only when the version changes; concurrent scrapes share one rendering', async () => {
    let calls = 0;
    let value = 1;
    let version = 'a';
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      snapshot: () => {
        calls++;
        return gauge(value);
      },
      version: () => version,
      health: () => [],
      ready: () => true,
    });
    const scrape = async () => (await fetch(`${server!.url}/metrics`)).text();
    expect(await scrape()).toContain('demo_value{k="v"} 1');
    value = 2; // changed without a new version: the cached rendering is served
    expect(await scrape()).toContain('demo_value{k="v"} 1');
    expect(calls).toBe(1);
    version = 'b';
    const bodies = await Promise.all(Array.from({ length: 20 }, scrape));
    expect(calls).toBe(2);
    for (const b of bodies) {
      expect(b).toContain('demo_value{k="v"} 2');
      // Process metrics are rendered beside the cache, once per family.
      expect(b.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
      expect(b.match(/^# TYPE demo_value /gm)).toHaveLength(1);
    }
  });

  it('follows the scheduler: a collection (success or failure) makes the next scrape render anew', async () => {
    let n = 0;
    const collector: Collector = {
      source: 'scripted',
      collect: async () => {
        n++;
        if (n === 2) throw new Error('down');
        return gauge(n);
      },
    };
    scheduler = new Scheduler([{ collector, intervalSeconds: 3600, timeoutSeconds: 5 }], silentLogger(), clock);
    const s = scheduler;
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      snapshot: () => s.snapshot(),
      version: () => String(s.generation),
      health: () => s.health(),
      ready: () => s.ready(),
      processMetrics: false,
    });
    const scrape = async () => (await fetch(`${server!.url}/metrics`)).text();
    await s.runners[0]!.runOnce();
    expect(await scrape()).toContain('demo_value{k="v"} 1');
    expect(await scrape()).toContain('okr_source_up{source="scripted"} 1');
    await s.runners[0]!.runOnce();
    const failed = await scrape();
    expect(failed).toContain('okr_source_up{source="scripted"} 0');
    expect(failed).toContain('demo_value{k="v"} 1');
    await s.runners[0]!.runOnce();
    expect(await scrape()).toContain('demo_value{k="v"} 3');
  });
});
