import { defineConfig } from 'vitest/config';

/**
 * Tests that start a real Prometheus: it scrapes, evaluates and keeps blocks on the real clock,
 * so these cannot run under libfaketime. Everything else is the unit suite, which CI also runs
 * at several faked instants (scripts/test-at-instants.sh).
 */
const REAL_PROMETHEUS = ['tests/integration/**/*.test.ts', 'tests/backfill/backfill-vs-live.test.ts', 'tests/backfill/live-boundary.test.ts'];
const ALL = ['src/**/*.test.ts', 'exporters/**/*.test.ts', 'tests/**/*.test.ts'];
/** promtool runs rule tests on its own virtual clock, and libfaketime does not reach static Go binaries. */
const PROMTOOL_ONLY = ['tests/generate/promtool.test.ts'];
const underFaketime = process.env.FAKETIME !== undefined;

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real Prometheus/Alertmanager processes; two cores only.
    maxWorkers: 2,
    env: { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: underFaketime ? [...REAL_PROMETHEUS, ...PROMTOOL_ONLY] : REAL_PROMETHEUS } },
      { extends: true, test: { name: 'integration', include: REAL_PROMETHEUS } },
    ],
  },
});
