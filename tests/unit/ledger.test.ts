/**
 * The KR ledger is checked when opened (a damaged or foreign file names itself and says what to
 * do), a lost ledger is reported instead of silently recreated, re-measured closed quarters are
 * marked as not frozen, and `ledger export` / `ledger import` keep the frozen history in a file
 * without ever replacing a frozen row unannounced.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { ManualClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { KrEngine } from '../../src/engine/engine.js';
import { Ledger, LedgerError } from '../../src/engine/ledger.js';
import { missingLedgerProblem, updateLedgerMarker } from '../../src/engine/ledger-marker.js';
import type { PromQueryClient } from '../../src/engine/prometheus-client.js';
import { runReport } from '../../src/report/report-command.js';
import { startService } from '../../src/serve/service.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
/** Prometheus answering nothing: only the manual KR has a value. */
const noProm: PromQueryClient = { baseUrl: 'http://127.0.0.1:9', query: async () => [] };

const OKRS = `version: okr/v1
server: { state_dir: state }
objectives:
  - id: docs
    title: Write things down
    key_results:
      - id: runbooks
        title: Runbooks written
        measure: { manual: { value: 12 } }
        target: ">= 10"
`;

function setup(): { dir: string; loaded: LoadedConfig; ledgerFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'okr-ledger-'));
  writeFileSync(join(dir, 'okrs.yaml'), OKRS);
  const loaded = parseConfig(OKRS, join(dir, 'okrs.yaml'), { env: {} });
  return { dir, loaded, ledgerFile: join(dir, 'state', 'ledger.sqlite') };
}

/** Run the engine at `iso` (it opens this quarter, and closes the previous one it saw open). */
async function evaluateAt(loaded: LoadedConfig, ledger: Ledger, iso: string) {
  return new KrEngine({ loaded, prom: noProm, ledger, clock: ManualClock.at(iso) }).evaluateCurrent();
}

describe('ledger file checks', () => {
  it('refuses a file that is not a SQLite database, naming it and what to do, and leaves it untouched', async () => {
    const { loaded, ledgerFile, dir } = setup();
    rmSync(join(dir, 'state'), { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'state'));
    writeFileSync(ledgerFile, 'this is not a database, it is my notes\n'.repeat(200));
    expect(() => new Ledger(ledgerFile)).toThrow(LedgerError);
    expect(() => new Ledger(ledgerFile)).toThrow(
      new RegExp(
        `the KR ledger ${ledgerFile} cannot be used: file is not a database\\. It was left untouched\\. Restore it from a backup \\(okr-metrics ledger import <export>\\)`,
      ),
    );
    await expect(
      startService(loaded, {
        host: '127.0.0.1',
        port: 0,
        logger: createLogger({ destination: new PassThrough() }),
        clock: ManualClock.at('2026-11-25T12:00:00Z'),
        prom: noProm,
      }),
    ).rejects.toThrow(/the KR ledger .* cannot be used/);
    expect(readFileSync(ledgerFile, 'utf8')).toContain('it is my notes');
    // The serve CLI exits 1 with the same message.
    const r = spawnSync(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`okr-metrics: the KR ledger ${ledgerFile} cannot be used: file is not a database`);
  });

  it("refuses another application's SQLite database, and upgrades an older ledger in place", () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-ledger-'));
    const other = new Database(join(dir, 'app.db'));
    other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)');
    other.close();
    expect(() => new Ledger(join(dir, 'app.db'))).toThrow(/a SQLite database of another application \(tables: users\)/);

    // A ledger from before opened_at: its rows are kept and read (as frozen: nothing says otherwise).
    const old = new Database(join(dir, 'old.sqlite'));
    old.exec(`CREATE TABLE kr_periods (key_result TEXT NOT NULL, period TEXT NOT NULL, objective TEXT NOT NULL, title TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, target_text TEXT NOT NULL, target_value REAL, unit TEXT NOT NULL, promql TEXT, baseline REAL, baseline_source TEXT NOT NULL, baseline_promql TEXT, baseline_frozen_at INTEGER, final_value REAL, final_progress REAL, final_status TEXT, closed_at INTEGER, PRIMARY KEY (key_result, period));
      INSERT INTO kr_periods VALUES ('runbooks', '2026-Q2', 'docs', 'Runbooks written', 1775001600000, 1782864000000, '>= 10', 10, 'number', NULL, NULL, 'none', NULL, NULL, 8, 0.8, 'off_track', 1782864000000);`);
    old.close();
    // report opens it read-only: read alike, left as it was (no column added).
    const readOnly = new Ledger(join(dir, 'old.sqlite'), { readonly: true });
    expect(readOnly.get('runbooks', '2026-Q2')).toMatchObject({ final_value: 8, opened_at: null });
    readOnly.close();
    const columns = () => {
      const db = new Database(join(dir, 'old.sqlite'), { readonly: true });
      const n = db.prepare('PRAGMA table_info(kr_periods)').all().length;
      db.close();
      return n;
    };
    expect(columns()).toBe(18);
    expect(() => new Ledger(join(dir, 'app.db'), { readonly: true })).toThrow(/a SQLite database of another application/);
    const upgraded = new Ledger(join(dir, 'old.sqlite'));
    expect(upgraded.rows()).toMatchObject([{ key_result: 'runbooks', period: '2026-Q2', final_value: 8, opened_at: null }]);
    upgraded.close();
  });
});

