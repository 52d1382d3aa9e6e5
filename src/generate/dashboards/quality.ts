/** Code quality: coverage per project against the quarter-start baseline and the target, from SonarQube. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DASHBOARD_UID, KR_METRICS, RECORDING_RULES as R } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { SONARQUBE_METRICS as S } from '../../../exporters/sonarqube/metrics.js';
import type { GenerateModel } from '../model.js';
import { q } from '../recording-rules.js';
import { baseDashboard, booleanStatPanel, finish, ownedVariable, query, row, statPanel, targetLineOverride, teamVariable, timeseriesPanel } from './common.js';

const PROJECT = `${LABEL.project}=~"$project"`;

function coveragePanel(model: GenerateModel) {
  const p = timeseriesPanel('Coverage per project', 'percentunit')
    .description('Line coverage; the coverage key result baseline (quarter start) and target as dashed lines.')
    .withTarget(query(`${R.coverage}{${PROJECT}}`, 'A', { legend: `{{${LABEL.project}}}` }));
  const ids = model.krs.filter((k) => k.kr.measure.coverage).map((k) => k.kr.id);
  if (ids.length > 0) {
    const sel = `{${LABEL.keyResult}=~${q(ids.join('|'))}}`;
    p.withTarget(query(`${KR_METRICS.baseline}${sel}`, 'B', { legend: `{{${LABEL.keyResult}}} baseline (period start)` }));
    p.withTarget(query(`${KR_METRICS.target}${sel}`, 'C', { legend: `{{${LABEL.keyResult}}} target` }));
    p.overrideByQuery('B', [
      { id: 'custom.lineStyle', value: { fill: 'dot', dash: [0, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
    ]);
    p.overrideByQuery('C', targetLineOverride());
  }
  return p.max(1).span(16).height(8);
}

function coverageNowPanel() {
  return statPanel('Coverage now')
    .withTarget(query(`${R.coverage}{${PROJECT}}`, 'A', { instant: true, legend: `{{${LABEL.project}}}` }))
    .unit('percentunit')
    .colorMode(common.BigValueColorMode.None)
    .span(8)
    .height(8);
}

function newCodePanel() {
  return timeseriesPanel('New-code coverage', 'percentunit')
    .withTarget(query(`avg by (${LABEL.project}) (${S.newCodeCoverage}{${PROJECT}})`, 'A', { legend: `{{${LABEL.project}}}` }))
    .span(12)
    .height(8);
}

function duplicationPanel() {
  return timeseriesPanel('Duplicated lines', 'percentunit')
    .withTarget(query(`avg by (${LABEL.project}) (${S.duplicatedLines}{${PROJECT}})`, 'A', { legend: `{{${LABEL.project}}}` }))
    .span(12)
    .height(8);
}

function issuesPanel() {
  return timeseriesPanel('Open issues by type', 'none')
    .withTarget(query(`sum by (${LABEL.type}) (${S.issues}{${PROJECT}})`, 'A', { legend: `{{${LABEL.type}}}` }))
    .span(12)
    .height(8);
}

function gatePanel() {
  return booleanStatPanel('Quality gate', query(`min by (${LABEL.project}) (${S.qualityGatePassed}{${PROJECT}})`, 'A', { instant: true, legend: `{{${LABEL.project}}}` }), ['failed', 'passed'])
    .span(12)
    .height(8);
}

export function qualityDashboard(model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(DASHBOARD_UID.quality, 'Code quality', 'Coverage, duplication, issues and quality gates per project, from SonarQube.', ['quality', 'sonarqube'])
    .time({ from: 'now-90d', to: 'now' })
    .withVariable(teamVariable())
    .withVariable(ownedVariable('project', 'Project', S.coverage, LABEL.project))
    .withRow(row('Coverage'))
    .withPanel(coveragePanel(model))
    .withPanel(coverageNowPanel())
    .withPanel(newCodePanel())
    .withPanel(duplicationPanel())
    .withRow(row('Issues'))
    .withPanel(issuesPanel())
    .withPanel(gatePanel());
  return finish(d.build());
}
