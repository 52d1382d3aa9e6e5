import { defineConfig } from 'vitest/config';

/**
 * The integration project: tests that start a real Prometheus (it scrapes, evaluates and keeps
 * blocks on the real clock, so these cannot run under libfaketime), and the `promtool test rules`
 * tests (promtool runs on its own virtual clock, so faked instants prove nothing there, and
 * libfaketime does not reach static Go binaries).
 * Everything else is the unit suite, which `npm test` runs at five faked instants
 * (tests/support/test-at-instants.sh).
 */
const INTEGRATION = [
  'tests/integration/**/*.test.ts',
  'tests/backfill/backfill-vs-live.test.ts',
  'tests/backfill/live-boundary.test.ts',
  'tests/generate/promtool.test.ts',
  'tests/generate/slo-timelines.test.ts',
  'exporters/jira/jira-promql.test.ts',
];
const ALL = ['src/**/*.test.ts', 'exporters/**/*.test.ts', 'tests/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests start real Prometheus/Alertmanager processes; two cores only.
    maxWorkers: 2,
    env: { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: INTEGRATION } },
      { extends: true, test: { name: 'integration', include: INTEGRATION } },
    ],
  },
});
