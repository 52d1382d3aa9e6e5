/**
 * Key-result results as metric families for /metrics (current period only), and the loop
 * that keeps them fresh inside `serve`.
 */
import type { Logger } from 'pino';
import type { MetricFamily, Sample } from '../core/source.js';
import { KR_METRICS, KR_STATUSES } from '../conventions.js';
import { redact } from '../core/secrets.js';
import type { Evaluation, KrEngine, KrResult } from './engine.js';

function krLabels(k: KrResult): Record<string, string> {
  return { objective: k.objective, key_result: k.id, period: k.period.name, team: k.team ?? '' };
}

export function evaluationFamilies(ev: Evaluation): MetricFamily[] {
  const krs = ev.objectives.flatMap((o) => o.keyResults);
  const gauge = (name: string, help: string, pick: (k: KrResult) => number | undefined): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: krs.flatMap((k): Sample[] => {
      const v = pick(k);
      return v === undefined || !Number.isFinite(v) ? [] : [{ labels: krLabels(k), value: v }];
    }),
  });
  return [
    gauge(KR_METRICS.value, 'Current value of the key result measure in its current period (unit per measure).', (k) => k.value),
    gauge(KR_METRICS.target, 'Target of the key result resolved to an absolute number.', (k) => k.target?.value),
    gauge(KR_METRICS.baseline, 'Baseline of the key result (frozen when the period started).', (k) => k.baseline),
    gauge(KR_METRICS.progress, 'Progress from baseline to target, 0..1 (1 only when met).', (k) => (k.status === 'no_data' ? undefined : k.progress)),
    gauge(KR_METRICS.expectedProgress, 'Share of the period elapsed: the progress a steady pace would have reached, 0..1.', (k) => k.expectedProgress),
    gauge(KR_METRICS.forecast, 'Linear forecast of the measure at the end of the period.', (k) => k.forecast),
    gauge(KR_METRICS.forecastOnTarget, '1 when the forecast reaches the target by the end of the period, else 0.', (k) =>
      k.forecastMet === undefined || k.status === 'no_data' ? undefined : k.forecastMet ? 1 : 0,
    ),
    {
      name: KR_METRICS.status,
      help: 'Status of the key result: 1 for its current status, 0 for the others.',
      type: 'gauge',
      samples: krs.flatMap((k) => KR_STATUSES.map((s) => ({ labels: { ...krLabels(k), status: s }, value: k.status === s ? 1 : 0 }))),
    },
    {
      name: KR_METRICS.objectiveProgress,
      help: 'Weighted progress of the objective over its key results with data, 0..1.',
      type: 'gauge',
      samples: ev.objectives.flatMap((o) => (o.progress === undefined ? [] : [{ labels: { objective: o.id }, value: o.progress }])),
    },
    {
      name: KR_METRICS.lastEvaluation,
      help: 'Unix time of the last key-result evaluation.',
      type: 'gauge',
      samples: [{ labels: {}, value: ev.evaluatedAt / 1000 }],
    },
  ];
}

/** Runs the engine on an interval inside `serve`; never two evaluations at once. */
export class EngineLoop {
  private families: MetricFamily[] = [];
  /** Bumped whenever snapshot() changes: /metrics re-renders only then. */
  generation = 0;
  private last: Evaluation | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private lastProblem: string | undefined;

  constructor(
    private readonly engine: KrEngine,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
    /** After each evaluation (the ledger marker is kept up to date from here). */
    private readonly onEvaluated?: () => void,
  ) {}

  start(): void {
    const tick = async () => {
      await this.runOnce();
      if (!this.stopped) {
        this.timer = setTimeout(() => void tick(), this.intervalSeconds * 1000);
        this.timer.unref?.();
      }
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async runOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.last = await this.engine.evaluateCurrent();
      this.families = evaluationFamilies(this.last);
      this.generation++;
      this.onEvaluated?.();
      // One line when Prometheus itself fails every measured KR (not per KR, not per run).
      const measured = this.last.objectives.flatMap((o) => o.keyResults).filter((k) => k.kind !== 'manual');
      const problem = measured.length > 0 && measured.every((k) => k.problem?.includes('Prometheus')) ? measured[0]!.problem : undefined;
      if (problem && problem !== this.lastProblem) this.logger.warn({ err: redact(problem) }, 'key results cannot be measured; they show as no_data');
      if (!problem && this.lastProblem) this.logger.info('Prometheus answers again; key results are measured');
      this.lastProblem = problem;
    } catch (e) {
      this.logger.warn({ err: redact((e as Error).message) }, 'key-result evaluation failed; serving the previous results');
    } finally {
      this.running = false;
    }
  }

  snapshot(): MetricFamily[] {
    return this.families;
  }

  lastEvaluation(): Evaluation | undefined {
    return this.last;
  }
}
