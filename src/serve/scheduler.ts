/** All enabled sources' runners, started and stopped together. */
import type { Logger } from 'pino';
import type { AnySourcePlugin, Collector, MetricFamily, SourceSettings } from '../core/source.js';
import { durationSeconds } from '../core/config-primitives.js';
import { SourceRunner, type SourceHealth } from './source-runner.js';
import type { Clock } from '../core/clock.js';

export interface ScheduledCollector {
  collector: Collector;
  intervalSeconds: number;
  timeoutSeconds: number;
}

export class Scheduler {
  readonly runners: SourceRunner[];
  /** Bumped whenever snapshot() may have changed: /metrics re-renders only then. */
  generation = 0;

  constructor(entries: ScheduledCollector[], logger: Logger, clock: Clock) {
    const onChange = () => {
      this.generation++;
    };
    this.runners = entries.map(
      (e) =>
        new SourceRunner(e.collector, {
          intervalSeconds: e.intervalSeconds,
          timeoutSeconds: e.timeoutSeconds,
          logger: logger.child({ source: e.collector.source }),
          clock,
          onChange,
        }),
    );
  }

  start(): void {
    for (const r of this.runners) r.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.runners.map((r) => r.stop()));
  }

  /**
   * Every source's last good values plus its health series. Health families repeat once per
   * source; the exposition merges families by name once per scrape, so this does not.
   */
  snapshot(): MetricFamily[] {
    return this.runners.flatMap((r) => [...r.lastGood(), ...r.healthFamilies()]);
  }

  health(): SourceHealth[] {
    return this.runners.map((r) => ({ ...r.getHealth() }));
  }

  /** Ready when every source has succeeded once or failed with a reported reason. */
  ready(): boolean {
    return this.runners.every((r) => r.getHealth().attempts > 0 && (r.getHealth().lastSuccess > 0 || r.getHealth().lastError !== undefined));
  }
}

/** Interval and timeout for a source: its settings, else the plugin's defaults. */
export function timing(plugin: AnySourcePlugin, settings: SourceSettings): { intervalSeconds: number; timeoutSeconds: number } {
  return {
    intervalSeconds: durationSeconds(settings.refresh_interval ?? plugin.defaults.interval),
    timeoutSeconds: durationSeconds(settings.timeout ?? plugin.defaults.timeout),
  };
}
