/**
 * Step 1 of generation: the validated OKR file → the small model every later step reads
 * (sloth's "validated domain model"). Everything here is sorted, so the generated files do
 * not change when the OKR file is merely reordered where order carries no meaning.
 */
import { enabledSources, sourceSettings, type KeyResult, type Objective, type OkrFile } from '../config/okr-schema.js';
import { LATENCY_QUANTILES, type LatencyQuantileName } from '../conventions.js';
import { expandMeasure, kindOf, kindSpec, paramsOf, refsOf, type ExpandedMeasure } from '../engine/measure-kinds.js';
import { SOURCES } from '../../exporters/index.js';
import type { AnySourcePlugin } from '../core/source.js';
import { knownNames } from '../config/references.js';
import { parseTarget, type Target } from '../engine/target.js';

export interface KrAlert {
  for: string;
  severity: 'page' | 'ticket' | 'info';
  window: string;
}

export interface KrModel {
  objective: Objective;
  kr: KeyResult;
  measure: ExpandedMeasure;
  target: Target;
  /** Set when the KR asks for its own threshold alert. */
  alert?: KrAlert;
}

/** An owned thing (service, board, project, repo) and its team, when one is known. */
export interface Owned {
  name: string;
  team?: string;
}

export interface GenerateModel {
  organization?: string;
  krs: KrModel[];
  teams: string[];
  services: Owned[];
  boards: Owned[];
  projects: Owned[];
  repos: Owned[];
  enabledSources: string[];
  /** Sources with a section in the file, switched on or not (their rules are generated either way). */
  configuredSources: string[];
  /** The KR engine runs (`engine.enabled`): the availability KR alert reads its period-to-date figures. */
  engine: boolean;
  /** Pace alerts on the KR engine's forecast; undefined when switched off or the file has no KRs. */
  pace?: { warningAt: number; criticalAt: number; for: string };
}

export class GenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerateError';
  }
}

/** Nominal length of a KR period, for rolling-window rules (calendar periods are the KR engine's job). */
export const PERIOD_SECONDS = { quarter: 90 * 86400, month: 30 * 86400, year: 365 * 86400, sprint: 14 * 86400 } as const;

/** `alert: true`, and what a KR's `alert:` mapping leaves out, for KRs other than availability and latency. */
export const DEFAULT_ALERT: KrAlert = { for: '10m', severity: 'page', window: '1h' };
/**
 * Availability KRs: the KR alert is a forecast (period-to-date availability carried to the period end
 * at the availability of the last `window`), a ticket: the burn-rate alerts are the pages.
 */
export const DEFAULT_AVAILABILITY_ALERT: KrAlert = { for: '10m', severity: 'ticket', window: '1d' };
/** Latency KRs without `alert:` get a ticket. */
export const DEFAULT_LATENCY_ALERT: KrAlert = { for: '30m', severity: 'ticket', window: '1h' };

function defaultsFor(kr: KeyResult): KrAlert {
  const spec = kindSpec(kindOf(kr.measure));
  if (spec.alert === 'availability') return DEFAULT_AVAILABILITY_ALERT;
  if (spec.alertWindow) return { ...DEFAULT_ALERT, window: spec.alertWindow };
  // With an explicit mapping, latency KRs keep the historical page default (only severity differs).
  return DEFAULT_ALERT;
}

function krAlert(kr: KeyResult): KrAlert | undefined {
  if (kr.alert === undefined || kr.alert === false) return undefined;
  const d = defaultsFor(kr);
  if (kr.alert === true) return { ...d };
  if (!kr.alert.enabled) return undefined;
  return { for: kr.alert.for ?? d.for, severity: kr.alert.severity ?? d.severity, window: kr.alert.window ?? d.window };
}

class Owners {
  private readonly map = new Map<string, string | undefined>();
  add(name: string, team?: string): void {
    // An explicit team wins over "unknown"; the first explicit team wins over later ones.
    if (!this.map.has(name) || (this.map.get(name) === undefined && team !== undefined)) this.map.set(name, team);
  }
  sorted(): Owned[] {
    return [...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, team]) => (team === undefined ? { name } : { name, team }));
  }
}

