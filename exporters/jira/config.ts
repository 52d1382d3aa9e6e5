import { z } from 'zod';
import { Duration, HttpUrl, SecretFile, SecretRef, sourceCommon } from '../../src/core/config-primitives.js';
import type { CalendarPeriodKind } from '../../src/core/periods.js';

/** The refresh interval when `refresh_interval` is not set. */
export const JIRA_DEFAULT_INTERVAL = '15m';

const BoardObject = z
  .strictObject({
    id: z.number().int().positive().optional(),
    name: z.string().min(1).optional(),
    team: z.string().optional(),
    story_points_field: z.string().optional(),
  })
  .refine((b) => b.id !== undefined || b.name !== undefined, 'a board needs an id or a name');
type BoardObject = z.infer<typeof BoardObject>;

/** A board id (`84`), a board name (`Platform`), or an object with either and its settings. */
const Board = z.union([
  z.number().int().positive(),
  z
    .string()
    .min(1)
    .transform((name): BoardObject => ({ name })),
  BoardObject,
]);

/** The KR engine's calendar periods, so a JQL measure and its KR agree on the period. */
const JQL_PERIODS = ['quarter', 'month', 'year'] as const satisfies readonly CalendarPeriodKind[];

/** A query is its JQL, or its JQL plus the calendar period its placeholders stand for (default quarter). */
const Query = z.union([
  z.string().min(1),
  z.strictObject({
    jql: z.string().min(1),
    period: z.enum(JQL_PERIODS).default('quarter'),
  }),
]);

export const JiraConfig = z
  .strictObject({
    ...sourceCommon,
    flavor: z.enum(['cloud', 'datacenter']).default('cloud').meta({
      description: 'cloud: Basic auth with account e-mail + API token; datacenter: personal access token as Bearer.',
    }),
    url: HttpUrl,
    email: z.string().optional(),
    api_token: SecretRef.optional(),
    api_token_file: SecretFile.optional(),
    personal_access_token: SecretRef.optional(),
    personal_access_token_file: SecretFile.optional(),
    story_points_field: z.string().optional().meta({ description: 'Override the discovered story-points field id.' }),
    boards: z.array(Board).default([]),
    closed_sprints: z.number().int().min(1).max(100).default(12).meta({
      description: 'Recently closed sprints per board exported as per-sprint series (the _total counters cover every closed sprint).',
    }),
    queries: z
      .record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'query names are snake_case'), Query)
      .default({})
      .meta({ description: 'Named JQL measures; {{period_start}} / {{period_end}} become the current period as "YYYY-MM-DD".' }),
    incidents: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/, 'incident query names are snake_case'),
        z.union([z.string().min(1), z.strictObject({ jql: z.string().min(1), lookback: Duration.default('90d') })]),
      )
      .default({})
      .meta({
        description:
          'Named JQL of incidents, read with their created and resolved times for the delivery source (change failures, recovery). A string, or { jql, lookback } (default 90d: incidents created since).',
      }),
    max_concurrency: z.number().int().min(1).max(16).default(4),
    max_requests_per_hour: z.number().int().min(0).default(0).meta({
      description:
        'Most requests in any rolling hour, spread over the refreshes (0 = no budget: Jira Cloud API tokens have per-second burst limits, which the Retry-After and X-RateLimit-* headers enforce).',
    }),
  })
  .superRefine((c, ctx) => {
    for (const [name, q] of Object.entries(c.incidents)) {
      const jql = typeof q === 'string' ? q : q.jql;
      const path = ['incidents', name, ...(typeof q === 'string' ? [] : ['jql'])];
      if (/\{\{/.test(jql)) ctx.addIssue({ code: 'custom', path, message: 'incident queries take no placeholders: incidents are read since their lookback' });
      if (/\border\s+by\b/i.test(jql))
        ctx.addIssue({ code: 'custom', path, message: 'incident queries take no ORDER BY: okr-metrics adds a created >= condition to them' });
    }
    for (const [name, q] of Object.entries(c.queries)) {
      const jql = typeof q === 'string' ? q : q.jql;
      for (const m of jql.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
        if (m[1] !== 'period_start' && m[1] !== 'period_end')
          ctx.addIssue({
            code: 'custom',
            path: ['queries', name, ...(typeof q === 'string' ? [] : ['jql'])],
            message: `unknown placeholder {{${m[1]}}}: JQL queries may use {{period_start}} and {{period_end}}`,
          });
      }
    }
    if (c.flavor === 'cloud') {
      if (!c.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'Jira Cloud needs the account e-mail used with the API token' });
      if (!c.api_token && !c.api_token_file) ctx.addIssue({ code: 'custom', path: ['api_token'], message: 'Jira Cloud needs api_token or api_token_file' });
    } else if (/\.atlassian\.net$/i.test(new URL(c.url).hostname)) {
      ctx.addIssue({
        code: 'custom',
        path: ['flavor'],
        message: 'this URL is Jira Cloud, which has no personal access tokens: use flavor: cloud with email and api_token',
      });
    } else if (!c.personal_access_token && !c.personal_access_token_file) {
      ctx.addIssue({
        code: 'custom',
        path: ['personal_access_token'],
        message: 'Jira Data Center needs personal_access_token or personal_access_token_file',
      });
    }
  });
export type JiraConfig = z.infer<typeof JiraConfig>;

export interface JqlQuery {
  jql: string;
  period: CalendarPeriodKind;
}

/** A query in its full form: bare JQL stands for the current quarter. */
export function jqlQuery(q: JiraConfig['queries'][string]): JqlQuery {
  return typeof q === 'string' ? { jql: q, period: 'quarter' } : q;
}
