/**
 * Step 7: the same stack for Kubernetes with the Prometheus Operator (kube-prometheus-stack).
 * From the objects the other steps built (rule files, Alertmanager routing, dashboards,
 * datasource) and the OKR file itself, a Kustomize base the user overlays:
 *
 *   provisioning/kubernetes/base/              okr-metrics itself (Deployment, Service, PVC, the
 *                                              OKR file as a ConfigMap), ServiceMonitor,
 *                                              PrometheusRules, AlertmanagerConfig, and the Grafana
 *                                              sidecar's dashboard and datasource ConfigMaps
 *   provisioning/kubernetes/grafana-operator/  a Kustomize Component: GrafanaDashboard and
 *                                              GrafanaDatasource resources for grafana-operator v5
 *
 * Resources are typed with the `kubernetes-models` interfaces (types only, erased at build time)
 * so a misspelt field is a compile error; tests validate every one against the schemas.
 * Secrets are never written here: containers and receivers name Secret keys.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IAlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { Document, parseDocument, stringify, visit, type Scalar } from 'yaml';
import type { OkrFile } from '../config/okr-schema.js';
import { ENV_REF_RE, isSecretSetting } from '../core/config-primitives.js';
import { DATASOURCE_UID, DEFAULTS, EXPORTER_JOB } from '../conventions.js';
import { GenerateError } from './model.js';
import { ALERTMANAGER_ENV, COMPOSE_PROMETHEUS, expandEnv, grafanaDashboardProvider, grafanaDatasource } from './provisioning.js';
import { withHeader } from './render.js';
import type { AlertingRule, RecordingRule, RuleFile } from './rule-types.js';

export const KUBERNETES_DIR = 'provisioning/kubernetes';
export const KUBERNETES_BASE = `${KUBERNETES_DIR}/base`;
export const KUBERNETES_GRAFANA_OPERATOR = `${KUBERNETES_DIR}/grafana-operator`;

/** Names and defaults of the base; an overlay changes them (namespace, prefixes, images, URLs). */
export const K8S = {
  namespace: 'okr-metrics',
  app: 'okr-metrics',
  image: 'okr-metrics',
  portName: 'http-metrics',
  okrConfigMap: 'okr-metrics-okr-file',
  envConfigMap: 'okr-metrics-env',
  pvc: 'okr-metrics-state',
  /** Holds the ${VAR}s the OKR file's secret settings reference, one key per variable. */
  sourcesSecret: 'okr-metrics-secrets',
  /** Holds the alert receivers' URLs and keys, named like the compose stack's variables. */
  alertingSecret: 'okr-metrics-alerting',
  configDir: '/etc/okr-metrics',
  configFile: DEFAULTS.configFile,
  stateDir: '/var/lib/okr-metrics',
  apiLogDir: '/var/log/api',
  /** kube-prometheus-stack's Prometheus, through the operator's `prometheus-operated` Service. */
  prometheusUrl: 'http://prometheus-operated.monitoring.svc:9090',
  /** Folder of the dashboards: the compose provider's folder, the sidecar's annotation key. */
  grafanaFolder: (grafanaDashboardProvider() as { providers: Array<{ folder: string }> }).providers[0]!.folder,
  grafanaFolderAnnotation: 'grafana_folder',
  grafanaSidecarLabel: 'grafana_dashboard',
  grafanaDatasourceSidecarLabel: 'grafana_datasource',
  /** grafana-operator's Grafana instances that get the dashboards (the operator's own docs' label). */
  grafanaInstanceLabels: { dashboards: 'grafana' } as Record<string, string>,
} as const;

/** A ConfigMap holds at most 1 MiB; past it the API server refuses the object. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** The selector labels: Deployment, Service and ServiceMonitor find each other by these. */
const LABELS = { 'app.kubernetes.io/name': K8S.app } as const;

function meta(name: string, extra: Partial<IObjectMeta> = {}): IObjectMeta {
  return { name, ...extra, labels: { ...LABELS, 'app.kubernetes.io/part-of': K8S.app, ...(extra.labels ?? {}) } };
}

