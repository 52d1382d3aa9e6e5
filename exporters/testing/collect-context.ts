/** A CollectContext for tests that records request counts. */
import type { CollectContext } from '../../src/core/source.js';
import { silentLogger } from '../../src/core/logger.js';

export function testContext(signal: AbortSignal = new AbortController().signal): CollectContext & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    signal,
    logger: silentLogger(),
    countRequest: (s) => counts.set(String(s), (counts.get(String(s)) ?? 0) + 1),
    counts,
  };
}
