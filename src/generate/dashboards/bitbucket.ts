/** Bitbucket: pull-request throughput and cycle time, open pull requests, pipeline success. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import { DASHBOARD_UID } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { BITBUCKET_METRICS as B } from '../../../exporters/bitbucket/metrics.js';
import type { GenerateModel } from '../model.js';
import { baseDashboard, finish, ownedVariable, query, row, statPanel, steps, teamVariable, timeseriesPanel } from './common.js';

const REPO = `${LABEL.repo}=~"$repo"`;

function throughputPanel() {
  return timeseriesPanel('Pull requests merged per day', 'none')
    .withTarget(query(`sum by (${LABEL.repo}) (increase(${B.prsMerged}{${REPO}}[1d]))`, 'A', { legend: `{{${LABEL.repo}}}` }))
    .span(8)
    .height(8);
}

function cycleTimePanel() {
  const p = timeseriesPanel('Pull request cycle time (opened → merged), 7d', 's');
  [
    ['A', 0.5],
    ['B', 0.9],
  ].forEach(([ref, quantile]) =>
    p.withTarget(
      query(`histogram_quantile(${quantile}, sum by (${LABEL.repo}, le) (rate(${B.prCycleTime}_bucket{${REPO}}[7d])))`, String(ref), {
        legend: `{{${LABEL.repo}}} p${Number(quantile) * 100}`,
      }),
    ),
  );
  return p.span(8).height(8);
}

function openPanel() {
  return statPanel('Open pull requests')
    .withTarget(query(`sum by (${LABEL.repo}) (${B.prsOpen}{${REPO}})`, 'A', { instant: true, legend: `{{${LABEL.repo}}}` }))
    .colorMode(common.BigValueColorMode.None)
    .span(8)
    .height(8);
}

function pipelineSuccessPanel() {
  const all = `sum by (${LABEL.repo}) (increase(${B.pipelines}{${REPO}}[7d]))`;
  return statPanel('Pipeline success, 7 days')
    .withTarget(
      query(`(sum by (${LABEL.repo}) (increase(${B.pipelines}{${REPO},${LABEL.result}="successful"}[7d])) or ${all} * 0) / ${all}`, 'A', {
        instant: true,
        legend: `{{${LABEL.repo}}}`,
      }),
    )
    .unit('percentunit')
    .thresholds(
      steps([
        [null, 'red'],
        [0.8, 'orange'],
        [0.95, 'green'],
      ]),
    )
    .span(12)
    .height(8);
}

function pipelineDurationPanel() {
  return timeseriesPanel('Pipeline duration p50, 1d', 's')
    .withTarget(query(`histogram_quantile(0.5, sum by (${LABEL.repo}, le) (rate(${B.pipelineDuration}_bucket{${REPO}}[1d])))`, 'A', { legend: `{{${LABEL.repo}}}` }))
    .span(12)
    .height(8);
}

export function bitbucketDashboard(_model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(DASHBOARD_UID.bitbucket, 'Bitbucket', 'Pull requests and pipelines per repository, from Bitbucket.', ['bitbucket'])
    .withVariable(teamVariable())
    .withVariable(ownedVariable('repo', 'Repository', B.prsOpen, LABEL.repo))
    .withRow(row('Pull requests'))
    .withPanel(throughputPanel())
    .withPanel(cycleTimePanel())
    .withPanel(openPanel())
    .withRow(row('Pipelines'))
    .withPanel(pipelineSuccessPanel())
    .withPanel(pipelineDurationPanel());
  return finish(d.build());
}