export interface KubernetesInput {
  /** Base name of the OKR file, for the DO-NOT-EDIT header. */
  source: string;
  /** The OKR file as written (its ${VAR}s are filled in the pod, not here). */
  okrText: string;
  config: OkrFile;
  recording: RuleFile<RecordingRule>;
  alerts: RuleFile<AlertingRule>;
  alertmanager: Record<string, unknown>;
  dashboards: Array<{ uid: string; json: Record<string, unknown> }>;
  /** The rendered dashboard files, so the ConfigMaps carry the same bytes as dashboards/. */
  dashboardText: Map<string, string>;
}

/** One `${VAR}` a secret setting references, and whether a switched-off source is the only user. */
export interface SecretVar {
  name: string;
  optional: boolean;
}

/**
 * Variables behind the file's secret settings (`api_token: ${JIRA_API_TOKEN}` ...), found as the
 * loader finds them: under a section with `enabled: false` a variable may be missing.
 */
export function secretVars(config: OkrFile): SecretVar[] {
  const found = new Map<string, boolean>();
  const walk = (v: unknown, disabled: boolean, parent?: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, disabled));
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const off = disabled || o.enabled === false;
    for (const [k, x] of Object.entries(o)) {
      const m = isSecretSetting(parent, k) && typeof x === 'string' ? ENV_REF_RE.exec(x) : null;
      if (m) found.set(m[1]!, (found.get(m[1]!) ?? true) && off);
      else walk(x, off, k);
    }
  };
  walk(config, false);
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, optional]) => ({ name, optional }));
}

/**
 * The OKR file as the pod reads it: read-only under /etc/okr-metrics, so `server.state_dir` (and
 * a relative `engine.ledger`) move to the volume. Comments and everything else stay as written.
 */
export function podOkrFile(text: string, config: OkrFile): string {
  const note = " set by okr-metrics generate: the Deployment's state volume";
  const doc = parseDocument(text);
  const ledger = config.engine.ledger;
  const moveLedger = ledger !== undefined && !posix.isAbsolute(ledger);
  // Usually the file has no server section: appending one keeps every byte the user wrote
  // (a YAML round trip would restyle flow collections).
  if (!doc.has('server') && !moveLedger) return `${text}${text.endsWith('\n') ? '' : '\n'}server:\n  state_dir: ${K8S.stateDir} #${note}\n`;
  const moved = (path: string[], value: string) => {
    const node = doc.createNode(value) as Scalar;
    node.comment = note;
    doc.setIn(path, node);
  };
  moved(['server', 'state_dir'], K8S.stateDir);
  if (moveLedger) moved(['engine', 'ledger'], posix.join(K8S.stateDir, ledger));
  return doc.toString({ lineWidth: 0 });
}

function okrConfigMap(input: KubernetesInput): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(K8S.okrConfigMap),
    data: { [K8S.configFile]: podOkrFile(input.okrText, input.config) },
  };
}

function envConfigMap(): IConfigMap {
  // The compose stack's values for the same variables; an overlay merges its own
  // (configMapGenerator behavior: merge). Explicit secret variables below win over these.
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(K8S.envConfigMap),
    data: { API_LOG_DIR: K8S.apiLogDir, PROMETHEUS_URL: K8S.prometheusUrl },
  };
}

function port(config: OkrFile): number {
  return config.server.port && config.server.port > 0 ? config.server.port : DEFAULTS.port;
}

function probes(config: OkrFile): { liveness: IProbe; readiness: IProbe } {
  // Server auth guards every path, /healthz included, and kubelet probes send no credentials.
  if (config.server.auth) {
    const tcp: IProbe = { tcpSocket: { port: K8S.portName }, periodSeconds: 15 };
    return { liveness: { ...tcp, failureThreshold: 4 }, readiness: tcp };
  }
  return {
    liveness: { httpGet: { path: '/healthz', port: K8S.portName }, periodSeconds: 15, failureThreshold: 4 },
    // Ready once every source was collected once or failed with a reason (serve's /readyz).
    readiness: { httpGet: { path: '/readyz', port: K8S.portName }, periodSeconds: 15 },
  };
}

