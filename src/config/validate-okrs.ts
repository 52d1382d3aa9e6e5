/**
 * Checks that need the whole file: unique ids, measures that refer to configured sources,
 * PromQL that parses, known placeholders, sensible targets. Each problem is returned with
 * its path; the loader turns paths into file:line:col.
 */
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { missingDurationReason } from '../../exporters/apilogs/log-presets.js';
import { expandMeasure, fillPlaceholders, PLACEHOLDERS, placeholdersIn } from '../okr/measures.js';
import { parseTarget } from '../okr/target.js';
import type { OkrFile } from './okr-schema.js';

export interface PathIssue {
  path: Array<string | number>;
  message: string;
  atKey?: boolean;
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

/** Cross-reference checks on a file whose shape is valid. */
export function validateOkrs(cfg: OkrFile): PathIssue[] {
  const issues: PathIssue[] = [];
  const add = (path: Array<string | number>, message: string, atKey = false) => issues.push({ path, message, atKey });

  try {
    new Intl.DateTimeFormat('en', { timeZone: cfg.calendar.timezone });
  } catch {
    add(['calendar', 'timezone'], `unknown time zone "${cfg.calendar.timezone}" (use an IANA name such as UTC or Europe/Berlin)`);
  }

  const src = cfg.sources;
  const teamNames = new Set(Object.keys(cfg.teams));
  const teamValues = Object.values(cfg.teams);
  const services = new Set([...(src.apilogs?.services.map((s) => s.name) ?? []), ...teamValues.flatMap((t) => t.services)]);
  const boards = new Set([
    ...(src.jira?.boards.flatMap((b) => (typeof b === 'number' ? [String(b)] : [b.name, b.id !== undefined ? String(b.id) : undefined])) ?? []),
    ...teamValues.flatMap((t) => t.jira_boards.map(String)),
  ]);
  const queries = new Set(Object.keys(src.jira?.queries ?? {}));
  const sonarAll = src.sonarqube?.projects === 'all';
  const projects = new Set([
    ...(Array.isArray(src.sonarqube?.projects) ? src.sonarqube.projects.map((p) => (typeof p === 'string' ? p : p.key)) : []),
    ...teamValues.flatMap((t) => t.sonar_projects),
  ]);

  const needService = (path: Array<string | number>, service: string) => {
    if (services.has(service)) return;
    add(
      path,
      services.size === 0
        ? `service "${service}" is unknown: configure sources.apilogs.services, or list it under a team's services if another host exports it`
        : `service "${service}" is unknown (known: ${[...services].join(', ')})`,
    );
  };
  const list = (v: string | string[]) => (typeof v === 'string' ? [v] : v);
  const logged = new Map((src.apilogs?.services ?? []).map((s) => [s.name, s]));
  // A latency KR on a service whose lines log no duration would stay no_data without a word why.
  const needDuration = (path: Array<string | number>, service: string) => {
    const svc = logged.get(service);
    const why = svc && missingDurationReason(svc);
    if (why) add(path, `service "${service}" logs no request duration, so this latency key result would have no data: ${why}`);
  };

  cfg.objectives.forEach((obj, oi) => {
    const op = ['objectives', oi];
    obj.key_results.forEach((kr, ki) => {
      const kp = [...op, 'key_results', ki];

      if (kr.team !== undefined && !teamNames.has(kr.team))
        add([...kp, 'team'], teamNames.size === 0 ? `team "${kr.team}" is not defined under teams` : `team "${kr.team}" is not defined (known: ${[...teamNames].join(', ')})`);

      const m = kr.measure;
      const mp = [...kp, 'measure'];
      if (m.availability) needService([...mp, 'availability', 'service'], m.availability.service);
      if (m.downtime) needService([...mp, 'downtime', 'service'], m.downtime.service);
      for (const k of ['latency_p50', 'latency_p95', 'latency_p99'] as const) {
        const l = m[k];
        if (l) {
          needService([...mp, k, 'service'], l.service);
          needDuration([...mp, k, 'service'], l.service);
        }
      }
      const boardRef = m.story_points_per_sprint?.board ?? m.story_points?.boards;
      if (boardRef !== undefined) {
        const key = m.story_points_per_sprint ? ['story_points_per_sprint', 'board'] : ['story_points', 'boards'];
        if (!src.jira) add([...mp, ...key], 'story points come from Jira, but sources.jira is not configured');
        else for (const b of list(boardRef)) if (!boards.has(b)) add([...mp, ...key], `board "${b}" is not in sources.jira.boards`);
      }
      const q = m.jql_count?.query ?? m.jql_points?.query;
      if (q !== undefined) {
        const key = [m.jql_count ? 'jql_count' : 'jql_points', 'query'];
        if (!src.jira) add([...mp, ...key], 'JQL measures come from Jira, but sources.jira is not configured');
        else if (!queries.has(q)) add([...mp, ...key], `query "${q}" is not defined in sources.jira.queries`);
      }
      if (m.coverage) {
        if (!src.sonarqube && projects.size === 0) add([...mp, 'coverage', 'project'], 'coverage comes from SonarQube, but sources.sonarqube is not configured');
        else if (!sonarAll)
          for (const p of list(m.coverage.project))
            if (!projects.has(p)) add([...mp, 'coverage', 'project'], `SonarQube project "${p}" is not in sources.sonarqube.projects`);
      }
      if (kr.period === 'sprint' && !src.jira) add([...kp, 'period'], 'sprint periods come from Jira sprint dates, but sources.jira is not configured');

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
