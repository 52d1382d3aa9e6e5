/**
 * The one table of measure kinds. Each entry says everything the rest of okr-metrics needs to
 * know about a kind: the schema of its parameters in the OKR file, the source its data comes
 * from, its unit, the PromQL it expands to (measures.ts), the series whose absence means "no
 * data" (the OkrMeasureDataAbsent alert), whether it grows through the period (pace) or is a
 * level to hold, which alert a KR on it gets, and what it names that the file must configure
 * (services, boards, queries, projects). The schema, the KR engine, the rule and dashboard
 * generators and the validation read this table instead of switching on kinds.
 */
import { z } from 'zod';
import { APILOGS_METRICS } from '../../exporters/apilogs/metrics.js';
import { DELIVERY_METRICS, LEAD_TIME_FROM } from '../../exporters/delivery/metrics.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { LABEL } from '../core/labels.js';
import {
  availabilityPromql,
  changeFailureRatePromql,
  coveragePromql,
  deploymentFrequencyPromql,
  downtimeObservedPromql,
  downtimePromql,
  jqlCountPromql,
  jqlPointsPromql,
  latencyQuantilePromql,
  leadTimePromql,
  oneOrMany,
  recoveryTimePromql,
  requestsObservedPromql,
  SLOT_SECONDS,
  storyPointsPerSprintPromql,
  storyPointsPromql,
} from './measures.js';

export const MEASURE_UNITS = ['ratio', 'seconds', 'points', 'count', 'number'] as const;
/** What a measure's numbers mean; decides how "points" are counted and how values are shown. */
export type MeasureUnit = (typeof MEASURE_UNITS)[number];

/** Things a measure names that the OKR file configures under a source (or a team). */
export type RefKind = 'service' | 'board' | 'query' | 'project' | 'delivery_service' | 'delivery_environment';

export interface MeasureRef {
  /** The parameter that names them, e.g. `service` or `boards`. */
  param: string;
  kind: RefKind;
  values: string[];
}

/**
 * Which alert a KR with `alert:` gets: `availability` (the KR forecast next to the SLO burn
 * rates), `latency` (OkrLatencyRegression), `threshold` (OkrKeyResultOffTarget).
 */
export type AlertStyle = 'availability' | 'latency' | 'threshold';

/**
 * When a closed period's figure is read (docs/okr-file.md "When each figure is read"):
 * - `end`: at the period's end instant. Counters over the period (the window is the whole
 *   period: the samples in (start, end]) and levels (the last sample at or before the end, which
 *   is also the next period's starting level). Settled once Prometheus has scraped the end.
 * - `last_refresh`: the exporter's figure for its current period (JQL counts), as of its last
 *   refresh before the end: read 1 s before the end, since from its first refresh after the end
 *   the exporter counts the next period.
 * - `settled`: events that carry their own time (sprint completions), read after the end once
 *   the source has refreshed and been scraped (refresh interval + timeout + scrape interval), with
 *   the event time keeping the figure inside [start, end).
 */
export type Reading = 'end' | 'last_refresh' | 'settled';

/** A query counting the observed steps of the period (its PERIOD_SLOTS), for the measure's coverage. */
export interface Observed {
  promql: string;
  /** The step of the count, in seconds: observed share = count / steps of the period so far. */
  stepSeconds: number;
}

export interface MeasureKindSpec<P> {
  /** Schema of the kind's parameters under `measure.<kind>`. */
  params: z.ZodType<P>;
  /** For the JSON Schema, where the kind's name does not say it all. */
  description?: string;
  /** The source whose series it reads (its staleness makes the KR no_data); none for promql and manual. */
  source?: string;
  /** Its unit; `declared` takes the measure's `unit` (default number). */
  unit: MeasureUnit | 'declared';
  /** PromQL with placeholders (measures.ts); none for manual. */
  promql?(p: P): string;
  /** A selector whose series exist whenever the measure has data. */
  presence?(p: P): string;
  /** When a closed period is read; none for manual. */
  reading: Reading;
  /**
   * For measures taken over the period's samples: how much of the period had samples (the
   * measure's coverage, and whether a baseline was built from enough of its period).
   */
  observed?(p: P): Observed;
  /** Counts and sums grow through the period (pace); levels (availability, coverage) are held. */
  pace: boolean;
  /** A period average of requests: a clean rest of the period still lifts it (at_risk, not off_track). */
  recoverable?: boolean;
  alert: AlertStyle;
  /** The window a threshold alert measures over when the KR's `alert.window` says nothing (default 1h). */
  alertWindow?: string;
  /** Services, boards, queries, projects it names. */
  refs(p: P): MeasureRef[];
  /** What the things it names must have, as their source says (`duration`: the log records request durations). */
  needs?: readonly string[];
  /** What to say when the kind's source is not configured at all (and no team names its things). */
  needsSource?: string;
}

