/** The README's OKR file example must stay a valid okr/v1 file. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';

const readme = readFileSync(join(resolve(import.meta.dirname, '../..'), 'README.md'), 'utf8');

describe('README', () => {
  it('shows an OKR file that validates', () => {
    const block = /## The OKR file[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const env = { JIRA_API_TOKEN: 'x', SONAR_TOKEN: 'x', BITBUCKET_ACCESS_TOKEN: 'x' };
    const { config } = parseConfig(block!, 'README.md', { env });
    expect(config.objectives[0]!.key_results[0]!.id).toBe('api-availability');
    expect(Object.keys(config.sources).sort()).toEqual(['apilogs', 'bitbucket', 'jira', 'sonarqube']);
  });

  it('shows DORA key results that validate', () => {
    const block = /## Delivery performance: the DORA keys[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const { config } = parseConfig(`version: okr/v1\n${block!}`, 'README.md', { env: { JIRA_API_TOKEN: 'x', BITBUCKET_ACCESS_TOKEN: 'x' } });
    expect(config.objectives[0]!.key_results.map((k) => Object.keys(k.measure).find((m) => m !== 'unit'))).toEqual([
      'deployment_frequency',
      'lead_time',
      'change_failure_rate',
      'recovery_time',
    ]);
  });
});
