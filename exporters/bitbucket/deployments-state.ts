/**
 * What the Bitbucket collector knows of its repositories' deployments, between refreshes and
 * restarts: per repository, the production deployments read (the records of the `bitbucket`
 * delivery feed), the deployments already looked at near the watermark, the release running in
 * each environment (what the next deployment's changes are counted from), and up to when the
 * list is complete. One JSON file under server.state_dir, replaced atomically; a file for another
 * workspace, or one that is not valid, starts over (logged).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { FeedDeployment } from '../../src/core/delivery-feed.js';
import { readStateFile, writeJsonFileAtomic } from '../../src/core/state-file.js';

export const DEPLOYMENTS_STATE_FILE = 'bitbucket-deployments.json';

const RepoDeployments = z.object({
  /** Nothing completed before this instant is read (the first refresh minus `backfill`). */
  sinceMs: z.number(),
  /** Every production deployment completed before this instant has been read; absent until a refresh succeeds. */
  completeMs: z.number().optional(),
  records: z.array(FeedDeployment),
  /** Deployments looked at (uuid → completion ms), kept near the watermark so an overlapping re-read skips them. */
  seen: z.record(z.string(), z.number()),
  /** Environment uuid → the release running there: its commit and when it was deployed. */
  running: z.record(z.string(), z.object({ commit: z.string(), finishedMs: z.number() })),
});
export type RepoDeployments = z.infer<typeof RepoDeployments>;

const StateSchema = z.object({ version: z.literal(1), scope: z.string(), repos: z.record(z.string(), RepoDeployments) });
export type DeploymentsState = z.infer<typeof StateSchema>;

export function emptyDeploymentsState(scope: string): DeploymentsState {
  return { version: 1, scope, repos: {} };
}

export function newRepoDeployments(sinceMs: number): RepoDeployments {
  return { sinceMs, records: [], seen: {}, running: {} };
}

export function loadDeploymentsState(dir: string, scope: string, logger: Logger): DeploymentsState {
  const file = join(dir, DEPLOYMENTS_STATE_FILE);
  const read = readStateFile(file, StateSchema);
  if (read.found === 'unreadable') logger.warn({ file, err: read.err }, 'bitbucket: cannot read the deployments state; reading deployments afresh');
  if (read.found === 'invalid')
    logger.warn({ file, err: read.problem }, 'bitbucket: the deployments state is not valid; reading deployments afresh (the file is kept as .invalid)');
  if (read.found !== 'data') return emptyDeploymentsState(scope);
  if (read.data.scope !== scope) {
    logger.warn({ file }, 'bitbucket: the deployments state belongs to another Bitbucket; reading deployments afresh');
    return emptyDeploymentsState(scope);
  }
  return read.data;
}

export function saveDeploymentsState(dir: string, state: DeploymentsState): void {
  writeJsonFileAtomic(join(dir, DEPLOYMENTS_STATE_FILE), state);
}
