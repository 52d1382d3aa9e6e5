import { z } from 'zod';
import { HttpUrl, SecretFile, SecretRef, sourceCommon } from '../../src/config/primitives.js';

const Repository = z.union([
  z.string().min(1),
  z.strictObject({ slug: z.string().min(1), team: z.string().optional(), main_branch: z.string().optional() }),
]);

export const BitbucketConfig = z
  .strictObject({
    ...sourceCommon,
    flavor: z.enum(['cloud', 'datacenter']).default('cloud'),
    url: HttpUrl.optional().meta({ description: 'API base; default https://api.bitbucket.org/2.0 for cloud.' }),
    workspace: z.string().optional().meta({ description: 'Bitbucket Cloud workspace.' }),
    project: z.string().optional().meta({ description: 'Bitbucket Data Center project key.' }),
    email: z.string().optional(),
    api_token: SecretRef.optional(),
    api_token_file: SecretFile.optional(),
    access_token: SecretRef.optional(),
    access_token_file: SecretFile.optional(),
    repositories: z.union([z.literal('all'), z.array(Repository)]).default('all'),
    pipelines: z.boolean().default(true),
    code_insights: z.boolean().default(true),
    max_concurrency: z.number().int().min(1).max(16).default(4),
  })
  .superRefine((c, ctx) => {
    if (c.flavor === 'cloud' && !c.workspace)
      ctx.addIssue({ code: 'custom', path: ['workspace'], message: 'Bitbucket Cloud needs the workspace' });
    if (c.flavor === 'datacenter') {
      if (!c.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'Bitbucket Data Center needs its base url' });
      if (!c.project) ctx.addIssue({ code: 'custom', path: ['project'], message: 'Bitbucket Data Center needs the project key' });
    }
    const basic = c.api_token || c.api_token_file;
    const bearer = c.access_token || c.access_token_file;
    if (!basic && !bearer)
      ctx.addIssue({ code: 'custom', path: ['access_token'], message: 'Bitbucket needs access_token, or email with api_token' });
    if (basic && !c.email && c.flavor === 'cloud')
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'an API token is used with the Atlassian account e-mail' });
  });
export type BitbucketConfig = z.infer<typeof BitbucketConfig>;
