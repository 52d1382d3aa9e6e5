/** Shared helpers of the generate tests: generate the example into a temp dir, run promtool. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { generate, type Generated } from '../../src/generate/generate.js';
import { writeFiles } from '../../src/generate/write-files.js';
import { requireBinary } from '../support/binaries.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const EXAMPLE = join(REPO_ROOT, 'okrs.example.yaml');

/** The example generated into a fresh temp dir. */
export function generateExample(): { dir: string; generated: Generated } {
  const generated = generate(loadConfig(EXAMPLE, { env: {} }));
  const dir = mkdtempSync(join(tmpdir(), 'okr-generate-'));
  writeFiles(dir, generated.files);
  return { dir, generated };
}

export function promtool(args: string[]): { status: number; output: string } {
  const r = spawnSync(requireBinary('promtool'), args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
