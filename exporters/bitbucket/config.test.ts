import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';

function problems(bitbucket: string): string[] {
  try {
    parseConfig(`version: okr/v1\nsources:\n  bitbucket:\n${bitbucket}`, 'okrs.yaml', { env: { T: 'x' } });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => `${i.line}:${i.path.join('.')}: ${i.message}`);
  }
}

describe('sources.bitbucket settings', () => {
  it('accepts Cloud with an API token and e-mail, and fills the defaults', () => {
    const { config } = parseConfig('version: okr/v1\nsources:\n  bitbucket: { workspace: acme, email: a@b.c, api_token: "${T}" }\n', 'okrs.yaml', {
      env: { T: 'x' },
    });
    expect(config.sources.bitbucket).toMatchObject({
      flavor: 'cloud',
      repositories: 'all',
      pipelines: true,
      code_insights: true,
      backfill: '90d',
      max_concurrency: 4,
    });
  });

  it('names what is missing for each flavour', () => {
    expect(problems('    access_token: ${T}\n')).toEqual(['4:sources.bitbucket.workspace: Bitbucket Cloud needs the workspace']);
    expect(problems('    workspace: acme\n    api_token: ${T}\n')).toEqual([
      '4:sources.bitbucket.email: an API token is used with the Atlassian account e-mail',
    ]);
    expect(problems('    workspace: acme\n')).toEqual(['4:sources.bitbucket.access_token: Bitbucket needs access_token, or email with api_token']);
    expect(problems('    flavor: datacenter\n    access_token: ${T}\n')).toEqual([
      '4:sources.bitbucket.url: Bitbucket Data Center needs its base url',
      '4:sources.bitbucket.project: Bitbucket Data Center needs the project key',
    ]);
    expect(problems('    flavor: datacenter\n    url: https://bb.example.com\n    project: P\n    api_token: ${T}\n')).toEqual([
      '4:sources.bitbucket.username: Basic auth on Data Center needs the username (or use access_token)',
    ]);
  });

  it('rejects two credentials, literal secrets, unknown keys and a bad backfill', () => {
    expect(problems('    workspace: acme\n    email: a@b.c\n    api_token: ${T}\n    access_token: ${T}\n')).toEqual([
      '6:sources.bitbucket.api_token: set either api_token (with email) or access_token, not both',
    ]);
    expect(problems('    workspace: acme\n    access_token: hunter2-literal\n').join('\n')).toContain('secrets must be an ${ENV_VAR} reference');
    expect(problems('    workspace: acme\n    access_token: ${T}\n    app_password: ${T}\n').join('\n')).toContain('app_password');
    expect(problems('    workspace: acme\n    access_token: ${T}\n    backfill: 3 months\n').join('\n')).toContain('must be a duration');
    expect(
      problems(
        '    workspace: acme\n    access_token: ${T}\n    code_insights: { reports: [coverage-report], item: Line coverage }\n    repositories: [api, { slug: web, team: web, main_branch: develop }]\n',
      ),
    ).toEqual([]);
  });
});
