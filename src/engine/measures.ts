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
 * Keeps only the points of a 5-minute (or hourly) subquery that close a slot of the period:
 * instants in (period_start, period_end]. A slot's point is the instant it ends (its requests are
 * the counter's increase up to it), so the period's own slots are exactly these, whatever the
 * store's subquery range includes at its edges (Prometheus 2 includes the first instant,
 * Prometheus 3 and VictoriaMetrics do not) and however late the query is evaluated.
 */
export const PERIOD_SLOTS = 'and on () (vector(time()) > {{period_start}} <= {{period_end}})';

/** Length of a downtime slot, in seconds. */
export const SLOT_SECONDS = 300;

/** Requests of a service in the 5 minutes up to a slot's end: non-failed, and all. */
function slotRequests(service: string, failureCodes: string): { ok: string; all: string } {
  const ok = selector([
    ['service', '=', service],
    ['code', '!~', failureCodes],
  ]);
  const all = selector([['service', '=', service]]);
  return {
    ok: `(sum(increase(${APILOGS_METRICS.requests}${ok}[5m])) or vector(0))`,
    all: `sum(increase(${APILOGS_METRICS.requests}${all}[5m]))`,
  };
}

/**
 * Share of the period's observed 5-minute slots whose availability was under `threshold` (the
 * seed's "0% system downtime"): 0 means no slot was down.
 *
 * Slots end at multiples of 5 minutes (the subquery's own alignment, which is the period start
 * in every time zone); only the period's own slots count (PERIOD_SLOTS). A slot is observed when
 * the counter has two samples in it; a slot without samples is unknown and left out (the report
 * shows the observed share, `downtimeObservedPromql`). A slot with samples but no requests is
 * not down, unless `noTraffic` is `down`. The comparison is `ok < threshold × all`, never a
 * division, so an empty slot is no NaN (which stores compare differently).
 *
 * A slot is a ratio of increase(), not of rate(): the same in Prometheus, but VictoriaMetrics
 * before 1.85 widens rate() windows no longer than the sample interval (its issue 3483), so on
 * 5-minute backfilled history a slot would average in the slot before it (docs/long-term-storage.md).
 */
export function downtimePromql(service: string, threshold: number, failureCodes = DEFAULT_FAILURE_CODES, noTraffic: 'up' | 'down' = 'up'): string {
  const { ok, all } = slotRequests(service, failureCodes);
  const down = noTraffic === 'down' ? `((${ok} < bool ${threshold} * ${all}) + (${all} == bool 0))` : `(${ok} < bool ${threshold} * ${all})`;
  return `avg_over_time((${down} ${PERIOD_SLOTS})[{{window}}:5m])`;
}

/** How many of the period's 5-minute slots the downtime measure could judge (have samples). */
export function downtimeObservedPromql(service: string): string {
  const { all } = slotRequests(service, DEFAULT_FAILURE_CODES);
  return `count_over_time(((${all} >= 0) ${PERIOD_SLOTS})[{{window}}:5m])`;
}

/**
 * Hours of the period in which a service's request counter has two samples (availability,
 * latency). Counted samples, not an increase(): VictoriaMetrics' increase() also answers for an
 * hour holding a series' first sample alone, Prometheus' does not; both count the same samples.
 */
export function requestsObservedPromql(service: string): string {
  return `count_over_time(((max(count_over_time(${APILOGS_METRICS.requests}${selector([['service', '=', service]])}[1h])) >= 2) ${PERIOD_SLOTS})[{{window}}:1h])`;
}

/**
 * Completed points of the sprints that closed inside the period [start, end) (Jira's
 * velocity-chart figures), by (board, sprint). Each sprint's last values over the window (period
 * start → evaluation): a sprint the exporter has since dropped from its last closed sprints still
 * counts, and one closed in the period's last minutes counts once the exporter shows it, which is
 * after its next refresh and scrape, after the end: closed periods are read then (reading
 * "settled" in measure-kinds.ts), and the completion time keeps the figure inside the period.
 */
function sprintsInPeriod(boards: string | string[]): string {
  const b = oneOrMany(boards);
  const points = selector([
    ['board', b.op, b.value],
    ['state', '=', 'completed'],
  ]);
  const closed = selector([['board', b.op, b.value]]);
  const last = (series: string) => `max by (board, sprint) (last_over_time(${series}[{{window}}]))`;
  return `${last(`${JIRA_METRICS.sprintPoints}${points}`)} and on (board, sprint) (${last(`${JIRA_METRICS.sprintCompleteTime}${closed}`)} >= {{period_start}} < {{period_end}})`;
}

export function storyPointsPerSprintPromql(boards: string | string[]): string {
  return `avg(${sprintsInPeriod(boards)})`;
}

export function storyPointsPromql(boards: string | string[]): string {
  return `sum(${sprintsInPeriod(boards)})`;
}

/**
 * Coverage averaged over the projects, each project once: its one measured branch (validation
 * asks for `branch` when a project is measured on several), so a project whose series carry two
 * `team` labels, or two branches named by the KR, does not weigh double.
 */
export function coveragePromql(projects: string | string[], branch?: string): string {
  const p = oneOrMany(projects);
  return `avg(avg by (project) (${SONARQUBE_METRICS.coverage}${selector([
    ['project', p.op, p.value],
    ['branch', '=', branch],
  ])}))`;
}

export function jqlCountPromql(query: string): string {
  return `sum(${JIRA_METRICS.queryIssues}${selector([['query', '=', query]])})`;
}

export function jqlPointsPromql(query: string): string {
  return `sum(${JIRA_METRICS.queryPoints}${selector([['query', '=', query]])})`;
}

/** The production streams a delivery measure covers: its services, in its environments (default all). */
function deliverySelector(
  services: string | string[],
  environments: string | string[] | undefined,
  extra: Array<[string, '=' | '=~' | '!~' | '!=', string]> = [],
): string {
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
  return promql.replace(PLACEHOLDER_RE, (whole, name: string) => ((PLACEHOLDERS as readonly string[]).includes(name) ? values[name as Placeholder] : whole));
}
