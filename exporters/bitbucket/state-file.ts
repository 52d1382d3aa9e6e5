/**
 * The Bitbucket collector's checkpoint: one JSON file under server.state_dir, replaced
 * atomically (write a temporary file, fsync, rename) so a crash mid-write leaves the previous
 * checkpoint, never half of one. A file for another workspace/project, other buckets or an
 * unreadable file starts a fresh state (logged), because mixing them would corrupt counters.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { readStateFile, writeJsonFileAtomic } from '../../src/core/state-file.js';

export const STATE_FILE_NAME = 'bitbucket-state.json';
const VERSION = 1;

const Histogram = z.object({ buckets: z.array(z.number().nonnegative()), sum: z.number(), count: z.number().nonnegative() });
const RepoStateSchema = z.object({
  since: z.number(),
  pullRequests: z.object({
    watermark: z.number(),
    counted: z.array(z.tuple([z.number(), z.number()])),
    merged: z.number().nonnegative(),
    cycleTime: Histogram,
  }),
  pipelines: z
    .object({
      watermark: z.number(),
      countedAbove: z.array(z.number()),
      results: z.object({
        successful: z.number().nonnegative(),
        failed: z.number().nonnegative(),
        error: z.number().nonnegative(),
        stopped: z.number().nonnegative(),
        expired: z.number().nonnegative(),
      }),
      duration: Histogram,
    })
    .optional(),
  // Written since the organisation-scale refresh plan; older files simply have none (read in full once).
  read: z
    .object({
      at: z.number(),
      listedUpdatedMs: z.number().optional(),
      open: z.number().nonnegative().optional(),
      coverage: z.array(z.object({ report: z.string(), ratio: z.number().min(0).max(1) })).optional(),
      running: z.boolean().optional(),
      settleAfter: z.number().optional(),
    })
    .optional(),
});
const StateSchema = z.object({
  version: z.literal(VERSION),
  /** Which Bitbucket this counts (flavour, url, workspace/project): a different one starts over. */
  scope: z.string(),
  cycleBounds: z.array(z.number()),
  durationBounds: z.array(z.number()),
  repos: z.record(z.string(), RepoStateSchema),
});
export type BitbucketState = z.infer<typeof StateSchema>;

export function emptyState(scope: string, cycleBounds: readonly number[], durationBounds: readonly number[]): BitbucketState {
  return { version: VERSION, scope, cycleBounds: [...cycleBounds], durationBounds: [...durationBounds], repos: {} };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function loadState(
  dir: string,
  scope: string,
  cycleBounds: readonly number[],
  durationBounds: readonly number[],
  logger: Logger,
): Promise<BitbucketState> {
  const file = join(dir, STATE_FILE_NAME);
  const read = readStateFile(file, StateSchema);
  if (read.found === 'unreadable') logger.warn({ file, err: read.err }, 'bitbucket: cannot read the state file; starting fresh');
  if (read.found === 'invalid') logger.warn({ file, err: read.problem }, 'bitbucket: the state file is not valid; counting starts fresh (the counters reset)');
  if (read.found !== 'data') return emptyState(scope, cycleBounds, durationBounds);
  const parsed = read.data;
  if (parsed.scope !== scope || !sameBounds(parsed.cycleBounds, cycleBounds) || !sameBounds(parsed.durationBounds, durationBounds)) {
    logger.warn({ file }, 'bitbucket: the state file belongs to another Bitbucket or other buckets; counting starts fresh');
    return emptyState(scope, cycleBounds, durationBounds);
  }
  return parsed;
}

export async function saveState(dir: string, state: BitbucketState): Promise<void> {
  writeJsonFileAtomic(join(dir, STATE_FILE_NAME), state);
}
