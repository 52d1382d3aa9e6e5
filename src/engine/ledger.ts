/**
 * The KR ledger: an embedded SQLite file that freezes each key result's baseline when its
 * period starts and its final value when the period closes, together with the target as it
 * was. Reports of past periods read it, so they survive Prometheus retention and later edits
 * of the OKR file. Closed rows are never updated.
 *
 * The file is checked when it is opened (a SQLite database, ours, with our table), and every row
 * read goes through a zod schema: a damaged or foreign file stops the command with its name and
 * what to do, instead of "file is not a database" from deep inside the engine.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { KR_STATUSES } from '../conventions.js';
import { MEASURE_UNITS } from './measure-kinds.js';

export const BASELINE_SOURCES = ['previous_period', 'period_start', 'fixed', 'none'] as const;
export type BaselineSource = (typeof BASELINE_SOURCES)[number];

/** PRAGMA application_id of an okr-metrics ledger ("OKRM"). */
const APPLICATION_ID = 0x4f4b524d;

/** The ledger file cannot be used; the message names it and says what to do. */
export class LedgerError extends Error {}

const Num = z.number().nullable();
export const LedgerRowSchema = z.object({
  key_result: z.string().min(1),
  period: z.string().min(1),
  objective: z.string(),
  title: z.string(),
  period_start: z.number().int(),
  period_end: z.number().int(),
  target_text: z.string(),
  /** Absolute target, when it could be resolved. */
  target_value: Num,
  unit: z.enum(MEASURE_UNITS),
  promql: z.string().nullable(),
  baseline: Num,
  baseline_source: z.enum(BASELINE_SOURCES),
  baseline_promql: z.string().nullable(),
  baseline_frozen_at: z.number().int().nullable(),
  final_value: Num,
  final_progress: Num,
  final_status: z.enum(KR_STATUSES).nullable(),
  closed_at: z.number().int().nullable(),
  /**
   * When the row was first written (Unix ms); null for rows from before this column existed. At
   * or after period_end: the period was measured after the fact, nothing was frozen during it.
   */
  opened_at: z.number().int().nullable().default(null),
});

export type LedgerRow = z.output<typeof LedgerRowSchema>;

/** A closed period whose figures were taken after it ended (no record of it while it ran): not frozen in time. */
export function remeasured(row: Pick<LedgerRow, 'opened_at' | 'period_end'>): boolean {
  return row.opened_at !== null && row.opened_at >= row.period_end;
}

