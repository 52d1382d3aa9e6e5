/**
 * The Jira collector: resolves the configured boards, keeps their sprint figures incremental
 * (sprint-history), runs the named JQL queries for the current period, and returns the whole
 * snapshot. One bad board or query is logged and skipped (keeping its last good figures);
 * only refused credentials, or nothing collected at all, fail the collection.
 */
import type { Teams } from '../../src/core/teams.js';
import type { Calendar } from '../../src/core/periods.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { SourceError, type CollectContext, type Collector, type Snapshot, type SourceDeps } from '../../src/core/source.js';
import type { Clock } from '../../src/core/clock.js';
import { HeldBackError, HttpClient, requestBudget, type HttpAuth } from '../../src/core/http-client.js';
import { durationSeconds } from '../../src/core/config-primitives.js';
import { JIRA_DEFAULT_INTERVAL, jqlQuery, type JiraConfig, type JqlQuery } from './config.js';
import type { JiraField, SearchIssue } from './jira-api.js';
import { JiraClient } from './jira-client.js';
import { renderJiraSnapshot, type QueryResult } from './jira-metrics.js';
import { currentPeriodDates, fillJqlPlaceholders } from './jql-period.js';
import { roundPoints } from './sprint-figures.js';
import { SprintCache } from './sprint-cache.js';
import { syncBoard, type BoardFigures, type ResolvedBoard } from './sprint-history.js';
import { boardEstimationField, configuredField, discoverPointsField, pointsOf, type PointsField } from './story-points-field.js';
import { fetchIncidents, incidentQueries, publishIncidents } from './incidents.js';
import type { FeedIncident } from '../../src/core/delivery-feed.js';

/** A board as configured: by id, by name, or both; merged from sources.jira.boards and teams. */
export interface BoardSpec {
  id?: number;
  name?: string;
  team: string;
  storyPointsField?: string;
}

export interface JiraCollectorOptions {
  /** Passed to the HttpClient (tests make retries instant). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  maxRetries?: number;
}

/** The team whose teams.<team>.jira_boards names the board by id or by name; '' if none. */
function teamOf(teams: Teams, ref: { id?: number; name?: string }): string {
  for (const [team, t] of Object.entries(teams)) {
    if (t.jira_boards.some((b) => (ref.name !== undefined && String(b) === ref.name) || (ref.id !== undefined && String(b) === String(ref.id)))) return team;
  }
  return '';
}

/** Boards from sources.jira.boards plus those only named in teams.<team>.jira_boards. */
export function boardSpecs(jira: JiraConfig, teams: Teams): BoardSpec[] {
  const cfg = { teams };
  const specs: BoardSpec[] = jira.boards.map((b) => {
    const ref = typeof b === 'number' ? { id: b } : { id: b.id, name: b.name };
    const team = typeof b === 'number' ? teamOf(cfg.teams, ref) : (b.team ?? teamOf(cfg.teams, ref));
    return { ...ref, team, storyPointsField: typeof b === 'number' ? undefined : b.story_points_field };
  });
  const known = (v: string) => specs.some((s) => s.name === v || (s.id !== undefined && String(s.id) === v));
  for (const [team, t] of Object.entries(cfg.teams)) {
    for (const b of t.jira_boards) {
      const v = String(b);
      if (known(v)) continue;
      specs.push(typeof b === 'number' || /^\d+$/.test(v) ? { id: Number(v), team } : { name: v, team });
    }
  }
  return specs;
}

const specKey = (s: BoardSpec) => (s.name !== undefined ? `"${s.name}"` : `${s.id}`);

export class JiraCollector implements Collector {
  readonly source = 'jira' as const;
  private readonly client: JiraClient;
  private readonly cache: SprintCache;
  private readonly settings: JiraConfig;
  private readonly specs: BoardSpec[];
  private readonly resolved = new Map<BoardSpec, ResolvedBoard | 'no-sprints'>();
  private readonly lastBoards = new Map<BoardSpec, BoardFigures>();
  private readonly lastQueries = new Map<string, QueryResult>();
  private readonly warned = new Map<string, string>();
  private siteFields: Promise<JiraField[]> | undefined;
  /** What the last collect() skipped (read by the backfill, which must not skip silently). */
  private lastErrors: SourceError[] = [];
  private queryField: Promise<PointsField | undefined> | undefined;
  /** Under a request budget boards and queries run one at a time, the longest not refreshed first. */
  private readonly budgeted: boolean;
  /** When (clock ms) each board or query (by its warning key) last succeeded. */
  private readonly okAt = new Map<string, number>();
  /** Whether the last refresh had boards or queries held back by the rate limit (logged once per streak). */
  private heldBackStreak = false;

