/**
 * Golden files: the generator run on tests/generate/testdata/in-*.yaml must produce exactly
 * testdata/out-<name>/ (rules, dashboards, provisioning). Refresh with UPDATE_GOLDEN=1.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { generate } from '../../src/generate/generate.js';
import { promtool } from './support.js';

const TESTDATA = join(import.meta.dirname, 'testdata');
const inputs = readdirSync(TESTDATA).filter((f) => /^in-.*\.yaml$/.test(f));

describe.each(inputs)('golden %s', (input) => {
  const name = input.replace(/^in-/, '').replace(/\.yaml$/, '');
  const outDir = join(TESTDATA, `out-${name}`);
  const { files } = generate(loadConfig(join(TESTDATA, input), { env: {} }));

  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(outDir, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(outDir, f.path)), { recursive: true });
      writeFileSync(join(outDir, f.path), f.content);
    }
  }

  it.each(files.map((f) => f.path))('%s matches the golden file', (path) => {
    const golden = join(outDir, path);
    expect(existsSync(golden), `${golden} missing: UPDATE_GOLDEN=1 npx vitest run tests/generate`).toBe(true);
    expect(files.find((f) => f.path === path)!.content).toBe(readFileSync(golden, 'utf8'));
  });

  it('the golden rules pass promtool check rules', () => {
    const r = promtool([
      'check',
      'rules',
      join(outDir, 'provisioning/prometheus/rules/okr-recording.rules.yml'),
      join(outDir, 'provisioning/prometheus/rules/okr-alerts.rules.yml'),
    ]);
    expect(r.status, r.output).toBe(0);
  });
});
