/**
 * The shapes okr-metrics reads from Bitbucket Cloud 2.0, one zod schema per endpoint, reduced
 * to the fields it uses. The `bitbucket` package parses the JSON; cloud-client.ts reads every
 * `data` through these, so a page without `values` (a proxy's JSON, an error page with status
 * 200) fails with `invalid_output` instead of reading as "no pull requests". The recorded
 * responses of atlassian-python-api (testdata/atlassian-python-api/) parse through them
 * (bitbucket-contract.test.ts).
 */
import { z } from 'zod';

/** An ISO-8601 timestamp Node can read (Cloud sends microseconds and `+00:00`). */
const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected an ISO-8601 date-time' });

/**
 * Bitbucket's paging envelope. `values` is always there; `next` is absent on the last page
 * (and on every page of the pipelines list, BCLOUD-13806); `page`, `pagelen`, `size` are optional.
 */
export function cloudPage<T extends z.ZodType>(item: T) {
  return z.object({
    values: z.array(item),
    next: z.string().nullable().optional(),
    page: z.number().optional(),
    pagelen: z.number().optional(),
    size: z.number().optional(),
  });
}

const BranchRef = z.object({ name: z.string() });

/** GET /2.0/repositories/{workspace}: `mainbranch` is null in an empty repository. */
export const RepositoryListSchema = cloudPage(z.object({ slug: z.string(), mainbranch: BranchRef.nullable().optional() }));

/** GET /2.0/repositories/{workspace}/{repo}. */
export const RepositorySchema = z.object({ mainbranch: BranchRef.nullable().optional() });

/** GET .../refs/branches/{name}. */
export const BranchSchema = z.object({ target: z.object({ hash: z.string() }) });

/** GET .../pullrequests (list items are partial: no participants). */
export const PullRequestListSchema = cloudPage(z.object({ id: z.number(), state: z.string(), created_on: isoTime, updated_on: isoTime }));

/** GET .../pipelines: `state.result` only once COMPLETED, `completed_on` absent while running. */
export const PipelineSchema = z.object({
  build_number: z.number(),
  created_on: isoTime,
  completed_on: isoTime.optional(),
  state: z.object({ name: z.string(), result: z.object({ name: z.string() }).optional() }),
});
export const PipelineListSchema = cloudPage(PipelineSchema);

/** GET .../commit/{hash}/reports (Code Insights). */
export const ReportListSchema = cloudPage(
  z.object({
    external_id: z.string().optional(),
    title: z.string().optional(),
    report_type: z.string().optional(),
    data: z.array(z.object({ title: z.string().optional(), type: z.string(), value: z.unknown() })).optional(),
  }),
);