  private readonly teams: Teams;
  private readonly calendar: Calendar;
  /** Where the incidents feed is published (server.state_dir). */
  private readonly stateDir: string;
  /** Decides the current period of the JQL queries and which sprints count as closed. */
  private readonly clock: Clock;

  constructor(deps: SourceDeps<JiraConfig>, opts: JiraCollectorOptions = {}) {
    const { logger, stateDir } = deps;
    this.teams = deps.teams;
    this.calendar = deps.calendar;
    this.stateDir = stateDir;
    this.clock = deps.clock;
    const s = deps.settings;
    this.settings = s;
    this.specs = boardSpecs(s, deps.teams);
    const secretCtx = { env: deps.env, baseDir: deps.baseDir };
    let auth: HttpAuth;
    let credentialSetting: string;
    if (s.flavor === 'cloud') {
      credentialSetting = s.api_token_file ? 'sources.jira.api_token_file (with sources.jira.email)' : 'sources.jira.api_token (with sources.jira.email)';
      auth = { type: 'basic', username: s.email!, password: resolveSecret(s, 'api_token', secretCtx)! };
    } else {
      credentialSetting = s.personal_access_token_file ? 'sources.jira.personal_access_token_file' : 'sources.jira.personal_access_token';
      auth = { type: 'bearer', token: resolveSecret(s, 'personal_access_token', secretCtx)! };
    }
    const budget = requestBudget(s.max_requests_per_hour, durationSeconds(s.refresh_interval ?? JIRA_DEFAULT_INTERVAL));
    this.budgeted = budget !== undefined;
    const http = new HttpClient({
      source: 'jira',
      baseUrl: s.url,
      auth,
      credentialSetting,
      budget,
      budgetSetting: 'sources.jira.max_requests_per_hour',
      maxConcurrency: s.max_concurrency,
      maxRetries: opts.maxRetries,
      sleep: opts.sleep,
      random: opts.random,
      clock: deps.clock,
    });
    this.client = new JiraClient(http, s.flavor);
    this.cache = SprintCache.load(stateDir, s.url, logger);
  }

