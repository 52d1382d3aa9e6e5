/**
 * The quarterly review as Markdown, laid out like the "OKR Results" table leaders already
 * know (objective rows in bold, then each KR with status, progress and notes), followed by
 * the exact PromQL behind every figure. Pastes cleanly into Confluence.
 */
import type { Evaluation } from '../engine/engine.js';
import {
  baselineText,
  figuresText,
  formatPercent,
  formatShare,
  formatTarget,
  formatValue,
  frozenNote,
  isoInstant,
  isoMinute,
  notesOf,
  periodDates,
  STATUS_LABEL,
  targetMeaning,
  trendWithForecast,
} from './format.js';
import type { ReportContext } from './report-context.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
}

export function markdownReport(ev: Evaluation, ctx: ReportContext): string {
  const out: string[] = [];
  const title = ctx.organization ? `OKR review ${ctx.period.name}: ${ctx.organization}` : `OKR review ${ctx.period.name}`;
  out.push(`# ${title}`, '');
  const state =
    ev.evaluatedAt >= ctx.period.end
      ? 'closed'
      : `in progress, ${formatPercent((ev.evaluatedAt - ctx.period.start) / (ctx.period.end - ctx.period.start))} elapsed`;
  out.push(`Period ${periodDates(ctx.period, ctx.timezone)} (${state}). Evaluated ${isoMinute(ev.evaluatedAt)} from Prometheus ${ctx.prometheusUrl}.`, '');
  out.push('| **OKRs** | **Status** | **Progress** | **Baseline → Value → Target** | **Trend** | **Notes** |');
  out.push('|------|------|------|------|------|------|');
  for (const o of ev.objectives) {
    out.push(`| **${cell(o.title)}** |  | **${formatPercent(o.progress)}** |  |  |  |`);
    for (const k of o.keyResults) {
      out.push(
        `| ${cell(k.title)} | ${STATUS_LABEL[k.status]} | ${formatPercent(k.status === 'no_data' ? undefined : k.progress)} | ${cell(figuresText(k).join(' → '))} | ${cell(trendWithForecast(k))} | ${cell(notesOf(k).join('<br>'))} |`,
      );
    }
  }
  out.push('', '## How each figure was measured', '');
  for (const o of ev.objectives) {
    for (const k of o.keyResults) {
      out.push(`### ${k.id}: ${k.title}`, '');
      const when = k.closed ? `closed, figures as of ${isoMinute(k.evaluatedAt)}` : `current, as of ${isoMinute(k.evaluatedAt)}`;
      out.push(`- Period: ${k.period.name} (${periodDates(k.period, ctx.timezone)}), ${when}${frozenNote(k) ? `; ${frozenNote(k)}` : ''}`);
      out.push(`- Target: \`${k.targetText}\` → ${formatTarget(k)}${targetMeaning(k) ? ` (${targetMeaning(k)})` : ''}`);
      out.push(`- Baseline: ${baselineText(k)}`);
      out.push(
        `- Value: ${formatValue(k.value, k.unit, k.target)}; progress ${formatPercent(k.progress)} (expected by now ${formatPercent(k.expectedProgress)}); status ${STATUS_LABEL[k.status]}`,
      );
      if (!k.closed && k.forecast !== undefined)
        out.push(
          `- Forecast at period end (linear trend): ${formatValue(k.forecast, k.unit, k.target)}${k.forecastMet ? ', reaches the target' : ', misses the target'}`,
        );
      if (k.problem) out.push(`- ${k.status === 'no_data' ? 'No data' : 'Note'}: ${k.problem}`);
      if (k.promql) out.push(`- Value query, at ${isoInstant(k.evaluatedAt)}:`, '', '  ```promql', `  ${k.promql}`, '  ```');
      else if (k.kind === 'manual') out.push('- Value: entered in the OKR file (manual measure)');
      if (k.observed)
        out.push(
          `- Observed: ${formatShare(k.observed.share)} of ${k.period.name}${k.closed ? '' : ' so far'} (steps with samples), at ${isoInstant(k.observed.at)}:`,
          '',
          '  ```promql',
          `  ${k.observed.promql}`,
          '  ```',
        );
      if (k.baselinePromql)
        out.push(
          `- Baseline query${k.baselineAt !== undefined ? `, at ${isoInstant(k.baselineAt)}` : ''}:`,
          '',
          '  ```promql',
          `  ${k.baselinePromql}`,
          '  ```',
        );
      if (k.baselineObserved?.promql)
        out.push(
          `- Baseline observed: ${formatShare(k.baselineObserved.share)} of ${k.baselineObserved.period}, at ${isoInstant(k.baselineObserved.at)}:`,
          '',
          '  ```promql',
          `  ${k.baselineObserved.promql}`,
          '  ```',
        );
      if (k.previous) {
        const prev = `- Previous period ${k.previous.period}: ${formatValue(k.previous.value, k.unit, k.target)}${k.previous.fromLedger ? ', frozen in the ledger' : ', measured'}`;
        if (k.previous.promql) out.push(`${prev}; query at ${isoInstant(k.previous.at)}:`, '', '  ```promql', `  ${k.previous.promql}`, '  ```');
        else out.push(prev);
      }
      const link = ctx.grafanaLink?.(k);
      if (link) out.push(`- Grafana: ${link}`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
