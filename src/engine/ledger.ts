/**
 * The KR ledger: an embedded SQLite file that freezes each key result's baseline when its
 * period starts and its final value when the period closes, together with the target as it
 * was. Reports of past periods read it, so they survive Prometheus retention and later edits
 * of the OKR file. Closed rows are never updated.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { KR_STATUSES } from '../conventions.js';
import { MEASURE_UNITS } from './measure-kinds.js';

export const BASELINE_SOURCES = ['previous_period', 'period_start', 'fixed', 'none'] as const;
export type BaselineSource = (typeof BASELINE_SOURCES)[number];

/** A row of kr_periods: read through this schema, so a damaged or foreign database fails loudly, naming the row. */
export const LedgerRow = z.object({
  key_result: z.string(),
  period: z.string(),
  objective: z.string(),
  title: z.string(),
  period_start: z.number(),
  period_end: z.number(),
  target_text: z.string(),
  /** Absolute target, when it could be resolved. */
  target_value: z.number().nullable(),
  unit: z.enum(MEASURE_UNITS),
  promql: z.string().nullable(),
  baseline: z.number().nullable(),
  baseline_source: z.enum(BASELINE_SOURCES),
  baseline_promql: z.string().nullable(),
  baseline_frozen_at: z.number().nullable(),
  final_value: z.number().nullable(),
  final_progress: z.number().nullable(),
  final_status: z.enum(KR_STATUSES).nullable(),
  closed_at: z.number().nullable(),
});
export type LedgerRow = z.infer<typeof LedgerRow>;

export const BackfillRow = z.object({
  source: z.string(),
  from_ms: z.number(),
  to_ms: z.number(),
  samples: z.number(),
  output: z.string(),
  created_at: z.number(),
});
export type BackfillRow = z.infer<typeof BackfillRow>;


const SCHEMA = `
CREATE TABLE IF NOT EXISTS kr_periods (
  key_result TEXT NOT NULL,
  period TEXT NOT NULL,
  objective TEXT NOT NULL,
  title TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  period_end INTEGER NOT NULL,
  target_text TEXT NOT NULL,
  target_value REAL,
  unit TEXT NOT NULL,
  promql TEXT,
  baseline REAL,
  baseline_source TEXT NOT NULL,
  baseline_promql TEXT,
  baseline_frozen_at INTEGER,
  final_value REAL,
  final_progress REAL,
  final_status TEXT,
  closed_at INTEGER,
  PRIMARY KEY (key_result, period)
);
CREATE TABLE IF NOT EXISTS backfills (
  source TEXT NOT NULL,
  from_ms INTEGER NOT NULL,
  to_ms INTEGER NOT NULL,
  samples INTEGER NOT NULL,
  output TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (source, from_ms, to_ms)
);
`;

export class Ledger {
  private readonly db: Database.Database;

  /** `readonly`: an existing ledger opened for reading only (`report`), never created or changed. */
  constructor(
    readonly file: string,
    opts: { readonly?: boolean } = {},
  ) {
    if (opts.readonly) {
      this.db = new Database(file, { readonly: true, fileMustExist: true });
      return;
    }
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  get(keyResult: string, period: string): LedgerRow | undefined {
    const row: unknown = this.db.prepare('SELECT * FROM kr_periods WHERE key_result = ? AND period = ?').get(keyResult, period);
    return row === undefined ? undefined : this.parse(LedgerRow, row);
  }

  /** Record the start of a period with its frozen baseline; a second call changes nothing. */
  open(row: Omit<LedgerRow, 'final_value' | 'final_progress' | 'final_status' | 'closed_at'>): LedgerRow {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO kr_periods (key_result, period, objective, title, period_start, period_end, target_text, target_value, unit, promql, baseline, baseline_source, baseline_promql, baseline_frozen_at)
         VALUES (@key_result, @period, @objective, @title, @period_start, @period_end, @target_text, @target_value, @unit, @promql, @baseline, @baseline_source, @baseline_promql, @baseline_frozen_at)`,
      )
      .run(row);
    return this.get(row.key_result, row.period)!;
  }

  /** While a period is open, the target follows the file (edits mid-period apply); a closed row is left alone. */
  updateOpenTarget(keyResult: string, period: string, fields: { target_text: string; target_value: number | null; title: string; promql: string | null }): void {
    this.db
      .prepare(
        `UPDATE kr_periods SET target_text = @target_text, target_value = @target_value, title = @title, promql = @promql
         WHERE key_result = @key_result AND period = @period AND closed_at IS NULL`,
      )
      .run({ ...fields, key_result: keyResult, period });
  }

  /** Freeze the final figures of a period. Only the first close counts. */
  closePeriod(keyResult: string, period: string, fields: { final_value: number | null; final_progress: number | null; final_status: string; closed_at: number }): void {
    this.db
      .prepare(
        `UPDATE kr_periods SET final_value = @final_value, final_progress = @final_progress, final_status = @final_status, closed_at = @closed_at
         WHERE key_result = @key_result AND period = @period AND closed_at IS NULL`,
      )
      .run({ ...fields, key_result: keyResult, period });
  }

  /** A baseline that could not be measured when the period opened is filled in once it can. */
  fillMissingBaseline(keyResult: string, period: string, baseline: number, baselinePromql: string | null, at: number): void {
    this.db
      .prepare('UPDATE kr_periods SET baseline = ?, baseline_promql = ?, baseline_frozen_at = ? WHERE key_result = ? AND period = ? AND baseline IS NULL AND closed_at IS NULL')
      .run(baseline, baselinePromql, at, keyResult, period);
  }

  rows(): LedgerRow[] {
    return this.db
      .prepare('SELECT * FROM kr_periods ORDER BY period_start, key_result')
      .all()
      .map((r) => this.parse(LedgerRow, r));
  }

  recordBackfill(row: BackfillRow): void {
    this.db
      .prepare(
        `INSERT INTO backfills (source, from_ms, to_ms, samples, output, created_at) VALUES (@source, @from_ms, @to_ms, @samples, @output, @created_at)
         ON CONFLICT (source, from_ms, to_ms) DO UPDATE SET samples = excluded.samples, output = excluded.output, created_at = excluded.created_at`,
      )
      .run(row);
  }

  backfills(): BackfillRow[] {
    return this.db
      .prepare('SELECT * FROM backfills ORDER BY source, from_ms')
      .all()
      .map((r) => this.parse(BackfillRow, r));
  }

  close(): void {
    this.db.close();
  }

  private parse<T>(schema: z.ZodType<T>, row: unknown): T {
    const r = schema.safeParse(row);
    if (r.success) return r.data;
    const what = row && typeof row === 'object' && 'key_result' in row ? ` (${String(row.key_result)} ${String((row as { period?: unknown }).period)})` : '';
    throw new Error(`ledger ${this.file}: a row${what} is not what okr-metrics writes: ${z.prettifyError(r.error).replace(/\n/g, '; ')}`);
  }
}
