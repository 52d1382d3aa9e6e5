/**
 * What every benchmark's command line shares: the repository root, `--name value` options and
 * progress on stderr (stdout carries the figures).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const args = process.argv.slice(2);

/** The value after `--name`, or `dflt`. */
export function opt(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}

export function log(msg) {
  process.stderr.write(`${msg}\n`);
}
