/**
 * House style of every generated dashboard, in one place (the foundation-sdk workshop's
 * common.ts): datasource, query, variable and panel defaults, thresholds from KR targets, and
 * the finishing pass (stable panel ids, schemaVersion 39, DO-NOT-EDIT marker).
 * Each panel function elsewhere returns a fresh builder; builders are never reused.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_UID, RECORDING_RULES } from '../../conventions.js';
import { LABEL } from '../../core/labels.js';
import type { MeasureUnit } from '../../engine/measure-kinds.js';
import type { Target } from '../../engine/target.js';
import { GENERATED_BY } from '../render.js';

export const DATASOURCE = { type: 'prometheus', uid: DATASOURCE_UID } as const;
/** What "All" means in every multi-value variable: a regex matching every value (also a missing label). */
export const ALL = '.*';
/** Grafana 10.4, 11 and 12 all load schemaVersion 39 (the SDK emits 42). */
export const SCHEMA_VERSION = 39;

export interface QueryOptions {
  legend?: string;
  instant?: boolean;
  table?: boolean;
}

export function query(expr: string, refId: string, opts: QueryOptions = {}): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).refId(refId);
  if (opts.legend !== undefined) b.legendFormat(opts.legend);
  if (opts.instant) b.instant();
  else b.range();
  if (opts.table) b.format(prometheus.PromQueryFormat.Table);
  return b;
}

export function unitOf(u: MeasureUnit): string {
  return u === 'ratio' ? 'percentunit' : u === 'seconds' ? 's' : 'none';
}

/** Threshold steps colouring a value by whether it meets an absolute target. */
export function targetThresholds(target: Target | undefined): dashboard.ThresholdsConfigBuilder {
  const b = new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute);
  if (!target || target.kind === 'relative') return b.steps([{ value: null, color: 'blue' }]);
  const v = target.value;
  switch (target.op) {
    case '>':
    case '>=':
      return b.steps([
        { value: null, color: 'red' },
        { value: v, color: 'green' },
      ]);
    case '<':
    case '<=':
      return b.steps([
        { value: null, color: 'green' },
        { value: v, color: 'red' },
      ]);
    case '==':
      // "== 0" style: anything above the target is a miss.
      return b.steps([
        { value: null, color: 'green' },
        { value: v === 0 ? 1e-9 : v * 1.000001, color: 'red' },
      ]);
  }
}

export function steps(list: Array<[number | null, string]>): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(list.map(([value, color]) => ({ value: value as number, color })));
}

export function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
}

export function statPanel(title: string): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .reduceOptions(lastValue())
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value);
}

/** A red/green stat for a 0/1 series, its two values named (down/up, failed/passed). */
export function booleanStatPanel(title: string, target: prometheus.DataqueryBuilder, names: [zero: string, one: string]): stat.PanelBuilder {
  return statPanel(title)
    .withTarget(target)
    .mappings([{ type: 'value' as never, options: { '0': { text: names[0], color: 'red', index: 0 }, '1': { text: names[1], color: 'green', index: 1 } } }])
    .thresholds(
      steps([
        [null, 'red'],
        [1, 'green'],
      ]),
    )
    .colorMode(common.BigValueColorMode.Background);
}

export function timeseriesPanel(title: string, unit: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .lineWidth(2)
    .fillOpacity(10)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
}

/** A dashed, unfilled line for a target series (callers override by the target query's refId). */
export function targetLineOverride(): dashboard.DynamicConfigValue[] {
  return [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
  ];
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

function variable(name: string, label: string, queryText: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(queryText)
    .definition(queryText)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(ALL)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export function teamVariable(): dashboard.QueryVariableBuilder {
  return variable('team', 'Team', `label_values(${RECORDING_RULES.teamInfo}, ${LABEL.team})`);
}

/**
 * A variable over things a team owns (service, board, project, repo), narrowed by $team. The
 * metric is an okr:*:info series (owners from the OKR file) or a source metric carrying the
 * collectors' team label (covers items a source discovers, such as `projects: all`).
 */
export function ownedVariable(name: string, label: string, metric: string, labelName: string): dashboard.QueryVariableBuilder {
  return variable(name, label, `label_values(${metric}{${LABEL.team}=~"$team"}, ${labelName})`);
}

export function sourceVariable(metric: string): dashboard.QueryVariableBuilder {
  return variable('source', 'Source', `label_values(${metric}, ${LABEL.source})`);
}

export function baseDashboard(uid: string, title: string, description: string, tags: string[]): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(`${description} ${GENERATED_BY}.`)
    .tags(['okr-metrics', ...tags])
    .timezone('utc')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-7d', to: 'now' })
    .refresh('5m')
    .readonly();
}

type Json = Record<string, unknown>;

/**
 * Finishing pass over the built JSON: ids numbered 1.. in layout order (rows included), the
 * loadable schemaVersion, and no `id` for the dashboard itself (Grafana assigns it).
 */
export function finish(built: dashboard.Dashboard): Json {
  const json = JSON.parse(JSON.stringify(built)) as Json;
  let next = 1;
  const number = (panels: Json[] | undefined) => {
    for (const p of panels ?? []) {
      p.id = next++;
      number(p.panels as Json[] | undefined);
    }
  };
  number(json.panels as Json[] | undefined);
  json.schemaVersion = SCHEMA_VERSION;
  delete json.id;
  return json;
}

/** Every PromQL expression of a dashboard JSON: panel targets and query variables. */
export function dashboardExpressions(json: Json): Array<{ where: string; expr: string; variable?: boolean }> {
  const out: Array<{ where: string; expr: string; variable?: boolean }> = [];
  const walk = (panels: Json[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of (p.targets as Json[] | undefined) ?? [])
        if (typeof t.expr === 'string') out.push({ where: `panel ${String(p.id)} "${String(p.title)}" ${String(t.refId)}`, expr: t.expr });
      walk(p.panels as Json[] | undefined);
    }
  };
  walk(json.panels as Json[] | undefined);
  const vars = ((json.templating as Json | undefined)?.list as Json[] | undefined) ?? [];
  for (const v of vars) if (v.type === 'query' && typeof v.query === 'string') out.push({ where: `variable ${String(v.name)}`, expr: v.query, variable: true });
  return out;
}
