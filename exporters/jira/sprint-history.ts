/**
 * A board's sprint figures, kept incremental. Closed sprints are fetched once into the cache.
 * While the known active sprint is still running, a refresh asks only for its Sprint Report
 * (one request: the running figures and the proof that nothing closed); otherwise it reads the
 * tail of the sprint list (the last known closed sprint and whatever follows it).
 */
import { SourceError, type CollectContext } from '../../src/core/source.js';
import type { JiraIssue, JiraSprint, SprintReport, VelocityChart } from './jira-api.js';
import type { JiraClient } from './jira-client.js';
import type { CachedBoard, SprintCache } from './sprint-cache.js';
import { byCompletion, figuresFromIssues, sprintDates, sprintReportFigures, velocityFigures, type SprintDates, type SprintFigures } from './sprint-figures.js';
import type { PointsField } from './story-points-field.js';

export interface ResolvedBoard {
  id: number;
  /** The `board` label: the name as configured, else as Jira shows it. */
  name: string;
  team: string;
  /** Undefined when neither config, board nor site names a story-points field. */
  pointsField?: PointsField;
  /** Set once the Sprint Report answered 4xx for a running sprint: do not ask again. */
  noSprintReport?: boolean;
}

export interface BoardFigures {
  board: ResolvedBoard;
  /** Every closed sprint of the board known so far, oldest close first. */
  closed: SprintFigures[];
  active: SprintFigures[];
}

/** The closed sprints of a cached board with their figures and dates, oldest close first. */
function closedSprintHistory(board: CachedBoard): SprintFigures[] {
  return Object.values(board.closed).sort(byCompletion);
}

/**
 * Even while the same sprint stays active, re-read the sprint list this often: it is the only
 * place that shows edited sprint dates and sprints started in parallel.
 */
export const RELIST_AFTER_MS = 60 * 60 * 1000;

export interface SyncOptions {
  now: number;
  /** Called when Jira's chart data cannot be read and the issue fallback is used. */
  onFallback?: (what: 'velocity' | 'sprint report', err: SourceError) => void;
  /** Loads the points field's display name when Data Center changelogs need it. */
  fieldName?: (ctx: CollectContext, id: string) => Promise<string | undefined>;
}

/** The greenhopper APIs are undocumented: these statuses mean "not here", so use the fallback. */
const UNAVAILABLE = new Set([400, 403, 404, 410]);
const isUnavailable = (e: unknown): e is SourceError => e instanceof SourceError && e.status !== undefined && UNAVAILABLE.has(e.status);

export async function syncBoard(ctx: CollectContext, client: JiraClient, cache: SprintCache, board: ResolvedBoard, opts: SyncOptions): Promise<BoardFigures> {
  const cached = cache.board(board.id);
  const reports = new Map<number, SprintReport>();

  // Fast path: the sprints that were running are still running.
  let active: SprintDates[] | undefined;
  const known = cached.active ?? [];
  const recent = cached.listedAt !== undefined && opts.now - cached.listedAt < RELIST_AFTER_MS;
  if (recent && known.length > 0 && !board.noSprintReport) {
    // A 404 here may only mean the sprint was deleted: the list below tells, so no verdict yet.
    const got = await Promise.all(known.map((s) => readReport(ctx, client, board, s.id, opts, false)));
    got.forEach((r, i) => r && reports.set(known[i]!.id, r));
    if (got.every((r) => r?.sprint?.state?.toUpperCase() === 'ACTIVE')) active = known;
  }

  if (!active) {
    const listing = await listSprints(ctx, client, board.id, cached);
    const own = listing.sprints.filter((s) => s.originBoardId === undefined || s.originBoardId === board.id);
    const newClosed = own.filter((s) => s.state.toLowerCase() === 'closed' && !cached.closed[String(s.id)]);
    await addClosedSprints(ctx, client, cache, board, newClosed, opts);
    // Only now may the next refresh start after these sprints.
    cache.setListing(board.id, listing.closedListed, listing.anchorId);
    active = own.filter((s) => s.state.toLowerCase() === 'active').map(sprintDates);
    cache.setActive(board.id, active, opts.now);
  }

  const activeFigures = await Promise.all(
    active.map(async (s): Promise<SprintFigures> => {
      const report = reports.get(s.id) ?? (board.noSprintReport ? undefined : await readReport(ctx, client, board, s.id, opts, true));
      if (report) return { ...s, ...sprintReportFigures(report), source: 'sprint_report' };
      return { ...s, ...(await figuresFromSprintIssues(ctx, client, board, s, opts)), source: 'issues' };
    }),
  );
  return { board, closed: closedSprintHistory(cached), active: activeFigures };
}

