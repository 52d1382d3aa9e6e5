/**
 * A source is a plugin (node_exporter's registerCollector, sloth's plugin folders): one object
 * per `exporters/<source>/` folder, listed once in `exporters/index.ts`. It brings the schema of
 * its `sources.<name>` settings, its metric names, and a factory for its Collector, the one small
 * interface every source implements: `collect()` fetches from the source and returns a complete
 * snapshot of its metric families. The runner caches the last good snapshot, so a scrape never
 * waits on a remote API and a failing source keeps serving its last good values. Optionally a
 * plugin rebuilds its history (`backfill`) and simulates its API for the demo (`simulator`).
 *
 * This module, like all of src/core, imports nothing of the application.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Clock } from './clock.js';
import type { CollectActivityLog } from './collect-activity.js';
import type { Calendar } from './periods.js';
import type { ErrorReason } from './runner-metrics.js';
import type { SeriesTimeline } from './series-timeline.js';
import type { SimulationWorld } from './simulation.js';
import type { FakeServer } from './simulated-http.js';
import type { Teams } from './teams.js';

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
  /**
   * Count one HTTP request to the source (okr_source_requests_total{status}): its status,
   * `network_error`, or `rate_limited` for one the client held back (budget spent, or the API
   * asked to wait) and did not send.
   */
  countRequest(status: number | 'network_error' | 'rate_limited'): void;
  /** What is in flight, so a timeout can say what it interrupted (the runner provides it). */
  activity?: CollectActivityLog;
}

export interface Collector {
  readonly source: string;
  /** Fetch and return the full snapshot. Throw (ideally a SourceError) when the source fails. */
  collect(ctx: CollectContext): Promise<Snapshot>;
  /** Release files, timers and sockets. */
  close?(): Promise<void>;
}

/** Settings every source shares (config-primitives.ts `sourceCommon`). */
export interface SourceSettings {
  enabled: boolean;
  refresh_interval?: string;
  timeout?: string;
}

/** Environment variables for `${VAR}` references. */
export type Env = Record<string, string | undefined>;

/** What a source gets to build its collector: its own settings, never the whole OKR file. */
export interface SourceDeps<S> {
  /** The validated `sources.<name>` section. */
  settings: S;
  /** Owners of boards, repositories, projects and services: the `team` label. */
  teams: Teams;
  /** How the OKR file cuts periods (the current quarter of a JQL query, say). */
  calendar: Calendar;
  /** The OKR file's directory: relative paths and `*_file` secrets resolve against it. */
  baseDir: string;
  /** For `${VAR}` secret references. */
  env: Env;
  /** Directory for checkpoints and caches (server.state_dir). */
  stateDir: string;
  /** The one clock of the process (tests inject theirs). */
  clock: Clock;
  logger: Logger;
}

/** Per-source progress of a backfill (requests made, lines read, units done). */
export interface SourceProgress {
  request(): void;
  lines(n: number): void;
  /** Units of work (boards, files' bytes...) the ETA is computed from. */
  setTotal(units: number): void;
  advance(units: number): void;
  finish(status: string): void;
}

/** What a source's backfill gets: its deps, the timeline to fill, the range, progress. */
export interface BackfillContext<S> extends SourceDeps<S> {
  timeline: SeriesTimeline;
  /** [fromMs, toMs): the backfilled range. */
  range: { fromMs: number; toMs: number };
  collect: CollectContext;
  progress: SourceProgress;
  /** Files to read instead of the configured ones (apilogs: service → archived files). */
  files?: Record<string, string[]>;
  /**
   * Delivery feeds (delivery-feed.ts): a source that publishes one writes its history to the
   * first directory; a source that joins feeds reads them all (the first holding an origin wins,
   * so the live state directory after this run's own supplies the events posted to `serve`).
   * Absent: the run publishes and joins none.
   */
  feedDirs?: readonly string[];
}

