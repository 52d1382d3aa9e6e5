/**
 * Step 3: alerting rules. KR alerts (the availability forecast, latency regression, other KRs
 * that ask for an alert), multi-window multi-burn-rate SLO alerts with the no-success alert for
 * total outages at low traffic, and the exporter's own health
 * (source down, stale, absent). Runbook links are stamped afterwards by runbooks.ts.
 */
import { durationSeconds } from '../core/config-primitives.js';
import {
  ALERT_NAMES as A,
  EXPORTER_JOB,
  KR_METRICS,
  NO_SUCCESS,
  RECORDING_RULES as R,
  SLO_BURN_RATE_WINDOWS,
  SLO_MIN_REQUESTS_LONG_WINDOW,
  SLO_PERIOD,
} from '../conventions.js';
import { LABEL } from '../core/labels.js';
import { APILOGS_METRICS } from '../../exporters/apilogs/metrics.js';
import { RUNNER_METRICS, STALE_AFTER_INTERVALS } from '../core/runner-metrics.js';
import { kindSpec } from '../engine/measure-kinds.js';
import type { Comparator } from '../engine/target.js';
import {
  availabilityKrs,
  DEFAULT_ALERT,
  DEFAULT_AVAILABILITY_ALERT,
  DEFAULT_LATENCY_ALERT,
  latencyKrs,
  type GenerateModel,
  type KrAlert,
  type KrModel,
} from './model.js';
import { apiWindows, failureCodesOf, q, rollingMeasureExpr } from './recording-rules.js';
import type { AlertingRule, RuleFile, RuleGroup } from './rule-types.js';

/** The comparison that is true when a value misses an absolute target. */
export const MISSES: Record<Comparator, string> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>', '==': '!=' };

/** A number as PromQL prints it, without float noise (0.144, not 0.14400000000000002). */
export function num(n: number): string {
  return String(Number(n.toPrecision(12)));
}

function krLabels(k: KrModel): Record<string, string> {
  return { [LABEL.objective]: k.objective.id, [LABEL.keyResult]: k.kr.id, ...(k.kr.team ? { [LABEL.team]: k.kr.team } : {}) };
}

/** The KR's alert settings, or the defaults when the KR says nothing; undefined when switched off (model.ts decided). */
function alertSettings(k: KrModel, defaults: KrAlert = DEFAULT_ALERT): KrAlert | undefined {
  return k.kr.alert === undefined ? defaults : k.alert;
}

/** The KR's own measure (its one expansion, measures.ts) over an alert's window; callers skip manual measures. */
function windowedMeasure(k: KrModel, window: string): string {
  return rollingMeasureExpr(k.measure.promql!, k.kr.period, window);
}

function forClause(f: string): { for?: string } {
  return durationSeconds(f) > 0 ? { for: f } : {};
}

/**
 * The availability KR's own alert, tied to the key result rather than to the last hour: the KR
 * engine's period-to-date availability (okr_key_result_value, calendar-exact) carried to the
 * period's end at the availability of the last `alert.window`, weighted by the share of the
 * period elapsed (okr_key_result_expected_progress_ratio):
 *
 *   forecast = elapsed × period_to_date + (1 − elapsed) × recent
 *
 * It fires when the forecast misses the target. A burn the rest of the period absorbs (two hours
 * at 2% after a clean day: the day's availability stays above 99.8%) never fires it; late in the
 * period the forecast is the period-to-date value itself. Without recent traffic the forecast is
 * the period-to-date value. Reads the engine's series, so it needs `engine.enabled`.
 */
