/**
 * Time is a parameter. Production code reads the system clock here and nowhere else: entry
 * points (serve, demo, backfill, report) take `systemClock` and hand a `Clock` down to every
 * collector, runner, tailer, HTTP client and the KR engine; tests hand down a `ManualClock`.
 * A lint rule (eslint `no-restricted-syntax`) keeps `Date.now()` and `new Date()` out of the
 * rest of the code.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The system clock: the one place production code reads the time of day. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to (tests, simulations, replays). */
export class ManualClock implements Clock {
  constructor(private ms: number) {}

  static at(iso: string): ManualClock {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) throw new Error(`ManualClock.at: not a date: ${iso}`);
    return new ManualClock(ms);
  }

  now(): number {
    return this.ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A clock fixed at one instant (a report "as of", a replay). */
export function fixedClock(ms: number): Clock {
  return { now: () => ms };
}
