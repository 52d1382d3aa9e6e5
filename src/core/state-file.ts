/**
 * Collectors keep state between runs (Jira's sprint cache, Bitbucket's counters, the apilogs
 * checkpoint) in JSON files under server.state_dir. Each is replaced atomically: written to a
 * temporary file, flushed to disk, then renamed over the old one, so a crash mid-write leaves
 * the previous file, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { schemaProblem } from './schema-problem.js';

/** State directories this process holds a lock on, each with why it may no longer write there. */
const guards = new Map<string, () => string | undefined>();

/**
 * Writes under `dir` first ask `problem()`: a process that lost the directory's lock (a standby
 * took over while it was frozen) must not overwrite the new holder's checkpoints. Returns the
 * function that removes the guard.
 */
export function guardStateWrites(dir: string, problem: () => string | undefined): () => void {
  guards.set(dir, problem);
  return () => {
    if (guards.get(dir) === problem) guards.delete(dir);
  };
}

function checkGuards(file: string): void {
  const path = resolve(file);
  for (const [dir, problem] of guards) {
    if (path !== dir && !path.startsWith(dir + sep)) continue;
    const reason = problem();
    if (reason) throw new Error(`not writing ${file}: ${reason}`);
  }
}

/** Replace `file` with `data` as JSON (`indent` as in JSON.stringify) and a trailing newline. */
export function writeJsonFileAtomic(file: string, data: unknown, indent?: number): void {
  checkGuards(file);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, `${JSON.stringify(data, null, indent)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself reaches the disk only with its directory: without this, a power cut
  // could bring back the previous file after a newer one was already acted upon.
  try {
    const dirFd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse to fsync a directory; the rename is still atomic.
  }
}

/** What reading a state file found: its data, nothing (first run), or why it cannot be used. */
export type StateFileRead<T> = { found: 'data'; data: T } | { found: 'none' } | { found: 'unreadable'; err: string } | { found: 'invalid'; problem: string };

/**
 * Read `file` through `schema`. A file that is not JSON or does not match is renamed to
 * `<file>.invalid` (kept for inspection, out of the next save's way). The caller says what a
 * fresh start means for its counts, and logs it.
 */
export function readStateFile<S extends z.ZodType>(file: string, schema: S): StateFileRead<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { found: 'none' };
    return { found: 'unreadable', err: (e as Error).message };
  }
  let problem: string;
  try {
    const result = schema.safeParse(JSON.parse(text));
    if (result.success) return { found: 'data', data: result.data };
    problem = schemaProblem(result.error);
  } catch (e) {
    problem = `not JSON: ${(e as Error).message}`;
  }
  try {
    renameSync(file, `${file}.invalid`);
  } catch {
    // the next save replaces it
  }
  return { found: 'invalid', problem };
}
