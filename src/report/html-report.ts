/**
 * The review as one self-contained HTML page (inline CSS and SVG, no scripts, no external
 * requests): the same table as the Markdown report, a small trend chart per KR with its
 * target line, and the PromQL behind each figure. Served by `serve` at /report.
 */
import type { Evaluation, KrResult } from '../engine/engine.js';
import {
  baselineText,
  figuresText,
  formatPercent,
  formatValue,
  frozenNote,
  isoInstant,
  isoMinute,
  notesOf,
  periodDates,
  STATUS_TEXT,
  targetMeaning,
  trendWithForecast,
} from './format.js';
import type { ReportContext } from './report-context.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A 200×44 sparkline of the measured points over the period, with its range printed: the
 * highest and lowest value it is drawn between (target included) at the left, and the target
 * as a dashed line. Without the range a flat line and a collapse look alike.
 */
export function sparkline(k: KrResult): string {
  const pts = k.trend;
  if (pts.length === 0) return '<svg class="spark" width="200" height="44" role="img" aria-label="no data"></svg>';
  const values = pts.map((p) => p.v);
  if (k.target) values.push(k.target.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) || 1;
  const t0 = k.period.start;
  const t1 = k.period.end;
  const x0 = 52;
  const x = (t: number) => (x0 + ((t - t0) / (t1 - t0)) * (196 - x0)).toFixed(1);
  const y = (v: number) => (38 - ((v - lo) / span) * 32).toFixed(1);
  const line = pts.map((p) => `${x(p.t)},${y(p.v)}`).join(' ');
  const target = k.target ? `<line x1="${x0}" x2="196" y1="${y(k.target.value)}" y2="${y(k.target.value)}" class="target"/>` : '';
  const dots = pts.length === 1 ? `<circle cx="${x(pts[0]!.t)}" cy="${y(pts[0]!.v)}" r="2.5"/>` : `<polyline points="${line}"/>`;
  const top = formatValue(hi, k.unit);
  const bottom = formatValue(lo, k.unit);
  const range = `<text class="range max" x="0" y="10">${esc(top)}</text><text class="range min" x="0" y="42">${esc(bottom)}</text>`;
  const label = `trend of ${k.title} from ${bottom} to ${top}`;
  return `<svg class="spark" width="200" height="44" viewBox="0 0 200 44" role="img" aria-label="${esc(label)}">${range}${target}${dots}</svg>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232b;margin:2rem auto;max-width:1200px;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} .meta{color:#5b6573;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border:1px solid #d8dde3;padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f7} tr.objective td{background:#eef2f7;font-weight:600}
.status{white-space:nowrap} .status::before{content:"";display:inline-block;width:.7em;height:.7em;border-radius:50%;background:currentColor;margin-right:.4em;vertical-align:-.05em} .done,.on_track{color:#1a7f37} .at_risk{color:#b35900} .off_track{color:#c62828} .no_data{color:#6e7781}
.bar{background:#e6e9ed;border-radius:3px;height:8px;width:90px;display:inline-block;vertical-align:middle;margin-right:.4rem;position:relative}
.bar span{display:block;height:8px;border-radius:3px;background:#6e7781} .bar.done span,.bar.on_track span{background:#1a7f37} .bar.at_risk span{background:#b35900} .bar.off_track span{background:#c62828}
.bar i{position:absolute;top:-2px;width:2px;height:12px;background:#1d232b}
.spark polyline{fill:none;stroke:#2f81f7;stroke-width:1.8} .spark circle{fill:#2f81f7} .spark .target{stroke:#c62828;stroke-dasharray:3 3;stroke-width:1} .spark .range{font-size:9px;fill:#5b6573}
details{margin:.3rem 0} pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
`;

function progressBar(k: KrResult): string {
  if (k.status === 'no_data') return '—';
  const p = Math.round(k.progress * 100);
  const e = Math.round(k.expectedProgress * 100);
  return `<span class="bar ${k.status}" title="expected by now: ${e}%"><span style="width:${p}%"></span><i style="left:${e}%"></i></span>${p}%`;
}

function krRow(k: KrResult, ctx: ReportContext): string {
  const [baseline, value, target] = figuresText(k).map(esc);
  const figures = `${baseline} → <b>${value}</b> → ${target}`;
  const notes = notesOf(k).map(esc).join('<br>');
  const link = ctx.grafanaLink?.(k);
  const detail = [
    `<div>Target <code>${esc(k.targetText)}</code>${targetMeaning(k) ? ` (${esc(targetMeaning(k))})` : ''}; baseline ${esc(baselineText(k))}; period ${esc(k.period.name)} ${periodDates(k.period, ctx.timezone)}${frozenNote(k) ? `, ${esc(frozenNote(k))}` : ''}</div>`,
    k.promql
      ? `<div>Value query, at ${isoInstant(k.evaluatedAt)}:</div><pre>${esc(k.promql)}</pre>`
      : k.kind === 'manual'
        ? '<div>Value entered in the OKR file.</div>'
        : '',
    k.baselinePromql
      ? `<div>Baseline query${k.baselineAt !== undefined ? `, at ${isoInstant(k.baselineAt)}` : ''}:</div><pre>${esc(k.baselinePromql)}</pre>`
      : '',
    k.previous?.promql
      ? `<div>Previous period ${esc(k.previous.period)} (${esc(formatValue(k.previous.value, k.unit, k.target))}), at ${isoInstant(k.previous.at)}:</div><pre>${esc(k.previous.promql)}</pre>`
      : '',
    link ? `<div><a href="${esc(link)}">Open in Grafana</a></div>` : '',
  ].join('');
  return `<tr class="kr" data-kr="${esc(k.id)}" data-status="${k.status}">
<td>${esc(k.title)}<details><summary>how it is measured</summary>${detail}</details></td>
<td class="status ${k.status}">${STATUS_TEXT[k.status]}</td>
<td>${progressBar(k)}</td>
<td>${figures}</td>
<td>${sparkline(k)}<br>${esc(trendWithForecast(k))}</td>
<td>${notes}</td>
</tr>`;
}

export function htmlReport(ev: Evaluation, ctx: ReportContext): string {
  const title = ctx.organization ? `OKR review ${ctx.period.name}: ${ctx.organization}` : `OKR review ${ctx.period.name}`;
  const rows = ev.objectives
    .map(
      (o) =>
        `<tr class="objective" data-objective="${esc(o.id)}"><td>${esc(o.title)}</td><td></td><td>${formatPercent(o.progress)}</td><td></td><td></td><td></td></tr>\n${o.keyResults.map((k) => krRow(k, ctx)).join('\n')}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Period ${periodDates(ctx.period, ctx.timezone)} · evaluated ${isoMinute(ev.evaluatedAt)} · Prometheus ${esc(ctx.prometheusUrl)}</p>
<table>
<thead><tr><th>OKRs</th><th>Status</th><th>Progress</th><th>Baseline → Value → Target</th><th>Trend</th><th>Notes</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="meta">Progress is the position between baseline and target (100% only when met); the tick on each bar is the progress a steady pace would have reached by now.</p>
</body></html>
`;
}