  async collect(ctx: CollectContext): Promise<Snapshot> {
    const errors: SourceError[] = [];
    const heldBack: HeldBackError[] = [];
    let successes = 0;
    const fail = (key: string, e: unknown): void => {
      const err = e instanceof SourceError ? e : new SourceError('error', `jira: ${String((e as Error)?.message ?? e)}`);
      errors.push(err);
      // Held back by the rate limit: said once for all of them, not once per board.
      if (err instanceof HeldBackError) heldBack.push(err);
      else this.warnOnce(ctx, key, err.message);
    };
    /**
     * One board or query: a success is remembered and clears its warning; a failure is logged
     * once and its last good result kept, unless `skipped` says it is no failure at all.
     */
    const attempt = async <K, V>(key: string, last: Map<K, V>, id: K, run: () => Promise<V>, skipped?: (e: unknown) => boolean): Promise<V | undefined> => {
      try {
        const result = await run();
        last.set(id, result);
        this.warned.delete(key);
        this.okAt.set(key, this.clock.now());
        successes++;
        return result;
      } catch (e) {
        // A timeout or shutdown ends the whole collection; the runner reports it.
        if (ctx.signal.aborted) throw e;
        if (skipped?.(e)) return undefined;
        fail(key, e);
        return last.get(id);
      }
    };

    // Resolve first (once per process per board), so a board configured twice, by name and by
    // id, is synced once, and two boards sharing a label never produce clashing series.
    const resolved = await Promise.all(
      this.specs.map(async (spec) => {
        try {
          return { spec, board: await this.resolve(ctx, spec) };
        } catch (e) {
          if (ctx.signal.aborted) throw e;
          fail(`board ${specKey(spec)}`, e);
          return { spec, board: undefined };
        }
      }),
    );
    const toSync: Array<{ spec: BoardSpec; board: ResolvedBoard }> = [];
    const previous: BoardFigures[] = [];
    const byName = new Map<string, number>();
    for (const { spec, board } of resolved) {
      if (board === undefined) {
        const last = this.lastBoards.get(spec);
        if (last) previous.push(last);
        continue;
      }
      if (board === 'no-sprints' || toSync.some((b) => b.board.id === board.id)) continue;
      const clash = byName.get(board.name);
      if (clash !== undefined) {
        this.warnOnce(
          ctx,
          `board ${specKey(spec)}`,
          `jira: boards ${clash} and ${board.id} are both labelled "${board.name}"; only ${clash} is exported (give the other a distinct name in sources.jira.boards)`,
        );
        continue;
      }
      byName.set(board.name, board.id);
      toSync.push({ spec, board });
    }

    const syncJob = ({ spec, board }: { spec: BoardSpec; board: ResolvedBoard }) => {
      const key = `board ${specKey(spec)}`;
      return {
        key,
        run: () =>
          attempt(
            key,
            this.lastBoards,
            spec,
            () =>
              syncBoard(ctx, this.client, this.cache, board, {
                now: this.clock.now(),
                onFallback: (what, e) =>
                  this.warnOnce(
                    ctx,
                    `${key} ${what}`,
                    `jira: ${what} data unavailable for board "${board.name}" (${e.message}); computing figures from sprint issues`,
                  ),
                fieldName: async (c, id) => (await this.fields(c)).find((f) => f.id === id)?.name,
              }),
            (e) => {
              if (!(e instanceof SourceError && e.status === 400 && /does not support sprints/i.test(e.message))) return false;
              // Kanban, or a team-managed board with sprints switched off: skip it for good.
              this.resolved.set(spec, 'no-sprints');
              this.warnOnce(
                ctx,
                key,
                `jira: board ${specKey(spec)} does not support sprints (kanban, or sprints switched off); skipped (remove it from sources.jira.boards)`,
              );
              return true;
            },
          ),
      };
    };
    const queryJob = ([name, q]: [string, JiraConfig['queries'][string]]) => {
      const key = `query ${name}`;
      return { key, run: () => attempt(key, this.lastQueries, name, () => this.runQuery(ctx, name, jqlQuery(q))) };
    };
    const boardJobs = toSync.map(syncJob);
    const queryJobs = Object.entries(this.settings.queries).map(queryJob);
    let synced: Array<BoardFigures | undefined>;
    let queries: Array<QueryResult | undefined>;
    if (this.budgeted) {
      // One at a time, the longest not refreshed first: the budget then runs out between
      // boards, and what it did not reach this time goes first next time.
      const since = (j: { key: string }) => this.okAt.get(j.key) ?? Number.NEGATIVE_INFINITY;
      const order = [...boardJobs.map((j, i) => ({ j, i, board: true })), ...queryJobs.map((j, i) => ({ j, i, board: false }))].sort(
        (a, b) => since(a.j) - since(b.j),
      );
      synced = new Array<BoardFigures | undefined>(boardJobs.length);
      queries = new Array<QueryResult | undefined>(queryJobs.length);
      for (const { j, i, board } of order) {
        const r = await j.run();
        if (board) synced[i] = r as BoardFigures | undefined;
        else queries[i] = r as QueryResult | undefined;
      }
    } else {
      synced = await Promise.all(boardJobs.map((j) => j.run()));
      queries = await Promise.all(queryJobs.map((j) => j.run()));
    }
    const boards = [...synced, ...previous];
    this.logHeldBack(ctx, heldBack);

    if (Object.keys(this.settings.incidents).length > 0) {
      const incidentErrors = await publishIncidents(ctx, this.client, this.settings, this.stateDir, this.clock.now());
      for (const { query, error } of incidentErrors) fail(`incidents ${query}`, error);
      for (const name of Object.keys(this.settings.incidents)) if (!incidentErrors.some((e) => e.query === name)) this.warned.delete(`incidents ${name}`);
      if (incidentErrors.length < Object.keys(this.settings.incidents).length) successes++;
    }

    this.cache.save();
    this.lastErrors = errors;
    // Refused credentials fail everything alike: say so once, as the source's error.
    const auth = errors.find((e) => e.status === 401);
    if (auth) throw auth;
    if (successes === 0 && errors.length > 0) throw errors[0]!;
    return renderJiraSnapshot(
      boards.filter((b): b is BoardFigures => b !== undefined),
      queries.filter((q): q is QueryResult => q !== undefined),
      this.settings.closed_sprints,
    );
  }

