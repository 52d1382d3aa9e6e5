/**
 * SonarQube history from `/api/measures/search_history`: every analysis of each configured
 * project branch, held from the instant it happened until the next one, as the live collector
 * would have served it (same buildSnapshot, same conversions). The quality gate comes from the
 * history of `alert_status`; `sonarqube_last_analysis_timestamp_seconds` is the time of the
 * latest analysis at each instant.
 */
import { SourceError, type CollectContext } from '../../src/core/source.js';
import { historyEntries, measureHistory, type HistoryPoint } from './measure-history.js';
import { SONAR_METRIC_KEYS } from './metric-mapping.js';
import type { QualityGateStatus, SonarqubeClient } from './sonarqube-client.js';
import { buildSnapshot, createSonarqubeClient, projectsFromConfig, type ProjectResult, type ProjectTarget } from './sonarqube-collector.js';
import type { SonarqubeConfig } from './config.js';
import type { BackfillContext } from '../../src/core/source.js';

interface ProjectHistory {
  target: ProjectTarget;
  branch: string;
  points: HistoryPoint[];
  gates: Array<{ time: number; gate: QualityGateStatus }>;
  /** Analysis times (Unix seconds), oldest first. */
  analyses: number[];
}

export async function backfillSonarqube(b: BackfillContext<SonarqubeConfig>, client = createSonarqubeClient(b)): Promise<void> {
  const { settings, timeline: tl, collect: ctx, progress } = b;
  const { projects, teamOf } = projectsFromConfig(settings, b.teams);
  const targets: ProjectTarget[] = projects === 'all' ? (await client.listProjects(ctx)).map((p) => ({ key: p.key, team: teamOf?.(p.key) ?? '' })) : projects;
  progress.setTotal(targets.length);
  const to = new Date(tl.grid.lastMs);

  const histories: ProjectHistory[] = [];
  for (const target of targets) {
    const where = `sonarqube: project ${target.key}${target.branch ? ` branch ${target.branch}` : ''}`;
    try {
      const branches = await client.branches(ctx, target.key);
      const measured = target.branch !== undefined ? branches.find((b) => b.name === target.branch) : branches.find((b) => b.isMain);
      if (target.branch !== undefined && !measured)
        throw new SourceError('not_found', `has no branch "${target.branch}" (check sources.sonarqube.projects)`, 404);
      // No lower bound: the value at the backfill's start is the last analysis before it.
      const points = await measureHistory(client, ctx, { project: target.key, metrics: SONAR_METRIC_KEYS, to, branch: target.branch });
      const gates = await gateHistory(client, ctx, target, to);
      const analyses = [...new Set([...points.map((p) => p.time), ...gates.map((g) => g.time)])].sort((a, b) => a - b);
      histories.push({ target, branch: measured?.name ?? target.branch ?? '', points, gates, analyses });
    } catch (e) {
      if (e instanceof SourceError) throw new SourceError(e.reason, `${where}: ${e.message}`, e.status);
      throw e;
    }
    progress.advance(1);
  }

  tl.holdFromChanges(
    histories.flatMap((h) => h.analyses.map((a) => a * 1000)),
    (t) =>
      buildSnapshot(
        histories.flatMap((h) => resultAt(h, t / 1000) ?? []),
        0,
      ),
  );
}

/** The project as the live collector saw it at `time` (Unix seconds): latest value of each metric; none before the first analysis. */
function resultAt(h: ProjectHistory, time: number): ProjectResult | undefined {
  let analysisTime: number | undefined;
  for (const a of h.analyses) if (a <= time) analysisTime = a;
  if (analysisTime === undefined) return undefined;
  const measures = new Map<string, number>();
  for (const p of h.points) if (p.time <= time) measures.set(p.metric, p.value); // oldest first: the last wins
  let gate: QualityGateStatus = 'NONE';
  for (const g of h.gates) if (g.time <= time) gate = g.gate;
  return { target: h.target, branch: h.branch, measures, gate, analysisTime };
}

/** The quality gate at each analysis: `alert_status` history (level values OK/WARN/ERROR, which measureHistory skips as non-numeric). */
async function gateHistory(
  client: SonarqubeClient,
  ctx: CollectContext,
  target: ProjectTarget,
  to: Date,
): Promise<Array<{ time: number; gate: QualityGateStatus }>> {
  const entries = await historyEntries(client, ctx, { project: target.key, metrics: ['alert_status'], to, branch: target.branch });
  const out: Array<{ time: number; gate: QualityGateStatus }> = [];
  for (const e of entries) if (e.value === 'OK' || e.value === 'WARN' || e.value === 'ERROR') out.push({ time: e.time, gate: e.value });
  return out.sort((a, b) => a.time - b.time);
}
