/** Exporter health: per-source success, data age, collection time, errors and API requests. */
import { DASHBOARD_UID, EXPORTER_JOB, KR_METRICS } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { APILOGS_METRICS } from '../../../exporters/apilogs/metrics.js';
import { RUNNER_METRICS as M } from '../../core/runner-metrics.js';
import type { GenerateModel } from '../model.js';
import { q } from '../recording-rules.js';
import { baseDashboard, booleanStatPanel, finish, query, row, sourceVariable, statPanel, timeseriesPanel } from './common.js';

const SRC = `${LABEL.source}=~"$source"`;
/** Grafana's custom unit: the value followed by " lines/s". */
export const LINES_PER_SECOND = 'suffix: lines/s';

function upPanel() {
  return booleanStatPanel('Source up', query(`${M.up}{${SRC}}`, 'A', { instant: true, legend: `{{${LABEL.source}}}` }), ['down', 'up'])
    .span(12)
    .height(5);
}

/** Prometheus' own `up` of the exporter's scrape: named down/up, red/green (never a bare 1/0). */
function scrapePanel() {
  return booleanStatPanel('Exporter scraped', query(`up{job=${q(EXPORTER_JOB)}}`, 'A', { instant: true, legend: '{{instance}}' }), ['down', 'up'])
    .span(6)
    .height(5);
}

function engineAgePanel() {
  return statPanel('KR engine: last evaluation')
    .withTarget(query(`time() - ${KR_METRICS.lastEvaluation}`, 'A', { instant: true, legend: 'age' }))
    .unit('s')
    .span(6)
    .height(5);
}

function agePanel() {
  return timeseriesPanel('Data age (since last successful collection)', 's')
    .withTarget(query(`time() - ${M.lastSuccess}{${SRC}}`, 'A', { legend: `{{${LABEL.source}}}` }))
    .withTarget(query(`${M.refreshInterval}{${SRC}}`, 'B', { legend: `{{${LABEL.source}}} refresh interval` }))
    .span(12)
    .height(8);
}

function durationPanel() {
  return timeseriesPanel('Collection duration', 's')
    .withTarget(query(`${M.collectDuration}{${SRC}}`, 'A', { legend: `{{${LABEL.source}}}` }))
    .span(12)
    .height(8);
}

function errorsPanel() {
  return timeseriesPanel('Collection errors per hour', 'none')
    .withTarget(query(`sum by (${LABEL.source}, ${LABEL.reason}) (increase(${M.errors}{${SRC}}[1h]))`, 'A', { legend: `{{${LABEL.source}}} {{${LABEL.reason}}}` }))
    .span(12)
    .height(8);
}

function requestsPanel() {
  return timeseriesPanel('Source API requests', 'reqps')
    .withTarget(query(`sum by (${LABEL.source}, ${LABEL.status}) (rate(${M.requests}{${SRC}}[5m]))`, 'A', { legend: `{{${LABEL.source}}} {{${LABEL.status}}}` }))
    .span(12)
    .height(8);
}

/** A rate: lines per second, said in the unit (a bare number reads as a count). */
function logLinesPanel() {
  return timeseriesPanel('API log lines read per second', LINES_PER_SECOND)
    .withTarget(query(`sum by (${LABEL.service}) (rate(${APILOGS_METRICS.lines}[5m]))`, 'A', { legend: `{{${LABEL.service}}}` }))
    .span(12)
    .height(8);
}

export function healthDashboard(_model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(DASHBOARD_UID.health, 'okr-metrics exporter health', 'Is every source collecting, and how fresh is the data?', ['health'])
    .time({ from: 'now-24h', to: 'now' })
    .withVariable(sourceVariable(M.up))
    .withRow(row('Sources'))
    .withPanel(upPanel())
    .withPanel(scrapePanel())
    .withPanel(engineAgePanel())
    .withPanel(agePanel())
    .withPanel(durationPanel())
    .withRow(row('Errors and requests'))
    .withPanel(errorsPanel())
    .withPanel(requestsPanel())
    .withPanel(logLinesPanel());
  return finish(d.build());
}