describe('a lost ledger', () => {
  it('is reported (serve logs an error, report says it on stderr) when the marker knows closed periods, and re-measured quarters are marked not frozen', async () => {
    const { loaded, ledgerFile, dir } = setup();
    const stateDir = join(dir, 'state');
    // Q3 seen open, then closed at the start of Q4: frozen.
    let ledger = new Ledger(ledgerFile);
    await evaluateAt(loaded, ledger, '2026-08-15T12:00:00Z');
    await evaluateAt(loaded, ledger, '2026-10-02T12:00:00Z');
    updateLedgerMarker(stateDir, ledger);
    expect(ledger.get('runbooks', '2026-Q3')).toMatchObject({ final_value: 12, final_status: 'done' });
    const frozen = await runReport(loaded, { period: '2026-Q3', format: 'md', ledger, clock: ManualClock.at('2026-10-02T12:00:00Z'), prom: noProm });
    expect(frozen.text).toContain('; frozen in the ledger');
    ledger.close();
    expect(JSON.parse(readFileSync(join(stateDir, 'ledger-marker.json'), 'utf8'))).toMatchObject({ closed_periods: 1, last_closed: '2026-Q3' });

    // The ledger disappears.
    for (const f of ['', '-wal', '-shm']) rmSync(`${ledgerFile}${f}`, { force: true });
    ledger = new Ledger(ledgerFile);
    expect(missingLedgerProblem(stateDir, ledger)).toMatch(
      /the KR ledger .*ledger\.sqlite was missing and has been created empty, but .*ledger-marker\.json records 1 closed periods \(ledger .*, last closed 2026-Q3\): their frozen figures are lost/,
    );
    // The closed quarter is measured again: the report says it is not frozen.
    const json = JSON.parse(
      (await runReport(loaded, { period: '2026-Q3', format: 'json', ledger, clock: ManualClock.at('2026-10-02T12:00:00Z'), prom: noProm })).text,
    );
    expect(json.objectives[0].key_results[0]).toMatchObject({ not_frozen: true, from_ledger: false });
    // Closing it now records it as re-measured, so later reports keep saying so.
    await evaluateAt(loaded, ledger, '2026-10-03T12:00:00Z');
    const md = await runReport(loaded, { period: '2026-Q3', format: 'md', ledger, clock: ManualClock.at('2026-10-03T12:00:00Z'), prom: noProm });
    expect(md.text).toContain('not frozen: re-measured from Prometheus after the period ended');
    // The marker keeps its evidence: a recreated ledger with fewer closed periods does not lower it.
    updateLedgerMarker(stateDir, ledger);
    ledger.close();

    for (const f of ['', '-wal', '-shm']) rmSync(`${ledgerFile}${f}`, { force: true });
    const lines: string[] = [];
    const out = new PassThrough();
    out.on('data', (d: Buffer) => lines.push(d.toString()));
    const service = await startService(loaded, {
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ destination: out }),
      clock: ManualClock.at('2026-11-25T12:00:00Z'),
      prom: noProm,
    });
    await service.stop();
    expect(lines.join('')).toContain('was missing and has been created empty');
    rmSync(ledgerFile, { force: true });
    const r = spawnSync(process.execPath, [cli, 'report', '-c', join(dir, 'okrs.yaml'), '--prometheus', 'http://127.0.0.1:9'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    // report is read-only: it names the loss and creates nothing.
    expect(r.stderr).toMatch(/the KR ledger .*ledger\.sqlite is missing, but .*ledger-marker\.json records 1 closed periods/);
    expect(existsSync(ledgerFile)).toBe(false);
  });
});

describe('a lost ledger, per Prometheus', () => {
  it('is reported when the ledger is new but Prometheus has engine evaluations from before this period', async () => {
    const capture = async (firstEvaluation: string) => {
      const { loaded } = setup();
      const prom: PromQueryClient = {
        baseUrl: 'http://prometheus:9090',
        query: async (expr) =>
          expr.startsWith('min(min_over_time(okr_engine_last_evaluation_timestamp_seconds[400d]))')
            ? [{ labels: {}, value: Date.parse(firstEvaluation) / 1000 }]
            : [],
      };
      const lines: string[] = [];
      const out = new PassThrough();
      out.on('data', (d: Buffer) => lines.push(d.toString()));
      const service = await startService(loaded, {
        host: '127.0.0.1',
        port: 0,
        logger: createLogger({ destination: out }),
        clock: ManualClock.at('2026-11-25T12:00:00Z'),
        prom,
      });
      for (let i = 0; i < 50 && !lines.join('').includes('evaluations since'); i++) await new Promise((r) => setTimeout(r, 20));
      await service.stop();
      return lines.join('');
    };
    expect(await capture('2026-05-02T00:00:00Z')).toMatch(
      /the KR ledger .*ledger\.sqlite was created empty, but Prometheus \(http:\/\/prometheus:9090\) has key-result evaluations since 2026-05-02T00:00:00\.000Z, before this period/,
    );
    // Evaluations only from this quarter: a first start, nothing lost.
    expect(await capture('2026-10-05T00:00:00Z')).not.toContain('evaluations since');
  });
});

