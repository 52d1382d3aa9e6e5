/**
 * `okr-metrics ledger export` / `ledger import`: the frozen history as a file (JSON or CSV) to
 * keep in git or a backup, and to restore from. An import is validated row by row (zod) before
 * anything is written, is one transaction, and never replaces a closed (frozen) row with other
 * figures unless told to, and then says which.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { UsageError } from '../config/config-error.js';
import { type Ledger, type LedgerRow, LedgerRowSchema } from './ledger.js';

export const LEDGER_FORMATS = ['json', 'csv'] as const;
export type LedgerFormat = (typeof LEDGER_FORMATS)[number];
const FORMAT = 'okr-metrics-ledger/v1';
const COLUMNS = Object.keys(LedgerRowSchema.shape) as Array<keyof LedgerRow>;
const NUMERIC = new Set<string>([
  'period_start',
  'period_end',
  'target_value',
  'baseline',
  'baseline_frozen_at',
  'final_value',
  'final_progress',
  'closed_at',
  'opened_at',
]);
const NULLABLE_TEXT = new Set<string>(['promql', 'baseline_promql', 'final_status']);

export function exportLedger(ledger: Ledger, format: LedgerFormat): string {
  const rows = ledger.rows();
  if (format === 'json') return `${JSON.stringify({ format: FORMAT, rows }, null, 2)}\n`;
  return stringify(
    rows.map((r) => COLUMNS.map((c) => (r[c] === null ? '' : r[c]))),
    { header: true, columns: COLUMNS as string[] },
  );
}

/** The format a file name implies, if any. */
export function formatOf(file: string): LedgerFormat | undefined {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.json$/i.test(file)) return 'json';
  return undefined;
}

/** Parse and validate an export; every problem is named with its row. */
export function parseLedgerExport(text: string, format: LedgerFormat, file: string): LedgerRow[] {
  let records: unknown[];
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new UsageError(`${file}: not JSON (use --format csv for a CSV export)`);
    }
    const top = z.object({ format: z.literal(FORMAT), rows: z.array(z.unknown()) }).safeParse(doc);
    if (!top.success) throw new UsageError(`${file}: not an okr-metrics ledger export (expected {"format": "${FORMAT}", "rows": [...]})`);
    records = top.data.rows;
  } else {
    let table: Array<Record<string, string>>;
    try {
      table = parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true });
    } catch (e) {
      throw new UsageError(`${file}: not CSV: ${(e as Error).message}`);
    }
    records = table.map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        if (NUMERIC.has(k)) out[k] = v === '' ? null : Number(v);
        else if (NULLABLE_TEXT.has(k)) out[k] = v === '' ? null : v;
        else out[k] = v;
      }
      return out;
    });
  }
  const problems: string[] = [];
  const rows: LedgerRow[] = [];
  const seen = new Set<string>();
  records.forEach((rec, i) => {
    const r = LedgerRowSchema.strict().safeParse(rec);
    const where = format === 'csv' ? `row ${i + 1} (line ${i + 2})` : `rows[${i}]`;
    if (!r.success) {
      for (const issue of r.error.issues.slice(0, 3)) problems.push(`${file}: ${where}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
      return;
    }
    const key = `${r.data.key_result} ${r.data.period}`;
    if (seen.has(key)) problems.push(`${file}: ${where}: key result ${r.data.key_result} period ${r.data.period} appears twice`);
    seen.add(key);
    if (r.data.closed_at !== null && r.data.final_status === null) problems.push(`${file}: ${where}: a closed row (closed_at set) needs final_status`);
    rows.push(r.data);
  });
  if (problems.length > 0) throw new UsageError(`the ledger export is not valid; nothing was imported:\n${problems.join('\n')}`);
  return rows;
}

export interface ImportOutcome {
  added: number;
  updated: number;
  unchanged: number;
  /** Closed rows whose figures differ: refused (nothing written) or, with overwrite, replaced. */
  conflicts: Array<{ keyResult: string; period: string; fields: Array<{ field: string; ledger: unknown; file: unknown }> }>;
  written: boolean;
}

export function importLedger(ledger: Ledger, rows: LedgerRow[], overwrite: boolean, dryRun = false): ImportOutcome {
  const r = ledger.importRows(rows, overwrite, dryRun);
  return {
    added: r.added,
    updated: r.updated,
    unchanged: r.unchanged,
    conflicts: r.conflicts.map((c) => ({
      keyResult: c.row.key_result,
      period: c.row.period,
      fields: c.fields.map((f) => ({ field: f, ledger: c.existing[f as keyof LedgerRow], file: c.row[f as keyof LedgerRow] })),
    })),
    written: !dryRun && (r.conflicts.length === 0 || overwrite),
  };
}