export const BackfillRowSchema = z.object({
  source: z.string(),
  from_ms: z.number(),
  to_ms: z.number(),
  samples: z.number(),
  output: z.string(),
  created_at: z.number(),
});
export type BackfillRow = z.output<typeof BackfillRowSchema>;

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
  opened_at INTEGER,
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
  /** The file did not exist: this ledger starts empty (see `created`). */
  readonly created: boolean;

  /**
   * `readonly`: an existing ledger opened for reading only (`report`), never created, migrated or
   * changed (a missing file is an error: callers check first).
   */
  constructor(
    readonly file: string,
    opts: { readonly?: boolean } = {},
  ) {
    const readonly = opts.readonly === true;
    this.created = !readonly && (file === ':memory:' || !existsSync(file));
    if (!readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = readonly ? new Database(file, { readonly: true, fileMustExist: true }) : new Database(file);
    } catch (e) {
      throw new LedgerError(ledgerProblem(file, (e as Error).message));
    }
    try {
      if (!readonly) this.db.pragma('journal_mode = WAL');
      const tables = (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
      const appId = this.db.pragma('application_id', { simple: true }) as number;
      if (tables.length > 0 && !tables.includes('kr_periods') && appId !== APPLICATION_ID) {
        throw new Error(`a SQLite database of another application (tables: ${tables.slice(0, 5).join(', ')})`);
      }
      if (readonly && !tables.includes('kr_periods')) throw new Error('it has no kr_periods table');
      if (!readonly) this.db.exec(SCHEMA);
      const columns = new Set((this.db.prepare('PRAGMA table_info(kr_periods)').all() as Array<{ name: string }>).map((c) => c.name));
      // Read-only, an old ledger keeps its shape: rows without opened_at read as null (the schema's default).
      if (!readonly && !columns.has('opened_at')) this.db.exec('ALTER TABLE kr_periods ADD COLUMN opened_at INTEGER');
      for (const c of Object.keys(LedgerRowSchema.shape)) if (!columns.has(c) && c !== 'opened_at') throw new Error(`its kr_periods table has no column ${c}`);
      if (!readonly && appId !== APPLICATION_ID) this.db.pragma(`application_id = ${APPLICATION_ID}`);
      const check = this.db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') throw new Error(`SQLite's integrity check failed: ${check}`);
    } catch (e) {
      this.db.close();
      throw new LedgerError(ledgerProblem(file, (e as Error).message));
    }
  }

  get(keyResult: string, period: string): LedgerRow | undefined {
    const row = this.db.prepare('SELECT * FROM kr_periods WHERE key_result = ? AND period = ?').get(keyResult, period);
    return row === undefined ? undefined : this.parseRow(row);
  }

  private parseRow(row: unknown): LedgerRow {
    const r = LedgerRowSchema.safeParse(row);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new LedgerError(ledgerProblem(this.file, `a row of kr_periods is not valid (${i?.path.join('.')}: ${i?.message})`));
    }
    return r.data;
  }

  /** Record the start of a period with its frozen baseline; a second call changes nothing. */
  open(row: Omit<LedgerRow, 'final_value' | 'final_progress' | 'final_status' | 'closed_at' | 'opened_at'>, openedAt: number): LedgerRow {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO kr_periods (key_result, period, objective, title, period_start, period_end, target_text, target_value, unit, promql, baseline, baseline_source, baseline_promql, baseline_frozen_at, opened_at)
         VALUES (@key_result, @period, @objective, @title, @period_start, @period_end, @target_text, @target_value, @unit, @promql, @baseline, @baseline_source, @baseline_promql, @baseline_frozen_at, @opened_at)`,
      )
      .run({ ...row, opened_at: openedAt });
    return this.get(row.key_result, row.period)!;
  }

  /** Closed periods recorded (what a lost ledger would lose). */
  closedCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM kr_periods WHERE closed_at IS NOT NULL').get() as { n: number }).n;
  }

  /**
   * Write imported rows in one transaction: rows not in the ledger are added, open rows and
   * identical rows are replaced, and a closed row with other figures only with `overwrite`.
   * Returns what was (or, without `overwrite` and with conflicts, would have been) done; with
   * conflicts and no `overwrite`, nothing is written.
   */
  importRows(
    rows: LedgerRow[],
    overwrite: boolean,
    dryRun = false,
  ): { added: number; updated: number; unchanged: number; conflicts: Array<{ row: LedgerRow; existing: LedgerRow; fields: string[] }> } {
    const out = { added: 0, updated: 0, unchanged: 0, conflicts: [] as Array<{ row: LedgerRow; existing: LedgerRow; fields: string[] }> };
    const plan: LedgerRow[] = [];
    for (const row of rows) {
      const existing = this.get(row.key_result, row.period);
      if (!existing) {
        out.added++;
        plan.push(row);
        continue;
      }
      const fields = (Object.keys(LedgerRowSchema.shape) as Array<keyof LedgerRow>).filter((k) => k !== 'opened_at' && existing[k] !== row[k]);
      if (fields.length === 0) {
        out.unchanged++;
        continue;
      }
      if (existing.closed_at !== null) out.conflicts.push({ row, existing, fields });
      else out.updated++;
      plan.push(row);
    }
    if ((out.conflicts.length > 0 && !overwrite) || dryRun) return out;
    const upsert = this.db.prepare(
      `INSERT OR REPLACE INTO kr_periods (key_result, period, objective, title, period_start, period_end, target_text, target_value, unit, promql, baseline, baseline_source, baseline_promql, baseline_frozen_at, final_value, final_progress, final_status, closed_at, opened_at)
       VALUES (@key_result, @period, @objective, @title, @period_start, @period_end, @target_text, @target_value, @unit, @promql, @baseline, @baseline_source, @baseline_promql, @baseline_frozen_at, @final_value, @final_progress, @final_status, @closed_at, @opened_at)`,
    );
    this.db.transaction((xs: LedgerRow[]) => {
      for (const r of xs) upsert.run(r);
    })(plan);
    return out;
  }

  /** While a period is open, the target follows the file (edits mid-period apply); a closed row is left alone. */
  updateOpenTarget(
    keyResult: string,
    period: string,
    fields: { target_text: string; target_value: number | null; title: string; promql: string | null },
  ): void {
    this.db
      .prepare(
        `UPDATE kr_periods SET target_text = @target_text, target_value = @target_value, title = @title, promql = @promql
         WHERE key_result = @key_result AND period = @period AND closed_at IS NULL`,
      )
      .run({ ...fields, key_result: keyResult, period });
  }

  /** Freeze the final figures of a period. Only the first close counts. */
  closePeriod(
    keyResult: string,
    period: string,
    fields: { final_value: number | null; final_progress: number | null; final_status: string; closed_at: number },
  ): void {
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
      .prepare(
        'UPDATE kr_periods SET baseline = ?, baseline_promql = ?, baseline_frozen_at = ? WHERE key_result = ? AND period = ? AND baseline IS NULL AND closed_at IS NULL',
      )
      .run(baseline, baselinePromql, at, keyResult, period);
  }

  rows(): LedgerRow[] {
    return this.db
      .prepare('SELECT * FROM kr_periods ORDER BY period_start, key_result')
      .all()
      .map((r) => this.parseRow(r));
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
      .map((row) => {
        const r = BackfillRowSchema.safeParse(row);
        if (r.success) return r.data;
        throw new LedgerError(
          ledgerProblem(this.file, `a row of backfills is not valid (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`),
        );
      });
  }

  close(): void {
    this.db.close();
  }
}

function ledgerProblem(file: string, why: string): string {
  return `the KR ledger ${file} cannot be used: ${why}. It was left untouched. Restore it from a backup (okr-metrics ledger import <export>), or move it away to start a new one (closed periods are then re-measured from Prometheus and reported as not frozen), or point engine.ledger at the right file`;
}
