/**
 * The installed package's root directory (where package.json, okrs.example.yaml and the
 * committed dashboards live): two levels above a source module, three above its build in dist/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'okr-metrics') return (root = dir);
  }
  throw new Error(`okr-metrics: package.json not found above ${import.meta.dirname}`);
}
