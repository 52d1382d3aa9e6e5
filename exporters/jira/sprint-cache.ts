/**
 * Closed sprints never change, so their figures are computed once and kept in a JSON file in
 * the state directory: a restart does not refetch them, and the cumulative counters (sums over
 * every closed sprint the board ever had) survive restarts without resetting.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { schemaProblem } from '../../src/core/schema-problem.js';
import { writeJsonFileAtomic } from '../../src/core/state-file.js';
import type { SprintDates, SprintFigures } from './sprint-figures.js';

export const CACHE_FILE = 'jira-sprints.json';
const VERSION = 1;

const seconds = z.number().optional();
const SprintFiguresSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  state: z.string(),
  startTime: seconds,
  endTime: seconds,
  completeTime: seconds,
  committed: z.number(),
  completed: z.number(),
  source: z.enum(['velocity', 'sprint_report', 'issues']),
});

const CachedBoardSchema = z.object({
  /**
   * How many closed sprints the board's sprint list held (including other boards' sprints it
   * shows), and the id of the last one: the next refresh asks only for the list's tail.
   */
  closedListed: z.number().int().nonnegative(),
  anchorId: z.number().int().optional(),
  /** Figures of the board's own closed sprints, by sprint id. */
  closed: z.record(z.string(), SprintFiguresSchema),
  /** The board's active sprints at the last read of its sprint list, and when that was (Unix ms). */
  active: z.array(SprintFiguresSchema.omit({ committed: true, completed: true, source: true })).optional(),
  listedAt: z.number().optional(),
});
export type CachedBoard = z.infer<typeof CachedBoardSchema>;

/** The file is a cache, but the counters are sums over it: it is read through a schema, never trusted by cast. */
const CacheFileSchema = z.object({
  version: z.literal(VERSION),
  /** Sprint ids are per site: a cache made for another Jira is ignored. */
  url: z.string(),
  boards: z.record(z.string(), CachedBoardSchema),
});
type CacheFile = z.infer<typeof CacheFileSchema>;

/** Just enough to tell a cache of another site or version from a damaged one. */
const CacheHeaderSchema = z.looseObject({ version: z.unknown(), url: z.unknown() });

export class SprintCache {
  private dirty = false;

  private constructor(
    private readonly file: string,
    private readonly data: CacheFile,
  ) {}

  static load(stateDir: string, url: string, logger: Logger): SprintCache {
    const file = join(stateDir, CACHE_FILE);
    const empty: CacheFile = { version: VERSION, url, boards: {} };
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return new SprintCache(file, empty);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      logger.warn({ file }, 'jira sprint cache is unreadable; starting afresh (closed sprints will be fetched again)');
      return new SprintCache(file, empty);
    }
    const header = CacheHeaderSchema.safeParse(json);
    if (header.success && (header.data.version !== VERSION || header.data.url !== url)) {
      logger.info({ file }, 'jira sprint cache is for another site or version; starting afresh');
      return new SprintCache(file, empty);
    }
    const parsed = CacheFileSchema.safeParse(json);
    if (!parsed.success) {
      logger.warn({ file, err: schemaProblem(parsed.error) }, 'jira sprint cache is not valid; starting afresh (closed sprints will be fetched again)');
      return new SprintCache(file, empty);
    }
    return new SprintCache(file, parsed.data);
  }

  board(boardId: number): CachedBoard {
    const key = String(boardId);
    this.data.boards[key] ??= { closedListed: 0, closed: {} };
    return this.data.boards[key];
  }

  addClosed(boardId: number, figures: SprintFigures): void {
    this.board(boardId).closed[String(figures.id)] = figures;
    this.dirty = true;
  }

  setListing(boardId: number, closedListed: number, anchorId: number | undefined): void {
    const b = this.board(boardId);
    if (b.closedListed === closedListed && b.anchorId === anchorId) return;
    b.closedListed = closedListed;
    b.anchorId = anchorId;
    this.dirty = true;
  }

  setActive(boardId: number, active: SprintDates[], listedAt: number): void {
    const b = this.board(boardId);
    b.active = active;
    b.listedAt = listedAt;
    this.dirty = true;
  }

  /** Write the file if anything changed. */
  save(): void {
    if (!this.dirty) return;
    writeJsonFileAtomic(this.file, this.data, 2);
    this.dirty = false;
  }
}
