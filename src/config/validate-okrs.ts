/**
 * Checks that need the whole file: unique ids, measures that refer to configured sources,
 * PromQL that parses, known placeholders, sensible targets. Each problem is returned with
 * its path; the loader turns paths into file:line:col.
 */
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { fillPlaceholders, PLACEHOLDERS, placeholdersIn } from '../engine/measures.js';
import { expandMeasure } from '../engine/measure-kinds.js';
import { parseTarget } from '../engine/target.js';
import { sourceSettings, type OkrFile } from './okr-schema.js';
import { SOURCES } from '../../exporters/index.js';
import type { AnySourcePlugin } from '../core/source.js';
import { knownNames, spellings } from './references.js';
import { kindOf, kindSpec, paramsOf, refsOf } from '../engine/measure-kinds.js';

/** The branches each SonarQube project is measured on ('' = its main branch), from sources.sonarqube.projects. */
function sonarBranches(cfg: OkrFile): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const projects = (sourceSettings(cfg, 'sonarqube') as { projects?: unknown } | undefined)?.projects;
  if (!Array.isArray(projects)) return out;
  for (const p of projects as Array<string | { key: string; branch?: string }>) {
    const key = typeof p === 'string' ? p : p.key;
    const set = out.get(key) ?? new Set<string>();
    set.add(typeof p === 'string' ? '' : (p.branch ?? ''));
    out.set(key, set);
  }
  return out;
}

export interface PathIssue {
  path: Array<string | number>;
  message: string;
  atKey?: boolean;
  /** Reported, but the file is still valid (check exits 0, serve starts). */
  warning?: boolean;
}

/** Sample values used only to syntax-check templates. */
const SAMPLE_FILL = { window: '3600s', period_start: '1767225600', period_end: '1775001600' } as const;

/** First syntax error of a PromQL expression, or undefined when it parses. */
export function promqlSyntaxError(expr: string): string | undefined {
  const tree = promqlParser.parse(expr);
  let at: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (at === undefined && n.type.isError) at = n.from;
      return at === undefined;
    },
  });
  if (at === undefined) return undefined;
  const near = expr.slice(Math.max(0, at - 15), at + 15);
  return `PromQL syntax error at character ${at + 1}: near "${near}"`;
}

/**
 * Checks that work on the raw document, so they are reported together with shape errors:
 * unique objective and key-result ids, PromQL that parses, placeholders that exist.
 */
export function rawChecks(raw: unknown): PathIssue[] {
  const issues: PathIssue[] = [];
  const objectives = (raw as { objectives?: unknown })?.objectives;
  if (!Array.isArray(objectives)) return issues;
  const objectiveIds = new Map<string, number>();
  const krIds = new Map<string, string>();
  objectives.forEach((obj: unknown, oi) => {
    const o = obj as { id?: unknown; key_results?: unknown } | null;
    if (!o || typeof o !== 'object') return;
    if (typeof o.id === 'string') {
      if (objectiveIds.has(o.id))
        issues.push({ path: ['objectives', oi, 'id'], message: `duplicate objective id "${o.id}" (first used by objectives[${objectiveIds.get(o.id)}])` });
      else objectiveIds.set(o.id, oi);
    }
    if (!Array.isArray(o.key_results)) return;
    o.key_results.forEach((k: unknown, ki) => {
      const kr = k as { id?: unknown; measure?: { promql?: unknown } } | null;
      if (!kr || typeof kr !== 'object') return;
      const kp = ['objectives', oi, 'key_results', ki];
      if (typeof kr.id === 'string') {
        const first = krIds.get(kr.id);
        if (first) issues.push({ path: [...kp, 'id'], message: `duplicate key result id "${kr.id}" (first used at ${first}); ids are unique across the file` });
        else krIds.set(kr.id, `objectives[${oi}].key_results[${ki}]`);
      }
      const promql = kr.measure?.promql;
      if (typeof promql !== 'string') return;
      const path = [...kp, 'measure', 'promql'];
      const unknown = placeholdersIn(promql).filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
      if (unknown.length > 0) {
        issues.push({ path, message: `unknown placeholder {{${unknown[0]}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})` });
        return;
      }
      const err = promqlSyntaxError(fillPlaceholders(promql, SAMPLE_FILL));
      if (err) issues.push({ path, message: err });
    });
  });
  return issues;
}