function availabilityAlerts(model: GenerateModel): AlertingRule[] {
  const out: AlertingRule[] = [];
  if (!model.engine) return out;
  for (const k of availabilityKrs(model)) {
    const a = alertSettings(k, DEFAULT_AVAILABILITY_ALERT);
    if (!a) continue;
    const op = MISSES[k.target.kind === 'absolute' ? k.target.op : '>='];
    const precomputed = k.failureCodes === undefined && apiWindows().includes(a.window);
    const recent = precomputed ? `${R.apiAvailability(a.window)}{${LABEL.service}=${q(k.service)}}` : `(${windowedMeasure(k, a.window)})`;
    const kr = `{${LABEL.keyResult}=${q(k.kr.id)}}`;
    const elapsed = `${KR_METRICS.expectedProgress}${kr}`;
    const ptd = `${KR_METRICS.value}${kr}`;
    // `on () group_left`: the engine's series (objective, key_result, period, team) times the one
    // recent-availability series of the service; `or ptd`: no recent series, no change expected.
    const forecast = `(${elapsed} * ${ptd} + (1 - ${elapsed}) * on () group_left () ${recent}) or ${ptd}`;
    out.push({
      alert: A.availabilityBelowTarget,
      expr: `(${forecast}) ${op} ${num(k.objectiveRatio)}`,
      ...forClause(a.for),
      labels: { severity: a.severity, ...krLabels(k), [LABEL.service]: k.service },
      annotations: {
        summary: `${k.service} availability is forecast to miss its ${k.target.text} key result ${k.kr.id} this period`,
        description:
          `At the availability of the last ${a.window}, ${k.service} ends the period at {{ $value | humanizePercentage }}, ` +
          `missing the key result "${k.kr.title}" (${k.target.text}). The period-to-date figure is okr_key_result_value{key_result="${k.kr.id}"}.`,
      },
    });
  }
  return out;
}

const BURN_ALERT: Record<(typeof SLO_BURN_RATE_WINDOWS)[number]['id'], string> = {
  'page-fast': A.errorBudgetBurnPageFast,
  'page-slow': A.errorBudgetBurnPageSlow,
  'ticket-fast': A.errorBudgetBurnTicketFast,
  'ticket-slow': A.errorBudgetBurnTicketSlow,
};

/** The first availability KR of each service with its alert on: it sets the service's SLO. */
function sloKrs(model: GenerateModel): ReturnType<typeof availabilityKrs> {
  const seen = new Set<string>();
  return availabilityKrs(model).filter((k) => {
    if (seen.has(k.service) || alertSettings(k, DEFAULT_AVAILABILITY_ALERT) === undefined) return false;
    seen.add(k.service);
    return true;
  });
}

/**
 * Multi-window, multi-burn-rate alerts (SRE workbook ch. 5), without `for:`, each guarded by a
 * minimum number of requests over its own long window (SLO_MIN_REQUESTS_LONG_WINDOW).
 */
function burnRateAlerts(model: GenerateModel): AlertingRule[] {
  const out: AlertingRule[] = [];
  for (const k of sloKrs(model)) {
    const s = `{${LABEL.service}=${q(k.service)}}`;
    const budget = num(1 - k.objectiveRatio);
    for (const w of SLO_BURN_RATE_WINDOWS) {
      const threshold = `(${num(w.factor)} * ${budget})`;
      out.push({
        alert: BURN_ALERT[w.id],
        expr:
          `(${R.apiErrorsRatio(w.long)}${s} > ${threshold} and ${R.apiErrorsRatio(w.short)}${s} > ${threshold})` +
          ` and on (${LABEL.service}) ${R.apiRequestsRate(w.long)}${s} * ${durationSeconds(w.long)} >= ${SLO_MIN_REQUESTS_LONG_WINDOW}`,
        labels: {
          severity: w.severity,
          ...krLabels(k),
          [LABEL.service]: k.service,
          long_window: w.long,
          short_window: w.short,
          burn_rate: num(w.factor),
        },
        annotations: {
          summary: `${k.service} is burning its ${SLO_PERIOD} error budget ${num(w.factor)}x too fast`,
          description:
            `The error ratio of ${k.service} is {{ $value | humanizePercentage }} over ${w.long} (and above the threshold over ${w.short}), ` +
            `more than ${num(w.factor)} times the ${budget} error budget of the ${k.target.text} availability key result ${k.kr.id}. ` +
            `At this rate the ${SLO_PERIOD} budget is gone in ${num(durationSeconds(SLO_PERIOD) / w.factor / 3600)}h.`,
        },
      });
    }
  }
  return out;
}

/**
 * A total outage at any traffic level: requests arrive and none succeeds. The burn-rate guard
 * leaves APIs under SLO_MIN_REQUESTS_LONG_WINDOW requests an hour to this alert.
 */
