/**
 * Step 2: recording rules. Building blocks per service (requests, error ratio, availability,
 * latency quantiles over every SLI and burn-rate window), per board, per project, info series
 * from the OKR file, and one rolling-period series per KR measure, so dashboards, alerts and
 * the KR engine read cheap precomputed series.
 */
import { durationSeconds } from '../core/config-primitives.js';
import { DELIVERY_QUANTILES, DERIVED_WINDOW_MIN, LATENCY_QUANTILES, RECORDING_RULES as R, SLI_WINDOWS, SLO_BURN_RATE_WINDOWS } from '../conventions.js';
import { LABEL } from '../core/labels.js';
import { SONARQUBE_METRICS } from '../../exporters/sonarqube/metrics.js';
import { JIRA_METRICS } from '../../exporters/jira/metrics.js';
import { APILOGS_METRICS } from '../../exporters/apilogs/metrics.js';
import { DELIVERY_METRICS } from '../../exporters/delivery/metrics.js';
import { DEFAULT_FAILURE_CODES, fillPlaceholders } from '../engine/measures.js';
import { availabilityKrs, PERIOD_SECONDS, type GenerateModel, type Owned } from './model.js';
import { kindSpec, type MeasureKind } from '../engine/measure-kinds.js';

function kindSpecSource(kind: MeasureKind): string | undefined {
  return kindSpec(kind).source;
}
import type { RecordingRule, RuleFile, RuleGroup } from './rule-types.js';

/** The recording rules of the Delivery performance dashboard (the four DORA keys over 30 days). */
export const DELIVERY_PERFORMANCE_GROUP = 'okr-delivery-performance';

/** Every window the API rules precompute: the SLI windows plus the burn-rate windows, shortest first. */
export function apiWindows(): string[] {
  const all = new Set<string>([...SLI_WINDOWS, ...SLO_BURN_RATE_WINDOWS.flatMap((w) => [w.long, w.short])]);
  return [...all].sort((a, b) => durationSeconds(a) - durationSeconds(b));
}

/** A PromQL string literal. */
export function q(v: string): string {
  return JSON.stringify(v);
}

/** Failure codes of a service: its availability KR's, else 5xx. */
export function failureCodesOf(model: GenerateModel, service: string): string {
  return availabilityKrs(model).find((k) => k.service === service)?.failureCodes ?? DEFAULT_FAILURE_CODES;
}

/** Long windows are derived from the recorded 5m series (DERIVED_WINDOW_MIN), unless the caller asks for raw counters. */
export interface RecordingOptions {
  /**
   * Every window from raw counters (`rate(api_requests_total[30d])`), as before the derived long
   * windows: only the rule-cost benchmark (bench/rules) uses it, as its baseline.
   */
  rawLongWindows?: boolean;
}

export function isDerivedWindow(w: string): boolean {
  return durationSeconds(w) >= durationSeconds(DERIVED_WINDOW_MIN);
}