function deployment(input: KubernetesInput, okrFile: IConfigMap): IDeployment {
  const { config } = input;
  const p = port(config);
  const env: IEnvVar[] = secretVars(config).map((v) => ({
    name: v.name,
    valueFrom: { secretKeyRef: { name: K8S.sourcesSecret, key: v.name, ...(v.optional ? { optional: true } : {}) } },
  }));
  const { liveness, readiness } = probes(config);
  // A changed OKR file changes the pod template, so the Deployment rolls out the new file.
  const checksum = createHash('sha256').update(stringify(okrFile.data)).digest('hex');
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(K8S.app),
    spec: {
      // One collector: two would double the sources' API load and write one SQLite ledger twice.
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { ...LABELS } },
      template: {
        metadata: { labels: { ...LABELS }, annotations: { 'okr-metrics/okr-file-sha256': checksum } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // The node image's unprivileged user; fsGroup makes the state volume writable for it.
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: K8S.app,
              image: K8S.image,
              command: ['node', '/app/dist/src/cli/main.js'],
              args: ['serve', '-c', posix.join(K8S.configDir, K8S.configFile), '--host', '0.0.0.0', '--port', String(p)],
              ports: [{ name: K8S.portName, containerPort: p, protocol: 'TCP' }],
              envFrom: [{ configMapRef: { name: K8S.envConfigMap } }],
              ...(env.length > 0 ? { env } : {}),
              livenessProbe: liveness,
              readinessProbe: readiness,
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'okr-file', mountPath: K8S.configDir, readOnly: true },
                { name: 'state', mountPath: K8S.stateDir },
                { name: 'api-logs', mountPath: K8S.apiLogDir, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'okr-file', configMap: { name: K8S.okrConfigMap } },
            { name: 'state', persistentVolumeClaim: { claimName: K8S.pvc } },
            // Replaced by an overlay with the volume holding the API's access logs.
            { name: 'api-logs', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function service(config: OkrFile): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(K8S.app),
    spec: {
      type: 'ClusterIP',
      selector: { ...LABELS },
      ports: [{ name: K8S.portName, port: port(config), targetPort: K8S.portName, protocol: 'TCP' }],
    },
  };
}

function pvc(): IPersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(K8S.pvc),
    // The ledger and checkpoints are small (megabytes); the cluster's default storage class.
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

/**
 * Target labels the operator adds that the compose scrape does not have. `service` is also a
 * label of our own metrics (the API service): left on the target it would replace that label
 * on every sample (honor_labels false), silently merging all services into one.
 */
export const DROPPED_TARGET_LABELS = ['service', 'pod', 'container', 'endpoint'] as const;

function serviceMonitor(config: OkrFile): IServiceMonitor {
  const auth = config.server.auth;
  const bearer = auth?.bearer_token ? ENV_REF_RE.exec(auth.bearer_token)?.[1] : undefined;
  const password = auth?.basic_auth?.password ? ENV_REF_RE.exec(auth.basic_auth.password)?.[1] : undefined;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta(K8S.app),
    spec: {
      selector: { matchLabels: { ...LABELS } },
      endpoints: [
        {
          port: K8S.portName,
          path: '/metrics',
          interval: COMPOSE_PROMETHEUS.scrapeInterval,
          ...(bearer ? { authorization: { type: 'Bearer', credentials: { name: K8S.sourcesSecret, key: bearer } } } : {}),
          ...(password
            ? { basicAuth: { username: { name: K8S.sourcesSecret, key: 'OKR_METRICS_SCRAPE_USERNAME' }, password: { name: K8S.sourcesSecret, key: password } } }
            : {}),
          relabelings: [
            // The rules and dashboards select job="okr-metrics", whatever the Service is called.
            { action: 'replace', targetLabel: 'job', replacement: EXPORTER_JOB },
            { action: 'labeldrop', regex: DROPPED_TARGET_LABELS.join('|') },
          ],
        },
      ],
    },
  };
}

function prometheusRule(name: string, groups: NonNullable<IPrometheusRule['spec']['groups']>): IPrometheusRule {
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: meta(name), spec: { groups } };
}

function recordingRule(rules: RuleFile<RecordingRule>): IPrometheusRule {
  return prometheusRule(
    'okr-metrics-recording',
    rules.groups.map((g) => ({
      name: g.name,
      ...(g.interval ? { interval: g.interval } : {}),
      rules: g.rules.map((r) => ({ record: r.record, expr: r.expr, ...(r.labels ? { labels: { ...r.labels } } : {}) })),
    })),
  );
}

/**
 * The alerts with one label more: `namespace`. The operator routes an AlertmanagerConfig only
 * alerts whose namespace label is its own (matcher strategy OnNamespace, the default), and most
 * alerts aggregate that label away. kustomizeconfig.yaml keeps it equal to the namespace an
 * overlay chooses.
 */
