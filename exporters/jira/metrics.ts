/** The metric names and fixed label values of the Jira source: collectors, generators, dashboards and tests import them. */

export const JIRA_METRICS = {
  sprintPoints: 'jira_sprint_story_points',
  sprintStart: 'jira_sprint_start_timestamp_seconds',
  sprintEnd: 'jira_sprint_end_timestamp_seconds',
  /** Only for closed sprints: when the sprint was actually completed (Jira's completeDate). */
  sprintCompleteTime: 'jira_sprint_complete_timestamp_seconds',
  completedPointsTotal: 'jira_sprint_completed_story_points_total',
  committedPointsTotal: 'jira_sprint_committed_story_points_total',
  closedSprintsTotal: 'jira_sprints_closed_total',
  queryIssues: 'jira_query_issues',
  queryPoints: 'jira_query_story_points',
} as const;
