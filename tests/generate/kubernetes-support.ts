/**
 * Kubernetes helpers of the generate tests: every resource kind we emit checked against its
 * schema (Kubernetes 1.x core via kubernetes-models, the Prometheus Operator CRDs v0.65.1 via
 * @kubernetes-models/prometheus-operator, grafana-operator v5 via the schemas in testdata),
 * and `kubectl kustomize` when kubectl is installed.
 */
import { spawnSync } from 'node:child_process';
import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { GrafanaDashboard, GrafanaDatasource } from './testdata/grafana-operator-schema.js';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

type Validator = (r: Resource) => void;
const model =
  <T>(M: new (data: T) => { validate(): void }): Validator =>
  (r) =>
    new M(r as T).validate();
const zod =
  (s: { parse(v: unknown): unknown }): Validator =>
  (r) =>
    void s.parse(r);

/** `apiVersion kind` → its schema check (throws with the schema's message when invalid). */
export const VALIDATORS: Record<string, Validator> = {
  'v1 ConfigMap': model(ConfigMap),
  'v1 Service': model(Service),
  'v1 PersistentVolumeClaim': model(PersistentVolumeClaim),
  'v1 Namespace': model(Namespace),
  'apps/v1 Deployment': model(Deployment),
  'monitoring.coreos.com/v1 ServiceMonitor': model(ServiceMonitor),
  'monitoring.coreos.com/v1 PrometheusRule': model(PrometheusRule),
  'monitoring.coreos.com/v1alpha1 AlertmanagerConfig': model(AlertmanagerConfig),
  'grafana.integreatly.org/v1beta1 GrafanaDashboard': zod(GrafanaDashboard),
  'grafana.integreatly.org/v1beta1 GrafanaDatasource': zod(GrafanaDatasource),
};

/** Schema-check one resource; an unknown kind is an error too (nothing ships unchecked). */
export function validateResource(r: Resource): void {
  const check = VALIDATORS[`${r.apiVersion} ${r.kind}`];
  if (!check) throw new Error(`${r.apiVersion} ${r.kind} ${r.metadata?.name}: no schema to check it against`);
  check(r);
}

export function parseResources(text: string): Resource[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Resource | null)
    .filter((r): r is Resource => r !== null);
}

/**
 * kubectl with kustomize, or undefined with the reason printed: kubectl is not a Debian
 * package these machines can install in a usable version (Debian's kubernetes-client is
 * kubectl 1.20 with kustomize v2.0.3, which rejects directory resources and components).
 */
export function kubectl(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`kubectl kustomize tests skipped: kubectl is not installed (${r.error?.message ?? r.stderr.trim()})`);
    return undefined;
  }
  return 'kubectl';
}

export function kustomize(dir: string): Resource[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseResources(r.stdout);
}