const ServiceRef = z.string().min(1);
const OneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const list = (v: string | string[]) => (typeof v === 'string' ? [v] : v);
const q = (v: string) => JSON.stringify(v);
const matcher = (v: string | string[]) => {
  const m = oneOrMany(v);
  return `${m.op}${q(m.value)}`;
};

const LatencyParams = z.strictObject({ service: ServiceRef, route: z.string().optional() });
type LatencyParams = z.infer<typeof LatencyParams>;

function latencyKind(quantile: number): MeasureKindSpec<LatencyParams> {
  return {
    params: LatencyParams,
    source: 'apilogs',
    unit: 'seconds',
    promql: (p) => latencyQuantilePromql(p.service, quantile, p.route),
    presence: (p) => `${APILOGS_METRICS.duration}_count{${LABEL.service}=${q(p.service)}}`,
    reading: 'end',
    observed: (p) => ({ promql: requestsObservedPromql(p.service), stepSeconds: 3600 }),
    pace: false,
    alert: 'latency',
    refs: (p) => [{ param: 'service', kind: 'service', values: [p.service] }],
    needs: ['duration'],
  };
}

/** The production streams a delivery (DORA) measure covers. */
const deliveryScope = {
  service: OneOrMany.meta({ description: 'Service(s) of sources.delivery.services.' }),
  environment: OneOrMany.optional().meta({ description: 'Production environment(s) of sources.delivery.environments; default all.' }),
};
const Quantile = z.number().gt(0).lt(1);
type DeliveryScope = { service: string | string[]; environment?: string | string[] };

function deliveryRefs(p: DeliveryScope): MeasureRef[] {
  return [
    { param: 'service', kind: 'delivery_service', values: list(p.service) },
    ...(p.environment !== undefined ? [{ param: 'environment', kind: 'delivery_environment' as const, values: list(p.environment) }] : []),
  ];
}

function deliveryPresence(p: DeliveryScope): string {
  return `${DELIVERY_METRICS.deployments}{${LABEL.service}${matcher(p.service)}}`;
}

/**
 * A delivery (DORA) kind: read from the delivery source's counters over the period, at its end;
 * held, not paced; a threshold alert over 30 days (DORA figures mean something over weeks, not
 * over the last hour).
 */
function deliveryKind<P extends DeliveryScope>(spec: Pick<MeasureKindSpec<P>, 'params' | 'description' | 'unit' | 'promql'>): MeasureKindSpec<P> {
  return {
    ...spec,
    source: 'delivery',
    presence: (p) => deliveryPresence(p),
    reading: 'end',
    pace: false,
    alert: 'threshold',
    alertWindow: '30d',
    refs: (p) => deliveryRefs(p),
    needsSource: 'DORA measures come from the delivery source, but sources.delivery is not configured',
  };
}

/** Identity function that checks an entry against the spec while keeping its own parameter type. */
function kind<P>(spec: MeasureKindSpec<P>): MeasureKindSpec<P> {
  return spec;
}

