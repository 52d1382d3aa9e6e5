/**
 * The OKR file, `version: okr/v1`: wire types as zod schemas. Shape checks live here;
 * checks that need the whole file (unique ids, known sources, PromQL, env vars) live in
 * validate-okrs.ts. `okr-metrics schema` publishes these as JSON Schema for editors.
 */
import { z } from 'zod';
import { SOURCES } from '../../exporters/index.js';
import type { AnySourcePlugin, SourceSettings } from '../core/source.js';
import { Team } from '../core/teams.js';
import { parseTarget } from '../engine/target.js';
import { Duration, DurationOrZero, ENV_REF_RE, HttpUrl, Id, SecretFile, SecretRef, isSecretHeader } from '../core/config-primitives.js';

import { Measure } from '../engine/measure-kinds.js';

export const TargetText = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .superRefine((text, ctx) => {
    const t = parseTarget(text);
    if ('error' in t) ctx.addIssue({ code: 'custom', message: t.error });
  })
  .meta({ description: 'e.g. ">= 0.99", "> 99%", "== 0", "-10%", "+5 points"' });

export const Baseline = z
  .union([z.enum(['previous_period', 'period_start']), z.number()])
  .meta({ description: 'What a relative target is measured against: previous_period, period_start, or a fixed number.' });

export const PERIOD_KINDS = ['quarter', 'sprint', 'month', 'year'] as const;

export const KeyResult = z.strictObject({
  id: Id,
  title: z.string().min(1),
  measure: Measure,
  target: TargetText,
  baseline: Baseline.optional(),
  period: z.enum(PERIOD_KINDS).default('quarter'),
  alert: z
    .union([
      z.boolean(),
      // No defaults here: they depend on the measure (availability: the KR forecast alert, a ticket
      // over a 1d window; others: a page over 1h), filled in by src/generate/model.ts.
      z.strictObject({
        enabled: z.boolean().default(true),
        for: DurationOrZero.optional().meta({ description: 'How long the condition must hold; default 10m (latency without alert: 30m).' }),
        severity: z
          .enum(['page', 'ticket', 'info'])
          .optional()
          .meta({ description: 'Default: ticket for availability and latency key results, page for the others.' }),
        window: Duration.optional().meta({
          description:
            'Availability: the recent window whose availability the forecast carries to the period end (default 1d). Others: the window the measure is taken over (default 1h).',
        }),
      }),
    ])
    .optional(),
  owner: z.string().optional(),
  team: z.string().optional(),
  weight: z.number().positive().default(1),
  notes: z.string().optional(),
  tracking: z
    .enum(['pace', 'level'])
    .optional()
    .meta({ description: 'pace: expected to grow through the period (counts, sums); level: a level to hold (availability). Default from the measure.' }),
});
export type KeyResult = z.infer<typeof KeyResult>;

export const Objective = z.strictObject({
  id: Id,
  title: z.string().min(1),
  owner: z.string().optional(),
  key_results: z.array(KeyResult).min(1),
});
export type Objective = z.infer<typeof Objective>;

const BasicAuth = z.strictObject({
  username: z.string().min(1),
  password: SecretRef.optional(),
  password_file: SecretFile.optional(),
});

const ClientAuth = {
  bearer_token: SecretRef.optional(),
  bearer_token_file: SecretFile.optional(),
  basic_auth: BasicAuth.optional(),
};

/** Headers fetch sets itself: a value here would be ignored or break the request. */
const CLIENT_HEADERS = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'accept-encoding']);

/**
 * Extra headers on every query (a Mimir or Cortex tenant's `X-Scope-OrgID`, a gateway's key).
 * Values of credential headers (isSecretHeader) are secrets; the others are plain strings.
 */
export const RequestHeaders = z
  .record(z.string(), z.string())
  .superRefine((headers, ctx) => {
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
      // Checked here rather than as the record's key schema, which would hide every other issue.
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) issue(`"${name}" is not an HTTP header name (letters, digits and -)`);
      if (seen.has(lower)) issue(`header "${name}" is also given as "${seen.get(lower)}" (header names ignore case)`);
      seen.set(lower, name);
      if (CLIENT_HEADERS.has(lower)) issue(`header "${name}" is set by okr-metrics itself`);
      if (isSecretHeader(name)) {
        if (!ENV_REF_RE.test(value)) issue(`header "${name}" carries a credential: its value must be an \${ENV_VAR} reference, never a literal value`);
      } else if (/[\r\n\0]/.test(value)) {
        issue(`header "${name}": a value cannot contain line breaks`);
      }
    }
  })
  .meta({
    description:
      'Header → value, sent with every query (e.g. X-Scope-OrgID for a Mimir or Cortex tenant). Values of credential headers (Authorization, Cookie, names with auth, token, key, secret, password) are secrets: ${ENV_VAR} only.',
  });

/** `sources:`: one optional section per plugin, in the order of the list. */
function sourcesSchema<P extends readonly AnySourcePlugin[]>(plugins: P) {
  const shape = Object.fromEntries(plugins.map((p) => [p.name, p.config.optional()]));
  // An empty `sources:` is valid whatever the plugins: each section is optional.
  return z.strictObject(shape as { [K in P[number] as K['name']]: z.ZodOptional<K['config']> }).prefault({} as never);
}

