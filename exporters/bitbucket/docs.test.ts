import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'bitbucket.md'), 'utf8');
const blocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const env = { BITBUCKET_API_TOKEN: 'a', BITBUCKET_ACCESS_TOKEN: 'b', BITBUCKET_DC_TOKEN: 'c' };

describe('docs/bitbucket.md', () => {
  it('has configuration examples that load', () => {
    const sources = blocks.filter((b) => b.startsWith('sources:'));
    expect(sources).toHaveLength(4);
    for (const b of sources) expect(() => parseConfig(`version: okr/v1\n${b}`, 'docs.yaml', { env })).not.toThrow();
  });

  it('has key-result examples that validate, PromQL included', () => {
    const krs = blocks.filter((b) => b.startsWith('- id:'));
    expect(krs).toHaveLength(1);
    const indented = krs[0]!.replace(/^/gm, '      ');
    const file = `version: okr/v1\nobjectives:\n  - id: delivery\n    title: Delivery\n    key_results:\n${indented}`;
    const { config } = parseConfig(file, 'docs.yaml', { env });
    expect(config.objectives[0]!.key_results.map((k) => k.id)).toEqual(['merge-throughput', 'cycle-time']);
  });
});
