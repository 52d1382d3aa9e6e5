/**
 * A board's sprint figures, kept incremental: closed sprints are fetched once into the cache,
 * and a refresh asks only for the tail of the sprint list (the last known closed sprint plus
 * whatever follows it: newly closed sprints and the active ones).
 */
import { SourceError, type CollectContext } from '../collector.js';
import type { JiraIssue, JiraSprint, VelocityChart } from './jira-api.js';
import type { JiraClient } from './jira-client.js';
import type { CachedBoard, SprintCache } from './sprint-cache.js';
import { byCompletion, figuresFromIssues, sprintDates, velocityFigures, type SprintFigures } from './sprint-figures.js';
import type { PointsField } from './story-points-field.js';

export interface ResolvedBoard {
  id: number;
  /** The `board` label: the name as configured, else as Jira shows it. */
  name: string;
  team: string;
  /** Undefined when neither config, board nor site names a story-points field. */
  pointsField?: PointsField;
}

export interface BoardFigures {
  board: ResolvedBoard;
  /** Every closed sprint of the board known so far, oldest close first. */
  closed: SprintFigures[];
  active: SprintFigures[];
}

/** The closed sprints of a cached board with their figures and dates, oldest close first. */
export function closedSprintHistory(board: CachedBoard): SprintFigures[] {
  return Object.values(board.closed).sort(byCompletion);
}

export interface SyncOptions {
  /** Called once per refresh when the velocity chart cannot be read and the fallback is used. */
  onVelocityUnavailable?: (err: SourceError) => void;
  /** Loads the points field's display name when Data Center changelogs need it. */
  fieldName?: (ctx: CollectContext, id: string) => Promise<string | undefined>;
}

/** Velocity data is an undocumented API: these statuses mean "not here", so use the fallback. */
const VELOCITY_UNAVAILABLE = new Set([400, 403, 404, 410]);

export async function syncBoard(
  ctx: CollectContext,
  client: JiraClient,
  cache: SprintCache,
  board: ResolvedBoard,
  opts: SyncOptions = {},
): Promise<BoardFigures> {
  const cached = cache.board(board.id);
  const listing = await listSprints(ctx, client, board.id, cached);
  const own = listing.sprints.filter((s) => s.originBoardId === undefined || s.originBoardId === board.id);
  const newClosed = own.filter((s) => s.state.toLowerCase() === 'closed' && !cached.closed[String(s.id)]);
  const active = own.filter((s) => s.state.toLowerCase() === 'active');

  let velocity: VelocityChart | undefined;
  if (newClosed.length > 0) {
    try {
      velocity = await client.velocity(ctx, board.id);
    } catch (e) {
      if (!(e instanceof SourceError) || e.status === undefined || !VELOCITY_UNAVAILABLE.has(e.status)) throw e;
      opts.onVelocityUnavailable?.(e);
    }
  }

  const fromIssues = async (s: JiraSprint): Promise<SprintFigures> => {
    const dates = sprintDates(s);
    const field = await pointsField(ctx, client, board, opts);
    const issues: JiraIssue[] = await client.sprintIssues(ctx, s.id, issueFields(field), true);
    return { ...dates, ...figuresFromIssues(issues, dates, field), source: 'issues' };
  };

  // All sprints settle before anything is thrown, so the ones that worked are cached.
  const closedResults = await Promise.allSettled(
    newClosed.map(async (s) => {
      const v = velocity && velocityFigures(velocity, s.id);
      const figures: SprintFigures = v ? { ...sprintDates(s), ...v, source: 'velocity' } : await fromIssues(s);
      cache.addClosed(board.id, figures);
    }),
  );
  const failed = closedResults.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  // Only now may the next refresh start after these sprints.
  cache.setListing(board.id, listing.closedListed, listing.anchorId);

  const activeFigures = await Promise.all(active.map(fromIssues));
  return { board, closed: closedSprintHistory(cached), active: activeFigures };
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

async function pointsField(ctx: CollectContext, _client: JiraClient, board: ResolvedBoard, opts: SyncOptions): Promise<PointsField> {
  const field = board.pointsField;
  if (!field)
    throw new SourceError(
      'error',
      `jira: board "${board.name}" has no story-points field (its estimation is not a field and none was found in /field); set story_points_field on the board in sources.jira.boards`,
    );
  if (!field.name && opts.fieldName) return { ...field, name: await opts.fieldName(ctx, field.id) };
  return field;
}

function issueFields(field: PointsField): string[] {
  return ['status', 'created', 'sprint', 'closedSprints', field.id];
}
