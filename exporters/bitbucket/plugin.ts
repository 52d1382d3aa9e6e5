/** Bitbucket Cloud and Data Center: pull requests, pipelines and Code Insights coverage per repository. */
import type { SourcePlugin } from '../../src/core/source.js';
import { backfillBitbucket } from './backfill.js';
import { createBitbucketCollector } from './bitbucket-collector.js';
import { BITBUCKET_DEFAULT_INTERVAL, BitbucketConfig } from './config.js';
import { BITBUCKET_METRICS } from './metrics.js';
import { bitbucketSimulator } from './simulator/bitbucket-simulator.js';

export const bitbucketPlugin = {
  name: 'bitbucket' as const,
  description: 'pull requests, pipelines and Code Insights coverage from Bitbucket Cloud or Data Center',
  config: BitbucketConfig,
  defaults: { interval: BITBUCKET_DEFAULT_INTERVAL, timeout: '5m' },
  metrics: BITBUCKET_METRICS,
  create: (deps) => createBitbucketCollector(deps),
  backfill: backfillBitbucket,
  simulator: bitbucketSimulator,
  references: {
    repo: {
      names: (s) =>
        s.repositories === 'all'
          ? 'any'
          : s.repositories.map((r) => (typeof r === 'string' ? { name: r } : { name: r.slug, ...(r.team ? { team: r.team } : {}) })),
      unknown: (name) => `repository "${name}" is not in sources.bitbucket.repositories`,
    },
  },
} satisfies SourcePlugin<BitbucketConfig>;
