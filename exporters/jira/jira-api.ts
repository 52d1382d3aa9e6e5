/**
 * The shapes okr-metrics reads from Jira's REST APIs (Agile 1.0, platform v2/v3, greenhopper),
 * one zod schema per endpoint, reduced to the fields it uses: the client reads every body
 * through them, so an answer without what the figures need (a proxy's `{"hello":"world"}`, a
 * Sprint Report without its issue lists) fails loudly instead of counting as zero. Unknown
 * fields pass untouched. Shared by the client, the figures logic and the fake server; the
 * public examples in testdata/ parse through them (jira-contract.test.ts).
 */
import { z } from 'zod';

export type JiraFlavor = 'cloud' | 'datacenter';

/** Agile offset paging: `values` is always there; `isLast` and `total` may be missing. */
export function agilePage<T extends z.ZodType>(item: T) {
  return z.object({
    startAt: z.number().optional(),
    maxResults: z.number().optional(),
    total: z.number().optional(),
    isLast: z.boolean().optional(),
    values: z.array(item),
  });
}

export const JiraBoardSchema = z.object({ id: z.number(), name: z.string(), type: z.string() });
export type JiraBoard = z.infer<typeof JiraBoardSchema>;
export const BoardListSchema = agilePage(JiraBoardSchema);

/** GET /rest/agile/1.0/board/{id}/configuration. */
export const BoardConfigurationSchema = z.object({
  id: z.number(),
  name: z.string(),
  type: z.string().optional(),
  estimation: z
    .object({
      type: z.string().optional(),
      field: z.object({ fieldId: z.string().optional(), displayName: z.string().optional() }).optional(),
    })
    .optional(),
});
export type BoardConfiguration = z.infer<typeof BoardConfigurationSchema>;

export type SprintState = 'future' | 'active' | 'closed';

