/**
 * Step 6: provisioning for the stack: Prometheus (scrape the exporter, load the rule files),
 * Alertmanager (route by severity; webhook, Slack and Opsgenie receivers from environment
 * variables), and Grafana (the datasource with its fixed uid, a file dashboard provider).
 */
import { parse, stringify } from 'yaml';
import { ALERT_NAMES, DATASOURCE_UID, DEFAULTS, EXPORTER_JOB } from '../conventions.js';

export const RULE_FILES = { recording: 'okr-recording.rules.yml', alerts: 'okr-alerts.rules.yml' } as const;

/** Retention long enough to compare this quarter with the same quarter last year. */
export const RETENTION = '400d';

export interface PrometheusConfigOptions {
  exporterTargets: string[];
  alertmanagerTargets: string[];
  scrapeInterval: string;
  evaluationInterval: string;
  /** Rule file paths, relative to the config file or absolute. */
  ruleFiles: string[];
  /** Scrape Prometheus itself (its address as seen from its own network). */
  selfTarget?: string;
}

/** The docker-compose stack: service names as hosts. */
export const COMPOSE_PROMETHEUS: PrometheusConfigOptions = {
  exporterTargets: [`okr-metrics:${DEFAULTS.port}`],
  alertmanagerTargets: ['alertmanager:9093'],
  scrapeInterval: '30s',
  evaluationInterval: '30s',
  ruleFiles: [`rules/${RULE_FILES.recording}`, `rules/${RULE_FILES.alerts}`],
  selfTarget: 'localhost:9090',
};

export function prometheusConfig(o: PrometheusConfigOptions): Record<string, unknown> {
  const scrape: Array<Record<string, unknown>> = [
    {
      job_name: EXPORTER_JOB,
      // Collectors refresh on their own schedules; a scrape only reads the cache, so it is cheap.
      scrape_interval: o.scrapeInterval,
      metrics_path: '/metrics',
      static_configs: [{ targets: o.exporterTargets }],
    },
  ];
  if (o.selfTarget) scrape.push({ job_name: 'prometheus', static_configs: [{ targets: [o.selfTarget] }] });
  return {
    global: { scrape_interval: o.scrapeInterval, evaluation_interval: o.evaluationInterval, external_labels: { monitor: 'okr-metrics' } },
    ...(o.alertmanagerTargets.length > 0 ? { alerting: { alertmanagers: [{ static_configs: [{ targets: o.alertmanagerTargets }] }] } } : {}),
    rule_files: o.ruleFiles,
    scrape_configs: scrape,
  };
}

export const PROMETHEUS_COMMENT = [
  `Retention is a command-line flag, not a config key: run Prometheus with`,
  `  --storage.tsdb.retention.time=${RETENTION}`,
  `(docker-compose.yml does) so quarter-over-quarter and year-over-year KRs have data.`,
  `Scaling: add remote_write to Grafana Mimir or Thanos Receive here (docs/generate.md).`,
].join('\n');

/**
 * Environment variables the Alertmanager config reads (filled in at container start by
 * provisioning/alertmanager/render-config.sh, in tests by expandEnv). Unset ones fall back to
 * a discard address so the stack starts without credentials.
 */
export const ALERTMANAGER_ENV = {
  webhookUrl: 'OKR_ALERT_WEBHOOK_URL',
  slackApiUrl: 'SLACK_API_URL',
  slackChannel: 'SLACK_CHANNEL',
  opsgenieApiKey: 'OPSGENIE_API_KEY',
  opsgenieApiUrl: 'OPSGENIE_API_URL',
} as const;

const UNSET_URL = 'http://127.0.0.1:9/not-configured';
const env = (name: string, dflt: string) => `\${${name}:-${dflt}}`;

