/**
 * Collectors keep state between runs (Jira's sprint cache, Bitbucket's counters, the apilogs
 * checkpoint) in JSON files under server.state_dir. Each is replaced atomically: written to a
 * temporary file, flushed to disk, then renamed over the old one, so a crash mid-write leaves
 * the previous file, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Replace `file` with `data` as JSON (`indent` as in JSON.stringify) and a trailing newline. */
export function writeJsonFileAtomic(file: string, data: unknown, indent?: number): void {
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
