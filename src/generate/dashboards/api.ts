/**
 * API availability and latency: availability against the KR target, error budget remaining,
 * burn rate, p50/p95/p99 against the latency KR's target, and per-route breakdowns.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DASHBOARD_UID, KR_METRICS, LATENCY_QUANTILES, RECORDING_RULES as R, SLO_BURN_RATE_WINDOWS } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { APILOGS_METRICS } from '../../../exporters/apilogs/metrics.js';
import { availabilityKrs, latencyKrs, type GenerateModel } from '../model.js';
import { q } from '../recording-rules.js';
import { baseDashboard, finish, ownedVariable, query, row, statPanel, steps, targetLineOverride, targetThresholds, teamVariable, timeseriesPanel } from './common.js';

const SVC = `${LABEL.service}=~"$service"`;

function availabilityPanel() {
  return timeseriesPanel('Availability', 'percentunit')
    .description('Share of requests that did not fail, over 5m and 1h, with the availability key result target.')
    .withTarget(query(`${R.apiAvailability('5m')}{${SVC}}`, 'A', { legend: `{{${LABEL.service}}} 5m` }))
    .withTarget(query(`${R.apiAvailability('1h')}{${SVC}}`, 'B', { legend: `{{${LABEL.service}}} 1h` }))
    .withTarget(query(`${R.availabilityObjective}{${SVC}}`, 'C', { legend: `{{${LABEL.service}}} target` }))
    .overrideByQuery('C', targetLineOverride())
    .max(1)
    .span(12)
    .height(8);
}

function availability30dPanel(model: GenerateModel) {
  return statPanel('Availability, 30 days')
    .withTarget(query(`${R.apiAvailability('30d')}{${SVC}}`, 'A', { instant: true, legend: `{{${LABEL.service}}}` }))
    .unit('percentunit')
    .decimals(3)
    .thresholds(targetThresholds(availabilityKrs(model)[0]?.target))
    .span(6)
    .height(8);
}

function errorBudgetPanel() {
  return statPanel('Error budget remaining, 30 days')
    .description('1 = untouched, 0 = spent, below 0 = overspent.')
    .withTarget(query(`${R.errorBudgetRemaining}{${SVC}}`, 'A', { instant: true, legend: `{{${LABEL.service}}}` }))
    .unit('percentunit')
    .thresholds(
      steps([
        [null, 'red'],
        [0.25, 'orange'],
        [0.5, 'green'],
      ]),
    )
    .span(6)
    .height(8);
}

function burnRatePanel() {
  const fastest = Math.max(...SLO_BURN_RATE_WINDOWS.map((w) => w.factor));
  return timeseriesPanel('Error budget burn rate, 1h', 'none')
    .description(`1 spends the 30-day budget in exactly 30 days; ${fastest} pages (with the 5m window agreeing).`)
    .withTarget(
      query(`${R.apiErrorsRatio('1h')}{${SVC}} / on (${LABEL.service}) (1 - ${R.availabilityObjective}{${SVC}})`, 'A', { legend: `{{${LABEL.service}}}` }),
    )
    .thresholds(
      steps([
        [null, 'green'],
        [1, 'orange'],
        [fastest, 'red'],
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line))
    .span(24)
    .height(8);
}

function latencyPanel(model: GenerateModel) {
  const p = timeseriesPanel('Latency p50 / p95 / p99 (5m)', 's');
  const refs = ['A', 'B', 'C'];
  LATENCY_QUANTILES.forEach((l, i) => p.withTarget(query(`${R.apiLatency(l.name, '5m')}{${SVC}}`, refs[i]!, { legend: `{{${LABEL.service}}} ${l.name}` })));
  const krIds = [...new Set(latencyKrs(model).map((k) => k.kr.id))];
  if (krIds.length > 0) {
    p.withTarget(query(`${KR_METRICS.target}{${LABEL.keyResult}=~${q(krIds.join('|'))}}`, 'D', { legend: `{{${LABEL.keyResult}}} target` }));
    p.overrideByQuery('D', targetLineOverride());
  }
  return p.description('Latency quantiles from the request-duration histogram, with the latency key result target.').span(16).height(8);
}

function latencyDayPanel() {
  return statPanel('p95 latency, 1 day')
    .withTarget(query(`${R.apiLatency('p95', '1d')}{${SVC}}`, 'A', { instant: true, legend: `{{${LABEL.service}}}` }))
    .unit('s')
    .colorMode(common.BigValueColorMode.None)
    .span(8)
    .height(8);
}

function routeLatencyPanel() {
  return timeseriesPanel('p95 latency per route (5m)', 's')
    .withTarget(query(`${R.apiRouteLatency('p95')}{${SVC}}`, 'A', { legend: `{{${LABEL.service}}} {{${LABEL.route}}}` }))
    .span(12)
    .height(8);
}

function routeRatePanel() {
  return timeseriesPanel('Requests per route', 'reqps')
    .withTarget(query(`${R.apiRouteRequestsRate}{${SVC}}`, 'A', { legend: `{{${LABEL.service}}} {{${LABEL.route}}}` }))
    .span(12)
    .height(8);
}

function routeErrorsPanel() {
  return timeseriesPanel('Error ratio per route (5m)', 'percentunit')
    .withTarget(query(`${R.apiRouteErrorsRatio}{${SVC}}`, 'A', { legend: `{{${LABEL.service}}} {{${LABEL.route}}}` }))
    .span(12)
    .height(8);
}

function codesPanel() {
  return timeseriesPanel('Responses by status code', 'reqps')
    .withTarget(query(`sum by (${LABEL.code}) (rate(${APILOGS_METRICS.requests}{${SVC}}[5m]))`, 'A', { legend: `{{${LABEL.code}}}` }))
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .span(12)
    .height(8);
}

export function apiDashboard(model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(DASHBOARD_UID.api, 'API availability and latency', 'Availability, error budget and latency per service, from API access logs.', ['api'])
    .withVariable(teamVariable())
    .withVariable(ownedVariable('service', 'Service', R.serviceInfo, LABEL.service))
    .withRow(row('Availability'))
    .withPanel(availabilityPanel())
    .withPanel(availability30dPanel(model))
    .withPanel(errorBudgetPanel())
    .withPanel(burnRatePanel())
    .withRow(row('Latency'))
    .withPanel(latencyPanel(model))
    .withPanel(latencyDayPanel())
    .withRow(row('Per route'))
    .withPanel(routeLatencyPanel())
    .withPanel(routeRatePanel())
    .withPanel(routeErrorsPanel())
    .withPanel(codesPanel());
  return finish(d.build());
}
