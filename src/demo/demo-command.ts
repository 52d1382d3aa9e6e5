/**
 * `okr-metrics demo`: start the demo (src/demo/demo.ts), tell the person at the terminal where
 * everything is and what is happening (sources coming up, the first KR evaluation, alerts,
 * history loading), take single-key commands on a terminal, and stop everything on Ctrl-C.
 */
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { KR_STATUSES } from '../conventions.js';
import { RUNNER_METRICS } from '../core/runner-metrics.js';
import { durationSeconds } from '../core/config-primitives.js';
import { startDemo, type RunningDemo } from './demo.js';
import { runReport } from '../report/report-command.js';
import type { Clock } from '../core/clock.js';

export interface DemoCliOptions {
  dir: string;
  host: string;
  port: number;
  prometheus: boolean;
  prometheusUrl?: string;
  prometheusDataDir?: string;
  history: boolean;
  incidentEvery: string;
}

/** A total outage: the fast burn-rate page follows within the workbook's ~9 minutes (0.144 × 1h). */
const INCIDENT = { durationMs: 15 * 60_000, errorShare: 1 };

export async function runDemoCommand(opts: DemoCliOptions, logger: Logger, say: (line: string) => void, clock: Clock): Promise<RunningDemo> {
  const t0 = clock.now();
  const elapsed = () => `${((clock.now() - t0) / 1000).toFixed(1)} s`;
  say('okr-metrics demo: the example OKRs over simulated Jira, SonarQube and Bitbucket servers and a synthetic API access log');
  const demo = await startDemo({
    dir: opts.dir,
    host: opts.host,
    port: opts.port,
    prometheus: opts.prometheusUrl ? { url: opts.prometheusUrl, dataDir: opts.prometheusDataDir } : opts.prometheus ? 'start' : 'off',
    history: opts.history,
    incidentEveryMs: durationSeconds(opts.incidentEvery) * 1000,
    logger,
    clock,
    say,
  });
  say(`ready after ${elapsed()}:`);
  for (const line of demo.summary()) say(line);
  if (process.stdin.isTTY) say('keys: i + Enter = start an incident (10 min, 30% errors), r + Enter = print the KR review, Ctrl-C = stop');

  watchSources(demo, say, elapsed);
  void demo.history?.then(
    (h) => {
      const failed = h.outcomes.filter((o) => o.status === 'failed');
      const samples = h.outcomes.reduce((n, o) => n + o.samples, 0);
      say(
        `history: ${new Date(h.fromMs).toISOString().slice(0, 10)} .. ${new Date(h.toMs).toISOString().slice(0, 16)}Z loaded (${samples.toLocaleString('en-US')} samples, ${h.lines.toLocaleString('en-US')} archived log lines, ${h.seconds.toFixed(0)} s); Prometheus shows it within a minute`,
      );
      for (const f of failed) say(`history: ${f.source} failed: ${f.message}`);
    },
    (e: unknown) => {
      // Aborted: the demo is stopping.
      if (!(e instanceof Error && e.name === 'AbortError')) say(`history: failed: ${String(e)}`);
    },
  );
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const key = line.trim().toLowerCase();
      if (key === 'i') {
        demo.incident(INCIDENT.durationMs, INCIDENT.errorShare);
        say(
          `incident started: ${INCIDENT.errorShare * 100}% of topups-api requests fail for ${INCIDENT.durationMs / 60_000} minutes; the fast burn-rate page follows in about 9`,
        );
      } else if (key === 'r') {
        runReport(demo.loaded, { format: 'md', clock }).then(
          (r) => process.stdout.write(`${r.text}\n`),
          (e: unknown) => say(`report: ${String(e)}`),
        );
      }
    });
  }
  return demo;
}

/** Say when every source has collected once, and the KR statuses whenever they change. */
function watchSources(demo: RunningDemo, say: (line: string) => void, elapsed: () => string): void {
  let sourcesUp = false;
  let lastEvaluation: unknown;
  let lastCounts = '';
  const timer = setInterval(() => {
    if (!sourcesUp) {
      const health = demo.service.scheduler.health();
      const up = health.filter((h) => h.lastSuccess > 0).map((h) => h.source);
      if (up.length === health.length) {
        sourcesUp = true;
        say(`all ${up.length} sources collected after ${elapsed()} (${RUNNER_METRICS.up} = 1): ${up.join(', ')}`);
      }
    }
    const ev = demo.service.engine?.lastEvaluation();
    if (ev && ev !== lastEvaluation) {
      lastEvaluation = ev;
      const krs = ev.objectives.flatMap((o) => o.keyResults);
      const counts = KR_STATUSES.map((s) => [s, krs.filter((k) => k.status === s).length] as const)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      const waiting = krs.some((k) => k.status === 'no_data') && demo.prometheus ? '; no_data fills in as Prometheus scrapes and the history loads' : '';
      if (counts !== lastCounts) say(`KR statuses after ${elapsed()}: ${counts} of ${krs.length} (review: ${demo.exporterUrl}/report)${waiting}`);
      lastCounts = counts;
    }
  }, 1000);
  timer.unref();
}
