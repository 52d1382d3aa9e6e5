/**
 * SonarQube collector: for each project (listed, or all the token may browse), the current
 * measures and quality gate of one branch (default: the main branch), as ratios and counts.
 * A project whose requests fail is logged when its failure first appears and the rest are
 * still returned: after a passing failure (429, 5xx, network, an answer of an unexpected
 * shape) it keeps its last values, after a lasting one (403, 404) it is left out. Only refused
 * credentials or a total failure fail the collection.
 */
import type { Teams } from '../../src/core/teams.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { LABEL } from '../../src/core/labels.js';
import { SONARQUBE_METRICS } from './metrics.js';
import type { CollectContext, Collector, MetricFamily, Sample, Snapshot, SourceDeps } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import { family } from '../../src/core/snapshot.js';
import type { SonarqubeConfig } from './config.js';
import { LAST_ANALYSIS_HELP, PROJECTS_SKIPPED_HELP, QUALITY_GATE_HELP, SONAR_METRIC_EXPORTS, SONAR_METRIC_KEYS } from './metric-mapping.js';
import { SonarqubeClient, type QualityGateStatus } from './sonarqube-client.js';

export interface ProjectTarget {
  key: string;
  /** Configured branch; undefined = the main branch. */
  branch?: string;
  team: string;
}

export interface ProjectResult {
  target: ProjectTarget;
  /** Branch measured (the main branch's name when none was configured). */
  branch: string;
  measures: Map<string, number>;
  gate: QualityGateStatus;
  analysisTime?: number;
}

export interface SonarqubeCollectorOptions {
  client: SonarqubeClient;
  /** `'all'` = every project the token may browse. */
  projects: 'all' | ProjectTarget[];
  /** Team of a project found by listing (from `teams.<team>.sonar_projects`). */
  teamOf?: (projectKey: string) => string;
}

export class SonarqubeCollector implements Collector {
  readonly source = 'sonarqube' as const;
  /** Project id (key, or key@branch) → message of its current failure, so each failure is logged once, not every refresh. */
  private readonly failing = new Map<string, string>();
  private warnedNoProjects = false;
  /** Project id → its last successful result, served again after a passing failure. */
  private readonly lastGood = new Map<string, ProjectResult>();

  constructor(private readonly opts: SonarqubeCollectorOptions) {}

  async collect(ctx: CollectContext): Promise<Snapshot> {
    const targets = await this.targets(ctx);
    const settled = await Promise.allSettled(targets.map((t) => this.collectProject(ctx, t)));
    if (ctx.signal.aborted) throw ctx.signal.reason;

    const results: ProjectResult[] = [];
    const errors: unknown[] = [];
    let fresh = 0;
    const seen = new Set<string>();
    settled.forEach((s, i) => {
      const t = targets[i]!;
      const id = t.branch ? `${t.key}@${t.branch}` : t.key;
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
      const message = s.reason instanceof Error ? s.reason.message : String(s.reason);
      if (this.failing.get(id) !== message)
        ctx.logger.warn(
          { project: t.key, branch: t.branch, err: message },
          previous ? 'sonarqube: project failed; keeping its last values' : 'sonarqube: project skipped',
        );
      this.failing.set(id, message);
    });
    // Projects no longer listed (deleted, or Browse removed) must not come back from the cache.
    for (const id of this.lastGood.keys()) if (!seen.has(id)) this.lastGood.delete(id);
    for (const id of this.failing.keys()) if (!seen.has(id)) this.failing.delete(id);

    // Refused credentials fail every project alike: report the source as down, not as empty.
    const refused = errors.find((e): e is SourceError => e instanceof SourceError && e.status === 401);
    if (refused) throw refused;
    if (fresh === 0 && errors.length > 0) {
      const first = errors[0];
      if (first instanceof SourceError) throw new SourceError(first.reason, `all ${errors.length} SonarQube projects failed; first: ${first.message}`, first.status);
      throw first;
    }
    return buildSnapshot(results, targets.length - results.length);
  }

  private async targets(ctx: CollectContext): Promise<ProjectTarget[]> {
    if (this.opts.projects !== 'all') return this.opts.projects;
    const listed = await this.opts.client.listProjects(ctx);
    if (listed.length === 0 && !this.warnedNoProjects) ctx.logger.warn('sonarqube: the token sees no projects; give its user Browse permission on them');
    this.warnedNoProjects = listed.length === 0;
    return listed.map((p) => ({ key: p.key, team: this.opts.teamOf?.(p.key) ?? '' }));
  }

  private async collectProject(ctx: CollectContext, target: ProjectTarget): Promise<ProjectResult> {
    const { client } = this.opts;
    const branches = await client.branches(ctx, target.key);
    const measured = target.branch !== undefined ? branches.find((b) => b.name === target.branch) : branches.find((b) => b.isMain);
    if (target.branch !== undefined && !measured)
      throw new SourceError('not_found', `sonarqube: project ${target.key} has no branch "${target.branch}" (check sources.sonarqube.projects)`, 404);
    const [measures, gate] = await Promise.all([
      client.measures(ctx, target.key, SONAR_METRIC_KEYS, target.branch),
      client.qualityGate(ctx, target.key, target.branch),
    ]);
    return { target, branch: measured?.name ?? target.branch ?? '', measures, gate, analysisTime: measured?.analysisTime };
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
    clock,
  });
}
