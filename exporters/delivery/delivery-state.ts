/**
 * The delivery source's checkpoint: what it counted and settled (delivery-fold.ts), one JSON file
 * under server.state_dir, replaced atomically. An unreadable or invalid file starts a fresh state
 * (logged, the file kept aside): the counters reset, which Prometheus' increase() takes as a reset.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { readStateFile, writeJsonFileAtomic } from '../../src/core/state-file.js';
import { emptyDeliveryState, type DeliveryState } from './delivery-fold.js';
import { DEPLOYMENT_OUTCOMES, DEPLOYMENT_STATUSES, FAILURE_CAUSES, LEAD_TIME_FROM } from './metrics.js';

export const STATE_FILE_NAME = 'delivery-state.json';

const Count = z.number().nonnegative();
const Histogram = z.object({ buckets: z.array(Count), sum: z.number(), count: Count });
const record = <K extends string, V extends z.ZodType>(keys: readonly K[], value: V) =>
  z.object(Object.fromEntries(keys.map((k) => [k, value])) as Record<K, V>);

const StateSchema = z.object({
  version: z.literal(1),
  sinceMs: z.number().optional(),
  deployments: z.array(
    z.object({
      id: z.string(),
      stream: z.string(),
      finishedMs: z.number(),
      status: z.enum(['successful', 'failed']),
      rollback: z.boolean(),
      context: z.boolean().optional(),
      settled: z.object({ outcome: z.enum(DEPLOYMENT_OUTCOMES), atMs: z.number() }).optional(),
      awaiting: z.enum(['success', 'resolution']).optional(),
      incident: z.string().optional(),
      undone: z.boolean().optional(),
    }),
  ),
  changes: z.record(z.string(), z.record(z.string(), z.number())),
  incidents: z.record(z.string(), z.object({ createdMs: z.number(), attributed: z.boolean() })),
  counters: z.record(
    z.string(),
    z.object({
      deployments: record(DEPLOYMENT_STATUSES, Count),
      outcomes: record(DEPLOYMENT_OUTCOMES, Count),
      leadTime: record(LEAD_TIME_FROM, Histogram),
      recoveryTime: record(FAILURE_CAUSES, Histogram),
    }),
  ),
}) satisfies z.ZodType<DeliveryState>;

/**
 * The state under `dir`, or a fresh one counting from `startMs`: what finished before is context
 * (the release a rollback undoes, the deployment an incident follows), never counted. A fresh
 * start counting the feeds' whole lookback (90 days of Bitbucket deployments) would show those
 * deployments to Prometheus as happening at the first scrape, or on top of a backfill that
 * already counted them.
 */
export function loadDeliveryState(dir: string, logger: Logger, startMs: number): DeliveryState {
  const file = join(dir, STATE_FILE_NAME);
  const read = readStateFile(file, StateSchema);
  if (read.found === 'data') return read.data;
  if (read.found === 'unreadable') logger.warn({ file, err: read.err }, 'delivery: cannot read the state file; starting fresh');
  if (read.found === 'invalid')
    logger.warn({ file, err: read.problem }, 'delivery: the state file is not valid; counting starts fresh (the counters reset); the file is kept as .invalid');
  return emptyDeliveryState(startMs);
}

export function saveDeliveryState(dir: string, state: DeliveryState): void {
  writeJsonFileAtomic(join(dir, STATE_FILE_NAME), state);
}