export const MEASURE_KINDS = {
  promql: kind({
    params: z.string().min(1),
    description: 'PromQL; may use {{window}}, {{period_start}}, {{period_end}}.',
    unit: 'declared',
    promql: (p) => p,
    reading: 'end',
    pace: false,
    alert: 'threshold',
    refs: () => [],
  }),
  manual: kind({
    params: z.strictObject({ value: z.number(), as_of: z.string().optional(), note: z.string().optional() }),
    description: 'A value kept in this file, for what no source measures.',
    unit: 'declared',
    reading: 'end',
    pace: false,
    alert: 'threshold',
    refs: () => [],
  }),
  availability: kind({
    params: z.strictObject({ service: ServiceRef, failure_codes: z.string().optional() }),
    source: 'apilogs',
    unit: 'ratio',
    promql: (p) => availabilityPromql(p.service, p.failure_codes),
    presence: (p) => `${APILOGS_METRICS.requests}{${LABEL.service}=${q(p.service)}}`,
    reading: 'end',
    observed: (p) => ({ promql: requestsObservedPromql(p.service), stepSeconds: 3600 }),
    pace: false,
    recoverable: true,
    alert: 'availability',
    refs: (p) => [{ param: 'service', kind: 'service', values: [p.service] }],
  }),
  downtime: kind({
    params: z.strictObject({
      service: ServiceRef,
      threshold: z.number().gt(0).lt(1).default(0.5),
      failure_codes: z.string().optional(),
      no_traffic: z.enum(['up', 'down']).default('up').meta({ description: 'A 5-minute slot with samples but no requests: up (default) or down.' }),
    }),
    source: 'apilogs',
    unit: 'ratio',
    promql: (p) => downtimePromql(p.service, p.threshold, p.failure_codes, p.no_traffic),
    presence: (p) => `${APILOGS_METRICS.requests}{${LABEL.service}=${q(p.service)}}`,
    reading: 'end',
    observed: (p) => ({ promql: downtimeObservedPromql(p.service), stepSeconds: SLOT_SECONDS }),
    pace: false,
    alert: 'threshold',
    refs: (p) => [{ param: 'service', kind: 'service', values: [p.service] }],
  }),
  latency_p50: kind(latencyKind(0.5)),
  latency_p95: kind(latencyKind(0.95)),
  latency_p99: kind(latencyKind(0.99)),
  story_points_per_sprint: kind({
    params: z.strictObject({ board: OneOrMany }),
    source: 'jira',
    unit: 'points',
    promql: (p) => storyPointsPerSprintPromql(p.board),
    presence: (p) => `${JIRA_METRICS.sprintPoints}{${LABEL.board}${matcher(p.board)}}`,
    reading: 'settled',
    pace: false,
    alert: 'threshold',
    refs: (p) => [{ param: 'board', kind: 'board', values: list(p.board) }],
    needsSource: 'story points come from Jira, but sources.jira is not configured',
  }),
  story_points: kind({
    params: z.strictObject({ boards: OneOrMany }),
    source: 'jira',
    unit: 'points',
    promql: (p) => storyPointsPromql(p.boards),
    presence: (p) => `${JIRA_METRICS.sprintPoints}{${LABEL.board}${matcher(p.boards)}}`,
    reading: 'settled',
    pace: true,
    alert: 'threshold',
    refs: (p) => [{ param: 'boards', kind: 'board', values: list(p.boards) }],
    needsSource: 'story points come from Jira, but sources.jira is not configured',
  }),
  coverage: kind({
    params: z.strictObject({ project: OneOrMany, branch: z.string().optional() }),
    source: 'sonarqube',
    unit: 'ratio',
    promql: (p) => coveragePromql(p.project, p.branch),
    presence: (p) => `${SONARQUBE_METRICS.coverage}{${LABEL.project}${matcher(p.project)}}`,
    reading: 'end',
    pace: false,
    alert: 'threshold',
    refs: (p) => [{ param: 'project', kind: 'project', values: list(p.project) }],
    needsSource: 'coverage comes from SonarQube, but sources.sonarqube is not configured',
  }),
  jql_count: kind({
    params: z.strictObject({ query: z.string().min(1) }),
    source: 'jira',
    unit: 'count',
    promql: (p) => jqlCountPromql(p.query),
    presence: (p) => `${JIRA_METRICS.queryIssues}{${LABEL.query}=${q(p.query)}}`,
    reading: 'last_refresh',
    pace: true,
    alert: 'threshold',
    refs: (p) => [{ param: 'query', kind: 'query', values: [p.query] }],
    needsSource: 'JQL measures come from Jira, but sources.jira is not configured',
  }),
  jql_points: kind({
    params: z.strictObject({ query: z.string().min(1) }),
    source: 'jira',
    unit: 'points',
    promql: (p) => jqlPointsPromql(p.query),
    presence: (p) => `${JIRA_METRICS.queryPoints}{${LABEL.query}=${q(p.query)}}`,
    reading: 'last_refresh',
    pace: true,
    alert: 'threshold',
    refs: (p) => [{ param: 'query', kind: 'query', values: [p.query] }],
    needsSource: 'JQL measures come from Jira, but sources.jira is not configured',
  }),
  deployment_frequency: deliveryKind({
    params: z.strictObject(deliveryScope),
    description: 'Successful production deployments per day over the period (DORA deployment frequency).',
    unit: 'number',
    promql: (p) => deploymentFrequencyPromql(p.service, p.environment),
  }),
  lead_time: deliveryKind({
    params: z.strictObject({
      ...deliveryScope,
      quantile: Quantile.default(0.5).meta({ description: 'e.g. 0.5 (median, the default) or 0.9.' }),
      from: z
        .enum(LEAD_TIME_FROM)
        .default('first_commit')
        .meta({ description: "Where a change's lead time starts: its first commit (default) or its pull request's opening." }),
    }),
    description: 'A quantile of the lead time for changes, first commit (or pull request) to successful production deployment, seconds (DORA).',
    unit: 'seconds',
    promql: (p) => leadTimePromql(p.service, p.quantile, p.from, p.environment),
  }),
  change_failure_rate: deliveryKind({
    params: z.strictObject(deliveryScope),
    description: 'Share of production deployments that failed, were rolled back or were followed by an incident (DORA change failure rate).',
    unit: 'ratio',
    promql: (p) => changeFailureRatePromql(p.service, p.environment),
  }),
  recovery_time: deliveryKind({
    params: z.strictObject({ ...deliveryScope, quantile: Quantile.default(0.5).meta({ description: 'e.g. 0.5 (median, the default) or 0.9.' }) }),
    description: 'A quantile of the failed deployment recovery time, failure to the next successful deployment or the incident’s resolution, seconds (DORA).',
    unit: 'seconds',
    promql: (p) => recoveryTimePromql(p.service, p.quantile, p.environment),
  }),
} as const;

