import { z } from 'zod';
import { Duration, HttpUrl, SecretFile, SecretRef, sourceCommon } from '../../src/core/config-primitives.js';

/** The refresh interval when `refresh_interval` is not set: analyses land a few times a day. */
export const SONARQUBE_DEFAULT_INTERVAL = '30m';

const Project = z.union([
  z.string().min(1),
  z.strictObject({
    key: z.string().min(1),
    branch: z.string().min(1).optional().meta({ description: "Branch to measure; default: the project's main branch." }),
    team: z.string().optional().meta({ description: 'Team label; overrides teams.<team>.sonar_projects.' }),
  }),
]);

export const SonarqubeConfig = z
  .strictObject({
    ...sourceCommon,
    flavor: z.enum(['server', 'cloud']).default('server'),
    url: HttpUrl.meta({ description: 'Server base URL (with its context path), or https://sonarcloud.io / https://sonarqube.us for Cloud.' }),
    organization: z.string().optional().meta({ description: 'SonarQube Cloud organization key (required for cloud).' }),
    token: SecretRef.optional(),
    token_file: SecretFile.optional(),
    auth_scheme: z
      .enum(['bearer', 'basic'])
      .default('bearer')
      .meta({ description: 'bearer (Server 10+, Cloud) or basic (token as user name, empty password; Server 9.x and older).' }),
    projects: z
      .union([z.literal('all'), z.array(Project).min(1)])
      .default('all')
      .meta({ description: '"all" = every project the token may browse (on Cloud: in the organization), or a list of keys.' }),
    max_concurrency: z.number().int().min(1).max(16).default(4),
    full_refresh: Duration.default('6h').meta({
      description:
        'Measures of a project without a new analysis are read again at least this often (issues resolved in the UI change them between analyses); each refresh re-reads a share, oldest first.',
    }),
    max_requests_per_hour: z.number().int().min(0).default(0).meta({
      description: 'Most requests in any rolling hour, spread over the refreshes (0 = no budget: SonarQube Server publishes no limit).',
    }),
  })
  .superRefine((c, ctx) => {
    if (!c.token && !c.token_file) ctx.addIssue({ code: 'custom', path: ['token'], message: 'SonarQube needs token or token_file' });
    if (c.token && c.token_file) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'set token or token_file, not both' });
    if (c.flavor === 'cloud' && !c.organization)
      ctx.addIssue({ code: 'custom', path: ['organization'], message: 'SonarQube Cloud needs the organization key' });
    if (Array.isArray(c.projects)) {
      const seen = new Set<string>();
      c.projects.forEach((p, i) => {
        // The same project on two branches is fine: the branch label tells them apart.
        const key = typeof p === 'string' ? p : p.key;
        const branch = typeof p === 'string' ? undefined : p.branch;
        const id = `${key}\u0000${branch ?? ''}`;
        if (seen.has(id))
          ctx.addIssue({ code: 'custom', path: ['projects', i], message: `project "${key}"${branch ? ` (branch ${branch})` : ''} is listed twice` });
        seen.add(id);
      });
    }
  });
export type SonarqubeConfig = z.infer<typeof SonarqubeConfig>;
