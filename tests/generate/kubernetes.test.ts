/**
 * The Kubernetes output of `generate` (provisioning/kubernetes/): every resource valid against
 * the Kubernetes and CRD schemas, the same rules, routing, scrape and dashboards as the compose
 * files (compared with those files, not with the code that converted them), secrets only ever
 * referenced, and the Kustomize base rendering with `kubectl kustomize`, overlays included.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { ledgerPath, stateDir } from '../../src/config/state-paths.js';
import { DASHBOARD_UID, EXPORTER_JOB } from '../../src/conventions.js';
import { LABEL } from '../../src/core/labels.js';
import { generate, PATHS, type Generated } from '../../src/generate/generate.js';
import { K8S, KUBERNETES_BASE, KUBERNETES_GRAFANA_OPERATOR, kubernetesFiles, parseMatcher, renderKubernetesYaml } from '../../src/generate/kubernetes.js';
import { GenerateError } from '../../src/generate/model.js';
import { alertmanagerConfig, dashboardFile } from '../../src/generate/provisioning.js';
import { GENERATED_BY } from '../../src/generate/render.js';
import { writeFiles } from '../../src/generate/write-files.js';
import { kubectl, kustomize, parseResources, validateResource, type Resource } from './kubernetes-support.js';
import { EXAMPLE, REPO_ROOT } from './support.js';

const TESTDATA = join(import.meta.dirname, 'testdata');
const CASES = [
  ['okrs.example.yaml', EXAMPLE],
  ['in-edge.yaml', join(TESTDATA, 'in-edge.yaml')],
] as const;

const k8sFiles = (g: Generated) => g.files.filter((f) => f.path.startsWith('provisioning/kubernetes/'));
const isKustomization = (path: string) => /\/kustomization\.yaml$|\/kustomizeconfig\.yaml$/.test(path);
function resources(g: Generated): Resource[] {
  return k8sFiles(g)
    .filter((f) => !isKustomization(f.path))
    .flatMap((f) => parseResources(f.content));
}
const one = (rs: Resource[], kind: string, name?: string) => {
  const found = rs.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]! as Resource & { spec: any; data?: Record<string, string> };
};
const fileOf = (g: Generated, path: string) => {
  const f = g.files.find((x) => x.path === path);
  expect(f, path).toBeDefined();
  return f!.content;
};

describe.each(CASES)('Kubernetes output of %s', (_name, file) => {
  const g = generate(loadConfig(file, { env: {} }));
  const rs = resources(g);

  it('every resource is valid against its Kubernetes or CRD schema', () => {
    expect(rs.length).toBeGreaterThanOrEqual(10 + 2 * Object.keys(DASHBOARD_UID).length);
    for (const r of rs) expect(() => validateResource(r), `${r.kind} ${r.metadata.name}`).not.toThrow();
    expect(new Set(rs.map((r) => r.kind))).toEqual(
      new Set([
        'ConfigMap',
        'Deployment',
        'Service',
        'PersistentVolumeClaim',
        'ServiceMonitor',
        'PrometheusRule',
        'AlertmanagerConfig',
        'GrafanaDashboard',
        'GrafanaDatasource',
      ]),
    );
  });

  it('every file has the generated header and one trailing newline, and is listed in its kustomization', () => {
    for (const f of k8sFiles(g)) {
      expect(f.content.startsWith(`# ${GENERATED_BY}.\n`), f.path).toBe(true);
      expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), f.path).toBe(true);
      // Kubernetes decodes YAML 1.1, where a bare `on` or `no` is a boolean: same values either way.
      expect(
        parseAllDocuments(f.content, { version: '1.1' }).map((d) => d.toJS()),
        f.path,
      ).toEqual(parseAllDocuments(f.content).map((d) => d.toJS()));
    }
    expect(parse(renderKubernetesYaml({ a: 'on', b: 'NO', c: 'y', d: '=' }, 'x.yaml'), { version: '1.1' })).toEqual({ a: 'on', b: 'NO', c: 'y', d: '=' });
    expect(renderKubernetesYaml({ d: '=' }, 'x.yaml')).toContain('d: "="');
    for (const dir of [KUBERNETES_BASE, KUBERNETES_GRAFANA_OPERATOR]) {
      const listed = (parse(fileOf(g, `${dir}/kustomization.yaml`)) as { resources: string[] }).resources;
      const present = k8sFiles(g)
        .map((f) => f.path)
        .filter((p) => p.startsWith(`${dir}/`) && !isKustomization(p))
        .map((p) => p.slice(dir.length + 1));
      expect([...listed].sort()).toEqual(present.sort());
    }
  });

  it('the PrometheusRules hold exactly the rule files, alerts plus a namespace label', () => {
    const recordingFile = parse(fileOf(g, PATHS.recordingRules)) as { groups: unknown[] };
    const alertsFile = parse(fileOf(g, PATHS.alertRules)) as { groups: Array<{ rules: Array<{ labels: Record<string, string> }> }> };
    expect(one(rs, 'PrometheusRule', 'okr-metrics-recording').spec.groups).toEqual(recordingFile.groups);
    const k8sAlerts = one(rs, 'PrometheusRule', 'okr-metrics-alerts').spec.groups as typeof alertsFile.groups;
    const rules = k8sAlerts.flatMap((gr) => gr.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) expect(r.labels.namespace).toBe(K8S.namespace);
    const withoutNamespace = k8sAlerts.map((gr) => ({ ...gr, rules: gr.rules.map(({ labels: { namespace: _, ...labels }, ...r }) => ({ ...r, labels })) }));
    expect(withoutNamespace).toEqual(alertsFile.groups);
  });

  it('the ServiceMonitor scrapes as the compose prometheus.yml does, without shadowing metric labels', () => {
    const compose = parse(fileOf(g, PATHS.prometheus)) as { scrape_configs: Array<{ job_name: string; scrape_interval: string; metrics_path: string }> };
    const job = compose.scrape_configs.find((s) => s.job_name === EXPORTER_JOB)!;
    const sm = one(rs, 'ServiceMonitor');
    const ep = sm.spec.endpoints[0];
    expect(sm.spec.endpoints).toHaveLength(1);
    expect([ep.interval, ep.path]).toEqual([job.scrape_interval, job.metrics_path]);
    expect(ep.honorLabels ?? false).toBe(false);
    // Relabeling, applied as Prometheus applies it to a target the operator labelled.
    const target: Record<string, string> = {
      job: 'acme-okr-metrics',
      namespace: 'okr',
      service: 'acme-okr-metrics',
      pod: 'okr-metrics-5d9f-x2x',
      container: 'okr-metrics',
      endpoint: 'http-metrics',
      instance: '10.1.2.3:9797',
    };
    for (const rl of ep.relabelings as Array<{ action: string; targetLabel?: string; replacement?: string; regex?: string }>) {
      if (rl.action === 'replace') {
        target[rl.targetLabel!] = rl.replacement!;
      } else if (rl.action === 'labeldrop') {
        for (const k of Object.keys(target)) if (new RegExp(`^(?:${rl.regex})$`).test(k)) delete target[k];
      } else {
        throw new Error(`unexpected relabel action ${rl.action}`);
      }
    }
    expect(target.job).toBe(EXPORTER_JOB);
    // Every target label the operator adds that is also one of our metric labels must be gone.
    const ours = new Set<string>(Object.values(LABEL));
    expect(Object.keys(target).filter((k) => ours.has(k))).toEqual([]);
    expect(ours.has('service')).toBe(true);
    // The Service it selects carries the selector labels and the named port.
    const svc = one(rs, 'Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) expect(svc.metadata.labels?.[k]).toBe(v);
    expect((svc.spec.ports as Array<{ name: string }>).map((p) => p.name)).toContain(ep.port);
  });

  it('the AlertmanagerConfig routes, inhibits and notifies as the compose alertmanager.yml, secrets by reference', () => {
    type R = {
      receiver: string;
      group_by?: string[];
      group_wait?: string;
      group_interval?: string;
      repeat_interval?: string;
      matchers?: string[];
      routes?: R[];
    };
    const compose = parse(fileOf(g, PATHS.alertmanager)) as {
      route: R;
      inhibit_rules: unknown[];
      receivers: Array<{ name: string } & Record<string, unknown>>;
    };
    const am = one(rs, 'AlertmanagerConfig').spec;
    const m = (x: { name: string; matchType: string; value: string }) => `${x.name}${x.matchType}${JSON.stringify(x.value)}`;
    const back = (r: any): R => ({
      receiver: r.receiver,
      ...(r.groupBy ? { group_by: r.groupBy } : {}),
      ...(r.groupWait ? { group_wait: r.groupWait } : {}),
      ...(r.groupInterval ? { group_interval: r.groupInterval } : {}),
      ...(r.repeatInterval ? { repeat_interval: r.repeatInterval } : {}),
      ...(r.matchers ? { matchers: r.matchers.map(m) } : {}),
      ...(r.routes ? { routes: r.routes.map(back) } : {}),
    });
    expect(back(am.route)).toEqual(compose.route);
    expect(
      am.inhibitRules.map((i: any) => ({
        source_matchers: i.sourceMatch.map(m),
        target_matchers: i.targetMatch.map(m),
        ...(i.equal ? { equal: i.equal } : {}),
      })),
    ).toEqual(compose.inhibit_rules);

    // Receivers: the same names and integrations; each ${VAR:-default} of a secret setting
    // becomes a key of the alerting Secret named VAR, every other setting keeps its default.
    const varOf = (t: unknown) => /^\$\{([A-Z_]+)(?::-[^}]*)?\}$/.exec(String(t))?.[1];
    const defaultOf = (t: unknown) => (typeof t === 'string' ? t.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1') : t);
    const secretFields: Record<string, string> = { url: 'urlSecret', api_url: 'apiURL', api_key: 'apiKey' };
    expect(am.receivers.map((r: { name: string }) => r.name)).toEqual(compose.receivers.map((r) => r.name));
    for (const [i, cr] of compose.receivers.entries()) {
      const kr = am.receivers[i];
      for (const [key, configs] of Object.entries(cr)) {
        if (key === 'name') continue;
        const kind = key.replace(/_configs$/, '');
        expect(kr[`${kind}Configs`], `${cr.name} ${kind}`).toHaveLength((configs as unknown[]).length);
        for (const [j, c] of (configs as Array<Record<string, unknown>>).entries()) {
          const kc = kr[`${kind}Configs`][j];
          for (const [field, value] of Object.entries(c)) {
            const camel = field.replace(/_([a-z])/g, (_w, ch: string) => ch.toUpperCase()).replace(/Url$/, 'URL');
            if (field in secretFields && !(kind === 'opsgenie' && field === 'api_url')) {
              expect(kc[secretFields[field]!], `${cr.name} ${kind}.${field}`).toEqual({ name: K8S.alertingSecret, key: varOf(value) });
            } else {
              expect(kc[camel], `${cr.name} ${kind}.${field}`).toEqual(defaultOf(value));
            }
          }
        }
      }
    }
  });

  it('the sidecar ConfigMaps carry the dashboards byte for byte; GrafanaDashboards point at them', () => {
    const uids = Object.values(DASHBOARD_UID);
    for (const uid of uids) {
      const cm = one(rs, 'ConfigMap', `okr-metrics-dashboard-${uid}`);
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      expect(cm.metadata.annotations?.grafana_folder).toBe('OKRs');
      expect(cm.data).toEqual({ [`${uid}.json`]: fileOf(g, dashboardFile(uid)) });
      const gd = one(rs, 'GrafanaDashboard', uid);
      expect(gd.spec.configMapRef).toEqual({ name: cm.metadata.name, key: `${uid}.json` });
      expect(gd.spec.folder).toBe('OKRs');
    }
    // Both datasources carry the uid every panel query names, and neither takes over the default.
    const compose = parse(fileOf(g, PATHS.grafanaDatasource)) as { datasources: Array<{ uid: string }> };
    const sidecar = parse(one(rs, 'ConfigMap', 'okr-metrics-grafana-datasource').data!['okr-metrics-datasource.yaml']!) as {
      datasources: Array<Record<string, unknown>>;
    };
    expect(sidecar.datasources.map((d) => [d.uid, d.isDefault])).toEqual([[compose.datasources[0]!.uid, false]]);
    const op = one(rs, 'GrafanaDatasource').spec.datasource;
    expect([op.uid, op.isDefault, op.url]).toEqual([compose.datasources[0]!.uid, false, sidecar.datasources[0]!.url]);
  });

  it('the Deployment runs serve on the OKR file ConfigMap, its port, and the state volume', () => {
    const dep = one(rs, 'Deployment');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const svc = one(rs, 'Service');
    expect(c.args.slice(0, 3)).toEqual(['serve', '-c', `${K8S.configDir}/${K8S.configFile}`]);
    expect(c.ports[0].containerPort).toBe(svc.spec.ports[0].port);
    const volumes = Object.fromEntries((pod.volumes as Array<Record<string, any>>).map((v) => [v.name, v]));
    const mounts = Object.fromEntries((c.volumeMounts as Array<Record<string, any>>).map((v) => [v.name, v.mountPath]));
    expect(volumes['okr-file'].configMap.name).toBe(one(rs, 'ConfigMap', K8S.okrConfigMap).metadata.name);
    expect(volumes.state.persistentVolumeClaim.claimName).toBe(one(rs, 'PersistentVolumeClaim').metadata.name);
    expect(mounts.state).toBe(K8S.stateDir);
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.strategy.type).toBe('Recreate');
  });
});

describe('the OKR file in the ConfigMap', () => {
  it('is the file byte for byte, with a server section appended when it has none', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const pod = one(resources(generate(parseConfig(text, EXAMPLE, { env: {} }))), 'ConfigMap', K8S.okrConfigMap).data![K8S.configFile]!;
    expect(pod.startsWith(text)).toBe(true);
    expect(parse(pod.slice(text.length))).toEqual({ server: { state_dir: '/var/lib/okr-metrics' } });
  });

  it('keeps its comments and ${VAR}s, and moves the state directory and a relative ledger to the volume', () => {
    const text = `${readFileSync(EXAMPLE, 'utf8')}engine:\n  ledger: data/ledger.sqlite\n`;
    const g = generate(parseConfig(text, EXAMPLE, { env: {} }));
    const pod = one(resources(g), 'ConfigMap', K8S.okrConfigMap).data![K8S.configFile]!;
    expect(pod).toContain('# The 2022 engineering OKRs of our first user');
    expect(pod).toContain('url: ${PROMETHEUS_URL:-http://127.0.0.1:9090}');
    const loaded = parseConfig(pod, `${K8S.configDir}/${K8S.configFile}`, { env: {} });
    expect(stateDir(loaded)).toBe('/var/lib/okr-metrics');
    expect(ledgerPath(loaded)).toBe('/var/lib/okr-metrics/data/ledger.sqlite');
    // Everything else reads the same as the original file.
    const original = parseConfig(text, EXAMPLE, { env: {} }).config;
    expect({ ...loaded.config, server: original.server, engine: original.engine }).toEqual(original);
  });

  it('a changed OKR file changes the pod template, so the Deployment rolls out', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const annotation = (t: string) => one(resources(generate(parseConfig(t, EXAMPLE, { env: {} }))), 'Deployment').spec.template.metadata.annotations;
    expect(annotation(text)).not.toEqual(annotation(text.replace('Reloadly Engineering', 'Reloadly')));
    expect(annotation(text)).toEqual(annotation(text));
  });
});

describe('secrets', () => {
  const values = { JIRA_API_TOKEN: 'jira-secret-value-1f2e', SONAR_TOKEN: 'sonar-secret-value-9a8b', OKR_METRICS_TOKEN: 'scrape-secret-value-77c1' };
  const text = [
    'version: okr/v1',
    'server: { auth: { bearer_token: "${OKR_METRICS_TOKEN}" } }',
    'sources:',
    '  jira: { flavor: cloud, url: "https://example.atlassian.net", email: bot@example.com, api_token: "${JIRA_API_TOKEN}", boards: [{ name: Platform }] }',
    '  sonarqube: { enabled: false, flavor: server, url: "https://sonar.example.com", token: "${SONAR_TOKEN}", projects: [api] }',
    '',
  ].join('\n');
  const g = generate(parseConfig(text, 'okrs.yaml', { env: values }));
  const rs = resources(g);

  it('never appear in any generated file', () => {
    for (const f of g.files) for (const v of Object.values(values)) expect(f.content.includes(v), `${f.path} contains ${v}`).toBe(false);
  });

  it('reach the container from the Secret, optional only for a switched-off source', () => {
    const c = one(rs, 'Deployment').spec.template.spec.containers[0];
    expect(c.env).toEqual([
      { name: 'JIRA_API_TOKEN', valueFrom: { secretKeyRef: { name: K8S.sourcesSecret, key: 'JIRA_API_TOKEN' } } },
      { name: 'OKR_METRICS_TOKEN', valueFrom: { secretKeyRef: { name: K8S.sourcesSecret, key: 'OKR_METRICS_TOKEN' } } },
      { name: 'SONAR_TOKEN', valueFrom: { secretKeyRef: { name: K8S.sourcesSecret, key: 'SONAR_TOKEN', optional: true } } },
    ]);
    for (const r of rs) expect(() => validateResource(r)).not.toThrow();
  });

  it('server auth: Prometheus scrapes with the token from the Secret; probes do not need it', () => {
    const ep = one(rs, 'ServiceMonitor').spec.endpoints[0];
    expect(ep.authorization).toEqual({ type: 'Bearer', credentials: { name: K8S.sourcesSecret, key: 'OKR_METRICS_TOKEN' } });
    const c = one(rs, 'Deployment').spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet).toBeUndefined();
    expect(c.livenessProbe.tcpSocket.port).toBe(K8S.portName);
    expect(c.readinessProbe.tcpSocket.port).toBe(K8S.portName);
  });
});

describe('server basic auth', () => {
  it('Prometheus scrapes with the user name and password from the Secret', () => {
    const text = 'version: okr/v1\nserver: { auth: { basic_auth: { username: prometheus, password: "${OKR_METRICS_PASSWORD}" } } }\n';
    const rs = resources(generate(parseConfig(text, 'okrs.yaml', { env: { OKR_METRICS_PASSWORD: 'basic-secret-value-42aa' } })));
    expect(one(rs, 'ServiceMonitor').spec.endpoints[0].basicAuth).toEqual({
      username: { name: K8S.sourcesSecret, key: 'OKR_METRICS_SCRAPE_USERNAME' },
      password: { name: K8S.sourcesSecret, key: 'OKR_METRICS_PASSWORD' },
    });
    for (const r of rs) expect(() => validateResource(r)).not.toThrow();
  });
});

describe('limits', () => {
  const g = generate(loadConfig(EXAMPLE, { env: {} }));

  it("the largest resource fits client-side apply's 262,144-byte last-applied annotation for the example", () => {
    const sizes = resources(g)
      .map((r) => [`${r.kind}/${r.metadata.name}`, JSON.stringify(r).length] as const)
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `largest resources as last-applied JSON: ${sizes
        .slice(0, 3)
        .map(([n, s]) => `${n} ${s} B`)
        .join(', ')}`,
    );
    expect(sizes[0]![1]).toBeLessThan(262_144);
  });

  it("a dashboard over a ConfigMap's 1 MiB stops generation with its name", () => {
    const big = new Map(g.dashboards.map((d) => [d.uid, d.uid === 'okr-overview' ? `${'x'.repeat(1024 * 1024)}\n` : '{}\n']));
    const input = {
      source: 'okrs.yaml',
      okrText: 'version: okr/v1\n',
      config: loadConfig(EXAMPLE, { env: {} }).config,
      recording: g.recording,
      alerts: g.alerts,
      alertmanager: alertmanagerConfig(),
      dashboards: g.dashboards,
      dashboardText: big,
    };
    expect(() => kubernetesFiles(input)).toThrow(GenerateError);
    expect(() => kubernetesFiles(input)).toThrow(/okr-metrics-dashboard-okr-overview: 1048577 bytes/);
  });

  it('Alertmanager matchers: quoted values with escapes, and a malformed one is an error', () => {
    expect(parseMatcher('alertname=~"A|B\\"C"')).toEqual({ name: 'alertname', matchType: '=~', value: 'A|B"C' });
    expect(parseMatcher('severity!="page"')).toEqual({ name: 'severity', matchType: '!=', value: 'page' });
    expect(() => parseMatcher('severity=page')).toThrow(GenerateError);
  });

  it('the schema checks catch what the API server or operator would refuse or silently drop', () => {
    const gd = one(resources(g), 'GrafanaDashboard', 'okr-api');
    expect(() => validateResource({ ...gd, spec: { ...gd.spec, folderUID: 'x' } })).toThrow(/folder field cannot be set/);
    expect(() => validateResource({ ...gd, spec: { ...gd.spec, configMapref: gd.spec.configMapRef } })).toThrow();
    const dep = one(resources(g), 'Deployment');
    const bad = structuredClone(dep);
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => validateResource(bad)).toThrow(/containerPort must be integer/);
    expect(() => validateResource({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })).toThrow(/no schema/);
  });
});

const KUBECTL = kubectl();

describe.skipIf(!KUBECTL)('kubectl kustomize (kubectl with kustomize v4 or later)', () => {
  const out = mkdtempSync(join(tmpdir(), 'okr-k8s-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const g = generate(loadConfig(EXAMPLE, { env: {} }));
  writeFiles(out, g.files);

  it('renders the base: every generated resource, in namespace okr-metrics, schema-valid', () => {
    const rendered = kustomize(join(out, KUBERNETES_BASE));
    const generatedBase = k8sFiles(g).filter((f) => f.path.startsWith(`${KUBERNETES_BASE}/`) && !isKustomization(f.path));
    expect(rendered).toHaveLength(generatedBase.length);
    for (const r of rendered) {
      expect(r.metadata.namespace).toBe(K8S.namespace);
      expect(() => validateResource(r)).not.toThrow();
    }
  });

  it('renders the two-replica overlay of docs/high-availability.md: --standby, rolling update, a ReadWriteMany claim', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/high-availability.md'), 'utf8');
    const overlay = /```yaml\n# kustomization.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(overlay).toBeDefined();
    mkdirSync(join(out, KUBERNETES_BASE, '../ha'), { recursive: true });
    writeFileSync(join(out, KUBERNETES_BASE, '../ha/kustomization.yaml'), overlay!);
    const rendered = kustomize(join(out, KUBERNETES_BASE, '../ha'));
    for (const r of rendered) expect(() => validateResource(r)).not.toThrow();
    const deployment = one(rendered, 'Deployment', K8S.app);
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(deployment.spec.template.spec.containers[0].args).toContain('--standby');
    expect(one(rendered, 'PersistentVolumeClaim', K8S.pvc).spec.accessModes).toEqual(['ReadWriteMany']);
  });

  it('renders the example overlay of docs/kubernetes.md: namespace, image, release label, log volume', () => {
    const rendered = kustomize(join(REPO_ROOT, 'docs/examples/kubernetes-overlay'));
    for (const r of rendered) {
      expect(() => validateResource(r)).not.toThrow();
      if (r.kind !== 'Namespace') expect(r.metadata.namespace, `${r.kind} ${r.metadata.name}`).toBe('okr');
    }
    const alerts = one(rendered, 'PrometheusRule', 'okr-metrics-alerts').spec.groups.flatMap((gr: { rules: unknown[] }) => gr.rules) as Array<{
      labels: Record<string, string>;
    }>;
    expect(new Set(alerts.map((a) => a.labels.namespace))).toEqual(new Set(['okr']));
    expect(
      rendered
        .filter((r) => r.metadata.labels?.release === 'kube-prometheus-stack')
        .map((r) => r.kind)
        .sort(),
    ).toEqual(['PrometheusRule', 'PrometheusRule', 'ServiceMonitor']);
    const pod = one(rendered, 'Deployment').spec.template.spec;
    expect(pod.containers[0].image).toBe('registry.example.com/platform/okr-metrics:0.1.0');
    expect(pod.volumes.find((v: { name: string }) => v.name === 'api-logs')).toEqual({
      name: 'api-logs',
      persistentVolumeClaim: { claimName: 'topups-api-access-logs', readOnly: true },
    });
  });

  it('an overlay with a name prefix, grafana-operator and Prometheus elsewhere keeps every reference', () => {
    const dir = join(out, 'overlay');
    mkdirSync(dir);
    // docs/kubernetes.md's "Prometheus somewhere else" snippet, as written there.
    const doc = readFileSync(join(REPO_ROOT, 'docs/kubernetes.md'), 'utf8');
    const snippet = parse(/### Prometheus somewhere else[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)![1]!) as {
      configMapGenerator: unknown[];
      patches: unknown[];
    };
    const overlay = {
      namespace: 'team-x',
      namePrefix: 'acme-',
      resources: ['../provisioning/kubernetes/base'],
      components: ['../provisioning/kubernetes/grafana-operator'],
      configMapGenerator: snippet.configMapGenerator,
      patches: [
        ...snippet.patches,
        {
          target: { kind: 'GrafanaDatasource' },
          patch: '- { op: replace, path: /spec/datasource/url, value: "http://prometheus-operated.observability.svc:9090" }',
        },
      ],
    };
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(overlay));
    const rendered = kustomize(dir);
    for (const r of rendered) {
      expect(() => validateResource(r)).not.toThrow();
      expect(r.metadata.name.startsWith('acme-')).toBe(true);
    }
    const names = new Set(rendered.filter((r) => r.kind === 'ConfigMap').map((r) => r.metadata.name));
    for (const uid of Object.values(DASHBOARD_UID)) {
      const ref = one(rendered, 'GrafanaDashboard', `acme-${uid}`).spec.configMapRef;
      expect(names.has(ref.name), ref.name).toBe(true);
    }
    const pod = one(rendered, 'Deployment').spec.template.spec;
    expect(pod.containers[0].envFrom[0].configMapRef.name).toBe('acme-okr-metrics-env');
    expect(pod.volumes.find((v: { name: string }) => v.name === 'state').persistentVolumeClaim.claimName).toBe('acme-okr-metrics-state');
    expect(pod.volumes.find((v: { name: string }) => v.name === 'okr-file').configMap.name).toBe('acme-okr-metrics-okr-file');
    expect(one(rendered, 'ConfigMap', 'acme-okr-metrics-env').data!.PROMETHEUS_URL).toBe('http://prometheus-operated.observability.svc:9090');
    expect(one(rendered, 'GrafanaDatasource').spec.datasource.url).toBe('http://prometheus-operated.observability.svc:9090');
    // The documented datasource patch is the generated datasource with only the URL changed.
    const ds = (cm: Resource & { data?: Record<string, string> }) =>
      parse(cm.data!['okr-metrics-datasource.yaml']!) as { datasources: Array<Record<string, unknown>> };
    const patched = ds(one(rendered, 'ConfigMap', 'acme-okr-metrics-grafana-datasource'));
    const original = ds(one(resources(g), 'ConfigMap', 'okr-metrics-grafana-datasource'));
    expect(patched).toEqual({
      ...original,
      datasources: original.datasources.map((d) => ({ ...d, url: 'http://prometheus-operated.observability.svc:9090' })),
    });
    const alerts = one(rendered, 'PrometheusRule', 'acme-okr-metrics-alerts').spec.groups.flatMap((gr: { rules: unknown[] }) => gr.rules) as Array<{
      labels: Record<string, string>;
    }>;
    expect(new Set(alerts.map((a) => a.labels.namespace))).toEqual(new Set(['team-x']));
    // The ServiceMonitor still selects the Service, and still names the job okr-metrics.
    const sm = one(rendered, 'ServiceMonitor');
    const svc = one(rendered, 'Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) expect(svc.metadata.labels?.[k]).toBe(v);
    expect(sm.spec.endpoints[0].relabelings[0]).toEqual({ action: 'replace', targetLabel: 'job', replacement: EXPORTER_JOB });
  });
});

describe('docs/kubernetes.md', () => {
  it('shows the example overlay as it is in docs/examples/kubernetes-overlay', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/kubernetes.md'), 'utf8');
    const overlay = readFileSync(join(REPO_ROOT, 'docs/examples/kubernetes-overlay/kustomization.yaml'), 'utf8');
    expect(doc).toContain(`\`\`\`yaml\n${overlay}\`\`\``);
  });
});
