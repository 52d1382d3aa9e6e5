/** One entry point for the three report formats. */
import type { Evaluation } from '../engine/engine.js';
import { htmlReport } from './html-report.js';
import { jsonReport } from './json-report.js';
import { markdownReport } from './markdown-report.js';
import type { ReportContext } from './report-context.js';

export const REPORT_FORMATS = ['md', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function renderReport(ev: Evaluation, ctx: ReportContext, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return markdownReport(ev, ctx);
    case 'html':
      return htmlReport(ev, ctx);
    case 'json':
      return jsonReport(ev, ctx);
  }
}