describe('ledger export / import', () => {
  async function frozenLedger() {
    const s = setup();
    const ledger = new Ledger(s.ledgerFile);
    await evaluateAt(s.loaded, ledger, '2026-08-15T12:00:00Z');
    await evaluateAt(s.loaded, ledger, '2026-10-02T12:00:00Z');
    ledger.close();
    return s;
  }
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'ledger', ...args], { encoding: 'utf8', timeout: 20_000 });

  it('round-trips every row through JSON and CSV into an empty ledger', async () => {
    const { dir, ledgerFile } = await frozenLedger();
    const original = new Ledger(ledgerFile);
    const rows = original.rows();
    original.close();
    expect(rows).toHaveLength(2); // 2026-Q3 closed, 2026-Q4 open
    for (const format of ['json', 'csv']) {
      const file = join(dir, `export.${format}`);
      const exp = run('export', '-c', join(dir, 'okrs.yaml'), '--out', file);
      expect(exp.status, exp.stderr).toBe(0);
      const target = mkdtempSync(join(tmpdir(), 'okr-ledger-import-'));
      writeFileSync(join(target, 'okrs.yaml'), OKRS);
      const imp = run('import', file, '-c', join(target, 'okrs.yaml'));
      expect(imp.status, imp.stderr).toBe(0);
      expect(imp.stdout).toContain('imported: added 2, updated 0 open rows, 0 unchanged, 0 frozen rows with other figures');
      const restored = new Ledger(join(target, 'state', 'ledger.sqlite'));
      expect(restored.rows()).toEqual(rows);
      restored.close();
      // Importing the same file again changes nothing.
      expect(run('import', file, '-c', join(target, 'okrs.yaml')).stdout).toContain('added 0, updated 0 open rows, 2 unchanged');
    }
  });

  it('refuses to replace a frozen row with other figures unless --overwrite, and then names it', async () => {
    const { dir, ledgerFile } = await frozenLedger();
    const exportFile = join(dir, 'export.json');
    expect(run('export', '-c', join(dir, 'okrs.yaml'), '--out', exportFile).status).toBe(0);
    const doc = JSON.parse(readFileSync(exportFile, 'utf8'));
    doc.rows[0].final_value = 7;
    doc.rows[0].final_status = 'off_track';
    writeFileSync(exportFile, JSON.stringify(doc));
    const refused = run('import', exportFile, '-c', join(dir, 'okrs.yaml'));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('refused frozen row runbooks 2026-Q3: final_value 12 -> 7, final_status "done" -> "off_track"');
    expect(refused.stdout).toContain('nothing written');
    let ledger = new Ledger(ledgerFile);
    expect(ledger.get('runbooks', '2026-Q3')!.final_value).toBe(12);
    ledger.close();
    expect(run('import', exportFile, '-c', join(dir, 'okrs.yaml'), '--dry-run', '--overwrite').status).toBe(0);
    ledger = new Ledger(ledgerFile);
    expect(ledger.get('runbooks', '2026-Q3')!.final_value).toBe(12);
    ledger.close();
    const forced = run('import', exportFile, '-c', join(dir, 'okrs.yaml'), '--overwrite');
    expect(forced.status).toBe(0);
    expect(forced.stderr).toContain('overwrote frozen row runbooks 2026-Q3: final_value 12 -> 7');
    ledger = new Ledger(ledgerFile);
    expect(ledger.get('runbooks', '2026-Q3')!.final_value).toBe(7);
    ledger.close();
  });

  it('validates every row before writing anything (exit 2, the row named)', async () => {
    const { dir, ledgerFile } = await frozenLedger();
    const csv = join(dir, 'bad.csv');
    expect(run('export', '-c', join(dir, 'okrs.yaml'), '--out', csv).status).toBe(0);
    const lines = readFileSync(csv, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/^runbooks,/, ',');
    writeFileSync(csv, lines.join('\n'));
    const before = existsSync(ledgerFile) ? new Ledger(ledgerFile).rows().length : 0;
    const r = run('import', csv, '-c', join(dir, 'okrs.yaml'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the ledger export is not valid; nothing was imported:\n.*bad\.csv: row 2 \(line 3\): key_result: /);
    const ledger = new Ledger(ledgerFile);
    expect(ledger.rows()).toHaveLength(before);
    ledger.close();
  });
});