/** For a kind of reference no plugin words: a plain message. */
function unknownName(kind: string): (name: string, known: readonly string[]) => string {
  return (name, known) => `${kind} "${name}" is unknown${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
}

/**
 * The delivery source joins what others publish: the ones it reads from must publish it, and
 * posted deployment events are only taken with authentication.
 */
export const EVENTS_NEED_AUTH =
  'deployment events are only taken with authentication: set server.auth (a bearer token or basic auth), or basic_auth_users in server.web_config_file, for POST /api/v1/deployments';

function deliveryChecks(cfg: OkrFile): PathIssue[] {
  const out: PathIssue[] = [];
  const d = cfg.sources.delivery;
  if (!d || d.enabled === false) return out;
  const at = (...path: Array<string | number>) => ['sources', 'delivery', ...path];
  // With a web config file, load-config checks that it has basic_auth_users.
  if (d.deployments_from.includes('events') && !cfg.server.auth && cfg.server.web_config_file === undefined)
    out.push({ path: at('deployments_from'), message: EVENTS_NEED_AUTH });
  if (d.deployments_from.includes('bitbucket')) {
    const bb = cfg.sources.bitbucket;
    if (!bb) out.push({ path: at('deployments_from'), message: 'deployments from bitbucket need sources.bitbucket (Cloud) with deployments: true' });
    else if (bb.deployments === false)
      out.push({ path: ['sources', 'bitbucket'], message: 'sources.delivery reads deployments from bitbucket: set deployments: true here' });
  }
  const incidents = new Set(Object.keys(cfg.sources.jira?.incidents ?? {}));
  d.services.forEach((svc, i) =>
    svc.incidents.forEach((q, j) => {
      if (!incidents.has(q))
        out.push({
          path: at('services', i, 'incidents', j),
          message: cfg.sources.jira
            ? `incident query "${q}" is not defined in sources.jira.incidents${incidents.size > 0 ? ` (known: ${[...incidents].join(', ')})` : ''}`
            : `incident query "${q}" needs sources.jira with incidents.${q}`,
        });
    }),
  );
  return out;
}

/** Cross-reference checks on a file whose shape is valid. */
export function validateOkrs(cfg: OkrFile, plugins: readonly AnySourcePlugin[] = SOURCES): PathIssue[] {
  const issues: PathIssue[] = [];
  const add = (path: Array<string | number>, message: string, atKey = false) => issues.push({ path, message, atKey });

  try {
    new Intl.DateTimeFormat('en', { timeZone: cfg.calendar.timezone });
  } catch {
    add(['calendar', 'timezone'], `unknown time zone "${cfg.calendar.timezone}" (use an IANA name such as UTC or Europe/Berlin)`);
  }

  issues.push(...deliveryChecks(cfg));

  const known = knownNames(cfg, plugins);
  const teamNames = new Set(Object.keys(cfg.teams));
  cfg.objectives.forEach((obj, oi) => {
    const op = ['objectives', oi];
    obj.key_results.forEach((kr, ki) => {
      const kp = [...op, 'key_results', ki];

      if (kr.team !== undefined && !teamNames.has(kr.team))
        add(
          [...kp, 'team'],
          teamNames.size === 0 ? `team "${kr.team}" is not defined under teams` : `team "${kr.team}" is not defined (known: ${[...teamNames].join(', ')})`,
        );

      const m = kr.measure;
      const mp = [...kp, 'measure'];
      const kind = kindOf(m);
      const spec = kindSpec(kind);
      for (const ref of refsOf(m)) {
        const k = known.get(ref.kind);
        const names = spellings(k);
        const path = [...mp, kind, ref.param];
        // A kind whose source is not configured, and that no team names either.
        if (spec.needsSource && (k?.sources.length ?? 0) === 0 && names.size === 0) {
          add(path, spec.needsSource);
          continue;
        }
        if (k?.any) continue;
        for (const v of ref.values) {
          const lack = spec.needs?.map((t) => k?.names.find((n) => n.name === v && n.fromSource)?.lacking?.(t)).find((why) => why !== undefined);
          if (lack) add(path, lack);
          if (!names.has(v)) add(path, (k?.unknown ?? unknownName(ref.kind))(v, [...names]));
          else if (k && k.sources.length > 0 && !k.teamsCollected && !k.names.some((n) => n.fromSource && (n.name === v || n.aliases?.includes(v))))
            // Known only from a team's list: this exporter's sources do not collect it.
            issues.push({
              path,
              warning: true,
              message: `${ref.kind} "${v}" is listed only under teams, not in the settings of ${k.sources.map((s) => `sources.${s}`).join(', ')}: this exporter does not collect it, so the key result has no data unless another okr-metrics exports it`,
            });
        }
      }
      const coverage = paramsOf(m, 'coverage');
      if (coverage && coverage.branch === undefined) {
        // Coverage averages projects, one branch each: a project measured on several needs the KR to say which.
        const branches = sonarBranches(cfg);
        for (const project of typeof coverage.project === 'string' ? [coverage.project] : coverage.project) {
          const b = branches.get(project);
          if (b && b.size > 1)
            add(
              [...mp, 'coverage', 'project'],
              `project "${project}" is measured on several branches (${[...b].map((x) => x || 'its main branch').join(', ')}); name the one this KR reads with measure.coverage.branch`,
            );
        }
      }
      if (kr.period === 'sprint' && sourceSettings(cfg, 'jira') === undefined)
        add([...kp, 'period'], 'sprint periods come from Jira sprint dates, but sources.jira is not configured');

      const target = parseTarget(kr.target);
      if ('error' in target) return; // reported by the schema
      const expanded = expandMeasure(m);
      if (m.promql === undefined && expanded.promql) {
        const err = promqlSyntaxError(fillPlaceholders(expanded.promql, SAMPLE_FILL));
        if (err) add(mp, `the ${expanded.kind} shorthand expands to invalid PromQL (check label values): ${err}`);
      }
      if (target.kind === 'absolute' && expanded.unit === 'ratio' && (target.value > 1 || target.value < 0))
        add([...kp, 'target'], `${expanded.kind} is a ratio in 0..1: write "${target.op} ${target.value / 100}" or "${target.op} ${target.value}%"`);
      if (target.kind === 'relative' && kr.baseline === undefined && expanded.kind === 'manual')
        add([...kp, 'baseline'], 'a manual measure with a relative target needs a fixed baseline number');
      if (target.kind === 'absolute' && kr.baseline !== undefined && typeof kr.baseline !== 'number')
        add([...kp, 'baseline'], 'a baseline of previous_period/period_start only applies to relative targets ("-10%", "+5 points")');
    });
  });
  return issues;
}
