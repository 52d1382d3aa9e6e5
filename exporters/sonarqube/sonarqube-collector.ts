/**
 * SonarQube collector: for each project (listed, or all the token may browse), the current
 * measures and quality gate of one branch (default: the main branch), as ratios and counts.
 * Measures change with an analysis. With `projects: all` the Projects page's search lists 500
 * projects a request with their last analysis, and a project whose analysis did not change costs
 * nothing; otherwise a refresh asks each project for its branch list (the analysis date and the
 * quality gate, one request). Measures are read again for a new analysis, a gate that changed,
 * or once `full_refresh` has passed (issues resolved in the UI change measures and the gate
 * between analyses); those re-reads are spread over the refreshes.
 * A project whose requests fail is logged when its failure first appears and the rest are
 * still returned: after a passing failure (429, 5xx, network, an answer of an unexpected
 * shape, a request held back by the rate limit) it keeps its last values, after a lasting one
 * (403, 404) it is left out. Only refused credentials or a total failure fail the collection.
 */
import pLimit from 'p-limit';
import type { Teams } from '../../src/core/teams.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { LABEL } from '../../src/core/labels.js';
import { SONARQUBE_METRICS } from './metrics.js';
import type { CollectContext, Collector, MetricFamily, Sample, Snapshot, SourceDeps } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import type { Clock } from '../../src/core/clock.js';
import { durationSeconds } from '../../src/core/config-primitives.js';
import { HeldBackError, requestBudget } from '../../src/core/http-client.js';
import { family } from '../../src/core/snapshot.js';
import { SONARQUBE_DEFAULT_INTERVAL, type SonarqubeConfig } from './config.js';
import { LAST_ANALYSIS_HELP, PROJECTS_SKIPPED_HELP, QUALITY_GATE_HELP, SONAR_METRIC_EXPORTS, SONAR_METRIC_KEYS } from './metric-mapping.js';
import { SonarqubeClient, type ProjectRef, type QualityGateStatus } from './sonarqube-client.js';

export interface ProjectTarget {
  key: string;
  /** Configured branch; undefined = the main branch. */
  branch?: string;
  team: string;
  /**
   * Present when the project search listed it: its main branch's last analysis then (Unix
   * seconds, undefined if never analysed). Unchanged since the last read, the project costs no request.
   */
  listed?: { analysisTime?: number };
}

export interface ProjectResult {
  target: ProjectTarget;
  /** Branch measured (the main branch's name when none was configured). */
  branch: string;
  measures: Map<string, number>;
  gate: QualityGateStatus;
  analysisTime?: number;
  /** When (clock ms) the live collector read `measures` (the backfill has no such time). */
  measuredAt?: number;
}

export interface SonarqubeCollectorOptions {
  client: SonarqubeClient;
  /** `'all'` = every project the token may browse. */
  projects: 'all' | ProjectTarget[];
  /** Team of a project found by listing (from `teams.<team>.sonar_projects`). */
  teamOf?: (projectKey: string) => string;
  /** Measures without a new analysis are read again after this long (default 6 h). */
  fullRefreshMs?: number;
  /** The refresh interval, to spread those re-reads (default 30 min). */
  intervalMs?: number;
  /** Default: the client's clock. */
  clock?: Clock;
}

/** `full_refresh` and the interval from the settings, for the collector. */
export function refreshPlan(settings: SonarqubeConfig): Pick<SonarqubeCollectorOptions, 'fullRefreshMs' | 'intervalMs'> {
  return {
    fullRefreshMs: durationSeconds(settings.full_refresh) * 1000,
    intervalMs: durationSeconds(settings.refresh_interval ?? SONARQUBE_DEFAULT_INTERVAL) * 1000,
  };
}

const HOUR_MS = 3_600_000;

function projectId(t: ProjectTarget): string {
  return t.branch ? `${t.key}@${t.branch}` : t.key;
}

export class SonarqubeCollector implements Collector {
  readonly source = 'sonarqube' as const;
  /** Project id (key, or key@branch) → message of its current failure, so each failure is logged once, not every refresh. */
  private readonly failing = new Map<string, string>();
  private warnedNoProjects = false;
  /** Whether the last refresh had projects held back by the rate limit (logged once per streak). */
  private heldBackStreak = false;
  /** False once the server said it has no usable project search (404/400): never asked again. */
  private searchProjectsUsable = true;
  /** The last reason the project search was not used, logged when it changes. */
  private searchProjectsProblem: string | undefined;
  /** Project id → its last successful result, served again after a passing failure. */
  private readonly lastGood = new Map<string, ProjectResult>();

