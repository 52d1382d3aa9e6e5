/**
 * Delivery performance: the four DORA keys per service and per team over the last 30 days,
 * each coloured by the DORA performance levels of the 2024 report (dora-levels.ts) and drawn
 * against the targets of the key results that measure it.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { DASHBOARD_UID, KR_METRICS, RECORDING_RULES as R } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import { DELIVERY_METRICS as M } from '../../../exporters/delivery/metrics.js';
import type { MeasureKind } from '../../engine/measure-kinds.js';
import type { GenerateModel } from '../model.js';
import { q } from '../recording-rules.js';
import { DATASOURCE, baseDashboard, finish, ownedVariable, query, row, statPanel, steps, targetLineOverride, teamVariable, timeseriesPanel } from './common.js';
import { DORA_LEVELS, DORA_REPORT, doraLevelsMarkdown, type DoraKeyLevels } from './dora-levels.js';

const SEL = `${LABEL.service}=~"$service",${LABEL.team}=~"$team"`;
const FIRST_COMMIT = 'from="first_commit"';
const WINDOW = '30d';

interface Key {
  levels: DoraKeyLevels;
  kind: MeasureKind;
  unit: string;
  decimals?: number;
  /** The 30-day figure per service (a recorded rule) and per team (from the raw series). */
  perService: string;
  perTeam: string;
  /** A second per-service series (the p90 of a time). */
  perServiceP90?: string;
}

const KEYS: Key[] = [
  {
    levels: DORA_LEVELS.deploymentFrequency,
    kind: 'deployment_frequency',
    unit: 'none',
    decimals: 2,
    perService: `${R.deliveryDeploymentsPerDay}{${SEL}}`,
    perTeam: `sum by (${LABEL.team}) (increase(${M.deployments}{${LABEL.status}="successful",${SEL}}[${WINDOW}])) / 30`,
  },
  {
    levels: DORA_LEVELS.leadTime,
    kind: 'lead_time',
    unit: 's',
    perService: `${R.deliveryLeadTime('p50')}{${FIRST_COMMIT},${SEL}}`,
    perServiceP90: `${R.deliveryLeadTime('p90')}{${FIRST_COMMIT},${SEL}}`,
    perTeam: `histogram_quantile(0.5, sum by (${LABEL.team}, le) (increase(${M.leadTime}_bucket{${FIRST_COMMIT},${SEL}}[${WINDOW}])))`,
  },
  {
    levels: DORA_LEVELS.changeFailureRate,
    kind: 'change_failure_rate',
    unit: 'percentunit',
    perService: `${R.deliveryChangeFailureRatio}{${SEL}}`,
    perTeam: `sum by (${LABEL.team}) (increase(${M.outcomes}{outcome!="none",${SEL}}[${WINDOW}])) / sum by (${LABEL.team}) (increase(${M.outcomes}{${SEL}}[${WINDOW}]))`,
  },
  {
    levels: DORA_LEVELS.recoveryTime,
    kind: 'recovery_time',
    unit: 's',
    perService: `${R.deliveryRecoveryTime('p50')}{${SEL}}`,
    perServiceP90: `${R.deliveryRecoveryTime('p90')}{${SEL}}`,
    perTeam: `histogram_quantile(0.5, sum by (${LABEL.team}, le) (increase(${M.recoveryTime}_bucket{${SEL}}[${WINDOW}])))`,
  },
];

const title = (k: Key) => (k.perServiceP90 ? `${k.levels.title}, p50` : k.levels.title);

function statOf(k: Key) {
  const p = statPanel(`${title(k)} (30 days)`)
    .description(`Per service, last 30 days. DORA ${DORA_REPORT.year} levels: ${k.levels.levels}.`)
    .withTarget(query(k.perService, 'A', { instant: true, legend: `{{${LABEL.service}}}` }))
    .unit(k.unit)
    .thresholds(steps(k.levels.steps))
    .span(6)
    .height(6);
  if (k.decimals !== undefined) p.decimals(k.decimals);
  return p;
}

function column(name: string, unit: string, levels: DoraKeyLevels, decimals?: number): dashboard.DynamicConfigValue[] {
  return [
    { id: 'displayName', value: name },
    { id: 'unit', value: unit },
    ...(decimals !== undefined ? [{ id: 'decimals', value: decimals }] : []),
    { id: 'thresholds', value: { mode: 'absolute', steps: levels.steps.map(([value, color]) => ({ value, color })) } },
    { id: 'custom.cellOptions', value: { type: 'color-text' } },
  ];
}

