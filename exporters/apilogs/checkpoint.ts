/**
 * The state file: for every followed file, its identity (device, inode, and a hash of its
 * first bytes, so a recycled inode is not mistaken for the old file) and the offset just
 * past the last complete line counted. Written atomically (temporary file + rename), so a
 * crash leaves either the old or the new checkpoint, never half of one.
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

const CheckpointFile = z.object({
  version: z.literal(1),
  saved_at: z.number(),
  /** Services that were followed when this was saved (an unknown file of theirs is new). */
  services: z.array(z.string()),
  files: z.array(FileCheckpoint),
});
export type CheckpointFile = z.infer<typeof CheckpointFile>;

export function headHash(head: Uint8Array): string {
  return createHash('sha1').update(head).digest('hex');
}

/** The checkpoint, or undefined when there is none or it is unreadable (then we start afresh and say why). */
export function loadCheckpoint(file: string): { checkpoint?: CheckpointFile; problem?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return { problem: (e as Error).message };
  }
  try {
    const parsed = CheckpointFile.safeParse(JSON.parse(text));
    return parsed.success ? { checkpoint: parsed.data } : { problem: `unexpected content: ${parsed.error.issues[0]?.message ?? ''}` };
  } catch (e) {
    return { problem: `not JSON: ${(e as Error).message}` };
  }
}

export function saveCheckpoint(file: string, data: CheckpointFile): void {
  writeJsonFileAtomic(file, data, 1);
}
