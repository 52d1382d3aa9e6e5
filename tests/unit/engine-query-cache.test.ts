/**
 * serve's engine keeps the figures of past instants between evaluations (a year of history is
 * not re-read every 5 minutes), but never a "no series": the previous quarter may be backfilled
 * while serve runs (the demo does exactly that), and its baseline must appear at the next
 * evaluation, not an hour later.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { ManualClock } from '../../src/core/clock.js';
import { KrEngine } from '../../src/engine/engine.js';
import type { InstantSample, PromQueryClient } from '../../src/engine/prometheus-client.js';

const loaded = parseConfig(
  `version: okr/v1
sources:
  apilogs:
    services: [{ name: api, files: ["/dev/null"] }]
objectives:
  - id: o
    title: Fast
    key_results:
      - { id: latency, title: p95 10% faster, measure: { latency_p95: { service: api } }, target: "-10%", baseline: previous_period }
`,
  '/tmp/okrs.yaml',
  { env: {} },
);

const Q3_END = Date.parse('2026-10-01T00:00:00Z');

/** Prometheus before and after the previous quarter was backfilled into it. */
class BackfilledLater implements PromQueryClient {
  readonly baseUrl = 'http://prometheus.test';
  backfilled = false;
  /** Queries at the previous quarter's end. */
  pastQueries = 0;
  async query(expr: string, at: number): Promise<InstantSample[]> {
    if (!expr.startsWith('histogram_quantile')) return [];
    if (at === Q3_END) {
      this.pastQueries++;
      return this.backfilled ? [{ labels: {}, value: 0.5 }] : [];
    }
    return [{ labels: {}, value: 0.42 }];
  }
}

describe('the engine query cache', () => {
  it('forgets a past "no series" by the next evaluation, and keeps a past figure', async () => {
    const prom = new BackfilledLater();
    const clock = ManualClock.at('2026-11-15T12:00:00Z');
    const engine = new KrEngine({ loaded, prom, clock });
    const kr = async () => (await engine.evaluateCurrent()).objectives[0]!.keyResults[0]!;

    const before = await kr();
    expect(before.baseline).toBeUndefined();
    expect(before.problem).toContain('no baseline yet');

    prom.backfilled = true;
    clock.advance(5 * 60_000);
    const after = await kr();
    expect(after.baseline).toBe(0.5);
    expect(after.target?.value).toBeCloseTo(0.45, 12);

    const asked = prom.pastQueries;
    clock.advance(5 * 60_000);
    expect((await kr()).baseline).toBe(0.5);
    expect(prom.pastQueries).toBe(asked);
  });
});
