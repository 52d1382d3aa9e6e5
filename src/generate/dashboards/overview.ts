/**
 * OKR overview: one row per objective; per key result its current value (coloured by the
 * target), target, progress and status, from the KR engine's okr_key_result_* series.
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { DASHBOARD_UID, KR_METRICS, KR_STATUSES, RECORDING_RULES, type KrStatus } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import type { GenerateModel, KrModel } from '../model.js';
import { q } from '../recording-rules.js';
import { DATASOURCE, baseDashboard, finish, lastValue, query, row, statPanel, steps, targetThresholds, teamVariable, unitOf } from './common.js';

const STATUS_COLOR: Record<KrStatus, string> = { done: 'green', on_track: 'green', at_risk: 'orange', off_track: 'red', no_data: 'text' };

function krSelector(k: KrModel): string {
  return `{${LABEL.objective}=${q(k.objective.id)},${LABEL.keyResult}=${q(k.kr.id)}}`;
}

function valuePanel(k: KrModel) {
  const p = statPanel(k.kr.title)
    .description(`Current value of ${k.kr.id} (${k.measure.kind}); target ${k.target.text}.${k.kr.owner ? ` Owner: ${k.kr.owner}.` : ''}`)
    .withTarget(query(`${KR_METRICS.value}${krSelector(k)}`, 'A', { instant: true }))
    .unit(unitOf(k.measure.unit))
    .thresholds(targetThresholds(k.target))
    .span(6)
    .height(4);
  return p;
}

function targetPanel(k: KrModel) {
  return statPanel(`Target: ${k.target.text}`)
    .description(`The target resolved to a number by the KR engine${k.target.kind === 'relative' ? ` (baseline: ${String(k.kr.baseline ?? 'previous_period')})` : ''}.`)
    .withTarget(query(`${KR_METRICS.target}${krSelector(k)}`, 'A', { instant: true }))
    .unit(unitOf(k.measure.unit))
    .colorMode(common.BigValueColorMode.None)
    .span(6)
    .height(4);
}

function progressPanel(k: KrModel) {
  return new gauge.PanelBuilder()
    .title('Progress')
    .description('Linear position between baseline and target (0..1); the expected progress at this point of the period is the second value.')
    .datasource(DATASOURCE)
    .withTarget(query(`${KR_METRICS.progress}${krSelector(k)}`, 'A', { instant: true, legend: 'progress' }))
    .withTarget(query(`${KR_METRICS.expectedProgress}${krSelector(k)}`, 'B', { instant: true, legend: 'expected' }))
    .reduceOptions(lastValue())
    .unit('percentunit')
    .min(0)
    .max(1)
    .thresholds(
      steps([
        [null, 'red'],
        [0.4, 'orange'],
        [0.7, 'green'],
      ]),
    )
    .span(6)
    .height(4);
}

function statusPanel(k: KrModel) {
  const p = statPanel('Status')
    .description(`One of ${KR_STATUSES.join(', ')}; no_data (source stale or no series) is never shown as failing.`)
    .withTarget(query(`${KR_METRICS.status}${krSelector(k)} == 1`, 'A', { instant: true, legend: `{{${LABEL.status}}}` }))
    .textMode(common.BigValueTextMode.Name)
    .colorMode(common.BigValueColorMode.Background)
    .span(6)
    .height(4);
  for (const s of KR_STATUSES) p.overrideByName(s, [{ id: 'color', value: { mode: 'fixed', fixedColor: STATUS_COLOR[s] } }]);
  return p;
}

function objectivesPanel() {
  return new bargauge.PanelBuilder()
    .title('Objectives: weighted progress')
    .datasource(DATASOURCE)
    .withTarget(query(KR_METRICS.objectiveProgress, 'A', { instant: true, legend: `{{${LABEL.objective}}}` }))
    .reduceOptions(lastValue())
    .unit('percentunit')
    .min(0)
    .max(1)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .thresholds(
      steps([
        [null, 'red'],
        [0.4, 'orange'],
        [0.7, 'green'],
      ]),
    )
    .span(12)
    .height(8);
}

/**
 * One row per key result: objective, key result, period, team and progress. An instant table
 * query also returns a Time column (the evaluation instant, the same on every row): dropped.
 */
function teamTablePanel() {
  return new table.PanelBuilder()
    .title('Key results of $team: progress')
    .datasource(DATASOURCE)
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true },
        indexByName: { [LABEL.objective]: 0, [LABEL.keyResult]: 1, [LABEL.period]: 2, [LABEL.team]: 3, Value: 4 },
        renameByName: { Value: 'progress' },
      },
    })
    .withTarget(
      query(
        `${KR_METRICS.progress} * on (${LABEL.objective}, ${LABEL.keyResult}) group_left (${LABEL.team}) ${RECORDING_RULES.keyResultInfo}{${LABEL.team}=~"$team"}`,
        'A',
        { instant: true, table: true },
      ),
    )
    .unit('percentunit')
    .span(12)
    .height(8);
}

export function overviewDashboard(model: GenerateModel): Record<string, unknown> {
  const title = model.organization ? `OKR overview: ${model.organization}` : 'OKR overview';
  const d = baseDashboard(DASHBOARD_UID.overview, title, 'Every objective and key result for the current period.', ['overview'])
    .time({ from: 'now-90d', to: 'now' })
    .withVariable(teamVariable())
    .withPanel(objectivesPanel())
    .withPanel(teamTablePanel());
  const objectives = [...new Map(model.krs.map((k) => [k.objective.id, k.objective])).values()];
  for (const o of objectives) {
    d.withRow(row(o.title));
    for (const k of model.krs.filter((x) => x.objective.id === o.id)) {
      d.withPanel(valuePanel(k)).withPanel(targetPanel(k)).withPanel(progressPanel(k)).withPanel(statusPanel(k));
    }
  }
  return finish(d.build());
}