/** The OKR file's schema for a list of sources (exporters/index.ts; tests add their own plugins). */
export function okrFileSchema<P extends readonly AnySourcePlugin[]>(plugins: P) {
  return z.strictObject({
    version: z.literal('okr/v1', { error: 'must be okr/v1' }),
    organization: z.string().optional(),
    calendar: z
      .strictObject({
        timezone: z.string().default('UTC'),
        fiscal_year_start_month: z.number().int().min(1).max(12).default(1),
      })
      .prefault({}),
    server: z
      .strictObject({
        host: z.string().optional().meta({
          description:
            'Listen address; default 127.0.0.1 (this machine only). 0.0.0.0 to be scraped from elsewhere: then protect it (web_config_file or auth).',
        }),
        port: z.number().int().min(0).max(65535).optional(),
        state_dir: z.string().default('.okr-metrics').meta({ description: 'Checkpoints, caches and the KR ledger.' }),
        standby: z.boolean().default(false).meta({
          description:
            'Wait for the state directory instead of refusing to start when another process holds it, and take over when that one stops or dies (serve --standby). See docs/high-availability.md.',
        }),
        lock_lease: Duration.default('15s').meta({
          description:
            "The state directory lock's lease: renewed every third of it; a standby on another host takes the lock over once it has seen no heartbeat for this long.",
        }),
        auth: z.strictObject(ClientAuth).optional().meta({ description: 'Protect every endpoint with a bearer token or basic auth.' }),
        web_config_file: z.string().min(1).optional().meta({
          description:
            'Web configuration file in the Prometheus exporter-toolkit format: TLS (tls_server_config) and basic_auth_users with bcrypt hashes. Relative to this file; --web.config.file wins.',
        }),
      })
      .prefault({}),
    prometheus: z
      .strictObject({
        url: HttpUrl.default('http://127.0.0.1:9090'),
        ...ClientAuth,
        headers: RequestHeaders.optional(),
      })
      .superRefine((p, ctx) => {
        const auth = Object.keys(p.headers ?? {}).find((h) => h.toLowerCase() === 'authorization');
        if (auth && (p.bearer_token ?? p.bearer_token_file ?? p.basic_auth) !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['headers', auth], message: 'give either bearer_token / basic_auth or an Authorization header, not both' });
        }
      })
      .prefault({}),
    grafana: z.strictObject({ url: HttpUrl }).optional().meta({ description: 'Grafana base URL, for links in reports.' }),
    alerts: z
      .strictObject({
        runbook_base_url: HttpUrl.optional().meta({
          description: 'Where runbook_url annotations point (<base>#<alert name in lower case>); default: docs/runbooks.md of the okr-metrics repository.',
        }),
      })
      .prefault({}),
    engine: z
      .strictObject({
        enabled: z.boolean().default(true),
        interval: Duration.default('5m').meta({ description: 'How often serve evaluates key results.' }),
        ledger: z.string().optional().meta({ description: 'SQLite ledger file; default <state_dir>/ledger.sqlite.' }),
        forecast_points: z.number().int().min(2).max(50).default(6),
        scrape_interval: Duration.default('1m').meta({
          description:
            'How often Prometheus scrapes okr-metrics: a closed period is read once its end has been scraped (sprint figures also wait for the next Jira refresh), and frozen in the ledger only then.',
        }),
        pace_alerts: z
          .strictObject({
            enabled: z.boolean().default(true),
            warning_at: z.number().gt(0).lt(1).default(0.5).meta({ description: 'Share of the period after which a missed forecast warns (severity ticket).' }),
            critical_at: z
              .number()
              .gt(0)
              .lt(1)
              .default(0.8)
              .meta({ description: 'Share of the period after which a missed forecast is critical (severity page).' }),
            for: DurationOrZero.default('1h'),
          })
          .refine((p) => p.warning_at < p.critical_at, { message: 'warning_at must be earlier than critical_at', path: ['critical_at'] })
          .prefault({}),
      })
      .prefault({}),
    teams: z.record(Id, Team).default({}),
    sources: sourcesSchema(plugins),
    objectives: z.array(Objective).default([]),
  });
}

export const OkrFile = okrFileSchema(SOURCES);
export type OkrFile = z.infer<typeof OkrFile>;

/** The settings of a source by name (also of a plugin the static type does not know). */
export function sourceSettings(cfg: OkrFile, name: string): SourceSettings | undefined {
  return (cfg.sources as Record<string, SourceSettings | undefined>)[name];
}

/** Sources of the list that are configured and not switched off with `enabled: false`, in list order. */
export function enabledSources(cfg: OkrFile, plugins: readonly AnySourcePlugin[] = SOURCES): string[] {
  return plugins.filter((p) => sourceSettings(cfg, p.name) !== undefined && sourceSettings(cfg, p.name)!.enabled !== false).map((p) => p.name);
}