  constructor(private readonly opts: SonarqubeCollectorOptions) {}

  async collect(ctx: CollectContext): Promise<Snapshot> {
    const listed = await this.targets(ctx);
    // Stalest first: when a budget or the API's rate limit stops the refresh part-way, the
    // projects it reached are the ones that waited longest.
    const age = (t: ProjectTarget) => this.lastGood.get(projectId(t))?.measuredAt ?? Number.NEGATIVE_INFINITY;
    const targets = [...listed].sort((a, b) => age(a) - age(b));
    const remeasure = this.dueForRemeasure(targets);
    // Projects in parallel up to the connection limit, so a project's two requests follow each
    // other instead of queueing behind every other project's first one. Under a request budget
    // one at a time: the budget then runs out between projects, never half-way through several.
    const limit = pLimit(this.opts.client.opts.budget ? 1 : (this.opts.client.opts.maxConcurrency ?? 4));
    const settled = await Promise.allSettled(targets.map((t) => limit(() => this.collectProject(ctx, t, remeasure.has(projectId(t))))));
    if (ctx.signal.aborted) throw ctx.signal.reason;

    const results: ProjectResult[] = [];
    const errors: unknown[] = [];
    let fresh = 0;
    const seen = new Set<string>();
    const heldBack: HeldBackError[] = [];
    settled.forEach((s, i) => {
      const t = targets[i]!;
      const id = projectId(t);
      seen.add(id);
      if (s.status === 'fulfilled') {
        results.push(s.value);
        fresh++;
        this.lastGood.set(id, s.value);
        if (this.failing.delete(id)) ctx.logger.info({ project: t.key, branch: t.branch }, 'sonarqube: project collected again');
        return;
      }
      errors.push(s.reason);
      const previous = isPassing(s.reason) ? this.lastGood.get(id) : undefined;
      if (previous) results.push(previous);
      else this.lastGood.delete(id);
      // Held back by the rate limit: said once for all of them below, not once per project.
      if (s.reason instanceof HeldBackError) return void heldBack.push(s.reason);
      const message = s.reason instanceof Error ? s.reason.message : String(s.reason);
      if (this.failing.get(id) !== message)
        ctx.logger.warn(
          { project: t.key, branch: t.branch, err: message },
          previous ? 'sonarqube: project failed; keeping its last values' : 'sonarqube: project skipped',
        );
      this.failing.set(id, message);
    });
    this.logHeldBack(ctx, heldBack, targets.length);
    // Projects no longer listed (deleted, or Browse removed) must not come back from the cache.
    for (const id of this.lastGood.keys()) if (!seen.has(id)) this.lastGood.delete(id);
    for (const id of this.failing.keys()) if (!seen.has(id)) this.failing.delete(id);

    // Refused credentials fail every project alike: report the source as down, not as empty.
    const refused = errors.find((e): e is SourceError => e instanceof SourceError && e.status === 401);
    if (refused) throw refused;
    if (fresh === 0 && errors.length > 0) {
      const first = errors[0];
      if (first instanceof SourceError)
        throw new SourceError(first.reason, `all ${errors.length} SonarQube projects failed; first: ${first.message}`, first.status);
      throw first;
    }
    return buildSnapshot(results, targets.length - results.length);
  }

  private async targets(ctx: CollectContext): Promise<ProjectTarget[]> {
    if (this.opts.projects !== 'all') return this.opts.projects;
    const searched = await this.searchProjects(ctx);
    if (searched) return searched.map((p) => ({ key: p.key, team: this.opts.teamOf?.(p.key) ?? '', listed: { analysisTime: p.analysisTime } }));
    const listed = await this.opts.client.listProjects(ctx);
    if (listed.length === 0 && !this.warnedNoProjects) ctx.logger.warn('sonarqube: the token sees no projects; give its user Browse permission on them');
    this.warnedNoProjects = listed.length === 0;
    return listed.map((p) => ({ key: p.key, team: this.opts.teamOf?.(p.key) ?? '' }));
  }

