import { z } from 'zod';
import { Duration, sourceCommon } from '../../src/core/config-primitives.js';

const Service = z.strictObject({
  name: z.string().min(1).meta({ description: 'The `service` label, and what key results and posted deployment events name.' }),
  team: z.string().optional().meta({ description: 'Team label; default the team whose repos list the repository, or whose services list the name.' }),
  repository: z.string().min(1).optional().meta({ description: 'Bitbucket repository slug whose deployments are this service’s (default: the name).' }),
  incidents: z
    .array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'incident query names are snake_case'))
    .default([])
    .meta({ description: 'Incident queries (sources.jira.incidents) whose incidents count against this service’s deployments.' }),
});
export type DeliveryService = z.infer<typeof Service>;

export const DELIVERY_ORIGINS = ['bitbucket', 'events'] as const;
export type DeliveryOrigin = (typeof DELIVERY_ORIGINS)[number];

export const DeliveryConfig = z
  .strictObject({
    ...sourceCommon,
    services: z.array(Service).min(1),
    environments: z
      .array(z.string().min(1))
      .min(1)
      .default(['production'])
      .meta({ description: 'Production environments, by name (case-insensitive): only deployments to these count. The `environment` label.' }),
    deployments_from: z.array(z.enum(DELIVERY_ORIGINS)).min(1).default(['bitbucket']).meta({
      description:
        'bitbucket: Bitbucket Cloud deployments (sources.bitbucket.deployments); events: deployment events any CI posts to serve (POST /api/v1/deployments, needs server.auth).',
    }),
    change_failure_window: Duration.default('1d').meta({
      description: 'A deployment rolled back, or followed by an incident, within this time after it finished led to a failure.',
    }),
  })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.services.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `service "${s.name}" is listed twice` });
      seen.set(s.name, i);
    });
    const repos = new Map<string, string>();
    c.services.forEach((s, i) => {
      const repo = s.repository ?? s.name;
      const other = repos.get(repo);
      if (other !== undefined)
        ctx.addIssue({ code: 'custom', path: ['services', i, 'repository'], message: `repository "${repo}" is already the repository of service "${other}"` });
      repos.set(repo, s.name);
    });
    const envs = new Set<string>();
    c.environments.forEach((e, i) => {
      if (envs.has(e.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: ['environments', i], message: `environment "${e}" is listed twice (names ignore case)` });
      envs.add(e.toLowerCase());
    });
  });
export type DeliveryConfig = z.infer<typeof DeliveryConfig>;