  async close(): Promise<void> {
    this.cache.save();
  }

  /**
   * For the backfill: every closed sprint of each board synced by the last collect() (the cache
   * keeps them all, not only the last closed_sprints), and what that collect() skipped.
   */
  history(): { boards: BoardFigures[]; errors: SourceError[] } {
    return { boards: [...this.lastBoards.values()], errors: [...this.lastErrors] };
  }

  /** For the backfill: every incident of each incident query created at or after `sinceMs`. */
  async incidentHistory(ctx: CollectContext, sinceMs: number): Promise<Record<string, FeedIncident[]>> {
    const out: Record<string, FeedIncident[]> = {};
    for (const q of incidentQueries(this.settings)) out[q.name] = await fetchIncidents(ctx, this.client, q, sinceMs);
    return out;
  }

  /** For the backfill: issues matching `jql` with `fields` plus the query points field, if any. */
  async searchWithPoints(ctx: CollectContext, jql: string, fields: string[]): Promise<{ issues: SearchIssue[]; pointsField?: PointsField }> {
    const pointsField = await this.pointsFieldForQueries(ctx);
    const issues = await this.client.search(ctx, jql, pointsField ? [...fields, pointsField.id] : fields);
    return { issues, pointsField };
  }

  private logHeldBack(ctx: CollectContext, heldBack: HeldBackError[]): void {
    const streak = heldBack.length > 0;
    if (streak && !this.heldBackStreak)
      ctx.logger.warn(
        { held_back: heldBack.length, err: heldBack[0]!.message },
        'jira: the rate limit held some boards or queries back; they keep their last figures and are read first next refresh',
      );
    else if (!streak && this.heldBackStreak) ctx.logger.info('jira: nothing is held back by the rate limit any more');
    this.heldBackStreak = streak;
  }

  private warnOnce(ctx: CollectContext, key: string, message: string): void {
    if (this.warned.get(key) === message) return;
    this.warned.set(key, message);
    ctx.logger.warn(message);
  }

  private fields(ctx: CollectContext): Promise<JiraField[]> {
    this.siteFields ??= this.client.fields(ctx).catch((e: unknown) => {
      this.siteFields = undefined;
      throw e;
    });
    return this.siteFields;
  }

