import { z } from 'zod';
import { HttpUrl, SecretFile, SecretRef, sourceCommon } from '../../src/config/primitives.js';

const Project = z.union([
  z.string().min(1),
  z.strictObject({ key: z.string().min(1), branch: z.string().optional(), team: z.string().optional() }),
]);

export const SonarqubeConfig = z
  .strictObject({
    ...sourceCommon,
    flavor: z.enum(['server', 'cloud']).default('server'),
    url: HttpUrl,
    organization: z.string().optional().meta({ description: 'SonarQube Cloud organization key (required for cloud).' }),
    token: SecretRef.optional(),
    token_file: SecretFile.optional(),
    projects: z.union([z.literal('all'), z.array(Project)]).default('all'),
    max_concurrency: z.number().int().min(1).max(16).default(4),
  })
  .superRefine((c, ctx) => {
    if (!c.token && !c.token_file) ctx.addIssue({ code: 'custom', path: ['token'], message: 'SonarQube needs token or token_file' });
    if (c.flavor === 'cloud' && !c.organization)
      ctx.addIssue({ code: 'custom', path: ['organization'], message: 'SonarQube Cloud needs the organization key' });
  });
export type SonarqubeConfig = z.infer<typeof SonarqubeConfig>;