export function buildModel(config: OkrFile, plugins: readonly AnySourcePlugin[] = SOURCES): GenerateModel {
  const services = new Owners();
  const boards = new Owners();
  const projects = new Owners();
  const repos = new Owners();

  // Sources first: their per-item team settings override the teams section (as in the collectors);
  // then the teams; `all` (discovered at run time) names nothing here.
  const owners: Record<string, Owners> = { service: services, board: boards, project: projects, repo: repos };
  for (const [kind, k] of knownNames(config, plugins)) for (const n of k.names) owners[kind]?.add(n.name, n.team);

  const krs: KrModel[] = [];
  for (const objective of config.objectives) {
    for (const kr of objective.key_results) {
      const target = parseTarget(kr.target);
      if ('error' in target) throw new GenerateError(`invalid key result "${kr.id}": invalid target: ${target.error}`);
      const m = kr.measure;
      for (const ref of refsOf(m)) for (const v of ref.values) owners[ref.kind]?.add(v, kr.team);
      const alert = krAlert(kr);
      krs.push({ objective, kr, measure: expandMeasure(m), target, ...(alert ? { alert } : {}) });
    }
  }

  const teamNames = new Set(Object.keys(config.teams));
  for (const o of [services, boards, projects, repos]) for (const x of o.sorted()) if (x.team) teamNames.add(x.team);
  for (const k of krs) if (k.kr.team) teamNames.add(k.kr.team);

  const enabled = enabledSources(config, plugins).sort();

  return {
    ...(config.organization ? { organization: config.organization } : {}),
    krs,
    teams: [...teamNames].sort(),
    services: services.sorted(),
    boards: boards.sorted(),
    projects: projects.sorted(),
    repos: repos.sorted(),
    enabledSources: enabled,
    configuredSources: plugins
      .filter((p) => sourceSettings(config, p.name) !== undefined)
      .map((p) => p.name)
      .sort(),
    engine: config.engine.enabled,
    ...(config.engine.enabled && config.engine.pace_alerts.enabled && krs.length > 0
      ? { pace: { warningAt: config.engine.pace_alerts.warning_at, criticalAt: config.engine.pace_alerts.critical_at, for: config.engine.pace_alerts.for } }
      : {}),
  };
}

/** Services measured by an availability KR, with the KR's objective (target as a ratio). */
export function availabilityKrs(model: GenerateModel): Array<KrModel & { service: string; objectiveRatio: number; failureCodes?: string }> {
  const out: Array<KrModel & { service: string; objectiveRatio: number; failureCodes?: string }> = [];
  for (const k of model.krs) {
    const a = paramsOf(k.kr.measure, 'availability');
    if (!a) continue;
    if (k.target.kind !== 'absolute' || (k.target.op !== '>' && k.target.op !== '>=') || !(k.target.value > 0 && k.target.value < 1))
      throw new GenerateError(`invalid key result "${k.kr.id}": an availability target is a ratio below 1 such as "> 99%", got "${k.target.text}"`);
    out.push({ ...k, service: a.service, objectiveRatio: k.target.value, ...(a.failure_codes ? { failureCodes: a.failure_codes } : {}) });
  }
  return out;
}

export interface LatencyKr extends KrModel {
  service: string;
  quantile: LatencyQuantileName;
  route?: string;
}

export function latencyKrs(model: GenerateModel): LatencyKr[] {
  const out: LatencyKr[] = [];
  for (const k of model.krs) {
    const m = k.kr.measure;
    for (const { name: q } of LATENCY_QUANTILES) {
      const l = paramsOf(m, `latency_${q}`);
      if (l) out.push({ ...k, service: l.service, quantile: q, ...(l.route ? { route: l.route } : {}) });
    }
  }
  return out;
}