function alertRule(rules: RuleFile<AlertingRule>): IPrometheusRule {
  return prometheusRule(
    'okr-metrics-alerts',
    rules.groups.map((g) => ({
      name: g.name,
      ...(g.interval ? { interval: g.interval } : {}),
      rules: g.rules.map((r) => ({
        alert: r.alert,
        expr: r.expr,
        ...(r.for ? { for: r.for } : {}),
        labels: { ...r.labels, namespace: K8S.namespace },
        annotations: { ...r.annotations },
      })),
    })),
  );
}

type AmSpec = NonNullable<IAlertmanagerConfig['spec']>;
type AmMatcher = NonNullable<NonNullable<AmSpec['route']>['matchers']>[number];
type AmReceiver = NonNullable<AmSpec['receivers']>[number];

/** `severity="page"`, `alertname=~"A|B"` (the compose file's matcher strings) → the CRD's form. */
export function parseMatcher(text: string): AmMatcher {
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (!m) throw new GenerateError(`Alertmanager matcher ${JSON.stringify(text)}: not of the form name="value"`);
  return { name: m[1]!, matchType: m[2] as AmMatcher['matchType'], value: m[3]!.replace(/\\(.)/g, '$1') };
}

const secretKey = (key: string) => ({ name: K8S.alertingSecret, key });

/** Keys of a compose receiver setting that hold a ${VAR} template, mapped to their CRD field. */
function receiverConfig(kind: string, c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    const plain = typeof v === 'string' ? expandEnv(v, {}) : v;
    const field = `${kind}.${k}`;
    switch (field) {
      case 'webhook.url':
        out.urlSecret = secretKey(ALERTMANAGER_ENV.webhookUrl);
        break;
      case 'slack.api_url':
        out.apiURL = secretKey(ALERTMANAGER_ENV.slackApiUrl);
        break;
      case 'opsgenie.api_key':
        out.apiKey = secretKey(ALERTMANAGER_ENV.opsgenieApiKey);
        break;
      case 'opsgenie.api_url':
        out.apiURL = plain;
        break;
      case 'webhook.send_resolved':
      case 'slack.send_resolved':
      case 'opsgenie.send_resolved':
        out.sendResolved = v;
        break;
      case 'slack.channel':
      case 'slack.title':
      case 'slack.text':
      case 'opsgenie.message':
      case 'opsgenie.description':
      case 'opsgenie.priority':
      case 'opsgenie.tags':
        out[k] = plain;
        break;
      default:
        // A setting added to the compose receivers must be mapped here, not dropped silently.
        throw new GenerateError(`Alertmanager receiver setting ${field} has no AlertmanagerConfig mapping`);
    }
  }
  return out;
}

interface ComposeRoute {
  receiver: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  routes?: ComposeRoute[];
}

function route(r: ComposeRoute): NonNullable<AmSpec['route']> {
  return {
    receiver: r.receiver,
    ...(r.group_by ? { groupBy: [...r.group_by] } : {}),
    ...(r.group_wait ? { groupWait: r.group_wait } : {}),
    ...(r.group_interval ? { groupInterval: r.group_interval } : {}),
    ...(r.repeat_interval ? { repeatInterval: r.repeat_interval } : {}),
    ...(r.matchers ? { matchers: r.matchers.map(parseMatcher) } : {}),
    ...(r.routes ? { routes: r.routes.map(route) } : {}),
  };
}

/**
 * The compose Alertmanager routing as an AlertmanagerConfig: the same tree, inhibitions and
 * receivers, each URL or key read from the Secret `okr-metrics-alerting` under the compose
 * variable's name. (`global` is the Alertmanager's own, not an AlertmanagerConfig's.)
 */
export function alertmanagerConfigResource(compose: Record<string, unknown>): IAlertmanagerConfig {
  const c = compose as {
    route: ComposeRoute;
    inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal?: string[] }>;
    receivers: Array<Record<string, unknown> & { name: string }>;
  };
  const receivers: AmReceiver[] = c.receivers.map((r) => {
    const out: Record<string, unknown> = { name: r.name };
    for (const [k, v] of Object.entries(r)) {
      if (k === 'name') continue;
      const m = /^(webhook|slack|opsgenie)_configs$/.exec(k);
      if (!m) throw new GenerateError(`Alertmanager receiver field ${k} has no AlertmanagerConfig mapping`);
      out[`${m[1]}Configs`] = (v as Array<Record<string, unknown>>).map((x) => receiverConfig(m[1]!, x));
    }
    return out as AmReceiver;
  });
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: meta(K8S.app),
    spec: {
      route: route(c.route),
      inhibitRules: c.inhibit_rules.map((i) => ({
        sourceMatch: i.source_matchers.map(parseMatcher),
        targetMatch: i.target_matchers.map(parseMatcher),
        ...(i.equal ? { equal: [...i.equal] } : {}),
      })),
      receivers,
    },
  };
}