export function alertmanagerConfig(): Record<string, unknown> {
  const webhook = { url: env(ALERTMANAGER_ENV.webhookUrl, UNSET_URL), send_resolved: true };
  const slack = (channel: string) => ({
    api_url: env(ALERTMANAGER_ENV.slackApiUrl, UNSET_URL),
    channel: env(ALERTMANAGER_ENV.slackChannel, channel),
    send_resolved: true,
    title: '{{ .CommonLabels.severity | toUpper }}: {{ .CommonAnnotations.summary }}',
    text: '{{ range .Alerts }}{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}',
  });
  const opsgenie = {
    api_key: env(ALERTMANAGER_ENV.opsgenieApiKey, 'not-configured'),
    api_url: env(ALERTMANAGER_ENV.opsgenieApiUrl, 'https://api.opsgenie.com/'),
    message: '{{ .CommonAnnotations.summary }}',
    description: '{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}',
    priority: 'P1',
    tags: 'okr-metrics',
  };
  const absentish = [ALERT_NAMES.sourceDown, ALERT_NAMES.sourceStale, ALERT_NAMES.sourceAbsent, ALERT_NAMES.measureDataAbsent];
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'default',
      group_by: ['alertname', 'objective', 'key_result', 'service', 'source'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        { matchers: ['severity="page"'], receiver: 'page' },
        { matchers: ['severity="ticket"'], receiver: 'ticket', repeat_interval: '24h' },
        { matchers: ['severity="info"'], receiver: 'default', repeat_interval: '24h' },
      ],
    },
    inhibit_rules: [
      // A down exporter explains every missing or stale source: page about the cause only.
      { source_matchers: [`alertname="${ALERT_NAMES.exporterDown}"`], target_matchers: [`alertname=~"${absentish.join('|')}"`] },
      // A page already covers the same service's tickets.
      { source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: ['service'] },
    ],
    receivers: [
      { name: 'default', webhook_configs: [webhook] },
      { name: 'page', webhook_configs: [webhook], slack_configs: [slack('#okr-alerts')], opsgenie_configs: [opsgenie] },
      { name: 'ticket', webhook_configs: [webhook], slack_configs: [slack('#okr-alerts')] },
    ],
  };
}

export const ALERTMANAGER_COMMENT = [
  'A template: ${VAR:-default} placeholders are filled from the environment when the container starts',
  '(provisioning/alertmanager/render-config.sh). Variables:',
  ...Object.values(ALERTMANAGER_ENV).map((v) => `  ${v}`),
  'Unset receivers point at a discard address, so the stack starts without credentials.',
].join('\n');

/**
 * The generated Alertmanager template filled from `env` as render-config.sh fills it, for an
 * Alertmanager run here (the demo, tests); `groupWait` shortens group_wait and group_interval.
 */
export function renderAlertmanagerConfig(template: string, env: Record<string, string | undefined>, groupWait?: string): string {
  const config = parse(expandEnv(template, env)) as { route: Record<string, unknown> };
  if (groupWait) {
    config.route.group_wait = groupWait;
    config.route.group_interval = groupWait;
  }
  return stringify(config);
}

/** Fill `${VAR}` / `${VAR:-default}` from env (the same rule render-config.sh applies). */
export function expandEnv(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_w, name: string, dflt: string | undefined) => {
    const v = vars[name];
    return v !== undefined && v !== '' ? v : (dflt ?? '');
  });
}

export function grafanaDatasource(prometheusUrl = 'http://prometheus:9090'): Record<string, unknown> {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus (okr-metrics)',
        uid: DATASOURCE_UID,
        type: 'prometheus',
        access: 'proxy',
        url: prometheusUrl,
        isDefault: true,
        editable: false,
        jsonData: { httpMethod: 'POST', timeInterval: COMPOSE_PROMETHEUS.scrapeInterval },
      },
    ],
  };
}

export const GRAFANA_DASHBOARD_DIR = '/var/lib/grafana/dashboards/okr-metrics';

export function grafanaDashboardProvider(): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'okr-metrics',
        orgId: 1,
        folder: 'OKRs',
        folderUid: 'okr-metrics',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_DASHBOARD_DIR, foldersFromFilesStructure: false },
      },
    ],
  };
}

/** Dashboard file name of a uid (the file name is the uid: one stable name per dashboard). */
export function dashboardFile(uid: string): string {
  return `dashboards/${uid}.json`;
}
