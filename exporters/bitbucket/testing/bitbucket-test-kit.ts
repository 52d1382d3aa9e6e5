/** Shared pieces of the Bitbucket tests: config loading, sample look-ups, golden files, logs. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../../src/config/load-config.js';
import { createLogger, silentLogger, type Logger } from '../../../src/core/logger.js';
import type { Labels, Snapshot, SourceDeps } from '../../../src/core/source.js';
import { sourceDeps } from '../../../src/config/source-deps.js';
import type { BitbucketConfig } from '../config.js';
import { bitbucketPlugin } from '../plugin.js';
import type { Clock } from '../../../src/core/clock.js';

export const GOLDEN_DIR = join(import.meta.dirname, '..', 'testdata');

export function tempStateDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'okr-bitbucket-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function depsFor(yaml: string, env: Record<string, string>, stateDir: string, clock: Clock): SourceDeps<BitbucketConfig> {
  const loaded = parseConfig(yaml, join(stateDir, 'okrs.yaml'), { env });
  return sourceDeps(loaded, bitbucketPlugin, { logger: silentLogger(), stateDir, clock });
}

/** The value of one sample, or undefined when the series is absent. */
export function sampleValue(snapshot: Snapshot, name: string, labels: Labels, suffix?: '_bucket' | '_sum' | '_count'): number | undefined {
  const fam = snapshot.find((f) => f.name === name);
  const want = JSON.stringify(Object.entries(labels).sort());
  return fam?.samples.find((s) => s.suffix === suffix && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** Every value of the `repo` label in the snapshot. */
export function reposIn(snapshot: Snapshot): string[] {
  return [...new Set(snapshot.flatMap((f) => f.samples.flatMap((s) => (s.labels.repo === undefined ? [] : [s.labels.repo]))))].sort();
}

/** Cumulative bucket counts of one histogram series, keyed by `le`. */
export function buckets(snapshot: Snapshot, name: string, labels: Labels): Record<string, number> {
  const fam = snapshot.find((f) => f.name === name);
  const out: Record<string, number> = {};
  for (const s of fam?.samples ?? []) {
    if (s.suffix !== '_bucket') continue;
    const { le, ...rest } = s.labels;
    if (JSON.stringify(Object.entries(rest).sort()) === JSON.stringify(Object.entries(labels).sort())) out[le!] = s.value;
  }
  return out;
}

/** Compare with a committed golden file; `UPDATE_GOLDEN=1` rewrites it instead. */
export function expectGolden(file: string, actual: string): { expected: string; actual: string } {
  const path = join(GOLDEN_DIR, file);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
    writeFileSync(path, actual);
  }
  return { expected: readFileSync(path, 'utf8'), actual };
}

/** A logger whose JSON lines are kept for assertions. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
