/**
 * Committed and completed points of a sprint, the way Jira's velocity chart counts them:
 * commitment = estimates of the issues in the sprint when it started (later additions and
 * re-estimates excluded); completed = estimates of the issues done when it closed (mid-sprint
 * additions included). Pure functions over API data, so the backfill can reuse them.
 */
import type { ChangelogItem, JiraIssue, JiraSprint, SprintReport, VelocityChart } from './jira-api.js';
import type { PointsField } from './story-points-field.js';

export interface SprintDates {
  id: number;
  name: string;
  state: string;
  /** Unix seconds; absent on sprints Jira has no date for. */
  startTime?: number;
  endTime?: number;
  /** Closed sprints only: when the sprint was actually closed. */
  completeTime?: number;
}

export interface SprintFigures extends SprintDates {
  committed: number;
  completed: number;
  /** `velocity` / `sprint_report`: Jira's own chart data; `issues`: the documented fallback below. */
  source: 'velocity' | 'sprint_report' | 'issues';
}

export function seconds(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

export function sprintDates(s: JiraSprint): SprintDates {
  const closed = s.state.toLowerCase() === 'closed';
  return {
    id: s.id,
    name: s.name,
    state: s.state.toLowerCase(),
    startTime: seconds(s.startDate),
    endTime: seconds(s.endDate),
    // Very old Server sprints have no completeDate; their planned end is the best we know.
    completeTime: closed ? (seconds(s.completeDate) ?? seconds(s.endDate)) : undefined,
  };
}

/** Figures from the greenhopper velocity chart (keyed by sprint id as a string), if it has them. */
export function velocityFigures(chart: VelocityChart, sprintId: number): { committed: number; completed: number } | undefined {
  const entry = chart.velocityStatEntries?.[String(sprintId)];
  if (!entry) return undefined;
  // An empty sum comes as {"text":"null"} with no value: no estimated work, i.e. 0.
  const num = (v: { value?: number | null } | undefined) => (typeof v?.value === 'number' && Number.isFinite(v.value) ? v.value : 0);
  return { committed: num(entry.estimated), completed: num(entry.completed) };
}

/**
 * Figures from Jira's Sprint Report: committed = estimates at the start of every issue that was
 * in the sprint when it started (including those removed since, excluding those added later);
 * completed = current estimate total of the completed issues (so far, while the sprint runs).
 */
export function sprintReportFigures(report: SprintReport): { committed: number; completed: number } {
  // The schema (jira-api.ts) guarantees the four lists: a report without them never gets here.
  const c = report.contents;
  const added = new Set(
    Object.entries(c.issueKeysAddedDuringSprint)
      .filter(([, v]) => v)
      .map(([k]) => k),
  );
  const atStart = [...c.completedIssues, ...c.issuesNotCompletedInCurrentSprint, ...c.puntedIssues, ...c.issuesCompletedInAnotherSprint];
  // An unestimated issue's value is absent (`{}`): it commits 0 points.
  const num = (v: { value?: number | null } | undefined) => (typeof v?.value === 'number' && Number.isFinite(v.value) ? v.value : 0);
  let committed = 0;
  for (const i of atStart) if (!added.has(i.key)) committed += num(i.estimateStatistic.statFieldValue);
  return { committed: roundPoints(committed), completed: roundPoints(num(c.completedIssuesEstimateSum)) };
}

/** `toString` is also Object.prototype's method: read only own string properties. */
function own(item: ChangelogItem, key: 'from' | 'to' | 'fromString' | 'toString'): string | null {
  if (!Object.prototype.hasOwnProperty.call(item, key)) return null;
  const v: unknown = Object.getOwnPropertyDescriptor(item, key)?.value;
  return typeof v === 'string' ? v : null;
}

interface Change {
  at: number;
  item: ChangelogItem;
}

function changes(issue: JiraIssue, match: (item: ChangelogItem) => boolean): Change[] {
  const out: Change[] = [];
  for (const h of issue.changelog?.histories ?? []) {
    const at = seconds(h.created);
    if (at === undefined) continue;
    for (const item of h.items ?? []) if (match(item)) out.push({ at, item });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Replay a field to its value at `t`: the last change before t, else the first change's old value, else now. */
function valueAt<T>(list: Change[], t: number, parse: (item: ChangelogItem, side: 'from' | 'to') => T, current: T): T {
  let before: Change | undefined;
  for (const c of list) if (c.at <= t) before = c;
  if (before) return parse(before.item, 'to');
  const after = list.find((c) => c.at > t);
  return after ? parse(after.item, 'from') : current;
}

const isSprintItem = (i: ChangelogItem) => i.field.toLowerCase() === 'sprint';

function sprintIdsOf(item: ChangelogItem, side: 'from' | 'to'): number[] {
  return (own(item, side) ?? '')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function isPointsItem(field: PointsField): (i: ChangelogItem) => boolean {
  // Cloud changelog items carry fieldId; Data Center ones only the field's display name.
  return (i) => (i.fieldId ? i.fieldId === field.id : !!field.name && i.field.toLowerCase() === field.name.toLowerCase());
}

function pointsFromItem(item: ChangelogItem, side: 'from' | 'to'): number {
  const text = own(item, side === 'from' ? 'fromString' : 'toString') ?? own(item, side);
  const n = text === null || text.trim() === '' ? NaN : Number(text);
  return Number.isFinite(n) ? n : 0;
}

function currentPoints(issue: JiraIssue, field: PointsField): number {
  const v = issue.fields[field.id];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** Was the issue in the sprint at time t? Issues listed for a sprint are in it now. */
export function inSprintAt(issue: JiraIssue, sprintId: number, t: number): boolean {
  const created = seconds(issue.fields.created);
  if (created !== undefined && created > t) return false;
  return valueAt(changes(issue, isSprintItem), t, (item, side) => sprintIdsOf(item, side).includes(sprintId), true);
}

export function pointsAt(issue: JiraIssue, field: PointsField, t: number): number {
  return valueAt(changes(issue, isPointsItem(field)), t, pointsFromItem, currentPoints(issue, field));
}

function isDone(issue: JiraIssue): boolean {
  return issue.fields.status?.statusCategory?.key === 'done';
}

/** Moved on to another sprint when this one closed (Jira moves unfinished work on close). */
function carriedOver(issue: JiraIssue, sprint: SprintDates): boolean {
  const current = issue.fields.sprint;
  if (current && current.id !== sprint.id) return true;
  const closedAfter = (issue.fields.closedSprints ?? []).some((s) => s.id !== sprint.id && (seconds(s.completeDate) ?? 0) > (sprint.completeTime ?? Infinity));
  return closedAfter;
}

/**
 * The fallback when Jira's velocity data is unavailable: figures recomputed from the sprint's
 * issues and their changelogs (sprint membership and estimates replayed to the sprint start).
 * Known limits: issues removed from the sprint are no longer listed for it, so their share of
 * the commitment is missing; "done" is the done status category, not the board's last column.
 * For the active sprint, `completed` is what is done so far.
 */
export function figuresFromIssues(issues: JiraIssue[], sprint: SprintDates, field: PointsField): { committed: number; completed: number } {
  const closed = sprint.state === 'closed';
  let committed = 0;
  let completed = 0;
  for (const issue of issues) {
    if (sprint.startTime !== undefined && inSprintAt(issue, sprint.id, sprint.startTime)) committed += pointsAt(issue, field, sprint.startTime);
    if (!isDone(issue)) continue;
    if (closed) {
      if (!carriedOver(issue, sprint)) completed += pointsAt(issue, field, sprint.completeTime ?? Infinity);
    } else completed += currentPoints(issue, field);
  }
  return { committed: roundPoints(committed), completed: roundPoints(completed) };
}

/** Sums of fractional estimates (0.5 points) without float noise such as 20.000000000000004. */
export function roundPoints(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Closed sprints, oldest close first: the order velocity is read in. */
export function byCompletion(a: SprintDates, b: SprintDates): number {
  return (a.completeTime ?? 0) - (b.completeTime ?? 0) || a.id - b.id;
}