/**
 * A running sprint's report, or undefined when Jira has none. `conclusive`: the sprint is known
 * to exist and run, so a 4xx means the board has no Sprint Reports: stop asking.
 */
async function readReport(
  ctx: CollectContext,
  client: JiraClient,
  board: ResolvedBoard,
  sprintId: number,
  opts: SyncOptions,
  conclusive: boolean,
): Promise<SprintReport | undefined> {
  try {
    return await client.sprintReport(ctx, board.id, sprintId);
  } catch (e) {
    if (!isUnavailable(e)) throw e;
    if (conclusive) {
      board.noSprintReport = true;
      opts.onFallback?.('sprint report', e);
    }
    return undefined;
  }
}

/**
 * Figures for newly closed sprints, best source first: the velocity chart (exactly Jira's
 * numbers, recent sprints only), the sprint's Sprint Report, then its issues and changelogs.
 */
async function addClosedSprints(
  ctx: CollectContext,
  client: JiraClient,
  cache: SprintCache,
  board: ResolvedBoard,
  sprints: JiraSprint[],
  opts: SyncOptions,
): Promise<void> {
  if (sprints.length === 0) return;
  let velocity: VelocityChart | undefined;
  try {
    velocity = await client.velocity(ctx, board.id);
  } catch (e) {
    if (!isUnavailable(e)) throw e;
    opts.onFallback?.('velocity', e);
  }
  // All sprints settle before anything is thrown, so the ones that worked are cached.
  const results = await Promise.allSettled(
    sprints.map(async (s) => {
      const dates = sprintDates(s);
      const v = velocity && velocityFigures(velocity, s.id);
      let figures: SprintFigures | undefined = v && { ...dates, ...v, source: 'velocity' };
      if (!figures && !board.noSprintReport) {
        const report = await readReport(ctx, client, board, s.id, opts, false);
        if (report) figures = { ...dates, ...sprintReportFigures(report), source: 'sprint_report' };
      }
      figures ??= { ...dates, ...(await figuresFromSprintIssues(ctx, client, board, dates, opts)), source: 'issues' };
      cache.addClosed(board.id, figures);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function figuresFromSprintIssues(ctx: CollectContext, client: JiraClient, board: ResolvedBoard, s: SprintDates, opts: SyncOptions) {
  const field = await pointsField(ctx, board, opts);
  const issues: JiraIssue[] = await client.sprintIssues(ctx, s.id, ['status', 'created', 'sprint', 'closedSprints', field.id], true);
  await client.completeChangelogs(ctx, issues);
  return figuresFromIssues(issues, s, field);
}

interface Listing {
  sprints: JiraSprint[];
  closedListed: number;
  anchorId: number | undefined;
}

async function listSprints(ctx: CollectContext, client: JiraClient, boardId: number, cached: CachedBoard): Promise<Listing> {
  if (cached.closedListed > 0 && cached.anchorId !== undefined) {
    const tail = await client.sprints(ctx, boardId, cached.closedListed - 1);
    // The anchor must still sit where we left it; otherwise sprints were deleted or reordered.
    if (tail[0]?.id === cached.anchorId && tail[0].state.toLowerCase() === 'closed') {
      const rest = tail.slice(1);
      const closed = rest.filter((s) => s.state.toLowerCase() === 'closed');
      return { sprints: rest, closedListed: cached.closedListed + closed.length, anchorId: closed.at(-1)?.id ?? cached.anchorId };
    }
  }
  const all = await client.sprints(ctx, boardId, 0);
  const closed = all.filter((s) => s.state.toLowerCase() === 'closed');
  return { sprints: all, closedListed: closed.length, anchorId: closed.at(-1)?.id };
}

async function pointsField(ctx: CollectContext, board: ResolvedBoard, opts: SyncOptions): Promise<PointsField> {
  const field = board.pointsField;
  if (!field)
    throw new SourceError(
      'error',
      `jira: board "${board.name}" has no story-points field (its estimation is not a field and none was found in /field); set story_points_field on the board in sources.jira.boards`,
    );
  if (!field.name && opts.fieldName) return { ...field, name: await opts.fieldName(ctx, field.id) };
  return field;
}