/** What a simulator gets: the simulated organisation, a working directory, the clock, traffic knobs. */
export interface SimulationContext {
  world: SimulationWorld;
  /** The demo's directory (a simulated access log is written under it). */
  dir: string;
  clock: Clock;
  /** Mean time between random incidents (0 = none), and a multiplier of the request rate. */
  incidentEveryMs?: number;
  rateScale?: number;
}

/** A simulated source the demo runs: its API server (if any), its settings, its moving data. */
export interface RunningSimulation {
  /** The simulated API; absent for sources that are files (access logs). */
  server?: FakeServer;
  /**
   * The `sources.<name>` settings of the demo OKR file, from the example's `current` ones.
   * `secretFile(name, value)` writes a credential next to the file and returns its relative path
   * (for a `*_file` setting).
   */
  settings(current: Record<string, unknown>, secretFile: (name: string, value: string) => string): Record<string, unknown>;
  /** Move the simulated data to `nowMs` (the demo calls it every few seconds). */
  tick?(nowMs: number): void;
  /** Start an incident now: `errorShare` of the requests fail for `durationMs`. */
  incident?(durationMs: number, errorShare: number): void;
  /** The incident running now, if any. */
  currentIncident?(): { fromMs: number; toMs: number; errorShare: number } | undefined;
  /** Write the source's past [fromMs, toMs) for the backfill; returns what `BackfillContext.files` takes. */
  archive?(fromMs: number, toMs: number, dir: string, signal?: AbortSignal): Promise<{ files: Record<string, string[]>; lines: number }>;
  close(): Promise<void>;
}

export interface SourceSimulator {
  start(ctx: SimulationContext): Promise<RunningSimulation>;
}

export interface SourcePlugin<S extends SourceSettings = SourceSettings> {
  /** `sources.<name>` in the OKR file, the `source` label, the folder under exporters/. */
  readonly name: string;
  /** One line for help texts and the JSON Schema. */
  readonly description: string;
  /** Schema of `sources.<name>` (include `sourceCommon`). */
  readonly config: z.ZodType<S, unknown>;
  /** Refresh interval and timeout of one collection when the settings give none. */
  readonly defaults: { interval: string; timeout: string };
  /** Every metric family the source exports, by key (generators, dashboards and docs tests read them). */
  readonly metrics: Readonly<Record<string, string>>;
  create(deps: SourceDeps<S>): Collector;
  /** Rebuild the series the live collector exports from the source's own history. */
  backfill?(ctx: BackfillContext<S>): Promise<void>;
  /** It joins the delivery feeds other sources publish: its backfill runs after theirs. */
  readonly joinsFeeds?: boolean;
  /**
   * Inputs beyond the settings that decide a backfill's output (the archived files a log source
   * reads, by size and time): a rerun with the same fingerprint is skipped.
   */
  backfillInputs?(deps: SourceDeps<S>, files?: Record<string, string[]>): unknown;
  /** Simulated API for `okr-metrics demo`. */
  readonly simulator?: SourceSimulator;
  /** What its settings name, by kind (`service`, `board`, `query`, `project`, `repo`). */
  readonly references?: Readonly<Record<string, SourceReference<S>>>;
}

/** A thing a source's settings name (a service, board, query, project or repository), with the team they give it. */
export interface Named {
  name: string;
  team?: string;
  /** Other spellings that refer to it (a Jira board's id). */
  aliases?: string[];
}

/** Things of one kind a source's settings name, for validation, dashboards and the team label. */
export interface SourceReference<S> {
  /** The names, or `any` when the source discovers them at run time (`projects: all`). */
  names(settings: S): readonly Named[] | 'any';
  /** The message for a key result naming something the file does not (`known`: every known name). */
  unknown(name: string, known: readonly string[]): string;
  /** The collector also collects the names `teams` list for this kind (Jira's boards). */
  teamsCollected?: boolean;
  /**
   * Why the named thing lacks a trait a measure kind needs (a `duration` for latency), as the
   * whole message, or undefined when it has it.
   */
  lacking?(settings: S, name: string, trait: string): string | undefined;
}

/** A plugin list with its settings types erased: what the application iterates over. */
export type AnySourcePlugin = SourcePlugin<SourceSettings & Record<string, unknown>>;

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
