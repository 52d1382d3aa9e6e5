/**
 * The boundary with the live exporter, checked rather than trusted: when Prometheus already
 * holds the exporter's own health series for a source (`okr_source_up{source}`) inside the
 * backfill range, the live collector was publishing then, and backfilled counters would
 * interleave with its samples. The backfill must stop before its first scrape.
 */
import { RUNNER_METRICS } from '../core/runner-metrics.js';
import type { PromQueryClient } from '../engine/prometheus-client.js';

/**
 * The earliest live sample (Unix ms) of each source in [fromMs, toMs), found with a 5-minute
 * subquery over the range (so to within 5 minutes, never later than the real first sample
 * by more than that). Sources without live samples there are absent.
 */
export async function firstLiveSamples(prom: PromQueryClient, sources: readonly string[], fromMs: number, toMs: number): Promise<Map<string, number>> {
  const rangeS = Math.max(300, Math.ceil((toMs - fromMs) / 1000));
  const selector = `${RUNNER_METRICS.up}{source=~"${sources.join('|')}"}`;
  const rows = await prom.query(`min by (source) (min_over_time(timestamp(${selector})[${rangeS}s:5m]))`, toMs - 1);
  const out = new Map<string, number>();
  for (const r of rows) {
    const ms = Math.floor(r.value * 1000);
    const src = r.labels.source;
    if (src && ms >= fromMs && ms < toMs) out.set(src, ms);
  }
  return out;
}
