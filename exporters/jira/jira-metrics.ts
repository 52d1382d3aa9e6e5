/**
 * Jira figures → metric families. Only rendering here: the numbers come from sprint-history
 * and the query runner, so the same figures can feed a backfill.
 */
import { LABEL } from '../../src/core/labels.js';
import { JIRA_METRICS } from './metrics.js';
import type { Sample, Snapshot } from '../../src/core/source.js';
import { family } from '../../src/core/snapshot.js';
import type { BoardFigures } from './sprint-history.js';
import { roundPoints, type SprintFigures } from './sprint-figures.js';

export interface QueryResult {
  name: string;
  issues: number;
  /** Undefined when no story-points field is known for queries. */
  points?: number;
}

const CACHED = 'Refreshed on a schedule from the Jira API (see okr_source_last_success_timestamp_seconds{source="jira"}).';

export function renderJiraSnapshot(boards: BoardFigures[], queries: QueryResult[], closedSprints: number): Snapshot {
  const points: Sample[] = [];
  const start: Sample[] = [];
  const end: Sample[] = [];
  const complete: Sample[] = [];
  const completedTotal: Sample[] = [];
  const committedTotal: Sample[] = [];
  const closedTotal: Sample[] = [];

  const sorted = [...boards].sort((a, b) => a.board.name.localeCompare(b.board.name) || a.board.id - b.board.id);
  for (const { board, closed, active } of sorted) {
    const base = { [LABEL.board]: board.name, [LABEL.team]: board.team };
    const recent = closed.slice(-closedSprints);
    const perSprint = (s: SprintFigures) => {
      const labels = { ...base, [LABEL.sprint]: String(s.id) };
      points.push({ labels: { ...labels, [LABEL.state]: 'committed' }, value: s.committed });
      points.push({ labels: { ...labels, [LABEL.state]: 'completed' }, value: s.completed });
      if (s.startTime !== undefined) start.push({ labels, value: s.startTime });
      if (s.endTime !== undefined) end.push({ labels, value: s.endTime });
      if (s.completeTime !== undefined) complete.push({ labels, value: s.completeTime });
    };
    recent.forEach(perSprint);
    [...active].sort((a, b) => a.id - b.id).forEach(perSprint);
    completedTotal.push({ labels: base, value: sum(closed, 'completed') });
    committedTotal.push({ labels: base, value: sum(closed, 'committed') });
    closedTotal.push({ labels: base, value: closed.length });
  }

  const sortedQueries = [...queries].sort((a, b) => a.name.localeCompare(b.name));
  return [
    family(
      JIRA_METRICS.sprintPoints,
      `Story points of a sprint as Jira's velocity chart counts them: state="committed" when it started, state="completed" done when it closed (so far, for the active sprint). The last closed sprints of each board plus the active one. ${CACHED}`,
      'gauge',
      points,
    ),
    family(JIRA_METRICS.sprintStart, 'When the sprint started, Unix seconds.', 'gauge', start),
    family(JIRA_METRICS.sprintEnd, 'When the sprint was planned to end, Unix seconds.', 'gauge', end),
    family(
      JIRA_METRICS.sprintCompleteTime,
      'When a closed sprint was actually closed (Jira completeDate), Unix seconds. Join on (board, sprint) to assign sprints to the period they closed in.',
      'gauge',
      complete,
    ),
    family(JIRA_METRICS.completedPointsTotal, 'Completed story points summed over every closed sprint of the board.', 'counter', completedTotal),
    family(JIRA_METRICS.committedPointsTotal, 'Committed story points summed over every closed sprint of the board.', 'counter', committedTotal),
    family(JIRA_METRICS.closedSprintsTotal, 'Closed sprints of the board.', 'counter', closedTotal),
    family(
      JIRA_METRICS.queryIssues,
      `Issues matching a configured JQL query, period placeholders filled with the current period. ${CACHED}`,
      'gauge',
      sortedQueries.map((q) => ({ labels: { [LABEL.query]: q.name }, value: q.issues })),
    ),
    family(
      JIRA_METRICS.queryPoints,
      'Story points summed over the issues matching a configured JQL query (unestimated issues count 0).',
      'gauge',
      sortedQueries.filter((q) => q.points !== undefined).map((q) => ({ labels: { [LABEL.query]: q.name }, value: q.points! })),
    ),
  ];
}

function sum(list: SprintFigures[], key: 'committed' | 'completed'): number {
  return roundPoints(list.reduce((acc, s) => acc + s[key], 0));
}
