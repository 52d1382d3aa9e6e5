/**
 * The shapes okr-metrics reads from Bitbucket Data Center REST 1.0 (and Code Insights 1.0),
 * one zod schema per endpoint, reduced to the fields it uses: a page without `values` or
 * `isLastPage` fails with `invalid_output` instead of ending the listing as if it were empty.
 */
import { z } from 'zod';

/** `start`/`limit` paging: always use `nextPageStart` as the next `start`; stop on `isLastPage`. */
export function dcPage<T extends z.ZodType>(item: T) {
  return z.object({ values: z.array(item), isLastPage: z.boolean(), nextPageStart: z.number().nullable().optional() });
}

export const RepoListSchema = dcPage(z.object({ slug: z.string() }));

/** Dates are epoch milliseconds; a merged pull request's merge time is its `closedDate`. */
export const PullRequestListSchema = dcPage(
  z
    .object({ id: z.number(), state: z.string(), createdDate: z.number(), updatedDate: z.number(), closedDate: z.number().optional() })
    .refine((pr) => pr.state !== 'MERGED' || pr.closedDate !== undefined, { path: ['closedDate'], message: 'a merged pull request has a closedDate' }),
);

export const CommitListSchema = dcPage(z.object({ id: z.string() }));

export const ReportListSchema = dcPage(
  z.object({
    key: z.string().optional(),
    title: z.string().optional(),
    data: z.array(z.object({ title: z.string().optional(), type: z.string(), value: z.unknown() })).optional(),
  }),
);
