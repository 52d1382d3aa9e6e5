/** What a line parser extracts from one log line; one instance is reused for every line. */
export interface ParsedRequest {
  routeId: number;
  methodId: number;
  /** HTTP status, 100-999. */
  status: number;
  /** Request duration in seconds; NaN when the line has none (e.g. `-`). */
  duration: number;
}

export function emptyParsedRequest(): ParsedRequest {
  return { routeId: 0, methodId: 0, status: 0, duration: Number.NaN };
}

/** Parses one line buf[start, end) (no newline) into `out`; false means malformed. */
export interface LineParser {
  parse(buf: Buffer, start: number, end: number, out: ParsedRequest): boolean;
}

/** Seconds per unit of a duration field. */
export const DURATION_UNIT_SECONDS = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_SECONDS;
/** The unit names config and the CLI accept. */
export const DURATION_UNITS = Object.keys(DURATION_UNIT_SECONDS) as [DurationUnit, ...DurationUnit[]];
