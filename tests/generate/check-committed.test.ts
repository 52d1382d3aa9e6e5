/**
 * CI's drift guard: the committed dashboards/ and provisioning/ are exactly what `generate`
 * produces for okrs.example.yaml (`okr-metrics generate --check`). UPDATE_GOLDEN=1 rewrites them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../src/generate/generate-command.js';
import { EXAMPLE, REPO_ROOT } from './support.js';

describe('committed generated files', () => {
  it('match what generate --check produces for okrs.example.yaml', () => {
    if (process.env.UPDATE_GOLDEN === '1') runGenerate({ config: EXAMPLE, out: REPO_ROOT });
    const r = runGenerate({ config: EXAMPLE, out: REPO_ROOT, check: true });
    expect(r.files.length).toBeGreaterThanOrEqual(12);
    expect(r.differences, 'run: okr-metrics generate -c okrs.example.yaml (or UPDATE_GOLDEN=1 npx vitest run tests/generate)').toEqual([]);
  });

  it('--check names a changed file and a missing file, and writes nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'okr-check-'));
    try {
      runGenerate({ config: EXAMPLE, out });
      const api = join(out, 'dashboards/okr-api.json');
      writeFileSync(api, readFileSync(api, 'utf8').replace('"okr-api"', '"edited-by-hand"'));
      rmSync(join(out, 'provisioning/alertmanager/alertmanager.yml'));
      const r = runGenerate({ config: EXAMPLE, out, check: true });
      expect(r.differences).toEqual([
        { path: 'dashboards/okr-api.json', problem: 'differs' },
        { path: 'provisioning/alertmanager/alertmanager.yml', problem: 'missing' },
      ]);
      expect(readFileSync(api, 'utf8')).toContain('edited-by-hand');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
