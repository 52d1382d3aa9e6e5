/**
 * The one small interface every source implements (node_exporter's Collector, adapted to
 * slow, rate-limited APIs): `collect()` fetches from the source and returns a complete
 * snapshot of its metric families. The runner caches the last good snapshot, so a scrape
 * never waits on a remote API and a failing source keeps serving its last good values.
 */
import type { Logger } from 'pino';
import type { LoadedConfig } from '../src/config/load-config.js';
import type { ErrorReason, SourceName } from '../src/conventions.js';
import type { Clock } from '../src/core/clock.js';

export type Labels = Record<string, string>;
export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface Sample {
  labels: Labels;
  value: number;
  /** For histograms: which series of the family this sample belongs to. */
  suffix?: '_bucket' | '_sum' | '_count';
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** Everything one source exports, replaced as a whole on each successful collection. */
export type Snapshot = MetricFamily[];

export interface CollectContext {
  /** Aborted when the collection exceeds its timeout or the process shuts down. */
  signal: AbortSignal;
  logger: Logger;
  /** Count one HTTP request to the source (okr_source_requests_total{status}). */
  countRequest(status: number | 'network_error'): void;
}

export interface Collector {
  readonly source: SourceName;
  /** Fetch and return the full snapshot. Throw (ideally a SourceError) when the source fails. */
  collect(ctx: CollectContext): Promise<Snapshot>;
  /** Release files, timers and sockets. */
  close?(): Promise<void>;
}

export interface CollectorDeps {
  loaded: LoadedConfig;
  logger: Logger;
  /** Directory for checkpoints and caches (server.state_dir). */
  stateDir: string;
  /** The one clock of the process (tests inject theirs): periods, timestamps, timers' deadlines. */
  clock: Clock;
}

export interface CollectorFactory {
  source: SourceName;
  /** Default refresh interval when the config gives none. */
  defaultInterval: string;
  /** Default timeout for one collection when the config gives none. */
  defaultTimeout: string;
  create(deps: CollectorDeps): Collector;
}

/** A failure with a bounded `reason`, and a message that tells the user what to fix. */
export class SourceError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}
