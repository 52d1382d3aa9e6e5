/**
 * The shapes okr-metrics reads from SonarQube's Web API (Server 10.x / 2025.x and Cloud), one
 * zod schema per endpoint, reduced to the fields it uses. The client reads every body through
 * them: an answer without the expected envelope (`component.measures`, `projectStatus`, a
 * proxy's own JSON) fails with `invalid_output` and the project keeps its last values, instead
 * of reading as "no measures" and dropping every series. SonarQube's own web-service examples
 * (testdata/sonarqube-examples/) parse through them (sonarqube-contract.test.ts).
 */
import { z } from 'zod';

export const PagingSchema = z.object({ pageIndex: z.number(), pageSize: z.number(), total: z.number() });
export type Paging = z.infer<typeof PagingSchema>;

/** GET api/components/search (qualifiers=TRK). */
export const ComponentSearchSchema = z.object({
  paging: PagingSchema,
  components: z.array(z.object({ key: z.string(), name: z.string().optional() })),
});

/** GET api/project_branches/list. */
export const BranchListSchema = z.object({
  branches: z.array(z.object({ name: z.string(), isMain: z.boolean().optional(), analysisDate: z.string().optional() })),
});

/**
 * A measure of GET api/measures/component, across versions: `value` for ordinary metrics,
 * `period.value` for `new_*` metrics (8.1+), `periods[index 1]` on servers before 8.1.
 */
export const RawMeasureSchema = z.object({
  metric: z.string(),
  value: z.string().optional(),
  period: z.object({ index: z.number().optional(), value: z.string().optional() }).optional(),
  periods: z.array(z.object({ index: z.number().optional(), value: z.string().optional() })).optional(),
});
export type RawMeasure = z.infer<typeof RawMeasureSchema>;

/** Metrics without data are simply missing from `measures`; the array itself is always there. */
export const MeasuresComponentSchema = z.object({ component: z.object({ measures: z.array(RawMeasureSchema) }) });

/** GET api/qualitygates/project_status: OK, WARN (before 7.6), ERROR, or NONE (no gate or no analysis). */
export const ProjectStatusSchema = z.object({ projectStatus: z.object({ status: z.string() }) });

/** GET api/measures/search_history: one history entry per analysis; `value` is absent when the analysis lacks the metric. */
export const SearchHistorySchema = z.object({
  paging: PagingSchema,
  measures: z.array(z.object({ metric: z.string(), history: z.array(z.object({ date: z.string(), value: z.string().optional() })) })),
});
export type SearchHistoryResponse = z.infer<typeof SearchHistorySchema>;
