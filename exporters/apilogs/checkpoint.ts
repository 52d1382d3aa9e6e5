/**
 * The state file: for every followed file, its identity (device, inode, and a hash of its
 * first bytes, so a recycled inode is not mistaken for the old file) and the offset just
 * past the last complete line counted; and for every service, the cumulative counters and
 * histogram buckets those offsets produced. Offsets and counts are written together,
 * atomically (temporary file + fsync + rename), so a restarted exporter continues its
 * counters from exactly the lines it resumes after: nothing is counted twice or skipped, and
 * Prometheus sees no counter reset.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonFileAtomic } from '../../src/core/state-file.js';

const FileCheckpoint = z.object({
  service: z.string(),
  path: z.string(),
  dev: z.number(),
  ino: z.number(),
  offset: z.number().int().min(0),
  head_len: z.number().int().min(0),
  head_sha1: z.string(),
});
export type FileCheckpoint = z.infer<typeof FileCheckpoint>;

const Count = z.number().nonnegative();
const SavedCounts = z.object({
  parsed: Count,
  malformed: Count,
  overflow: Count,
  bytes_read: Count,
  rotations: Count,
  buckets: z.array(z.number()),
  requests: z.array(z.tuple([z.string(), z.string(), z.number().int().min(0).max(999), Count])),
  durations: z.array(z.tuple([z.string(), z.string(), z.array(Count), z.number()])),
});

const CheckpointV1 = z.object({
  version: z.literal(1),
  saved_at: z.number(),
  /** Services that were followed when this was saved (an unknown file of theirs is new). */
  services: z.array(z.string()),
  files: z.array(FileCheckpoint),
});
const CheckpointFile = CheckpointV1.extend({
  version: z.literal(2),
  /** Per service: the counts the offsets above produced. */
  counters: z.record(z.string(), SavedCounts),
});
export type CheckpointFile = z.infer<typeof CheckpointFile>;

export function headHash(head: Uint8Array): string {
  return createHash('sha1').update(head).digest('hex');
}

/** The file exists but is not an apilogs checkpoint: it is left alone, and nothing starts. */
export class CheckpointError extends Error {}

/**
 * The checkpoint, or undefined when there is none. A version 1 checkpoint (offsets only, from
 * before counts were kept) is read with empty counters. A file that is not a checkpoint
 * throws: overwriting it could destroy someone else's file, and starting afresh silently
 * would reset every counter.
 */
export function loadCheckpoint(file: string): CheckpointFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(checkpointProblem(file, (e as Error).message));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file, which may be someone else's secrets.
    throw new CheckpointError(checkpointProblem(file, 'not JSON'));
  }
  const parsed = z.union([CheckpointFile, CheckpointV1]).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CheckpointError(checkpointProblem(file, `unexpected content${issue ? ` at ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}`));
  }
  return parsed.data.version === 1 ? { ...parsed.data, version: 2, counters: {} } : parsed.data;
}

function checkpointProblem(file: string, why: string): string {
  return `apilogs checkpoint ${file} cannot be used (${why}); it was left untouched. If it is a damaged checkpoint, move it away to start afresh (counters restart from zero, files from start_at); if it is another file, point sources.apilogs.state_file elsewhere`;
}

export function saveCheckpoint(file: string, data: CheckpointFile): void {
  writeJsonFileAtomic(file, data);
}