function noSuccessAlerts(model: GenerateModel): AlertingRule[] {
  const { window, minRequests } = NO_SUCCESS;
  return sloKrs(model).map((k) => {
    const s = `${LABEL.service}=${q(k.service)}`;
    const ok = `${LABEL.code}!~${q(failureCodesOf(model, k.service))}`;
    const rate = apiWindows().includes(window)
      ? `${R.apiRequestsRate(window)}{${s}}`
      : `sum by (${LABEL.service}) (rate(${APILOGS_METRICS.requests}{${s}}[${window}]))`;
    return {
      alert: A.noSuccessfulRequests,
      expr:
        `${rate} * ${durationSeconds(window)} >= ${minRequests}` +
        ` unless on (${LABEL.service}) sum by (${LABEL.service}) (rate(${APILOGS_METRICS.requests}{${s},${ok}}[${window}])) > 0`,
      labels: { severity: 'page', ...krLabels(k), [LABEL.service]: k.service },
      annotations: {
        summary: `${k.service} answered no request successfully in ${window}`,
        description: `${k.service} received {{ $value | printf "%.0f" }} requests in the last ${window} and every one failed (${failureCodesOf(model, k.service)}): a total outage, whatever the traffic.`,
      },
    };
  });
}

function latencyAlerts(model: GenerateModel): AlertingRule[] {
  const out: AlertingRule[] = [];
  for (const k of latencyKrs(model)) {
    const a = alertSettings(k, DEFAULT_LATENCY_ALERT);
    if (!a) continue;
    const sli =
      k.route === undefined && apiWindows().includes(a.window)
        ? `${R.apiLatency(k.quantile, a.window)}{${LABEL.service}=${q(k.service)}}`
        : `(${windowedMeasure(k, a.window)})`;
    let expr: string;
    let against: string;
    if (k.target.kind === 'absolute') {
      if (k.target.op !== '<' && k.target.op !== '<=') continue; // "latency above x" is not a goal we alert on
      expr = `${sli} ${MISSES[k.target.op]} ${num(k.target.value)}`;
      against = `its ${k.target.text} target`;
    } else {
      // Relative targets ("-10%") compare against the baseline the KR engine exports: a regression is
      // being slower than the last period. No baseline yet means no alert (no data is not failing).
      const baseline = typeof k.kr.baseline === 'number' ? num(k.kr.baseline) : `scalar(max(${KR_METRICS.baseline}{${LABEL.keyResult}=${q(k.kr.id)}}))`;
      expr = `${sli} > ${baseline}`;
      against = 'its baseline (the previous period)';
    }
    out.push({
      alert: A.latencyRegression,
      expr,
      ...forClause(a.for),
      labels: { severity: a.severity, ...krLabels(k), [LABEL.service]: k.service, quantile: k.quantile },
      annotations: {
        summary: `${k.service} ${k.quantile} latency regressed past ${against} (key result ${k.kr.id})`,
        description: `The ${k.quantile} latency of ${k.service}${k.route ? ` on ${k.route}` : ''} over the last ${a.window} is {{ $value | humanizeDuration }}, worse than ${against} of "${k.kr.title}".`,
      },
    });
  }
  return out;
}

/** KRs other than availability and latency that ask for an alert (`alert:`) on an absolute target. */
function keyResultAlerts(model: GenerateModel): AlertingRule[] {
  const out: AlertingRule[] = [];
  for (const k of model.krs) {
    if (!k.alert || kindSpec(k.measure.kind).alert !== 'threshold') continue;
    if (k.measure.promql === undefined || k.target.kind !== 'absolute') continue;
    const value = windowedMeasure(k, k.alert.window);
    out.push({
      alert: A.keyResultOffTarget,
      expr: `(${value}) ${MISSES[k.target.op]} ${num(k.target.value)}`,
      ...forClause(k.alert.for),
      labels: { severity: k.alert.severity, ...krLabels(k) },
      annotations: {
        summary: `Key result ${k.kr.id} misses its ${k.target.text} target`,
        description: `"${k.kr.title}" measures {{ $value }}, missing its ${k.target.text} target.`,
      },
    });
  }
  return out;
}

/**
 * Pace alerts: the KR engine's linear forecast misses the target once a share of the period
 * has passed (warning, then critical). They read the engine's own series, so KRs without data
 * (no forecast series) never alert, and a KR that recovers its pace clears the alert.
 */