export const JiraSprintSchema = z.object({
  id: z.number(),
  name: z.string(),
  state: z.string(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
  completeDate: z.string().optional(),
  originBoardId: z.number().optional(),
});
export type JiraSprint = z.infer<typeof JiraSprintSchema>;
export const SprintListSchema = agilePage(JiraSprintSchema);

/** GET /rest/api/{2,3}/field: an unpaged array. */
export const JiraFieldSchema = z.object({
  id: z.string(),
  name: z.string(),
  custom: z.boolean().optional(),
  schema: z.object({ type: z.string().optional(), custom: z.string().optional(), customId: z.number().optional() }).optional(),
});
export type JiraField = z.infer<typeof JiraFieldSchema>;
export const FieldListSchema = z.array(JiraFieldSchema);

/**
 * `toString` cannot be a declared key: zod reads `input.toString`, which every object inherits
 * from Object.prototype. It is kept as an own property (loose object) and checked here.
 */
export const ChangelogItemSchema = z
  .looseObject({
    field: z.string(),
    fieldId: z.string().optional(),
    from: z.string().nullable().optional(),
    fromString: z.string().nullable().optional(),
    to: z.string().nullable().optional(),
  })
  .refine((i) => !Object.hasOwn(i, 'toString') || typeof i.toString === 'string' || i.toString === null, {
    path: ['toString'],
    message: 'expected a string or null',
  });
export type ChangelogItem = z.infer<typeof ChangelogItemSchema>;

export const ChangelogHistorySchema = z.object({ id: z.string().optional(), created: z.string(), items: z.array(ChangelogItemSchema) });
export type ChangelogHistory = z.infer<typeof ChangelogHistorySchema>;
/** Cloud's paged GET /rest/api/3/issue/{key}/changelog. */
export const ChangelogPageSchema = agilePage(ChangelogHistorySchema);

const SprintRefSchema = z.object({ id: z.number(), state: z.string().optional(), completeDate: z.string().optional() });

export const JiraIssueSchema = z.object({
  id: z.string(),
  key: z.string(),
  // Cloud leaves `fields` out when only ids are asked for; custom fields keep their own keys.
  fields: z
    .looseObject({
      status: z.object({ name: z.string().optional(), statusCategory: z.object({ key: z.string().optional() }).optional() }).optional(),
      created: z.string().optional(),
      sprint: SprintRefSchema.nullable().optional(),
      closedSprints: z.array(SprintRefSchema).nullable().optional(),
    })
    .default({}),
  changelog: z
    .object({
      startAt: z.number().optional(),
      maxResults: z.number().optional(),
      total: z.number().optional(),
      histories: z.array(ChangelogHistorySchema),
    })
    .optional(),
});
export type JiraIssue = z.infer<typeof JiraIssueSchema>;

/** Issue lists of the Agile API: offset paging, `issues` always there. */
export const OffsetIssuePageSchema = z.object({
  startAt: z.number().optional(),
  maxResults: z.number().optional(),
  total: z.number().optional(),
  isLast: z.boolean().optional(),
  issues: z.array(JiraIssueSchema),
});
export type OffsetIssuePage = z.infer<typeof OffsetIssuePageSchema>;

/**
 * An issue of a JQL search: queries only count issues and sum a field, and Cloud's enhanced
 * search returns only `id` unless fields are named, so `key` is not required here.
 */
export const SearchIssueSchema = JiraIssueSchema.extend({ key: z.string().optional() });
export type SearchIssue = z.infer<typeof SearchIssueSchema>;

/** Data Center's /rest/api/2/search: offset paging with `total`. */
export const OffsetSearchPageSchema = OffsetIssuePageSchema.extend({ issues: z.array(SearchIssueSchema) });

/**
 * Cloud's enhanced search /rest/api/3/search/jql: token paging, no total. `issues` is required:
 * a page without it is not "no issues" (that is `"issues": []`) but not a search answer at all.
 */
export const TokenIssuePageSchema = z.object({
  issues: z.array(SearchIssueSchema),
  nextPageToken: z.string().nullable().optional(),
  isLast: z.boolean().optional(),
});
export type TokenIssuePage = z.infer<typeof TokenIssuePageSchema>;

/** A greenhopper sum: `{"value":31,"text":"31.0"}`, or `{"text":"null"}` with no value when empty. */
const VelocityStatSchema = z.object({ value: z.number().nullable().optional(), text: z.string().optional() });
export type VelocityStat = z.infer<typeof VelocityStatSchema>;

/** Greenhopper velocity chart (undocumented): entries keyed by sprint id as a string. */
export const VelocityChartSchema = z.object({
  sprints: z.array(z.object({ id: z.number(), name: z.string().optional(), state: z.string().optional() })),
  velocityStatEntries: z.record(z.string(), z.object({ estimated: VelocityStatSchema.optional(), completed: VelocityStatSchema.optional() })),
});
export type VelocityChart = z.infer<typeof VelocityChartSchema>;

const EstimateStatisticSchema = z.object({ statFieldId: z.string().optional(), statFieldValue: VelocityStatSchema });

/**
 * A sprint-report issue: estimateStatistic = estimate when the sprint started (or the issue
 * joined it). Its absence would read as an unestimated issue, so it is required.
 */
export const SprintReportIssueSchema = z.object({
  key: z.string(),
  done: z.boolean().optional(),
  estimateStatistic: EstimateStatisticSchema,
  currentEstimateStatistic: EstimateStatisticSchema.optional(),
});
export type SprintReportIssue = z.infer<typeof SprintReportIssueSchema>;

/**
 * Greenhopper sprint report (undocumented; the data behind Jira's Sprint Report page). The
 * commitment is summed over its four issue lists: a report without one of them, or without the
 * completed sum, is unusable, never a sprint of 0 points.
 */
export const SprintReportSchema = z.object({
  contents: z.object({
    completedIssues: z.array(SprintReportIssueSchema),
    issuesNotCompletedInCurrentSprint: z.array(SprintReportIssueSchema),
    /** Removed from the sprint after it started. */
    puntedIssues: z.array(SprintReportIssueSchema),
    issuesCompletedInAnotherSprint: z.array(SprintReportIssueSchema),
    completedIssuesEstimateSum: VelocityStatSchema,
    issueKeysAddedDuringSprint: z.record(z.string(), z.boolean()),
  }),
  /** State is upper case here (ACTIVE, CLOSED); dates are display strings, not ISO. */
  sprint: z.object({ id: z.number(), name: z.string().optional(), state: z.string() }),
});
export type SprintReport = z.infer<typeof SprintReportSchema>;