function tablePanel() {
  const [df, lead, cfr, rec] = KEYS as [Key, Key, Key, Key];
  const t = new table.PanelBuilder()
    .title('Per team and service, last 30 days')
    .description(`The four keys of each production stream, coloured by the DORA ${DORA_REPORT.year} levels.`)
    .datasource(DATASOURCE)
    .withTarget(query(df.perService, 'A', { instant: true, table: true }))
    .withTarget(query(lead.perService, 'B', { instant: true, table: true }))
    .withTarget(query(lead.perServiceP90!, 'C', { instant: true, table: true }))
    .withTarget(query(cfr.perService, 'D', { instant: true, table: true }))
    .withTarget(query(rec.perService, 'E', { instant: true, table: true }))
    .withTarget(query(rec.perServiceP90!, 'F', { instant: true, table: true }))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, __name__: true, from: true }, indexByName: { team: 0, service: 1, environment: 2 } } })
    .overrideByName('Value #A', column('Deployments per day', df.unit, df.levels, 2))
    .overrideByName('Value #B', column('Lead time p50', lead.unit, lead.levels))
    .overrideByName('Value #C', column('Lead time p90', lead.unit, lead.levels))
    .overrideByName('Value #D', column('Change failure rate', cfr.unit, cfr.levels))
    .overrideByName('Value #E', column('Recovery p50', rec.unit, rec.levels))
    .overrideByName('Value #F', column('Recovery p90', rec.unit, rec.levels))
    .span(24)
    .height(8);
  return t;
}

function trendPanel(k: Key, model: GenerateModel) {
  const krs = model.krs.filter((x) => x.measure.kind === k.kind).map((x) => x.kr.id);
  const p = timeseriesPanel(`${k.levels.title}: rolling 30 days`, k.unit)
    .description(
      `Per service${k.perServiceP90 ? ' (p50 and p90)' : ''} and per team over the last 30 days; bands: the DORA ${DORA_REPORT.year} levels (${k.levels.levels}).${krs.length > 0 ? ' Key results: their period-to-date value and target (dashed).' : ''}`,
    )
    .withTarget(query(k.perService, 'A', { legend: `{{${LABEL.service}}}${k.perServiceP90 ? ' p50' : ''}` }))
    .withTarget(query(k.perTeam, 'B', { legend: `team {{${LABEL.team}}}${k.perServiceP90 ? ' p50' : ''}` }))
    .thresholds(steps(k.levels.steps))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.DashedAndArea))
    .span(12)
    .height(9);
  if (k.perServiceP90) p.withTarget(query(k.perServiceP90, 'C', { legend: `{{${LABEL.service}}} p90` }));
  if (k.decimals !== undefined) p.decimals(k.decimals);
  if (krs.length > 0) {
    const sel = `{${LABEL.keyResult}=~${q(krs.join('|'))}}`;
    p.withTarget(query(`${KR_METRICS.value}${sel}`, 'D', { legend: `KR {{${LABEL.keyResult}}}` }));
    p.withTarget(query(`${KR_METRICS.target}${sel}`, 'E', { legend: `target {{${LABEL.keyResult}}}` }));
    p.overrideByQuery('E', targetLineOverride());
  }
  return p;
}

function feedsPanel() {
  return statPanel('Delivery feeds: behind by')
    .description('How far behind now each feed the join reads is complete (deployments from Bitbucket or CI events, incidents per query): change failures settle only behind the oldest.')
    .withTarget(query(`time() - ${M.feedComplete}`, 'A', { instant: true, legend: '{{feed}}' }))
    .unit('s')
    .thresholds(
      steps([
        [null, 'green'],
        [3600, 'orange'],
        [6 * 3600, 'red'],
      ]),
    )
    .span(12)
    .height(5);
}

function unmatchedPanel() {
  return statPanel('Deployments matching no service')
    .description('Deployments in the feeds whose repository or service and environment are not in sources.delivery (not counted).')
    .withTarget(query(`sum by (origin) (${M.unmatched})`, 'A', { instant: true, legend: '{{origin}}' }))
    .colorMode(common.BigValueColorMode.None)
    .span(12)
    .height(5);
}

export function deliveryPerformanceDashboard(model: GenerateModel): Record<string, unknown> {
  const d = baseDashboard(
    DASHBOARD_UID.deliveryPerformance,
    'Delivery performance',
    `The four DORA keys per team and service against key result targets and the DORA ${DORA_REPORT.year} performance levels.\n\n${doraLevelsMarkdown()}\n\n`,
    ['delivery', 'dora'],
  )
    .time({ from: 'now-90d', to: 'now' })
    .withVariable(teamVariable())
    .withVariable(ownedVariable('service', 'Service', M.deployments, LABEL.service))
    .withRow(row('The four keys, last 30 days'));
  for (const k of KEYS) d.withPanel(statOf(k));
  d.withPanel(tablePanel()).withRow(row('Over time'));
  for (const k of KEYS) d.withPanel(trendPanel(k, model));
  d.withRow(row('Data')).withPanel(feedsPanel()).withPanel(unmatchedPanel());
  return finish(d.build());
}
