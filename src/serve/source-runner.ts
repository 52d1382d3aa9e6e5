/**
 * Runs one collector on its interval: with a timeout, jittered exponential backoff after
 * failures, and never two runs at once. Keeps the last good snapshot and the source's health
 * (up, last success, duration, errors by reason, requests by status) for the exposition.
 */
import type { Logger } from 'pino';
import type { CollectContext, Collector, MetricFamily, Snapshot } from '../core/source.js';
import { SourceError } from '../core/source.js';
import { snapshotProblem } from '../core/snapshot.js';
import { ERROR_REASONS, type ErrorReason, RUNNER_METRICS } from '../core/runner-metrics.js';
import { redact } from '../core/secrets.js';
import type { Clock } from '../core/clock.js';
import { CollectActivity } from '../core/collect-activity.js';

export interface RunnerOptions {
  intervalSeconds: number;
  timeoutSeconds: number;
  logger: Logger;
  /** Stamps okr_source_last_success_timestamp_seconds. */
  clock: Clock;
  /** For tests: replaces Math.random in jitter. */
  random?: () => number;
  /** Called whenever the snapshot or the health families may have changed (the exposition's cache). */
  onChange?: () => void;
}

export interface SourceHealth {
  source: string;
  up: boolean;
  /** Unix seconds of the last successful collection, 0 when none yet. */
  lastSuccess: number;
  lastDurationSeconds: number;
  attempts: number;
  consecutiveFailures: number;
  lastError?: { reason: ErrorReason; message: string };
}

class TimeoutError extends Error {}

export class SourceRunner {
  readonly source: string;
  private snapshot: Snapshot = [];
  private readonly errors = new Map<ErrorReason, number>(ERROR_REASONS.map((r) => [r, 0]));
  private readonly requests = new Map<string, number>();
  private readonly health: SourceHealth;
  private inFlight: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly shutdown = new AbortController();

  constructor(
    readonly collector: Collector,
    private readonly opts: RunnerOptions,
  ) {
    this.source = collector.source;
    this.health = { source: this.source, up: false, lastSuccess: 0, lastDurationSeconds: 0, attempts: 0, consecutiveFailures: 0 };
  }

  /** Start the loop: first run now, then on the interval (or the backoff after a failure). */
  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      await this.runOnce();
      if (this.stopped) return;
      this.timer = setTimeout(() => void tick(), this.nextDelayMs());
      this.timer.unref?.();
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.shutdown.abort(new Error('shutting down'));
    await this.collector.close?.();
  }

  /** Delay before the next run: the interval ±10%, or exponential backoff after failures. */
  nextDelayMs(): number {
    const rnd = this.opts.random ?? Math.random;
    const interval = this.opts.intervalSeconds * 1000;
    const n = this.health.consecutiveFailures;
    if (n === 0) return interval * (0.9 + 0.2 * rnd());
    const base = Math.min(interval, 15_000);
    const cap = Math.max(interval, 600_000);
    return Math.min(cap, base * 2 ** (n - 1)) * (0.8 + 0.4 * rnd());
  }

  /** One collection. Never throws; the outcome is recorded in the health. */
  async runOnce(): Promise<void> {
    this.health.attempts++;
    if (this.inFlight) {
      // The previous run outlived its timeout and has not returned: do not pile up another.
      this.fail('timeout', 'previous collection is still running (it ignored its timeout)');
      this.opts.onChange?.();
      return;
    }
    const ac = new AbortController();
    const onShutdown = () => ac.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const activity = new CollectActivity();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Said before aborting: the abort ends the requests this message is about.
        const err = new TimeoutError(`timed out after ${this.opts.timeoutSeconds}s${activity.describe()}`);
        ac.abort(err);
        reject(err);
      }, this.opts.timeoutSeconds * 1000);
    });
    const ctx: CollectContext = {
      signal: ac.signal,
      logger: this.opts.logger,
      countRequest: (status) => {
        const key = String(status);
        this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
        this.opts.onChange?.();
      },
      activity,
    };
    const started = performance.now();
    const work = Promise.resolve().then(() => this.collector.collect(ctx));
    this.inFlight = work;
    work.then(
      () => this.clearInFlight(work),
      () => this.clearInFlight(work),
    );
    try {
      const snapshot = await Promise.race([work, timeout]);
      this.health.lastDurationSeconds = (performance.now() - started) / 1000;
      const problem = snapshotProblem(snapshot);
      if (problem) {
        this.fail('invalid_output', `collector returned an unusable snapshot: ${problem}`);
        return;
      }
      this.snapshot = snapshot;
      const wasDown = !this.health.up && this.health.attempts > 1;
      this.health.up = true;
      this.health.lastSuccess = this.opts.clock.now() / 1000;
      this.health.consecutiveFailures = 0;
      this.health.lastError = undefined;
      if (wasDown) this.opts.logger.info('source recovered');
    } catch (e) {
      this.health.lastDurationSeconds = (performance.now() - started) / 1000;
      if (e instanceof TimeoutError) this.fail('timeout', e.message);
      else if (e instanceof SourceError) this.fail(e.reason, e.message);
      else this.fail('error', e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
      this.opts.onChange?.();
    }
  }

  private clearInFlight(p: Promise<unknown>): void {
    if (this.inFlight === p) this.inFlight = undefined;
  }

  private fail(reason: ErrorReason, message: string): void {
    const msg = redact(message);
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
    this.health.up = false;
    this.health.consecutiveFailures++;
    // Log a failure once when it starts or changes, not on every retry.
    const prev = this.health.lastError;
    if (!prev || prev.reason !== reason || prev.message !== msg) {
      this.opts.logger.warn({ reason, err: msg }, 'source collection failed; serving last good values');
    }
    this.health.lastError = { reason, message: msg };
  }

  getHealth(): Readonly<SourceHealth> {
    return this.health;
  }

  /** The last good snapshot (possibly empty before the first success). */
  lastGood(): Snapshot {
    return this.snapshot;
  }

  /** The runner's health as metric families, labelled by source. */
  healthFamilies(): MetricFamily[] {
    const l = { source: this.source };
    return [
      {
        name: RUNNER_METRICS.up,
        help: 'Whether the last collection of the source succeeded (1) or failed (0).',
        type: 'gauge',
        samples: [{ labels: l, value: this.health.up ? 1 : 0 }],
      },
      {
        name: RUNNER_METRICS.lastSuccess,
        help: 'Unix time of the last successful collection; values are cached from then (0 = never).',
        type: 'gauge',
        samples: [{ labels: l, value: this.health.lastSuccess }],
      },
      {
        name: RUNNER_METRICS.collectDuration,
        help: 'Duration of the last collection of the source.',
        type: 'gauge',
        samples: [{ labels: l, value: this.health.lastDurationSeconds }],
      },
      {
        name: RUNNER_METRICS.refreshInterval,
        help: 'Configured refresh interval of the source.',
        type: 'gauge',
        samples: [{ labels: l, value: this.opts.intervalSeconds }],
      },
      {
        name: RUNNER_METRICS.errors,
        help: 'Failed collections of the source, by reason.',
        type: 'counter',
        samples: [...this.errors].map(([reason, value]) => ({ labels: { ...l, reason }, value })),
      },
      {
        name: RUNNER_METRICS.requests,
        help: 'HTTP requests made to the source API, by response status.',
        type: 'counter',
        samples: [...this.requests].map(([status, value]) => ({ labels: { ...l, status }, value })),
      },
    ];
  }
}