export type MeasureKind = keyof typeof MEASURE_KINDS;
export type MeasureParams<K extends MeasureKind> = (typeof MEASURE_KINDS)[K] extends MeasureKindSpec<infer P> ? P : never;
/** The kinds in the table's order (the order the schema and the docs list them). */
export const MEASURE_KIND_NAMES = Object.keys(MEASURE_KINDS) as MeasureKind[];

/** The spec of a kind with its parameter type erased, for code that handles every kind alike. */
export function kindSpec(k: MeasureKind): MeasureKindSpec<unknown> {
  return MEASURE_KINDS[k];
}

type MeasureShape = { [K in MeasureKind]: z.ZodOptional<(typeof MEASURE_KINDS)[K]['params']> };

function optionalParams<K extends MeasureKind>(k: K): MeasureShape[K] {
  const spec = MEASURE_KINDS[k];
  const opt = spec.params.optional() as MeasureShape[K];
  return 'description' in spec && spec.description ? opt.meta({ description: spec.description }) : opt;
}

/** Exactly one kind per measure, plus `unit` for promql and manual measures. */
export const Measure = z
  .strictObject({
    // Key order is the JSON Schema's order: promql, unit, manual, then the shorthands.
    promql: optionalParams('promql'),
    unit: z.enum(MEASURE_UNITS).optional().meta({ description: 'Unit of a promql or manual measure (ratio counts points as 0.01).' }),
    ...(Object.fromEntries(MEASURE_KIND_NAMES.filter((k) => k !== 'promql').map((k) => [k, optionalParams(k)])) as Omit<MeasureShape, 'promql'>),
  })
  .superRefine((m, ctx) => {
    const kinds = MEASURE_KIND_NAMES.filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0 ? `a measure needs one of: ${MEASURE_KIND_NAMES.join(', ')}` : `a measure has exactly one kind, found ${kinds.join(' and ')}`,
      });
    }
    if (m.unit !== undefined && kindSpec(kinds[0] ?? 'promql').unit !== 'declared') {
      ctx.addIssue({ code: 'custom', path: ['unit'], message: 'unit is only set on promql and manual measures (shorthands know theirs)' });
    }
  });
export type Measure = z.infer<typeof Measure>;

/** The kind of a validated measure (exactly one is set). */
export function kindOf(m: Measure): MeasureKind {
  const k = MEASURE_KIND_NAMES.find((x) => m[x] !== undefined);
  if (k === undefined) throw new Error('measure has no known kind'); // unreachable after validation
  return k;
}

/** The parameters of a measure of kind `k`, or undefined when it is another kind. */
export function paramsOf<K extends MeasureKind>(m: Measure, k: K): MeasureParams<K> | undefined {
  return m[k] as MeasureParams<K> | undefined;
}

/** What a measure names (services, boards, queries, projects). */
export function refsOf(m: Measure): MeasureRef[] {
  const k = kindOf(m);
  return kindSpec(k).refs(m[k]);
}

export interface ExpandedMeasure {
  /** PromQL with placeholders, or undefined for manual measures. */
  promql?: string;
  /** When a closed period is read. */
  reading: Reading;
  /** How much of the period had samples, for measures taken over them. */
  observed?: Observed;
  unit: MeasureUnit;
  kind: MeasureKind;
  /** Value written in the file, for manual measures. */
  manualValue?: number;
}

/** Expand a validated measure into PromQL (with placeholders) and its unit. */
export function expandMeasure(m: Measure): ExpandedMeasure {
  const kind = kindOf(m);
  const spec = kindSpec(kind);
  const promql = spec.promql?.(m[kind]);
  const observed = spec.observed?.(m[kind]);
  return {
    ...(promql !== undefined ? { promql } : {}),
    reading: spec.reading,
    ...(observed !== undefined ? { observed } : {}),
    unit: spec.unit === 'declared' ? (m.unit ?? 'number') : spec.unit,
    kind,
    ...(m.manual ? { manualValue: m.manual.value } : {}),
  };
}

/** One point of a measure in its own unit: ratios count percentage points. */
export function pointSize(unit: MeasureUnit): number {
  return unit === 'ratio' ? 0.01 : 1;
}
