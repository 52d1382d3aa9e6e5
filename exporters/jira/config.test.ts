import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { z } from 'zod';
import { JiraConfig } from './config.js';

const base = (jira: string) => `version: okr/v1
sources:
  jira:
${jira}`;

/** A valid Cloud source followed by `rest`. */
const cloud = (rest: string) =>
  base(`    url: https://x.atlassian.net
    email: a@b.c
    api_token: \${T}
${rest}`);

function problems(yaml: string, env: Record<string, string> = { T: 'x-token' }): string {
  try {
    parseConfig(yaml, 'okrs.yaml', { env });
    return '';
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
}

describe('sources.jira settings', () => {
  it('accepts a query as JQL or as { jql, period } and defaults the period to quarter', () => {
    const loaded = parseConfig(
      cloud(`    queries:
      a: 'created >= "{{period_start}}"'
      b: { jql: 'created >= "{{ period_start }}"', period: month }
      c: { jql: 'project = X' }`),
      'okrs.yaml',
      { env: { T: 'x-token' } },
    );
    expect(loaded.config.sources.jira!.queries).toEqual({
      a: 'created >= "{{period_start}}"',
      b: { jql: 'created >= "{{ period_start }}"', period: 'month' },
      c: { jql: 'project = X', period: 'quarter' },
    });
  });

  it('rejects an unknown placeholder with a positioned message', () => {
    const msg = problems(
      cloud(`    queries:
      a: 'created >= "{{period_start}}"'
      b: { jql: 'created >= "{{window}}"' }`),
    );
    expect(msg).toMatch(/okrs\.yaml:9:\d+: sources\.jira\.queries\.b\.jql: unknown placeholder \{\{window\}\}/);
  });

  it('rejects a period that is not quarter, month or year', () => {
    const msg = problems(
      cloud(`    queries:
      b: { jql: 'project = X', period: sprint }`),
    );
    expect(msg).toMatch(/okrs\.yaml:8:\d+: sources\.jira\.queries\.b\.period: .*"quarter"\|"month"\|"year"/);
  });

  it('Cloud needs the e-mail and a token; Data Center needs a personal access token', () => {
    expect(problems(base('    url: https://x.atlassian.net\n'))).toMatch(/email.*Jira Cloud needs the account e-mail[\s\S]*api_token or api_token_file/);
    expect(problems(base('    flavor: datacenter\n    url: https://jira.example.com\n'))).toContain('personal_access_token or personal_access_token_file');
    expect(problems(base('    flavor: datacenter\n    url: https://jira.example.com\n    personal_access_token: literal-secret\n'))).toContain(
      '${ENV_VAR} reference',
    );
    expect(problems(base('    flavor: datacenter\n    url: https://acme.atlassian.net\n    personal_access_token: ${T}\n'))).toMatch(
      /okrs\.yaml:4:\d+: sources\.jira\.flavor: this URL is Jira Cloud/,
    );
  });

  it('publishes as JSON Schema (okr-metrics schema) with both query forms', () => {
    const schema = z.toJSONSchema(JiraConfig, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, { additionalProperties?: { anyOf?: unknown[] } }>;
    };
    expect(schema.properties.queries!.additionalProperties!.anyOf).toHaveLength(2);
  });
});