function apiServiceGroup(model: GenerateModel, service: string, opts: RecordingOptions): RuleGroup<RecordingRule> {
  const s = `${LABEL.service}=${q(service)}`;
  const fail = `${LABEL.code}=~${q(failureCodesOf(model, service))}`;
  const req = APILOGS_METRICS.requests;
  const bucket = `${APILOGS_METRICS.duration}_bucket`;
  const rules: RecordingRule[] = [];
  // The 5m bases, first in the group: rules of one group run in order at one evaluation time, so
  // the windows below read this evaluation's values. One series per service (per `le` for buckets).
  const base = {
    requests: R.apiRequestsRate('5m'),
    errors: R.apiErrorsRate('5m'),
    buckets: R.apiDurationBucketsRate('5m'),
  };
  rules.push({ record: base.requests, expr: `sum by (${LABEL.service}) (rate(${req}{${s}}[5m]))` });
  // `or ... * 0`: a service without a single failure has a 0 error rate, not no series.
  rules.push({ record: base.errors, expr: `sum by (${LABEL.service}) (rate(${req}{${s},${fail}}[5m])) or ${base.requests}{${s}} * 0` });
  rules.push({ record: base.buckets, expr: `sum by (${LABEL.service}, le) (rate(${bucket}{${s}}[5m]))` });
  for (const w of apiWindows()) {
    const derived = isDerivedWindow(w) && !opts.rawLongWindows;
    if (w === '5m') {
      rules.push({ record: R.apiErrorsRatio(w), expr: `${base.errors}{${s}} / ${base.requests}{${s}}` });
    } else if (derived) {
      // Summing the 5m rates over the window weighs every evaluation alike, so the ratio of the two
      // sums is request-weighted like rate(errors[w]) / rate(all[w]), from 2 series instead of every
      // route × code series over days.
      rules.push({ record: R.apiRequestsRate(w), expr: `avg_over_time(${base.requests}{${s}}[${w}])` });
      rules.push({ record: R.apiErrorsRatio(w), expr: `sum_over_time(${base.errors}{${s}}[${w}]) / sum_over_time(${base.requests}{${s}}[${w}])` });
      rules.push({ record: R.apiDurationBucketsRate(w), expr: `avg_over_time(${base.buckets}{${s}}[${w}])` });
    } else {
      const all = `sum by (${LABEL.service}) (rate(${req}{${s}}[${w}]))`;
      rules.push({ record: R.apiRequestsRate(w), expr: all });
      rules.push({
        record: R.apiErrorsRatio(w),
        expr: `(sum by (${LABEL.service}) (rate(${req}{${s},${fail}}[${w}])) or ${all} * 0) / ${all}`,
      });
    }
    rules.push({ record: R.apiAvailability(w), expr: `1 - ${R.apiErrorsRatio(w)}{${s}}` });
    for (const { name, q: quantile } of LATENCY_QUANTILES) {
      const buckets =
        w === '5m' ? `${base.buckets}{${s}}` : derived ? `${R.apiDurationBucketsRate(w)}{${s}}` : `sum by (${LABEL.service}, le) (rate(${bucket}{${s}}[${w}]))`;
      rules.push({ record: R.apiLatency(name, w), expr: `histogram_quantile(${quantile}, ${buckets})` });
    }
  }
  const byRoute = `${LABEL.service}, ${LABEL.route}`;
  const routeAll = `sum by (${byRoute}) (rate(${req}{${s}}[5m]))`;
  rules.push({ record: R.apiRouteRequestsRate, expr: routeAll });
  rules.push({ record: R.apiRouteErrorsRatio, expr: `(sum by (${byRoute}) (rate(${req}{${s},${fail}}[5m])) or ${routeAll} * 0) / ${routeAll}` });
  for (const { name, q: quantile } of LATENCY_QUANTILES)
    rules.push({ record: R.apiRouteLatency(name), expr: `histogram_quantile(${quantile}, sum by (${byRoute}, le) (rate(${bucket}{${s}}[5m])))` });
  return { name: `okr-api-${service}`, rules };
}

function sloGroup(model: GenerateModel): RuleGroup<RecordingRule> | undefined {
  const rules: RecordingRule[] = [];
  const seen = new Set<string>();
  for (const k of availabilityKrs(model)) {
    if (seen.has(k.service)) continue; // the first availability KR of a service sets its SLO
    seen.add(k.service);
    const s = `${LABEL.service}=${q(k.service)}`;
    rules.push({ record: R.availabilityObjective, expr: `vector(${k.objectiveRatio})`, labels: { [LABEL.service]: k.service } });
    rules.push({
      record: R.errorBudgetRemaining,
      expr: `1 - ${R.apiErrorsRatio('30d')}{${s}} / on (${LABEL.service}) (1 - ${R.availabilityObjective}{${s}})`,
    });
  }
  return rules.length > 0 ? { name: 'okr-slo', rules } : undefined;
}

function deliveryGroup(model: GenerateModel): RuleGroup<RecordingRule> | undefined {
  if (model.boards.length === 0 && !model.enabledSources.includes('jira')) return undefined;
  return {
    name: 'okr-delivery',
    rules: [
      {
        record: R.sprintCompletedPoints,
        expr: `sum by (${LABEL.board}, ${LABEL.sprint}) (${JIRA_METRICS.sprintPoints}{${LABEL.state}="completed"})`,
      },
      {
        record: R.boardCompletedPointsQuarter,
        expr: `sum by (${LABEL.board}) (increase(${JIRA_METRICS.completedPointsTotal}[90d]))`,
      },
    ],
  };
}

/** The four DORA keys per production stream over 30 days, for the Delivery performance dashboard (KRs read the raw series over their period). */
export function deliveryPerformanceGroup(model: GenerateModel): RuleGroup<RecordingRule> | undefined {
  if (!model.configuredSources.includes('delivery') && !model.krs.some((k) => kindSpecSource(k.measure.kind) === 'delivery')) return undefined;
  const by = `${LABEL.service}, environment, ${LABEL.team}`;
  const w = '30d';
  const rules: RecordingRule[] = [
    { record: R.deliveryDeploymentsPerDay, expr: `sum by (${by}) (increase(${DELIVERY_METRICS.deployments}{${LABEL.status}="successful"}[${w}])) / 30` },
    ...DELIVERY_QUANTILES.map(({ name, q: quantile }) => ({
      record: R.deliveryLeadTime(name),
      expr: `histogram_quantile(${quantile}, sum by (${by}, from, le) (increase(${DELIVERY_METRICS.leadTime}_bucket[${w}])))`,
    })),
    {
      record: R.deliveryChangeFailureRatio,
      expr: `sum by (${by}) (increase(${DELIVERY_METRICS.outcomes}{outcome!="none"}[${w}])) / sum by (${by}) (increase(${DELIVERY_METRICS.outcomes}[${w}]))`,
    },
    ...DELIVERY_QUANTILES.map(({ name, q: quantile }) => ({
      record: R.deliveryRecoveryTime(name),
      expr: `histogram_quantile(${quantile}, sum by (${by}, le) (increase(${DELIVERY_METRICS.recoveryTime}_bucket[${w}])))`,
    })),
  ];
  // Thirty-day windows move slowly: every 5 minutes is plenty.
  return { name: DELIVERY_PERFORMANCE_GROUP, interval: '5m', rules };
}

