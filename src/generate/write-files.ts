/**
 * Writing generated files without ever leaving a partial result: everything is rendered in
 * memory first, written to a temporary directory next to the output, then renamed into place.
 * `checkFiles` is `--check`: which files differ from what is on disk.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GeneratedFile } from './generate.js';

export function writeFiles(outDir: string, files: GeneratedFile[]): void {
  mkdirSync(outDir, { recursive: true });
  const tmp = mkdtempSync(join(outDir, '.okr-generate-'));
  try {
    for (const f of files) {
      const p = join(tmp, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
    }
    for (const f of files) {
      const target = join(outDir, f.path);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(join(tmp, f.path), target);
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
