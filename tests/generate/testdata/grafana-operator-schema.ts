/**
 * grafana-operator v5's GrafanaDashboard and GrafanaDatasource (grafana.integreatly.org/v1beta1)
 * as zod schemas, derived by hand from the CRDs the operator publishes (no npm package ships them):
 *
 *   github.com/grafana/grafana-operator
 *     deploy/helm/grafana-operator/files/crds/grafana.integreatly.org_grafanadashboards.yaml
 *       at commit 3bed9a9fa8a5e0f371e1f68898268115c87f6573 (controller-gen v0.20.1)
 *     deploy/helm/grafana-operator/files/crds/grafana.integreatly.org_grafanadatasources.yaml
 *       at commit 069a6097a5da3adbddffc7fa547ea2ab6d77443b (controller-gen v0.19.0)
 *   cross-checked with config/crd/bases/grafana.integreatly.org_grafanadashboards.yaml at commit
 *   33c66304298cdc9bb031368fcd1463791a8a3d5f (controller-gen v0.14.0, an older v5 release).
 *
 * Kept: the types, required fields, patterns and x-kubernetes-validations of every spec field,
 * and only fields both dashboard CRD versions have are allowed for GrafanaDashboard, so output
 * valid here also loads in older v5 operators. Stricter than the API server on purpose: objects
 * are strict (the server would prune an unknown field silently, losing a setting).
 */
import { z } from 'zod';

const DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

const LabelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(z.strictObject({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() }))
    .optional(),
});

const ObjectMeta = z.looseObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/).max(253),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const KeyRef = z.strictObject({ name: z.string().default(''), key: z.string(), optional: z.boolean().optional() });

export const GrafanaDashboard = z.strictObject({
  apiVersion: z.literal('grafana.integreatly.org/v1beta1'),
  kind: z.literal('GrafanaDashboard'),
  metadata: ObjectMeta,
  spec: z
    .strictObject({
      instanceSelector: LabelSelector,
      allowCrossNamespaceImport: z.boolean().optional(),
      configMapRef: KeyRef.optional(),
      contentCacheDuration: z.string().optional(),
      datasources: z.array(z.strictObject({ datasourceName: z.string(), inputName: z.string() })).optional(),
      folder: z.string().optional(),
      folderRef: z.string().optional(),
      folderUID: z.string().optional(),
      grafanaCom: z.strictObject({ id: z.number().int(), revision: z.number().int().optional() }).optional(),
      gzipJson: z.base64().optional(),
      json: z.string().optional(),
      jsonnet: z.string().optional(),
      resyncPeriod: z.string().regex(DURATION).optional(),
      url: z.string().optional(),
    })
    .refine((s) => !(s.folderUID !== undefined && s.folderRef !== undefined), 'Only one of folderUID or folderRef can be declared at the same time')
    .refine((s) => !(s.folder !== undefined && (s.folderRef !== undefined || s.folderUID !== undefined)), 'folder field cannot be set when folderUID or folderRef is already declared')
    // Not a CRD rule but the operator's: a dashboard without a model source imports nothing.
    .refine((s) => [s.json, s.gzipJson, s.url, s.configMapRef, s.grafanaCom, s.jsonnet].some((x) => x !== undefined), 'no dashboard model: json, gzipJson, url, configMapRef, grafanaCom or jsonnet'),
});

export const GrafanaDatasource = z.strictObject({
  apiVersion: z.literal('grafana.integreatly.org/v1beta1'),
  kind: z.literal('GrafanaDatasource'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    instanceSelector: LabelSelector,
    allowCrossNamespaceImport: z.boolean().optional(),
    resyncPeriod: z.string().regex(DURATION).optional(),
    uid: z.string().max(40).regex(/^[a-zA-Z0-9-_]+$/).optional(),
    datasource: z.strictObject({
      access: z.string().optional(),
      basicAuth: z.boolean().optional(),
      basicAuthUser: z.string().optional(),
      database: z.string().optional(),
      editable: z.boolean().optional(),
      isDefault: z.boolean().optional(),
      jsonData: z.record(z.string(), z.unknown()).optional(),
      name: z.string().optional(),
      secureJsonData: z.record(z.string(), z.unknown()).optional(),
      type: z.string().optional(),
      uid: z.string().optional(),
      url: z.string().optional(),
      user: z.string().optional(),
    }),
  }),
});