function qualityGroup(model: GenerateModel): RuleGroup<RecordingRule> | undefined {
  if (model.projects.length === 0 && !model.enabledSources.includes('sonarqube')) return undefined;
  return { name: 'okr-code-quality', rules: [{ record: R.coverage, expr: `avg by (${LABEL.project}) (${SONARQUBE_METRICS.coverage})` }] };
}

function ownedInfo(record: string, label: string, items: Owned[]): RecordingRule[] {
  return items.map((i) => ({ record, expr: 'vector(1)', labels: { [label]: i.name, ...(i.team ? { [LABEL.team]: i.team } : {}) } }));
}

/** Info series from the OKR file: dashboards' team/service variables and team joins read these. */
function infoGroup(model: GenerateModel): RuleGroup<RecordingRule> {
  const rules: RecordingRule[] = [
    ...model.teams.map((t) => ({ record: R.teamInfo, expr: 'vector(1)', labels: { [LABEL.team]: t } })),
    ...ownedInfo(R.serviceInfo, LABEL.service, model.services),
    ...ownedInfo(R.boardInfo, LABEL.board, model.boards),
    ...ownedInfo(R.projectInfo, LABEL.project, model.projects),
    ...ownedInfo(R.repoInfo, LABEL.repo, model.repos),
    ...model.krs.map((k) => ({
      record: R.keyResultInfo,
      expr: 'vector(1)',
      labels: {
        [LABEL.objective]: k.objective.id,
        [LABEL.keyResult]: k.kr.id,
        [LABEL.period]: k.kr.period,
        measure: k.measure.kind,
        ...(k.kr.team ? { [LABEL.team]: k.kr.team } : {}),
      },
    })),
  ];
  return { name: 'okr-info', rules };
}

/**
 * The KR's own measure over a rolling period ({{period_start}} = now minus the period), its
 * {{window}} the whole period unless an alert asks for a shorter one. Calendar-exact values
 * are the KR engine's job; this is for trend panels and alerts.
 */
export function rollingMeasureExpr(promql: string, period: keyof typeof PERIOD_SECONDS, window?: string): string {
  const seconds = PERIOD_SECONDS[period];
  return fillPlaceholders(promql, { window: window ?? `${seconds / 86400}d`, period_start: `(time() - ${seconds})`, period_end: 'time()' });
}

function keyResultGroup(model: GenerateModel): RuleGroup<RecordingRule> | undefined {
  const rules: RecordingRule[] = [];
  for (const k of model.krs) {
    if (k.measure.promql === undefined) continue;
    const d = k.kr.measure.downtime;
    // A downtime measure over a whole period is a subquery of 5m rates (25,920 steps a quarter),
    // over Prometheus's sample limit; the recorded 5m availability gives the same slots cheaply.
    // A slot without requests (NaN availability) is up, as in the measure (NaN < x is false);
    // with no_traffic: down the measure's own expression is recorded instead.
    const downtimeCheap = d && d.no_traffic === 'up' && (d.failure_codes ?? DEFAULT_FAILURE_CODES) === failureCodesOf(model, d.service);
    // Evaluated every 5m (the group's interval): downtime measures use subqueries.
    rules.push({
      record: R.keyResultMeasure,
      expr: downtimeCheap
        ? `avg_over_time((${R.apiAvailability('5m')}{${LABEL.service}=${q(d.service)}} < bool ${d.threshold})[${PERIOD_SECONDS[k.kr.period] / 86400}d:5m])`
        : rollingMeasureExpr(k.measure.promql, k.kr.period),
      labels: { [LABEL.objective]: k.objective.id, [LABEL.keyResult]: k.kr.id, [LABEL.period]: k.kr.period },
    });
  }
  return rules.length > 0 ? { name: 'okr-key-results', interval: '5m', rules } : undefined;
}

export function recordingRules(model: GenerateModel, opts: RecordingOptions = {}): RuleFile<RecordingRule> {
  const groups: Array<RuleGroup<RecordingRule> | undefined> = [
    infoGroup(model),
    ...model.services.map((s) => apiServiceGroup(model, s.name, opts)),
    sloGroup(model),
    deliveryGroup(model),
    deliveryPerformanceGroup(model),
    qualityGroup(model),
    keyResultGroup(model),
  ];
  return { groups: groups.filter((g): g is RuleGroup<RecordingRule> => g !== undefined && g.rules.length > 0) };
}