  /**
   * The projects with their last analysis from `api/components/search_projects`, or undefined
   * to list them with `api/components/search` instead: that search is internal to SonarQube, so
   * a server that refuses it (404, 400) is not asked again, and an answer of another shape (a
   * changed internal API, a proxy) falls back for this refresh. Both are logged once.
   */
  private async searchProjects(ctx: CollectContext): Promise<ProjectRef[] | undefined> {
    if (!this.searchProjectsUsable) return undefined;
    try {
      const found = await this.opts.client.searchProjects(ctx);
      this.searchProjectsProblem = undefined;
      return found;
    } catch (e) {
      if (ctx.signal.aborted || !(e instanceof SourceError) || e.status === 401 || e instanceof HeldBackError) throw e;
      const lasting = e.status === 400 || e.status === 404;
      if (lasting) this.searchProjectsUsable = false;
      if (this.searchProjectsProblem !== e.message)
        ctx.logger.warn(
          { err: e.message },
          `sonarqube: the project search (api/components/search_projects, internal) is not usable${lasting ? '' : ' this refresh'}; listing with api/components/search and asking each project for its branches instead`,
        );
      this.searchProjectsProblem = e.message;
      return undefined;
    }
  }

  /**
   * Projects whose measures were read longer than `full_refresh` ago, oldest first, at most
   * the share one refresh takes (projects × interval / full_refresh): the re-reads spread over
   * the refreshes instead of all coming due in the same one.
   */
  private dueForRemeasure(targets: ProjectTarget[]): Set<string> {
    const full = this.opts.fullRefreshMs ?? 6 * HOUR_MS;
    const interval = this.opts.intervalMs ?? 30 * 60_000;
    const now = this.clock.now();
    const due = targets
      .map((t) => ({ id: projectId(t), at: this.lastGood.get(projectId(t))?.measuredAt }))
      .filter((d): d is { id: string; at: number } => d.at !== undefined && now - d.at >= full)
      .sort((a, b) => a.at - b.at);
    const share = Math.max(1, Math.ceil((targets.length * interval) / full));
    return new Set(due.slice(0, share).map((d) => d.id));
  }

  private get clock(): Clock {
    return this.opts.clock ?? this.opts.client.opts.clock;
  }

  private logHeldBack(ctx: CollectContext, heldBack: HeldBackError[], total: number): void {
    const streak = heldBack.length > 0;
    if (streak && !this.heldBackStreak)
      ctx.logger.warn(
        { projects: heldBack.length, of: total, err: heldBack[0]!.message },
        'sonarqube: the rate limit held some projects back; they keep their last values and are read first next refresh',
      );
    else if (!streak && this.heldBackStreak) ctx.logger.info('sonarqube: no project is held back by the rate limit any more');
    this.heldBackStreak = streak;
  }

  private async collectProject(ctx: CollectContext, target: ProjectTarget, remeasure: boolean): Promise<ProjectResult> {
    const { client } = this.opts;
    const known = this.lastGood.get(projectId(target));
    // The search says the main branch was not analysed since: nothing to ask (its gate may
    // still move with issues resolved in the UI: full_refresh re-reads it).
    if (!remeasure && known && target.listed && target.branch === undefined && known.analysisTime === target.listed.analysisTime) return { ...known, target };
    const branches = await client.branches(ctx, target.key);
    const measured = target.branch !== undefined ? branches.find((b) => b.name === target.branch) : branches.find((b) => b.isMain);
    if (target.branch !== undefined && !measured)
      throw new SourceError('not_found', `sonarqube: project ${target.key} has no branch "${target.branch}" (check sources.sonarqube.projects)`, 404);
    const branch = measured?.name ?? target.branch ?? '';
    // Servers whose branch list carries no gate status are asked for it on its own.
    const gate = measured?.gate ?? (await client.qualityGate(ctx, target.key, target.branch));
    const analysisTime = measured?.analysisTime;
    const last = this.lastGood.get(projectId(target));
    // No new analysis and the gate unchanged: the measures read last time are still the measures.
    if (!remeasure && last && last.branch === branch && last.analysisTime === analysisTime && last.gate === gate && analysisTime !== undefined)
      return { ...last, target };
    const measuredAt = this.clock.now();
    const measures = await client.measures(ctx, target.key, SONAR_METRIC_KEYS, target.branch);
    return { target, branch, measures, gate, analysisTime, measuredAt };
  }
}