  private async resolve(ctx: CollectContext, spec: BoardSpec): Promise<ResolvedBoard | 'no-sprints'> {
    const known = this.resolved.get(spec);
    if (known) return known;
    let id = spec.id;
    if (id === undefined) {
      const name = spec.name!;
      const found = await this.client.boardsNamed(ctx, name);
      const exact = found.filter((b) => b.name === name);
      const matches = exact.length > 0 ? exact : found.filter((b) => b.name.toLowerCase() === name.toLowerCase());
      if (matches.length === 0)
        throw new SourceError('not_found', `jira: board "${name}" (sources.jira.boards) was not found, or the account may not see it`, 404);
      if (matches.length > 1)
        throw new SourceError(
          'error',
          `jira: several boards are named "${name}" (ids ${matches.map((b) => b.id).join(', ')}); configure the board by id in sources.jira.boards`,
        );
      id = matches[0]!.id;
    }
    let conf;
    try {
      conf = await this.client.boardConfiguration(ctx, id);
    } catch (e) {
      if (e instanceof SourceError && e.status === 404)
        throw new SourceError('not_found', `jira: board ${specKey(spec)} (id ${id}, sources.jira.boards) was not found, or the account may not see it`, 404);
      throw e;
    }
    const name = spec.name ?? conf.name;
    // Team-managed boards ("simple") may or may not have sprints: the sprint list tells.
    if (conf.type === 'kanban') {
      this.warnOnce(
        ctx,
        `board ${specKey(spec)}`,
        `jira: board "${name}" (id ${id}) is a kanban board and does not support sprints; skipped (remove it from sources.jira.boards)`,
      );
      this.resolved.set(spec, 'no-sprints');
      return 'no-sprints';
    }
    const est = conf.estimation;
    if (est?.type !== 'field' || !est.field?.fieldId?.startsWith('customfield_'))
      // Jira's chart data is in the board's own statistic (issue count, time in seconds...).
      this.warnOnce(
        ctx,
        `board ${specKey(spec)} estimation`,
        `jira: board "${name}" (id ${id}) does not estimate in a story-points field (estimation: ${est?.type ?? 'unknown'}${est?.field?.fieldId ? ` ${est.field.fieldId}` : ''}); its velocity-chart figures are in that statistic. Set the board's estimation to story points in Jira`,
      );
    const override = spec.storyPointsField ?? this.settings.story_points_field;
    const pointsField = override ? configuredField(override) : (boardEstimationField(conf) ?? discoverPointsField(await this.fields(ctx)));
    // A board configured by id alone may still be named by a team's jira_boards.
    const board: ResolvedBoard = { id, name, team: spec.team || teamOf(this.teams, { name: conf.name }), pointsField };
    this.resolved.set(spec, board);
    return board;
  }

  private async runQuery(ctx: CollectContext, name: string, q: JqlQuery): Promise<QueryResult> {
    const dates = currentPeriodDates(q.period, new Date(this.clock.now()), this.calendar);
    const jql = fillJqlPlaceholders(q.jql, dates);
    const field = await this.pointsFieldForQueries(ctx);
    try {
      const issues = await this.client.search(ctx, jql, field ? [field.id] : []);
      const points = field ? roundPoints(issues.reduce((acc, i) => acc + pointsOf(i.fields ?? {}, field.id), 0)) : undefined;
      return { name, issues: issues.length, points };
    } catch (e) {
      if (e instanceof SourceError && e.status === 410)
        throw new SourceError('not_found', `jira: query ${name}: ${e.message}; this looks like Jira Cloud, set sources.jira.flavor: cloud`, 410);
      if (e instanceof SourceError && e.status === 400)
        throw new SourceError('http', `jira: query ${name} (sources.jira.queries.${name}) was rejected: ${e.message}`, 400);
      throw e;
    }
  }

  private pointsFieldForQueries(ctx: CollectContext): Promise<PointsField | undefined> {
    const override = this.settings.story_points_field;
    if (override) return Promise.resolve(configuredField(override));
    this.queryField ??= this.fields(ctx)
      .then((fields) => {
        const f = discoverPointsField(fields);
        if (!f)
          this.warnOnce(
            ctx,
            'query field',
            'jira: no story-points field found in /field; jira_query_story_points is not exported (set sources.jira.story_points_field)',
          );
        return f;
      })
      .catch((e: unknown) => {
        this.queryField = undefined;
        throw e;
      });
    return this.queryField;
  }
}
