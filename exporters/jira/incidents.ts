/**
 * Incidents for the delivery source: each named incident query (sources.jira.incidents) is run
 * for the incidents created since its lookback, with their creation and resolution times, and
 * published as the `jira` delivery feed (delivery-feed.ts). The whole list is read each refresh
 * (incidents are few), so a resolution or a reopening shows at the next one; a query that fails
 * keeps its last list and its completeness, so the join waits for it instead of missing incidents.
 */
import { z } from 'zod';
import { durationSeconds } from '../../src/core/config-primitives.js';
import { readDeliveryFeed, writeDeliveryFeed, type DeliveryFeed, type FeedIncident } from '../../src/core/delivery-feed.js';
import { SourceError, type CollectContext } from '../../src/core/source.js';
import type { JiraConfig } from './config.js';
import type { JiraClient } from './jira-client.js';

export const INCIDENT_FIELDS = ['created', 'resolutiondate'] as const;

export interface IncidentQuery {
  name: string;
  jql: string;
  lookbackMs: number;
}

export function incidentQueries(cfg: JiraConfig): IncidentQuery[] {
  return Object.entries(cfg.incidents).map(([name, q]) => {
    const spec = typeof q === 'string' ? { jql: q, lookback: '90d' } : q;
    return { name, jql: spec.jql, lookbackMs: durationSeconds(spec.lookback) * 1000 };
  });
}

/**
 * The query narrowed to incidents created on or after the UTC day of `sinceMs`, a day early: JQL
 * reads a date in the account's time zone, which may be up to 14 hours off UTC.
 */
export function incidentJql(jql: string, sinceMs: number): string {
  const day = new Date(sinceMs - 86_400_000).toISOString().slice(0, 10);
  return `(${jql}) AND created >= "${day}"`;
}

const IncidentIssue = z.looseObject({
  key: z.string().min(1),
  fields: z.looseObject({
    created: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date-time'),
    resolutiondate: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'not a date-time')
      .nullish(),
  }),
});

/** Every incident of the query created at or after `sinceMs`, with its creation and resolution. */
export async function fetchIncidents(ctx: CollectContext, client: JiraClient, q: IncidentQuery, sinceMs: number): Promise<FeedIncident[]> {
  const issues = await client.search(ctx, incidentJql(q.jql, sinceMs), [...INCIDENT_FIELDS]);
  const out: FeedIncident[] = [];
  for (const raw of issues) {
    const r = IncidentIssue.safeParse(raw);
    if (!r.success)
      throw new SourceError(
        'invalid_output',
        `jira: incident query ${q.name}: an issue has an unexpected shape (${z.prettifyError(r.error).replace(/\n/g, '; ')})`,
      );
    const createdMs = Date.parse(r.data.fields.created);
    if (createdMs < sinceMs) continue;
    const resolved = r.data.fields.resolutiondate;
    out.push({ key: r.data.key, createdMs, ...(resolved ? { resolvedMs: Date.parse(resolved) } : {}) });
  }
  return out.sort((a, b) => a.createdMs - b.createdMs || (a.key < b.key ? -1 : 1));
}

/**
 * Run every incident query and publish the `jira` feed in `dir`: a query read now is complete up
 * to `nowMs`, one that failed keeps what the feed had. Returns the failures by query name.
 */
export async function publishIncidents(
  ctx: CollectContext,
  client: JiraClient,
  cfg: JiraConfig,
  dir: string,
  nowMs: number,
): Promise<Array<{ query: string; error: SourceError }>> {
  const previous: DeliveryFeed | undefined = readDeliveryFeed(dir, 'jira');
  const sections: NonNullable<DeliveryFeed['incidents']> = {};
  const errors: Array<{ query: string; error: SourceError }> = [];
  await Promise.all(
    incidentQueries(cfg).map(async (q) => {
      try {
        sections[q.name] = { completeMs: nowMs, items: await fetchIncidents(ctx, client, q, nowMs - q.lookbackMs) };
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        const err = e instanceof SourceError ? e : new SourceError('error', String((e as Error)?.message ?? e));
        errors.push({
          query: q.name,
          error: new SourceError(
            err.reason,
            `jira: incident query ${q.name} (sources.jira.incidents.${q.name}): ${err.message.replace(/^jira: /, '')}`,
            err.status,
          ),
        });
        const kept = previous?.incidents?.[q.name];
        if (kept) sections[q.name] = kept;
      }
    }),
  );
  writeDeliveryFeed(dir, { version: 1, origin: 'jira', incidents: Object.fromEntries(Object.entries(sections).sort(([a], [b]) => (a < b ? -1 : 1))) });
  return errors;
}
