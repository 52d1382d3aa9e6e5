/**
 * `okr-metrics report`: evaluate every KR for a review period through Prometheus (closed
 * periods from the ledger when frozen) and render the review. Read-only: it prints what the
 * ledger holds and computes what it lacks without storing it; freezing is `serve`'s engine's job.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../config/config-error.js';
import type { LoadedConfig } from '../config/load-config.js';
import { KrEngine } from '../engine/engine.js';
import { Ledger } from '../engine/ledger.js';
import { calendarOf, parsePeriodName, periodContaining, periodNameExample, type Period } from '../core/periods.js';
import { PrometheusClient, UNREACHABLE, type PromQueryClient } from '../engine/prometheus-client.js';
import { reportContext } from './report-context.js';
import { renderReport, type ReportFormat } from './render-report.js';
import { ledgerPath, stateDir } from '../config/state-paths.js';
import { absentLedgerProblem } from '../engine/ledger-marker.js';
import type { Clock } from '../core/clock.js';

export interface ReportOptions {
  period?: string;
  format: ReportFormat;
  prometheus?: string;
  /** Injected for tests. */
  prom?: PromQueryClient;
  clock: Clock;
  ledger?: Ledger;
}

export function reviewPeriod(loaded: LoadedConfig, name: string | undefined, now: number): Period {
  const cal = calendarOf(loaded.config.calendar);
  if (name === undefined) return periodContaining('quarter', now, cal);
  const p = parsePeriodName(name, cal);
  if (!p) throw new UsageError(`--period "${name}" is not a period name (expected e.g. ${periodNameExample(cal)})`);
  return p;
}

export interface ReportOutput {
  text: string;
  /** Prometheus could not be asked: measured KRs show no data (the CLI exits 1). */
  prometheusDown?: string;
  /** The ledger was missing although closed periods were recorded (ledger-marker.json). */
  ledgerLost?: string;
}

export async function runReport(loaded: LoadedConfig, opts: ReportOptions): Promise<ReportOutput> {
  const now = opts.clock.now();
  const period = reviewPeriod(loaded, opts.period, now);
  if (period.start > now) throw new UsageError(`period ${period.name} has not started yet`);
  const prom = opts.prom ?? PrometheusClient.fromConfig(loaded, opts.prometheus);
  // Read-only: a missing ledger is not created, an existing one is opened for reading.
  const file = ledgerPath(loaded);
  const present = opts.ledger !== undefined || existsSync(file);
  const ledger = opts.ledger ?? (present ? new Ledger(file, { readonly: true }) : undefined);
  const ledgerLost = present ? undefined : absentLedgerProblem(stateDir(loaded), file);
  try {
    const engine = new KrEngine({ loaded, prom, ledger, freeze: false, clock: opts.clock });
    const ev = await engine.evaluatePeriod(period);
    const prometheusDown = ev.objectives.flatMap((o) => o.keyResults).find((k) => k.problem?.includes(UNREACHABLE))?.problem;
    return { text: renderReport(ev, reportContext(loaded, period, prom.baseUrl), opts.format), prometheusDown, ...(ledgerLost ? { ledgerLost } : {}) };
  } finally {
    if (!opts.ledger) ledger?.close();
  }
}
