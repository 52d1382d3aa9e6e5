/** Delivery: story points per sprint against the velocity KR's target, and points per rolling quarter per board. */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DASHBOARD_UID, KR_METRICS, RECORDING_RULES as R } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { JIRA_METRICS } from '../../../exporters/jira/metrics.js';
import type { GenerateModel } from '../model.js';
import { q } from '../recording-rules.js';
import { DATASOURCE, baseDashboard, finish, ownedVariable, query, row, statPanel, steps, teamVariable, timeseriesPanel } from './common.js';

const BOARD = `${LABEL.board}=~"$board"`;

function velocityTarget(model: GenerateModel): number | undefined {
  const k = model.krs.find((x) => x.kr.measure.story_points_per_sprint && x.target.kind === 'absolute');
  return k && k.target.kind === 'absolute' ? k.target.value : undefined;
}

function sprintPointsPanel(model: GenerateModel) {
  const target = velocityTarget(model);
  return new barchart.PanelBuilder()
    .title(target === undefined ? 'Story points per sprint' : `Story points per sprint (target ${target})`)
    .description('Completed story points of recently closed sprints, per board.')
    .datasource(DATASOURCE)
    .withTarget(query(`${R.sprintCompletedPoints}{${BOARD}}`, 'A', { instant: true, table: true }))
    .xField(LABEL.sprint)
    .colorByField(LABEL.board)
    .unit('none')
    .thresholds(
      steps(
        target === undefined
          ? [[null, 'blue']]
          : [
              [null, 'red'],
              [target, 'green'],
            ],
      ),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line))
    .span(24)
    .height(9);
}

function quarterPointsPanel() {
  return timeseriesPanel('Completed story points, rolling quarter (90d)', 'none')
    .withTarget(query(`${R.boardCompletedPointsQuarter}{${BOARD}}`, 'A', { legend: `{{${LABEL.board}}}` }))
    .span(12)
    .height(8);
}

function committedPanel() {
  return timeseriesPanel('Committed vs completed points, rolling quarter', 'none')
    .withTarget(query(`sum by (${LABEL.board}) (increase(${JIRA_METRICS.committedPointsTotal}{${BOARD}}[90d]))`, 'A', { legend: `{{${LABEL.board}}} committed` }))
    .withTarget(query(`sum by (${LABEL.board}) (increase(${JIRA_METRICS.completedPointsTotal}{${BOARD}}[90d]))`, 'B', { legend: `{{${LABEL.board}}} completed` }))
    .span(12)
    .height(8);
}

function deliveryKrPanel(model: GenerateModel) {
  const ids = model.krs.filter((k) => k.kr.measure.story_points || k.kr.measure.story_points_per_sprint || k.kr.measure.jql_count || k.kr.measure.jql_points).map((k) => k.kr.id);
  if (ids.length === 0) return undefined;
  return statPanel('Delivery key results')
    .withTarget(query(`${KR_METRICS.value}{${LABEL.keyResult}=~${q(ids.join('|'))}}`, 'A', { instant: true, legend: `{{${LABEL.keyResult}}}` }))
    .colorMode(common.BigValueColorMode.None)
    .span(24)
    .height(5);
}

function jqlPanel() {
  return statPanel('Jira query counts (current period)')
    .withTarget(query(`sum by (${LABEL.query}) (${JIRA_METRICS.queryIssues})`, 'A', { instant: true, legend: `{{${LABEL.query}}}` }))
    .colorMode(common.BigValueColorMode.None)
    .span(24)
    .height(5);
}

export function deliveryDashboard(model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(DASHBOARD_UID.delivery, 'Delivery', 'Story points per sprint and per quarter, from Jira.', ['delivery', 'jira'])
    .time({ from: 'now-90d', to: 'now' })
    .withVariable(teamVariable())
    .withVariable(ownedVariable('board', 'Board', JIRA_METRICS.sprintPoints, LABEL.board))
    .withRow(row('Sprints'))
    .withPanel(sprintPointsPanel(model))
    .withPanel(quarterPointsPanel())
    .withPanel(committedPanel())
    .withRow(row('Key results'));
  const kr = deliveryKrPanel(model);
  if (kr) d.withPanel(kr);
  d.withPanel(jqlPanel());
  return finish(d.build());
}
