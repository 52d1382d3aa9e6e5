/**
 * The quarterly review as Markdown, laid out like the "OKR Results" table leaders already
 * know (objective rows in bold, then each KR with status, progress and notes), followed by
 * the exact PromQL behind every figure. Pastes cleanly into Confluence.
 */
import type { Evaluation, KrResult } from '../okr/engine.js';
import { baselineText, formatPercent, formatTarget, formatValue, isoDate, isoMinute, STATUS_LABEL, targetMeaning, trendText } from './format.js';
import type { ReportContext } from './report-context.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
}

function trendCell(k: KrResult): string {
  const trend = trendText(k);
  if (k.closed || k.forecast === undefined) return trend;
  return `${trend}; forecast ${formatValue(k.forecast, k.unit)}`.replace(/^; /, '');
}

function notesCell(k: KrResult): string {
  const notes = [k.notes, k.problem && k.status === 'no_data' ? `no data: ${k.problem}` : undefined, k.owner ? `owner: ${k.owner}` : undefined].filter(Boolean);
  return notes.join('<br>');
}

export function markdownReport(ev: Evaluation, ctx: ReportContext): string {
  const out: string[] = [];
  const title = ctx.organization ? `OKR review ${ctx.period.name}: ${ctx.organization}` : `OKR review ${ctx.period.name}`;
  out.push(`# ${title}`, '');
  const state = ev.evaluatedAt >= ctx.period.end ? 'closed' : `in progress, ${formatPercent((ev.evaluatedAt - ctx.period.start) / (ctx.period.end - ctx.period.start))} elapsed`;
  out.push(`Period ${isoDate(ctx.period.start)} → ${isoDate(ctx.period.end)} (${state}). Evaluated ${isoMinute(ev.evaluatedAt)} from Prometheus ${ctx.prometheusUrl}.`, '');
  out.push('| **OKRs** | **Status** | **Progress** | **Baseline → Value → Target** | **Trend** | **Notes** |');
  out.push('|------|------|------|------|------|------|');
  for (const o of ev.objectives) {
    out.push(`| **${cell(o.title)}** |  | **${formatPercent(o.progress)}** |  |  |  |`);
    for (const k of o.keyResults) {
      const figures = `${formatValue(k.baseline, k.unit)} → ${formatValue(k.value, k.unit)} → ${formatTarget(k)}`;
      out.push(`| ${cell(k.title)} | ${STATUS_LABEL[k.status]} | ${formatPercent(k.status === 'no_data' ? undefined : k.progress)} | ${cell(figures)} | ${cell(trendCell(k))} | ${cell(notesCell(k))} |`);
    }
  }
  out.push('', '## How each figure was measured', '');
  for (const o of ev.objectives) {
    for (const k of o.keyResults) {
      out.push(`### ${k.id}: ${k.title}`, '');
      const when = k.closed ? `closed, figures as of ${isoMinute(k.evaluatedAt)}` : `current, as of ${isoMinute(k.evaluatedAt)}`;
      out.push(`- Period: ${k.period.name} (${isoDate(k.period.start)} → ${isoDate(k.period.end)}), ${when}${k.fromLedger ? '; frozen in the ledger' : ''}`);
      out.push(`- Target: \`${k.targetText}\` → ${formatTarget(k)}${targetMeaning(k) ? ` (${targetMeaning(k)})` : ''}`);
      out.push(`- Baseline: ${baselineText(k)}`);
      out.push(`- Value: ${formatValue(k.value, k.unit)}; progress ${formatPercent(k.progress)} (expected by now ${formatPercent(k.expectedProgress)}); status ${STATUS_LABEL[k.status]}`);
      if (!k.closed && k.forecast !== undefined) out.push(`- Forecast at period end (linear trend): ${formatValue(k.forecast, k.unit)}${k.forecastMet ? ', reaches the target' : ', misses the target'}`);
      if (k.problem && k.status === 'no_data') out.push(`- No data: ${k.problem}`);
      if (k.promql) out.push('- Value query:', '', '  ```promql', `  ${k.promql}`, '  ```');
      else if (k.kind === 'manual') out.push('- Value: entered in the OKR file (manual measure)');
      if (k.baselinePromql) out.push('- Baseline query:', '', '  ```promql', `  ${k.baselinePromql}`, '  ```');
      const link = ctx.grafanaLink?.(k);
      if (link) out.push(`- Grafana: ${link}`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
