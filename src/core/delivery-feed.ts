/**
 * Delivery feeds: the deployments and incidents sources publish for the `delivery` source, which
 * joins them into the four DORA keys. A change failure is a deployment followed by an incident,
 * so the join needs records of two sources at once, while a source only ever sees its own
 * settings. Each publisher (Bitbucket's deployments, Jira's incidents, the deployment events
 * posted to `serve`) therefore writes its records as one file, `delivery-feed.<origin>.json`, in
 * the directory it is given (server.state_dir; a backfill's own feed directory), replaced
 * atomically; the delivery source reads them all.
 *
 * A feed is complete up to an instant (`completeMs`): the publisher holds every record of that
 * kind that happened before it. The delivery source settles a deployment (led to a failure or
 * not) only once every feed it needs is complete past the deployment's window, so a source that
 * is late or down delays a figure instead of making it wrong.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonFileAtomic } from './state-file.js';

/** A change a deployment brought to its environment: a pull request, or a commit pushed without one. */
export const FeedChange = z.object({
  /** `pr:<id>` or `commit:<hash>` (events: the CI's own key): a change is counted once per service. */
  key: z.string().min(1),
  /** When the change's first commit was made. */
  firstCommitMs: z.number(),
  /** When its pull request was opened; absent for a commit pushed without one. */
  pullRequestMs: z.number().optional(),
});
export type FeedChange = z.infer<typeof FeedChange>;

export const FeedDeployment = z.object({
  /** Unique within its origin (Bitbucket: the deployment uuid; events: the idempotency key). */
  key: z.string().min(1),
  /** Bitbucket: the repository slug, mapped to a service by sources.delivery.services. */
  repo: z.string().optional(),
  /** Events: the service as posted. */
  service: z.string().optional(),
  environment: z.string().min(1),
  status: z.enum(['successful', 'failed']),
  /** A deployment of an earlier release than the one running: it undoes the deployment before it. */
  rollback: z.boolean().default(false),
  /** When the deployment finished (Unix ms). */
  finishedMs: z.number(),
  /** What it brought; absent when unknown (the first deployment seen of an environment). */
  changes: z.array(FeedChange).optional(),
});
export type FeedDeployment = z.infer<typeof FeedDeployment>;

export const FeedIncident = z.object({
  key: z.string().min(1),
  createdMs: z.number(),
  /** Absent while the incident is open. */
  resolvedMs: z.number().optional(),
});
export type FeedIncident = z.infer<typeof FeedIncident>;

const Section = <T extends z.ZodType>(item: T) =>
  z.object({
    /** Every record of this section that happened before this instant (Unix ms) is here. */
    completeMs: z.number(),
    items: z.array(item),
  });

export const DeliveryFeed = z.object({
  version: z.literal(1),
  /** Who publishes it: bitbucket, jira, events. */
  origin: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  deployments: Section(FeedDeployment).optional(),
  /** By incident query name (sources.jira.incidents). */
  incidents: z.record(z.string(), Section(FeedIncident)).optional(),
});
export type DeliveryFeed = z.infer<typeof DeliveryFeed>;
export type DeliveryFeedInput = z.input<typeof DeliveryFeed>;

const PREFIX = 'delivery-feed.';

export function feedFile(dir: string, origin: string): string {
  return join(dir, `${PREFIX}${origin}.json`);
}

/** Replace the origin's feed in `dir` (atomically: a reader sees the old feed or the new one). */
export function writeDeliveryFeed(dir: string, feed: DeliveryFeedInput): void {
  writeJsonFileAtomic(feedFile(dir, feed.origin), DeliveryFeed.parse(feed));
}

/** The feed of one origin in `dir`, or undefined when there is none or it is unreadable. */
export function readDeliveryFeed(dir: string, origin: string): DeliveryFeed | undefined {
  return readDeliveryFeeds([dir]).feeds.find((f) => f.origin === origin);
}

export interface FeedProblem {
  file: string;
  message: string;
}

/**
 * Every feed in `dirs`; for an origin found in several directories the first one wins (a
 * backfill's own feeds before the live ones). Unreadable or invalid files are reported, not thrown.
 */
export function readDeliveryFeeds(dirs: readonly string[]): { feeds: DeliveryFeed[]; problems: FeedProblem[] } {
  const byOrigin = new Map<string, DeliveryFeed>();
  const problems: FeedProblem[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // no directory yet: nothing published
    }
    for (const name of names.sort()) {
      if (!name.startsWith(PREFIX) || !name.endsWith('.json')) continue;
      const file = join(dir, name);
      try {
        const feed = DeliveryFeed.parse(JSON.parse(readFileSync(file, 'utf8')));
        if (!byOrigin.has(feed.origin)) byOrigin.set(feed.origin, feed);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // replaced between listing and reading
        problems.push({ file, message: e instanceof z.ZodError ? z.prettifyError(e).replace(/\n/g, '; ') : (e as Error).message });
      }
    }
  }
  return { feeds: [...byOrigin.values()], problems };
}

/** What the feeds in `dirs` hold, as a digest: a backfill that joins them reruns when it changes. */
export function feedsDigest(dirs: readonly string[]): string {
  const { feeds } = readDeliveryFeeds(dirs);
  return createHash('sha256')
    .update(JSON.stringify(feeds.sort((a, b) => (a.origin < b.origin ? -1 : 1))))
    .digest('hex');
}
