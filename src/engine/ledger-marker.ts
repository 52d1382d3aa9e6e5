/**
 * A trace of the ledger outside the ledger: `<state_dir>/ledger-marker.json` records how many
 * closed periods the ledger held. A ledger file that is missing (deleted, a volume not mounted,
 * engine.ledger pointing elsewhere) would otherwise be recreated empty without a word, and the
 * closed quarters silently re-measured from Prometheus with today's targets: the marker turns
 * that into a loud error, and the re-measured periods are reported as not frozen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonFileAtomic } from '../core/state-file.js';
import type { Ledger } from './ledger.js';
import { KR_METRICS } from '../conventions.js';
import type { PromQueryClient } from './prometheus-client.js';

export const LEDGER_MARKER = 'ledger-marker.json';

const Marker = z.object({ ledger: z.string(), closed_periods: z.number().int().min(0), last_closed: z.string().optional() });
type Marker = z.infer<typeof Marker>;

function read(stateDir: string): Marker | undefined {
  try {
    const parsed = Marker.safeParse(JSON.parse(readFileSync(join(stateDir, LEDGER_MARKER), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The error to report when `ledger` was just created but the marker knows closed periods. */
export function missingLedgerProblem(stateDir: string, ledger: Ledger): string | undefined {
  if (!ledger.created || ledger.file === ':memory:') return undefined;
  const m = read(stateDir);
  if (!m || m.closed_periods === 0) return undefined;
  return `the KR ledger ${ledger.file} was missing and has been created empty, but ${join(stateDir, LEDGER_MARKER)} records ${m.closed_periods} closed periods (ledger ${m.ledger}${m.last_closed ? `, last closed ${m.last_closed}` : ''}): their frozen figures are lost. Stop, restore the ledger from a backup (okr-metrics ledger import <export>) or fix engine.ledger; until then closed periods are re-measured from Prometheus and reported as not frozen`;
}

/**
 * The same error for `report`, which never creates the ledger: `file` is missing but the marker
 * knows closed periods.
 */
export function absentLedgerProblem(stateDir: string, file: string): string | undefined {
  const m = read(stateDir);
  if (!m || m.closed_periods === 0) return undefined;
  return `the KR ledger ${file} is missing, but ${join(stateDir, LEDGER_MARKER)} records ${m.closed_periods} closed periods (ledger ${m.ledger}${m.last_closed ? `, last closed ${m.last_closed}` : ''}): their frozen figures are lost. Restore the ledger from a backup (okr-metrics ledger import <export>) or fix engine.ledger; until then closed periods are re-measured from Prometheus and reported as not frozen`;
}

/** Record what the ledger holds now (only when it changed). */
export function updateLedgerMarker(stateDir: string, ledger: Ledger): void {
  if (ledger.file === ':memory:') return;
  const closed = ledger.closedCount();
  const prev = read(stateDir);
  // Never lower the count on the strength of a ledger that was recreated: the marker is the
  // evidence of what was lost, until a restored ledger holds at least as much again.
  if (prev && prev.closed_periods >= closed && (prev.ledger === ledger.file || closed === 0)) return;
  const last = ledger
    .rows()
    .filter((r) => r.closed_at !== null)
    .at(-1)?.period;
  writeJsonFileAtomic(join(stateDir, LEDGER_MARKER), { ledger: ledger.file, closed_periods: closed, ...(last ? { last_closed: last } : {}) }, 2);
}

/**
 * The other witness: Prometheus' own history of the engine. A new, empty ledger while the engine
 * was already evaluating before `periodStartMs` (the current period) means a ledger that held
 * that period's close is gone, even when the whole state directory went with it. Undefined when
 * Prometheus knows nothing older (or cannot be asked: that is reported elsewhere).
 */
export async function ledgerLostPerPrometheus(ledger: Ledger, prom: PromQueryClient, nowMs: number, periodStartMs: number): Promise<string | undefined> {
  if (!ledger.created || ledger.closedCount() > 0) return undefined;
  let first: number | undefined;
  try {
    const r = await prom.query(`min(min_over_time(${KR_METRICS.lastEvaluation}[400d]))`, nowMs);
    first = r[0]?.value;
  } catch {
    return undefined;
  }
  if (first === undefined || !Number.isFinite(first) || first * 1000 >= periodStartMs) return undefined;
  return `the KR ledger ${ledger.file} was created empty, but Prometheus (${prom.baseUrl}) has key-result evaluations since ${new Date(first * 1000).toISOString()}, before this period: the ledger that froze the earlier periods is missing. Restore it (okr-metrics ledger import <export>) or fix engine.ledger; until then closed periods are re-measured and reported as not frozen`;
}
