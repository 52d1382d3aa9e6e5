/**
 * Writing generated files without ever leaving a partial result: everything is rendered in
 * memory first, written to a temporary directory next to the output, then renamed into place.
 * Replaced files are kept aside until every rename succeeded; if one fails, the files already
 * moved are rolled back, so the output is either the old set or the new one.
 * `checkFiles` is `--check`: which files differ from what is on disk.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GeneratedFile } from './generate.js';

export function writeFiles(outDir: string, files: GeneratedFile[]): void {
  mkdirSync(outDir, { recursive: true });
  for (const f of files) {
    const target = join(outDir, f.path);
    if (existsSync(target) && statSync(target).isDirectory()) throw new Error(`${target} is a directory; refusing to replace it with a generated file`);
  }
  const tmp = mkdtempSync(join(outDir, '.okr-generate-'));
  const moved: Array<{ target: string; backup?: string }> = [];
  try {
    for (const f of files) {
      const p = join(tmp, 'new', f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
    }
    try {
      for (const f of files) {
        const target = join(outDir, f.path);
        mkdirSync(dirname(target), { recursive: true });
        let backup: string | undefined;
        if (existsSync(target)) {
          backup = join(tmp, 'old', f.path);
          mkdirSync(dirname(backup), { recursive: true });
          renameSync(target, backup);
        }
        moved.push({ target, ...(backup ? { backup } : {}) });
        renameSync(join(tmp, 'new', f.path), target);
      }
    } catch (e) {
      for (const m of moved.reverse()) {
        rmSync(m.target, { force: true });
        if (m.backup) renameSync(m.backup, m.target);
      }
      throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface FileDifference {
  path: string;
  problem: 'missing' | 'differs';
}

export function checkFiles(outDir: string, files: GeneratedFile[]): FileDifference[] {
  const out: FileDifference[] = [];
  for (const f of files) {
    const p = join(outDir, f.path);
    if (!existsSync(p)) out.push({ path: f.path, problem: 'missing' });
    else if (readFileSync(p, 'utf8') !== f.content) out.push({ path: f.path, problem: 'differs' });
  }
  return out;
}
