/**
 * `okr-metrics generate` as a chain of small steps (sloth's generate app): validate →
 * recording rules → alert rules (+ runbook pass) → dashboards → provisioning → Kubernetes.
 * Each step is a pure function of the model; the result is a list of files, written (or
 * checked) elsewhere.
 */
import { basename } from 'node:path';
import type { LoadedConfig } from '../config/load-config.js';
import { alertRules } from './alert-rules.js';
import { DASHBOARDS } from './dashboards/index.js';
import { buildModel, GenerateError, type GenerateModel } from './model.js';
import {
  ALERTMANAGER_COMMENT,
  COMPOSE_PROMETHEUS,
  PROMETHEUS_COMMENT,
  RULE_FILES,
  alertmanagerConfig,
  dashboardFile,
  grafanaDashboardProvider,
  grafanaDatasource,
  prometheusConfig,
} from './provisioning.js';
import { kubernetesFiles } from './kubernetes.js';
import { recordingRules } from './recording-rules.js';
import { renderJson, renderYaml } from './render.js';
import type { AlertingRule, RecordingRule, RuleFile } from './rule-types.js';
import { stampRunbooks } from './runbooks.js';

export interface GeneratedFile {
  /** Path relative to the output directory, with forward slashes. */
  path: string;
  content: string;
}

export interface Generated {
  model: GenerateModel;
  recording: RuleFile<RecordingRule>;
  alerts: RuleFile<AlertingRule>;
  dashboards: Array<{ uid: string; json: Record<string, unknown> }>;
  files: GeneratedFile[];
}

export const PATHS = {
  recordingRules: `provisioning/prometheus/rules/${RULE_FILES.recording}`,
  alertRules: `provisioning/prometheus/rules/${RULE_FILES.alerts}`,
  prometheus: 'provisioning/prometheus/prometheus.yml',
  alertmanager: 'provisioning/alertmanager/alertmanager.yml',
  grafanaDatasource: 'provisioning/grafana/datasources/okr-metrics.yml',
  grafanaDashboards: 'provisioning/grafana/dashboards/okr-metrics.yml',
} as const;

function countRules(f: RuleFile<unknown>): number {
  return f.groups.reduce((n, g) => n + g.rules.length, 0);
}

export function generate(loaded: LoadedConfig): Generated {
  const source = basename(loaded.file);
  // validate
  const model = buildModel(loaded.config, loaded.sources);
  const nonEmpty = model.krs.length > 0;
  // recording rules
  const recording = recordingRules(model);
  // alert rules, then the runbook pass over all of them
  const alerts = stampRunbooks(alertRules(model), loaded.config.alerts.runbook_base_url);
  if (nonEmpty && (countRules(recording) === 0 || countRules(alerts) === 0))
    throw new GenerateError(`${loaded.file}: ${model.krs.length} key results produced no ${countRules(recording) === 0 ? 'recording' : 'alerting'} rules`);
  // dashboards
  const dashboards = DASHBOARDS.map((d) => ({ uid: d.uid, json: d.build(model) }));
  if (nonEmpty && dashboards.length === 0) throw new GenerateError(`${loaded.file}: no dashboards generated`);
  for (const d of dashboards) {
    if (((d.json.panels as unknown[] | undefined) ?? []).length === 0) throw new GenerateError(`dashboard ${d.uid}: no panels`);
  }
  // provisioning
  const dashboardText = new Map(dashboards.map((d) => [d.uid, renderJson(d.json)]));
  const alertmanager = alertmanagerConfig();
  const files: GeneratedFile[] = [
    { path: PATHS.recordingRules, content: renderYaml(recording, source) },
    { path: PATHS.alertRules, content: renderYaml(alerts, source) },
    { path: PATHS.prometheus, content: renderYaml(prometheusConfig(COMPOSE_PROMETHEUS), source, PROMETHEUS_COMMENT) },
    { path: PATHS.alertmanager, content: renderYaml(alertmanager, source, ALERTMANAGER_COMMENT) },
    { path: PATHS.grafanaDatasource, content: renderYaml(grafanaDatasource(), source) },
    { path: PATHS.grafanaDashboards, content: renderYaml(grafanaDashboardProvider(), source) },
    ...dashboards.map((d) => ({ path: dashboardFile(d.uid), content: dashboardText.get(d.uid)! })),
    // Kubernetes: the same rules, routing and dashboards as Prometheus Operator resources
    ...kubernetesFiles({ source, okrText: loaded.text, config: loaded.config, recording, alerts, alertmanager, dashboards, dashboardText }),
  ].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { model, recording, alerts, dashboards, files };
}
