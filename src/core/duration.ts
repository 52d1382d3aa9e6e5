/**
 * Prometheus-style durations (`30s`, `5m`, `1h30m`). No dependencies, so the command line can
 * check a duration argument without loading the config schema.
 */
export const DURATION_RE = /^(\d+(?:ms|s|m|h|d|w|y))+$/;
const DURATION_PART_RE = /(\d+)(ms|s|m|h|d|w|y)/g;
const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  y: 365 * 86400,
};

/** A duration in seconds; throws on anything else. */
export function durationSeconds(text: string): number {
  if (!DURATION_RE.test(text)) throw new Error(`invalid duration "${text}"`);
  let total = 0;
  for (const m of text.matchAll(DURATION_PART_RE)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  return total;
}
