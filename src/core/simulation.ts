/**
 * What a source's simulator (exporters/<source>/simulator/) sees of the simulated organisation
 * the demo runs: its calendar, the quarters of the data sets, and the figures several sources
 * share (SonarQube's coverage and Bitbucket's Code Insights coverage follow one trend). The demo
 * (src/demo) builds the world; the simulators read it.
 */
import { periodContaining, previousPeriod, type Calendar, type Period } from './periods.js';
import type { FakeServer } from './simulated-http.js';
import type { SourceSimulator } from './source.js';

export interface QuarterPair {
  current: Period;
  previous: Period;
}

export interface SimulationWorld {
  calendar: Calendar;
  /** The quarter containing `ms` and the one before it. */
  quarter(ms: number): QuarterPair;
  /** Test coverage in percent of a project (SonarQube key, Bitbucket slug) at `tMs`. */
  coverage(project: string, tMs: number): number;
}

/**
 * The quarter containing `ms` and the one before it, remembering the last few: periodContaining
 * formats dates through Intl (tens of microseconds), and data sets ask on every tick and every
 * generated analysis.
 */
export function quarterLookup(calendar: Calendar): (ms: number) => QuarterPair {
  const recent: QuarterPair[] = [];
  return (ms) => {
    const hit = recent.find((q) => q.current.start <= ms && ms < q.current.end);
    if (hit) return hit;
    const current = periodContaining('quarter', ms, calendar);
    const q = { current, previous: previousPeriod(current, calendar) };
    recent.unshift(q);
    recent.length = Math.min(recent.length, 4);
    return q;
  };
}

/**
 * A simulator that serves a moving data set from a simulated API: `build` makes the data set
 * at the demo's start, `serve` starts the API on it, `settings` points the source at the API;
 * the demo's ticks move the data set.
 */
export function apiSimulator<D extends { tick(nowMs: number): void }, S extends FakeServer>(
  build: (nowMs: number, world: SimulationWorld) => D,
  serve: (data: D) => Promise<S>,
  settings: (server: S, current: Record<string, unknown>, secretFile: (name: string, value: string) => string) => Record<string, unknown>,
): SourceSimulator {
  return {
    async start({ world, clock }) {
      const data = build(clock.now(), world);
      const server = await serve(data);
      return {
        server,
        settings: (current, secretFile) => settings(server, current, secretFile),
        tick: (nowMs) => data.tick(nowMs),
        close: () => server.close(),
      };
    },
  };
}