export function dashboardConfigMapName(uid: string): string {
  return `okr-metrics-dashboard-${uid}`;
}

function dashboardConfigMap(uid: string, text: string): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(dashboardConfigMapName(uid), {
      labels: { [K8S.grafanaSidecarLabel]: '1' },
      annotations: { [K8S.grafanaFolderAnnotation]: K8S.grafanaFolder },
    }),
    data: { [`${uid}.json`]: text },
  };
}

/** The compose datasource (same uid, which every panel names), not the default: the stack has one. */
function datasourceConfigMap(): IConfigMap {
  const ds = grafanaDatasource(K8S.prometheusUrl) as { datasources: Array<Record<string, unknown>> };
  const provisioning = { ...ds, datasources: ds.datasources.map((d) => ({ ...d, isDefault: false })) };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta('okr-metrics-grafana-datasource', { labels: { [K8S.grafanaDatasourceSidecarLabel]: '1' } }),
    data: { 'okr-metrics-datasource.yaml': stringify(provisioning, { lineWidth: 0 }) },
  };
}

/** grafana-operator v5 (grafana.integreatly.org/v1beta1): only fields its v5 releases share. */
export interface GrafanaDashboardResource {
  apiVersion: 'grafana.integreatly.org/v1beta1';
  kind: 'GrafanaDashboard';
  metadata: IObjectMeta;
  spec: {
    instanceSelector: { matchLabels: Record<string, string> };
    folder: string;
    resyncPeriod: string;
    configMapRef: { name: string; key: string };
  };
}

export interface GrafanaDatasourceResource {
  apiVersion: 'grafana.integreatly.org/v1beta1';
  kind: 'GrafanaDatasource';
  metadata: IObjectMeta;
  spec: {
    instanceSelector: { matchLabels: Record<string, string> };
    datasource: {
      uid: string;
      name: string;
      type: string;
      access: string;
      url: string;
      isDefault: boolean;
      editable: boolean;
      jsonData: Record<string, unknown>;
    };
  };
}

function grafanaDashboard(uid: string): GrafanaDashboardResource {
  return {
    apiVersion: 'grafana.integreatly.org/v1beta1',
    kind: 'GrafanaDashboard',
    metadata: meta(uid),
    spec: {
      instanceSelector: { matchLabels: { ...K8S.grafanaInstanceLabels } },
      folder: K8S.grafanaFolder,
      resyncPeriod: '10m',
      // The sidecar ConfigMap of the base: one copy of each dashboard in the cluster.
      configMapRef: { name: dashboardConfigMapName(uid), key: `${uid}.json` },
    },
  };
}

function grafanaDatasourceResource(): GrafanaDatasourceResource {
  const d = (grafanaDatasource(K8S.prometheusUrl) as { datasources: Array<GrafanaDatasourceResource['spec']['datasource']> }).datasources[0]!;
  return {
    apiVersion: 'grafana.integreatly.org/v1beta1',
    kind: 'GrafanaDatasource',
    metadata: meta('okr-metrics'),
    spec: {
      instanceSelector: { matchLabels: { ...K8S.grafanaInstanceLabels } },
      datasource: { ...d, uid: DATASOURCE_UID, isDefault: false },
    },
  };
}

/**
 * Transformer configuration an overlay inherits: its `namespace:` also rewrites the alerts'
 * namespace label, and its name prefixes/suffixes follow into GrafanaDashboard configMapRefs.
 */
function kustomizeConfig(): Record<string, unknown> {
  return {
    namespace: [{ kind: 'PrometheusRule', group: 'monitoring.coreos.com', path: 'spec/groups/rules/labels/namespace', create: false }],
    nameReference: [
      { kind: 'ConfigMap', version: 'v1', fieldSpecs: [{ kind: 'GrafanaDashboard', group: 'grafana.integreatly.org', path: 'spec/configMapRef/name' }] },
    ],
  };
}

