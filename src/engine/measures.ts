/**
 * Named measure shorthands and the PromQL each expands to. The expansions are part of
 * the documented contract (README "Measures"): a KR written with a shorthand and one
 * written with the same PromQL by hand evaluate identically.
 *
 * Placeholders, filled by the KR engine at evaluation time:
 *   {{window}}        Prometheus duration from the period start to the evaluation time, e.g. 7862400s
 *   {{period_start}}  period start, Unix seconds
 *   {{period_end}}    period end (exclusive), Unix seconds
 */
import { SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { APILOGS_METRICS } from '../../exporters/apilogs/metrics.js';
import { DELIVERY_METRICS } from '../../exporters/delivery/metrics.js';

export const PLACEHOLDERS = ['window', 'period_start', 'period_end'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export const PLACEHOLDER_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

function labelValue(v: string): string {
  return JSON.stringify(v);
}

/** `{a="x",b=~"y|z"}` from a list of matchers, skipping undefined ones. */
function selector(matchers: Array<[string, '=' | '=~' | '!~', string | undefined]>): string {
  const parts = matchers.filter(([, , v]) => v !== undefined).map(([k, op, v]) => `${k}${op}${labelValue(v!)}`);
  return `{${parts.join(',')}}`;
}

/** Matcher for one label value or a list of them (a list becomes an escaped regex alternation). */
export function oneOrMany(v: string | string[]): { op: '=' | '=~'; value: string } {
  if (typeof v === 'string') return { op: '=', value: v };
  return v.length === 1 ? { op: '=', value: v[0]! } : { op: '=~', value: v.map(escapeRegex).join('|') };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Requests of a service over a window, optionally only failed ones (codes matching `failureCodes`). */
function requestIncrease(service: string, failureCodes?: string): string {
  const sel = selector([
    ['service', '=', service],
    ['code', '=~', failureCodes],
  ]);
  return `sum(increase(${APILOGS_METRICS.requests}${sel}[{{window}}]))`;
}

/** Response codes that count as failed when a measure names none: 5xx. */
export const DEFAULT_FAILURE_CODES = '5..';

/** Availability = non-failed requests / all requests. Failures default to 5xx. */
export function availabilityPromql(service: string, failureCodes = DEFAULT_FAILURE_CODES): string {
  return `1 - ((${requestIncrease(service, failureCodes)} or vector(0)) / ${requestIncrease(service)})`;
}

export function latencyQuantilePromql(service: string, quantile: number, route?: string): string {
  const sel = selector([
    ['service', '=', service],
    ['route', '=', route],
  ]);
  return `histogram_quantile(${quantile}, sum by (le) (rate(${APILOGS_METRICS.duration}_bucket${sel}[{{window}}])))`;
}

/**
 * Share of 5-minute slots in the window where availability fell below `threshold`
 * (the seed's "0% system downtime"): 0 means no slot was down.
 *
 * A slot's availability is a ratio of increase(), not of rate(): the same number in Prometheus
 * (both sides are extrapolated alike), but VictoriaMetrics before 1.85 widens rate() windows no
 * longer than the sample interval (its issue 3483), so on 5-minute backfilled history a slot
 * would average in the slot before it (docs/long-term-storage.md).
 */
export function downtimePromql(service: string, threshold: number, failureCodes = DEFAULT_FAILURE_CODES): string {
  const ok = selector([
    ['service', '=', service],
    ['code', '!~', failureCodes],
  ]);
  const all = selector([['service', '=', service]]);
  const avail5m = `(sum(increase(${APILOGS_METRICS.requests}${ok}[5m])) or vector(0)) / sum(increase(${APILOGS_METRICS.requests}${all}[5m]))`;
  return `1 - avg_over_time(((${avail5m}) >= bool ${threshold})[{{window}}:5m])`;
}

/** Completed points of the sprints that closed inside the period (Jira's velocity-chart figures). */
function sprintsInPeriod(boards: string | string[]): string {
  const b = oneOrMany(boards);
  const points = selector([
    ['board', b.op, b.value],
    ['state', '=', 'completed'],
  ]);
  const closed = selector([['board', b.op, b.value]]);
  return `${JIRA_METRICS.sprintPoints}${points} and on (board, sprint) (${JIRA_METRICS.sprintCompleteTime}${closed} >= {{period_start}} < {{period_end}})`;
}

export function storyPointsPerSprintPromql(boards: string | string[]): string {
  return `avg(${sprintsInPeriod(boards)})`;
}

export function storyPointsPromql(boards: string | string[]): string {
  return `sum(${sprintsInPeriod(boards)})`;
}

export function coveragePromql(projects: string | string[], branch?: string): string {
  const p = oneOrMany(projects);
  return `avg(${SONARQUBE_METRICS.coverage}${selector([
    ['project', p.op, p.value],
    ['branch', '=', branch],
  ])})`;
}

export function jqlCountPromql(query: string): string {
  return `sum(${JIRA_METRICS.queryIssues}${selector([['query', '=', query]])})`;
}

export function jqlPointsPromql(query: string): string {
  return `sum(${JIRA_METRICS.queryPoints}${selector([['query', '=', query]])})`;
}

/** The production streams a delivery measure covers: its services, in its environments (default all). */
function deliverySelector(services: string | string[], environments: string | string[] | undefined, extra: Array<[string, '=' | '=~' | '!~' | '!=', string]> = []): string {
  const s = oneOrMany(services);
  const e = environments === undefined ? undefined : oneOrMany(environments);
  const parts = [...extra, ['service', s.op, s.value] as const, ...(e ? [['environment', e.op, e.value] as const] : [])];
  return `{${parts.map(([k, op, v]) => `${k}${op}${labelValue(v)}`).join(',')}}`;
}

/** Successful production deployments per day over the window: its count over its length in days (rate() divides by the window). */
export function deploymentFrequencyPromql(services: string | string[], environments?: string | string[]): string {
  const sel = deliverySelector(services, environments, [['status', '=', 'successful']]);
  return `sum(rate(${DELIVERY_METRICS.deployments}${sel}[{{window}}])) * 86400`;
}

/** A quantile of the lead time of the changes first deployed in the period. */
export function leadTimePromql(services: string | string[], quantile: number, from: string, environments?: string | string[]): string {
  const sel = deliverySelector(services, environments, [['from', '=', from]]);
  return `histogram_quantile(${quantile}, sum by (le) (increase(${DELIVERY_METRICS.leadTime}_bucket${sel}[{{window}}])))`;
}

/** Share of the production deployments settled in the period that led to a failure. */
export function changeFailureRatePromql(services: string | string[], environments?: string | string[]): string {
  const failed = deliverySelector(services, environments, [['outcome', '!=', 'none']]);
  const all = deliverySelector(services, environments);
  return `sum(increase(${DELIVERY_METRICS.outcomes}${failed}[{{window}}])) / sum(increase(${DELIVERY_METRICS.outcomes}${all}[{{window}}]))`;
}

/** A quantile of the recovery time of the change failures recovered in the period. */
export function recoveryTimePromql(services: string | string[], quantile: number, environments?: string | string[]): string {
  const sel = deliverySelector(services, environments);
  return `histogram_quantile(${quantile}, sum by (le) (increase(${DELIVERY_METRICS.recoveryTime}_bucket${sel}[{{window}}])))`;
}

/** Placeholder names used in a PromQL template. */
export function placeholdersIn(promql: string): string[] {
  return [...promql.matchAll(PLACEHOLDER_RE)].map((m) => m[1]!);
}

/** Fill placeholders; unknown ones are left as they are (validation rejects them earlier). */
export function fillPlaceholders(promql: string, values: Record<Placeholder, string>): string {
  return promql.replace(PLACEHOLDER_RE, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : whole,
  );
}