/** The snapshot for a set of project results: one family per metric, series sorted for stable output. */
export function buildSnapshot(results: readonly ProjectResult[], skipped: number): Snapshot {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, help: string, sample: Sample) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = family(name, help, 'gauge')));
    f.samples.push(sample);
  };
  const sorted = [...results].sort((a, b) => cmp(a.target.key, b.target.key) || cmp(a.branch, b.branch));
  const emitted = new Set<string>();
  for (const r of sorted) {
    // `web-app` and `{key: web-app, branch: main}` name the same series: export it once.
    const series = `${r.target.key}\u0000${r.branch}`;
    if (emitted.has(series)) continue;
    emitted.add(series);
    const labels = { [LABEL.project]: r.target.key, [LABEL.branch]: r.branch, [LABEL.team]: r.target.team };
    for (const key of SONAR_METRIC_KEYS) {
      const v = r.measures.get(key);
      const e = SONAR_METRIC_EXPORTS[key]!;
      if (v !== undefined) add(e.name, e.help, { labels: { ...labels, ...e.labels }, value: e.convert(v) });
    }
    if (r.gate !== 'NONE') add(SONARQUBE_METRICS.qualityGatePassed, QUALITY_GATE_HELP, { labels, value: r.gate === 'ERROR' ? 0 : 1 });
    if (r.analysisTime !== undefined) add(SONARQUBE_METRICS.lastAnalysis, LAST_ANALYSIS_HELP, { labels, value: r.analysisTime });
  }
  const out = [...families.values()];
  out.push(family(SONARQUBE_METRICS.projectsSkipped, PROJECTS_SKIPPED_HELP, 'gauge', [{ labels: {}, value: skipped }]));
  return out;
}

/**
 * Failures worth waiting out (rate limits, server errors, network, an answer of the wrong
 * shape), as opposed to 403/404. An unexpected body says nothing about the project's figures:
 * dropping its series would read as "no coverage", so its last values stay.
 */
function isPassing(e: unknown): boolean {
  if (!(e instanceof SourceError)) return false;
  return e.reason === 'rate_limited' || e.reason === 'invalid_output' || (e.reason === 'http' && (e.status === undefined || e.status >= 500));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Project targets and team lookup from the loaded file (`teams.<team>.sonar_projects`, a project's own `team` wins). */
export function projectsFromConfig(settings: SonarqubeConfig, teams: Teams): Pick<SonarqubeCollectorOptions, 'projects' | 'teamOf'> {
  const teamByProject = new Map<string, string>();
  for (const [team, t] of Object.entries(teams)) {
    for (const p of t.sonar_projects) if (!teamByProject.has(p)) teamByProject.set(p, team);
  }
  const teamOf = (key: string) => teamByProject.get(key) ?? '';
  if (settings.projects === 'all') return { projects: 'all', teamOf };
  return {
    projects: settings.projects.map((p) =>
      typeof p === 'string' ? { key: p, team: teamOf(p) } : { key: p.key, branch: p.branch, team: p.team ?? teamOf(p.key) },
    ),
    teamOf,
  };
}

export function createSonarqubeClient(deps: Pick<SourceDeps<SonarqubeConfig>, 'settings' | 'env' | 'baseDir' | 'clock'>): SonarqubeClient {
  const { settings, clock } = deps;
  const token = resolveSecret(settings, 'token', { env: deps.env, baseDir: deps.baseDir });
  if (!token) throw new Error('sources.sonarqube: token or token_file is required');
  return new SonarqubeClient({
    flavor: settings.flavor,
    baseUrl: settings.url,
    organization: settings.organization,
    token,
    authScheme: settings.auth_scheme,
    maxConcurrency: settings.max_concurrency,
    credentialSetting: settings.token_file ? 'sources.sonarqube.token_file' : 'sources.sonarqube.token',
    budget: requestBudget(settings.max_requests_per_hour, durationSeconds(settings.refresh_interval ?? SONARQUBE_DEFAULT_INTERVAL)),
    clock,
  });
}
