/**
 * Deployment events posted by any CI (Jenkins, Bamboo, GitHub Actions; Bitbucket Data Center has
 * no deployments API) to `serve`: validated, kept under server.state_dir as the `events` delivery
 * feed, and written before the answer, so an event acknowledged is never lost to a restart. The
 * idempotency key (the event's `id`, or an Idempotency-Key header) makes a retry count once: the
 * same key with the same event is a duplicate, with another event a conflict.
 */
import { z } from 'zod';
import type { Clock } from '../../src/core/clock.js';
import { readDeliveryFeeds, writeDeliveryFeed, type FeedDeployment } from '../../src/core/delivery-feed.js';
import type { DeliveryConfig } from './config.js';
import { RETENTION_MS } from './delivery-fold.js';

export const EVENTS_ORIGIN = 'events';

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-10-01T10:05:00Z' });

/** The body of POST /api/v1/deployments. */
export const DeploymentEvent = z.strictObject({
  id: z.string().min(1).max(200).optional().meta({ description: 'Idempotency key: a retry with the same id counts once (or send an Idempotency-Key header).' }),
  service: z.string().min(1).meta({ description: 'A service of sources.delivery.services.' }),
  environment: z.string().min(1).meta({ description: 'The environment deployed to; only those of sources.delivery.environments count.' }),
  status: z.enum(['successful', 'failed']),
  rollback: z.boolean().default(false).meta({ description: 'The deployment put an earlier release back.' }),
  finished_at: Instant,
  started_at: Instant.optional(),
  commit: z.string().min(1).max(100).optional(),
  changes: z
    .array(
      z.strictObject({
        id: z.string().min(1).max(200).meta({ description: 'The change: a pull request or commit id; counted once per service.' }),
        first_commit_at: Instant,
        pull_request_created_at: Instant.optional(),
      }),
    )
    .max(10_000)
    .default([])
    .meta({ description: 'What the deployment brought to the environment (for the lead time).' }),
});
export type DeploymentEvent = z.infer<typeof DeploymentEvent>;

export interface PostResult {
  status: 200 | 201 | 400 | 409;
  body: Record<string, unknown>;
}

/** A posted finish time this far ahead of the clock is refused (clock skew tolerated). */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

function issuesOf(e: z.ZodError): Array<{ path: string; message: string }> {
  return e.issues.map((i) => ({ path: i.path.length > 0 ? i.path.map(String).join('.') : '(body)', message: i.message }));
}

/** JSON with sorted keys: the same event read back from the file compares equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

function bad(message: string, issues: Array<{ path: string; message: string }> = []): PostResult {
  return { status: 400, body: { error: message, ...(issues.length > 0 ? { issues } : {}) } };
}

export class PostedEvents {
  private readonly deployments: FeedDeployment[];
  private readonly services: Set<string>;
  private readonly environments: Map<string, string>;

  /** Throws when the stored events cannot be read: starting without them would lose them. */
  constructor(
    private readonly dir: string,
    settings: Pick<DeliveryConfig, 'services' | 'environments'>,
    private readonly clock: Clock,
  ) {
    const { feeds, problems } = readDeliveryFeeds([dir]);
    const mine = problems.find((p) => p.file.endsWith(`delivery-feed.${EVENTS_ORIGIN}.json`));
    if (mine) throw new Error(`the posted deployment events in ${mine.file} cannot be read (${mine.message}); fix or move the file before starting`);
    this.deployments = [...(feeds.find((f) => f.origin === EVENTS_ORIGIN)?.deployments?.items ?? [])];
    this.services = new Set(settings.services.map((s) => s.name));
    this.environments = new Map(settings.environments.map((e) => [e.toLowerCase(), e]));
  }

  get count(): number {
    return this.deployments.length;
  }

  /** Validate and store one posted event; the result is the HTTP answer. */
  record(text: string, headerKey: string | undefined): PostResult {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return bad(`the body is not JSON: ${(e as Error).message}`);
    }
    const parsed = DeploymentEvent.safeParse(json);
    if (!parsed.success) return bad('invalid deployment event', issuesOf(parsed.error));
    const ev = parsed.data;
    if (ev.id !== undefined && headerKey !== undefined && ev.id !== headerKey)
      return bad(`the Idempotency-Key header (${headerKey}) and the event's id (${ev.id}) differ`);
    const key = ev.id ?? headerKey;
    if (key === undefined)
      return bad('a deployment event needs an id (or an Idempotency-Key header), so that a retry counts once', [{ path: 'id', message: 'missing' }]);
    if (!this.services.has(ev.service))
      return bad(`service "${ev.service}" is not in sources.delivery.services`, [{ path: 'service', message: `known: ${[...this.services].join(', ')}` }]);
    const finishedMs = Date.parse(ev.finished_at);
    if (finishedMs > this.clock.now() + FUTURE_TOLERANCE_MS)
      return bad('finished_at is in the future', [{ path: 'finished_at', message: `${ev.finished_at} is after now` }]);
    const late = ev.changes.findIndex(
      (c) => Date.parse(c.first_commit_at) > finishedMs || (c.pull_request_created_at !== undefined && Date.parse(c.pull_request_created_at) > finishedMs),
    );
    if (late !== -1)
      return bad('a change starts after the deployment finished', [
        { path: `changes.${late}`, message: 'first_commit_at and pull_request_created_at must be at or before finished_at' },
      ]);
    const environment = this.environments.get(ev.environment.toLowerCase());
    if (environment === undefined)
      return {
        status: 200,
        body: {
          status: 'ignored',
          id: key,
          reason: `environment "${ev.environment}" is not a production environment (sources.delivery.environments: ${[...this.environments.values()].join(', ')})`,
        },
      };

    const deployment: FeedDeployment = {
      key,
      service: ev.service,
      environment,
      status: ev.status,
      rollback: ev.rollback,
      finishedMs,
      changes: ev.changes.map((c) => ({
        key: c.id,
        firstCommitMs: Date.parse(c.first_commit_at),
        ...(c.pull_request_created_at !== undefined ? { pullRequestMs: Date.parse(c.pull_request_created_at) } : {}),
      })),
    };
    const existing = this.deployments.find((d) => d.key === key);
    if (existing) {
      if (canonical(existing) === canonical(deployment)) return { status: 200, body: { status: 'duplicate', id: key } };
      return { status: 409, body: { error: `deployment event ${key} was recorded before with other content; a new deployment needs a new id`, id: key } };
    }
    const now = this.clock.now();
    const kept = this.deployments.filter((d) => d.finishedMs >= now - RETENTION_MS);
    kept.push(deployment);
    // Written before the answer: an acknowledged event survives a restart.
    writeDeliveryFeed(this.dir, { version: 1, origin: EVENTS_ORIGIN, deployments: { completeMs: now, items: kept } });
    this.deployments.splice(0, this.deployments.length, ...kept);
    return { status: 201, body: { status: 'recorded', id: key } };
  }
}