const BASE_COMMENT = [
  'A Kustomize base: apply it through an overlay that sets the namespace, the image and the',
  'Secrets (docs/kubernetes.md). Apply server-side: kubectl apply --server-side -k <overlay>',
  "(the dashboards are too large for client-side apply's last-applied annotation).",
].join('\n');

const COMPONENT_COMMENT = [
  'A Kustomize Component for grafana-operator v5: add it to an overlay of ../base with',
  '  components: [<path to>/provisioning/kubernetes/grafana-operator]',
  `It selects Grafana instances labelled ${Object.entries(K8S.grafanaInstanceLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}; patch instanceSelector to change that.`,
].join('\n');

/**
 * renderYaml's output, quoted for YAML 1.1 readers: Kubernetes' decoder reads a bare `on`, `no`
 * or `y` as a boolean, and PyYAML-based tools a bare `=` (a matchType) as the value tag.
 */
export function renderKubernetesYaml(value: unknown, source: string, comment?: string): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (node.value === '=') node.type = 'QUOTE_DOUBLE';
    },
  });
  return withHeader(doc.toString({ lineWidth: 0, indent: 2, singleQuote: false }), source, comment);
}

function file(path: string, value: unknown, source: string, comment?: string): { path: string; content: string } {
  return { path, content: renderKubernetesYaml(value, source, comment) };
}

function checkSize(cm: IConfigMap): IConfigMap {
  const bytes = Object.values(cm.data ?? {}).reduce((n, v) => n + Buffer.byteLength(v), 0);
  if (bytes > CONFIGMAP_MAX_BYTES) throw new GenerateError(`ConfigMap ${cm.metadata!.name}: ${bytes} bytes of data, over the 1 MiB a ConfigMap may hold`);
  return cm;
}

export function kubernetesFiles(input: KubernetesInput): Array<{ path: string; content: string }> {
  const { source } = input;
  const okrFile = checkSize(okrConfigMap(input));
  const base: Array<[string, unknown]> = [
    ['okr-file-configmap.yaml', okrFile],
    ['env-configmap.yaml', envConfigMap()],
    ['deployment.yaml', deployment(input, okrFile)],
    ['service.yaml', service(input.config)],
    ['persistentvolumeclaim.yaml', pvc()],
    ['servicemonitor.yaml', serviceMonitor(input.config)],
    ['prometheusrule-recording.yaml', recordingRule(input.recording)],
    ['prometheusrule-alerts.yaml', alertRule(input.alerts)],
    ['alertmanagerconfig.yaml', alertmanagerConfigResource(input.alertmanager)],
    ['grafana-datasource-configmap.yaml', datasourceConfigMap()],
    ...input.dashboards.map((d): [string, unknown] => {
      const text = input.dashboardText.get(d.uid);
      if (text === undefined) throw new GenerateError(`dashboard ${d.uid}: not rendered`);
      return [`dashboards/${d.uid}.yaml`, checkSize(dashboardConfigMap(d.uid, text))];
    }),
  ];
  const operator: Array<[string, unknown]> = [
    ['grafanadatasource.yaml', grafanaDatasourceResource()],
    ...input.dashboards.map((d): [string, unknown] => [`dashboards/${d.uid}.yaml`, grafanaDashboard(d.uid)]),
  ];
  const byName = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : 1);
  base.sort(byName);
  operator.sort(byName);
  return [
    file(
      `${KUBERNETES_BASE}/kustomization.yaml`,
      {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        namespace: K8S.namespace,
        configurations: ['kustomizeconfig.yaml'],
        resources: base.map(([p]) => p),
      },
      source,
      BASE_COMMENT,
    ),
    file(`${KUBERNETES_BASE}/kustomizeconfig.yaml`, kustomizeConfig(), source),
    ...base.map(([p, v]) => file(`${KUBERNETES_BASE}/${p}`, v, source)),
    file(
      `${KUBERNETES_GRAFANA_OPERATOR}/kustomization.yaml`,
      {
        apiVersion: 'kustomize.config.k8s.io/v1alpha1',
        kind: 'Component',
        resources: operator.map(([p]) => p),
      },
      source,
      COMPONENT_COMMENT,
    ),
    ...operator.map(([p, v]) => file(`${KUBERNETES_GRAFANA_OPERATOR}/${p}`, v, source)),
  ];
}