function paceAlerts(model: GenerateModel): AlertingRule[] {
  if (!model.pace) return [];
  const { warningAt, criticalAt } = model.pace;
  const on = `on (${LABEL.objective}, ${LABEL.keyResult}, ${LABEL.period})`;
  const missing = `${KR_METRICS.forecastOnTarget} == 0`;
  const labels = `{{ $labels.${LABEL.keyResult} }} ({{ $labels.${LABEL.period} }})`;
  return [
    {
      alert: A.paceWarning,
      expr: `${missing} and ${on} (${KR_METRICS.expectedProgress} >= ${num(warningAt)} < ${num(criticalAt)})`,
      ...forClause(model.pace.for),
      labels: { severity: 'ticket' },
      annotations: {
        summary: `Key result ${labels} is forecast to miss its target`,
        description: `More than ${num(warningAt * 100)}% of the period has passed and the linear forecast of ${labels} does not reach its target. Review the plan or the target.`,
      },
    },
    {
      alert: A.paceCritical,
      expr: `${missing} and ${on} ${KR_METRICS.expectedProgress} >= ${num(criticalAt)}`,
      ...forClause(model.pace.for),
      labels: { severity: 'page' },
      annotations: {
        summary: `Key result ${labels} will miss its target at this pace`,
        description: `More than ${num(criticalAt * 100)}% of the period has passed and the linear forecast of ${labels} still does not reach its target.`,
      },
    },
  ];
}

function healthAlerts(model: GenerateModel): AlertingRule[] {
  const up = RUNNER_METRICS.up;
  const last = RUNNER_METRICS.lastSuccess;
  const rules: AlertingRule[] = [
    {
      alert: A.exporterDown,
      expr: `up{job=${q(EXPORTER_JOB)}} == 0 or absent(up{job=${q(EXPORTER_JOB)}})`,
      for: '5m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'Prometheus cannot scrape the okr-metrics exporter',
        description: 'The okr-metrics exporter has been down or unscraped for 5 minutes; no OKR data is being collected.',
      },
    },
    {
      alert: A.sourceDown,
      expr: `${up} == 0`,
      for: '15m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'OKR source {{ $labels.source }} fails to collect',
        description:
          'Every collection of {{ $labels.source }} has failed for 15 minutes; its last good values are still served. See okr_source_errors_total{source="{{ $labels.source }}"} for the reason.',
      },
    },
    {
      alert: A.sourceStale,
      // Never-succeeded sources (timestamp 0) are OkrSourceDown's business.
      expr: `(time() - ${last} > ${STALE_AFTER_INTERVALS} * ${RUNNER_METRICS.refreshInterval}) and ${last} > 0`,
      for: '5m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'OKR source {{ $labels.source }} data is stale',
        description: 'The last successful collection of {{ $labels.source }} was {{ $value | humanizeDuration }} ago, more than three refresh intervals.',
      },
    },
  ];
  for (const source of model.enabledSources) {
    rules.push({
      alert: A.sourceAbsent,
      expr: `absent(${up}{${LABEL.source}=${q(source)}})`,
      for: '10m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: `OKR source ${source} is not exported`,
        description: `The OKR file enables ${source} but no ${up}{source="${source}"} series has been scraped for 10 minutes: the exporter runs an older config or the source is switched off.`,
      },
    });
  }
  return rules;
}

/** The series a measure cannot do without (the measure-kind table's presence selector), with its source. */
function measureSeries(k: KrModel): { source: string; selector: string } | undefined {
  const spec = kindSpec(k.measure.kind);
  const params = k.kr.measure[k.measure.kind];
  return spec.source && spec.presence ? { source: spec.source, selector: spec.presence(params) } : undefined;
}

function absentDataAlerts(model: GenerateModel): AlertingRule[] {
  const out: AlertingRule[] = [];
  for (const k of model.krs) {
    const s = measureSeries(k);
    if (!s || !model.enabledSources.includes(s.source)) continue;
    out.push({
      alert: A.measureDataAbsent,
      expr: `absent(${s.selector})`,
      for: '30m',
      labels: { severity: 'ticket', ...krLabels(k), [LABEL.source]: s.source },
      annotations: {
        summary: `No data for key result ${k.kr.id}`,
        description: `Prometheus has no ${s.selector} series for 30 minutes, so "${k.kr.title}" cannot be measured (it shows as no_data, not as failing).`,
      },
    });
  }
  return out;
}

export function alertRules(model: GenerateModel): RuleFile<AlertingRule> {
  const groups: Array<RuleGroup<AlertingRule>> = [
    { name: 'okr-key-result-alerts', rules: [...availabilityAlerts(model), ...latencyAlerts(model), ...keyResultAlerts(model)] },
    { name: 'okr-slo-burn-rate-alerts', rules: [...burnRateAlerts(model), ...noSuccessAlerts(model)] },
    { name: 'okr-pace-alerts', rules: paceAlerts(model) },
    { name: 'okr-exporter-alerts', rules: [...healthAlerts(model), ...absentDataAlerts(model)] },
  ];
  return { groups: groups.filter((g) => g.rules.length > 0) };
}
