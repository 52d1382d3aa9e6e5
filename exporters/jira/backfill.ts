/**
 * Jira history: closed sprints at the instants they closed (their points and dates, and the
 * cumulative `_total` counters), and each named JQL query per period, counting the issues
 * the query matches whose date (the field the query compares with {{period_start}}) is
 * at or before each instant. The series are rendered by the live collector's own
 * renderJiraSnapshot, so names and labels are the live ones.
 *
 * Incident queries (sources.jira.incidents) are published as the `jira` delivery feed for the
 * delivery source's backfill: the incidents created since a window before the range, complete up
 * to its end.
 *
 * Not backfilled: the running figures of sprints that were active at an instant (Jira keeps no
 * history of "completed so far"); the KR measures read closed sprints only.
 */
import { SourceError, type Snapshot } from '../../src/core/source.js';
import { JiraCollector } from './jira-collector.js';
import { renderJiraSnapshot, type QueryResult } from './jira-metrics.js';
import { jqlQuery, type JiraConfig } from './config.js';
import { fillJqlPlaceholders, periodJqlDates } from './jql-period.js';
import { roundPoints } from './sprint-figures.js';
import type { BoardFigures } from './sprint-history.js';
import { pointsOf } from './story-points-field.js';
import { localDate, nextPeriod, periodContaining } from '../../src/core/periods.js';
import type { BackfillContext } from '../../src/core/source.js';
import { writeDeliveryFeed, type FeedIncident } from '../../src/core/delivery-feed.js';

/** JQL date fields → the issue field holding them (JQL aliases included). */
const JQL_DATE_FIELDS: Record<string, string> = {
  created: 'created',
  createddate: 'created',
  resolved: 'resolutiondate',
  resolutiondate: 'resolutiondate',
  updated: 'updated',
  updateddate: 'updated',
  due: 'duedate',
  duedate: 'duedate',
  statuscategorychangeddate: 'statuscategorychangedate',
};

/**
 * The issue field a query dates its issues by: the field compared with {{period_start}}
 * (`resolved >= "{{period_start}}"` → resolutiondate), else `created`.
 */
export function queryDateField(jql: string): string {
  const m = /([A-Za-z]+)\s*>=?\s*"?\{\{\s*period_start\s*\}\}/.exec(jql);
  return (m && JQL_DATE_FIELDS[m[1]!.toLowerCase()]) || 'created';
}

interface DatedIssue {
  atMs: number;
  points: number;
}

interface QueryHistory {
  name: string;
  /** Per period start (ms): its end and the issues, oldest first. */
  periods: Array<{ start: number; end: number; issues: DatedIssue[] }>;
  hasPoints: boolean;
}

export async function backfillJira(b: BackfillContext<JiraConfig>): Promise<void> {
  const { settings, timeline: tl, collect: ctx, progress } = b;
  const cal = b.calendar;
  const { firstMs, lastMs } = tl.grid;

  // One live collection syncs every board's closed sprints into a sprint cache kept under the
  // backfill's own state directory: after an outage, a rerun fetches only what is missing.
  const collector = new JiraCollector(b);
  const queries = Object.entries(settings.queries);
  progress.setTotal(1 + queries.length);
  try {
    await collector.collect(ctx);
  } finally {
    await collector.close();
  }
  const { boards, errors } = collector.history();
  const boardErrors = errors.filter((e) => !/ query /.test(` ${e.message}`));
  if (boardErrors.length > 0)
    throw new SourceError(
      boardErrors[0]!.reason,
      `jira: ${boardErrors.length} board(s) could not be read: ${boardErrors.map((e) => e.message.replace(/^jira: /, '')).join('; ')}`,
      boardErrors[0]!.status,
    );
  progress.advance(1);

  const histories: QueryHistory[] = [];
  for (const [name, q] of queries) {
    const spec = jqlQuery(q);
    const dateField = queryDateField(spec.jql);
    const h: QueryHistory = { name, periods: [], hasPoints: false };
    for (let p = periodContaining(spec.period, firstMs, cal); p.start <= lastMs; p = nextPeriod(p, cal)) {
      const jql = fillJqlPlaceholders(spec.jql, periodJqlDates(p, cal));
      let got;
      try {
        got = await collector.searchWithPoints(ctx, jql, [dateField]);
      } catch (e) {
        if (e instanceof SourceError)
          throw new SourceError(e.reason, `jira: query ${name} (sources.jira.queries.${name}) for ${localDate(p.start, cal.timezone)}: ${e.message}`, e.status);
        throw e;
      }
      h.hasPoints = got.pointsField !== undefined;
      const issues = got.issues
        .map((i) => {
          const raw = i.fields[dateField];
          const d = typeof raw === 'string' ? Date.parse(raw) : NaN;
          // An issue without the date still matched the query: count it from the period start.
          return { atMs: Number.isNaN(d) ? p.start : d, points: got.pointsField ? pointsOf(i.fields, got.pointsField.id) : 0 };
        })
        .sort((a, b) => a.atMs - b.atMs);
      h.periods.push({ start: p.start, end: p.end, issues });
    }
    histories.push(h);
    progress.advance(1);
  }

  // The snapshot changes only when a sprint closes, an issue's date passes or a period turns.
  const changes: number[] = [];
  for (const b of boards) for (const s of b.closed) if (s.completeTime !== undefined) changes.push(s.completeTime * 1000);
  for (const h of histories)
    for (const p of h.periods) {
      changes.push(p.start);
      for (const i of p.issues) changes.push(i.atMs);
    }
  tl.holdFromChanges(changes, (t) => jiraSnapshotAt(t, boards, histories, settings.closed_sprints));

  if (Object.keys(settings.incidents).length > 0 && b.feedDirs?.[0] !== undefined) {
    let incidents: Record<string, FeedIncident[]>;
    try {
      incidents = await collector.incidentHistory(ctx, b.range.fromMs - INCIDENT_CONTEXT_MS);
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.reason, `jira: incidents: ${e.message}`, e.status);
      throw e;
    }
    const completeMs = b.range.toMs;
    writeDeliveryFeed(b.feedDirs[0], {
      version: 1,
      origin: 'jira',
      incidents: Object.fromEntries(
        Object.entries(incidents).map(([name, items]) => [name, { completeMs, items: items.filter((i) => i.createdMs < completeMs) }]),
      ),
    });
  }
}

/** Incidents opened this long before the range are read too: a deployment's window may span its start. */
const INCIDENT_CONTEXT_MS = 30 * 86_400_000;

/** What the live collector would have served at `t`: sprints closed by then, query counts of t's period. */
function jiraSnapshotAt(t: number, boards: BoardFigures[], histories: QueryHistory[], closedSprints: number): Snapshot {
  const asOf = boards.map((b) => ({ board: b.board, closed: b.closed.filter((s) => s.completeTime !== undefined && s.completeTime * 1000 <= t), active: [] }));
  const queries: QueryResult[] = [];
  for (const h of histories) {
    const p = h.periods.find((x) => x.start <= t && t < x.end);
    if (!p) continue;
    let issues = 0;
    let points = 0;
    for (const i of p.issues) {
      if (i.atMs > t) break;
      issues++;
      points += i.points;
    }
    queries.push({ name: h.name, issues, points: h.hasPoints ? roundPoints(points) : undefined });
  }
  return renderJiraSnapshot(asOf, queries, closedSprints);
}
