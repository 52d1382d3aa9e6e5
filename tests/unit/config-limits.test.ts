/**
 * Hostile or mistaken configuration files are refused quickly, as invalid input (exit 2) with
 * file:line:col: an alias bomb (billion laughs) and a file far larger than any OKR file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { MAX_CONFIG_BYTES } from '../../src/config/yaml-file.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');

/** Nine levels of nine aliases each: 9^9 (387 million) nodes once expanded, 30 lines of text. */
function aliasBomb(): string {
  const lines = ['version: okr/v1', 'organization: &a0 "lol"'];
  for (let i = 1; i <= 9; i++) lines.push(`x${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

function problem(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return '';
}

describe('configuration limits', () => {
  it('refuses an alias bomb with its position, as a config error', () => {
    const msg = problem(() => parseConfig(aliasBomb(), 'okrs.yaml', { env: {} }));
    expect(msg).toMatch(/^okrs\.yaml:3:10: \(root\): YAML: aliases expand to more than 1000 nodes \(an alias bomb\?\)/);
  });

  it('refuses a file over the size limit before parsing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-limits-'));
    const file = join(dir, 'okrs.yaml');
    writeFileSync(file, `version: okr/v1\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(problem(() => loadConfig(file, { env: {} }))).toMatch(
      new RegExp(`^${file}:1:1: \\(root\\): the file is 2\\.0 MiB; configuration files are limited to 2 MiB`),
    );
    expect(problem(() => parseConfig(`version: okr/v1\n# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, 'okrs.yaml', { env: {} }))).toContain(
      'configuration files are limited to 2 MiB',
    );
  });

  it('check exits 2 on both, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-limits-'));
    writeFileSync(join(dir, 'bomb.yaml'), aliasBomb());
    const bomb = spawnSync(process.execPath, [cli, 'check', '-c', join(dir, 'bomb.yaml')], { encoding: 'utf8' });
    expect(bomb.status).toBe(2);
    expect(bomb.stderr).toContain(`${join(dir, 'bomb.yaml')}:3:10: (root): YAML: aliases expand`);
    writeFileSync(join(dir, 'big.yaml'), Buffer.alloc(100 * 1024 * 1024, 0x20));
    const big = spawnSync(process.execPath, [cli, 'check', '-c', join(dir, 'big.yaml')], { encoding: 'utf8', timeout: 20_000 });
    expect(big.status).toBe(2);
    expect(big.stderr).toContain(`${join(dir, 'big.yaml')}:1:1: (root): the file is 100.0 MiB`);
  });
});
