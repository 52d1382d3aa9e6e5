import { z } from 'zod';
import { Duration, HttpUrl, SecretFile, SecretRef, sourceCommon } from '../../src/core/config-primitives.js';

/** The refresh interval when `refresh_interval` is not set. */
export const BITBUCKET_DEFAULT_INTERVAL = '10m';

/**
 * Bitbucket Cloud's published limit on /2.0/repositories/* is 1,000 requests an hour per user
 * (per token for access tokens; scaled up to 10,000 for large Standard/Premium workspaces):
 * https://support.atlassian.com/bitbucket-cloud/docs/api-request-limits/. The default budget
 * leaves a fifth of it to the people and tools sharing the account.
 */
export const BITBUCKET_CLOUD_DEFAULT_BUDGET = 800;

const Repository = z.union([
  z.string().min(1),
  z.strictObject({
    slug: z.string().min(1),
    team: z.string().optional().meta({ description: 'Team label of this repository; overrides teams.<team>.repos.' }),
    main_branch: z
      .string()
      .optional()
      .meta({ description: 'Branch whose latest commit carries the Code Insights reports; default the repository main branch.' }),
  }),
]);

const CodeInsights = z.union([
  z.boolean(),
  z.strictObject({
    reports: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: 'Report external ids (or titles) to export; default every report whose type is COVERAGE.' }),
    item: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Title of the PERCENTAGE data item to read, e.g. "Line coverage"; default the first PERCENTAGE item.' }),
  }),
]);

export const BitbucketConfig = z
  .strictObject({
    ...sourceCommon,
    flavor: z.enum(['cloud', 'datacenter']).default('cloud'),
    url: HttpUrl.optional().meta({
      description: 'API base; default https://api.bitbucket.org/2.0 for cloud. For Data Center the server base, e.g. https://bitbucket.example.com.',
    }),
    workspace: z.string().optional().meta({ description: 'Bitbucket Cloud workspace.' }),
    project: z.string().optional().meta({ description: 'Data Center: the project key (required). Cloud: optional project key limiting `repositories: all`.' }),
    email: z.string().optional().meta({ description: 'Cloud: Atlassian account e-mail used with api_token (Basic auth).' }),
    username: z.string().optional().meta({ description: 'Data Center: user name for Basic auth with api_token (a password or token).' }),
    api_token: SecretRef.optional(),
    api_token_file: SecretFile.optional(),
    access_token: SecretRef.optional(),
    access_token_file: SecretFile.optional(),
    repositories: z.union([z.literal('all'), z.array(Repository)]).default('all'),
    pipelines: z.boolean().default(true).meta({ description: 'Cloud only: count pipelines by result and duration.' }),
    code_insights: CodeInsights.default(true),
    deployments: z
      .union([
        z.boolean(),
        z.strictObject({
          environments: z
            .array(z.string().min(1))
            .min(1)
            .optional()
            .meta({ description: 'Environment names to read (case-insensitive); default the environments of type Production.' }),
          settle: Duration.default('10m').meta({
            description:
              "How long after it completes a deployment is surely in Bitbucket's deployment list (the list lags behind): each refresh takes the list as complete up to this long before it, and the delivery figures wait that long for a deployment.",
          }),
        }),
      ])
      .default(false)
      .meta({ description: 'Cloud only: publish production deployments (with their pipelines, commits and pull requests) for sources.delivery.' }),
    backfill: Duration.default('90d').meta({
      description:
        'How far back the first refresh of a repository reads merged pull requests (and, Cloud, deployments) as context, never counted: counting starts at that refresh; the figures before come from `okr-metrics backfill`.',
    }),
    max_concurrency: z.number().int().min(1).max(16).default(4),
    full_refresh: Duration.default('6h').meta({
      description:
        'Cloud: a repository whose updated_on did not move is still read in full at least this often (open pull requests can change without moving it); each refresh re-reads a share, oldest first.',
    }),
    max_requests_per_hour: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({
        description: `Most requests in any rolling hour, spread over the refreshes; 0 = no budget. Default ${BITBUCKET_CLOUD_DEFAULT_BUDGET} on Cloud (its limit is 1,000 an hour per user or token), none on Data Center.`,
      }),
  })
  .superRefine((c, ctx) => {
    if (c.flavor === 'cloud' && !c.workspace) ctx.addIssue({ code: 'custom', path: ['workspace'], message: 'Bitbucket Cloud needs the workspace' });
    if (c.flavor === 'datacenter' && c.deployments !== false)
      ctx.addIssue({
        code: 'custom',
        path: ['deployments'],
        message:
          'Bitbucket Data Center has no deployments API: have the CI post deployment events to serve instead (sources.delivery.deployments_from: [events])',
      });
    if (c.flavor === 'datacenter') {
      if (!c.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'Bitbucket Data Center needs its base url' });
      if (!c.project) ctx.addIssue({ code: 'custom', path: ['project'], message: 'Bitbucket Data Center needs the project key' });
    }
    const basic = c.api_token || c.api_token_file;
    const bearer = c.access_token || c.access_token_file;
    if (!basic && !bearer) ctx.addIssue({ code: 'custom', path: ['access_token'], message: 'Bitbucket needs access_token, or email with api_token' });
    if (basic && bearer) ctx.addIssue({ code: 'custom', path: ['api_token'], message: 'set either api_token (with email) or access_token, not both' });
    if (basic && c.flavor === 'cloud' && !c.email)
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'an API token is used with the Atlassian account e-mail' });
    if (basic && c.flavor === 'datacenter' && !c.username)
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'Basic auth on Data Center needs the username (or use access_token)' });
  });
export type BitbucketConfig = z.infer<typeof BitbucketConfig>;
