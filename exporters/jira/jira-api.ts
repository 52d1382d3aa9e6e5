/**
 * The shapes okr-metrics reads from Jira's REST APIs (Agile 1.0, platform v2/v3, greenhopper),
 * reduced to the fields it uses. Shared by the client, the figures logic and the fake server.
 */

export type JiraFlavor = 'cloud' | 'datacenter';

/** Agile offset paging (`isLast` may be missing; `total` may be missing). */
export interface AgilePage<T> {
  startAt?: number;
  maxResults?: number;
  total?: number;
  isLast?: boolean;
  values: T[];
}

export interface JiraBoard {
  id: number;
  name: string;
  type: string;
}

export interface BoardConfiguration {
  id: number;
  name: string;
  type?: string;
  estimation?: { type?: string; field?: { fieldId?: string; displayName?: string } };
}

export type SprintState = 'future' | 'active' | 'closed';

export interface JiraSprint {
  id: number;
  name: string;
  state: string;
  startDate?: string;
  endDate?: string;
  completeDate?: string;
  originBoardId?: number;
}

export interface JiraField {
  id: string;
  name: string;
  custom?: boolean;
  schema?: { type?: string; custom?: string; customId?: number };
}

export interface ChangelogItem {
  field: string;
  fieldId?: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
}

export interface ChangelogHistory {
  id?: string;
  created: string;
  items: ChangelogItem[];
}

export interface JiraIssue {
  id: string;
  key: string;
  fields: Record<string, unknown> & {
    status?: { name?: string; statusCategory?: { key?: string } };
    created?: string;
    sprint?: { id: number; state?: string } | null;
    closedSprints?: Array<{ id: number; state?: string; completeDate?: string }> | null;
  };
  changelog?: { startAt?: number; maxResults?: number; total?: number; histories: ChangelogHistory[] };
}

/** Issue lists of the Agile API and DC's /rest/api/2/search: offset paging with `total`. */
export interface OffsetIssuePage {
  startAt?: number;
  maxResults?: number;
  total?: number;
  isLast?: boolean;
  issues: JiraIssue[];
}

/** Cloud's enhanced search /rest/api/3/search/jql: token paging, no total. */
export interface TokenIssuePage {
  issues: JiraIssue[];
  nextPageToken?: string | null;
  isLast?: boolean;
}

export interface VelocityStat {
  value?: number;
  text?: string;
}

export interface VelocityChart {
  sprints: Array<{ id: number; name?: string; state?: string }>;
  velocityStatEntries: Record<string, { estimated?: VelocityStat; completed?: VelocityStat }>;
}

/** A sprint-report issue: estimateStatistic = estimate when the sprint started (or the issue joined it). */
export interface SprintReportIssue {
  key: string;
  done?: boolean;
  estimateStatistic?: { statFieldId?: string; statFieldValue?: VelocityStat };
  currentEstimateStatistic?: { statFieldId?: string; statFieldValue?: VelocityStat };
}

/** Greenhopper sprint report (undocumented; the data behind Jira's Sprint Report page). */
export interface SprintReport {
  contents: {
    completedIssues?: SprintReportIssue[];
    issuesNotCompletedInCurrentSprint?: SprintReportIssue[];
    /** Removed from the sprint after it started. */
    puntedIssues?: SprintReportIssue[];
    issuesCompletedInAnotherSprint?: SprintReportIssue[];
    completedIssuesEstimateSum?: VelocityStat;
    issueKeysAddedDuringSprint?: Record<string, boolean>;
  };
  /** State is upper case here (ACTIVE, CLOSED); dates are display strings, not ISO. */
  sprint: { id: number; name?: string; state: string };
}
