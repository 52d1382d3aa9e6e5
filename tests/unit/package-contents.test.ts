/**
 * What `npm run build` puts in dist/ (what the package ships): production code only. Test
 * fakes and kits live under `testing/` folders and never reach it; the simulated servers the
 * demo runs are production code under `simulator/`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'dist');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [relative(dist, join(dir, e.name))]));
}

describe('the built package', () => {
  it('holds no test code, fakes or test kits', () => {
    expect(existsSync(join(dist, 'src/cli/main.js')), 'run npm run build first').toBe(true);
    const files = walk(dist).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => /(^|\/)testing\/|\.test\.js$|^tests\/|^bench\//.test(f))).toEqual([]);
    // The demo's simulators ship: they are what `okr-metrics demo` runs.
    expect(files).toContain('exporters/jira/simulator/fake-jira.js');
  });
});
