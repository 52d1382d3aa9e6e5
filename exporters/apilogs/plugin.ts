/** API access logs: request availability and latency, counted from the files the servers write. */
import type { SourcePlugin } from '../../src/core/source.js';
import { ApilogsCollector } from './apilogs-collector.js';
import { statSync } from 'node:fs';
import { archivedFiles, backfillApilogs } from './backfill.js';
import { ApilogsConfig } from './config.js';
import { missingDurationReason } from './log-presets.js';
import { APILOGS_METRICS } from './metrics.js';
import { apilogsSimulator } from './simulator/apilogs-simulator.js';

export const apilogsPlugin = {
  name: 'apilogs' as const,
  description: 'request availability and latency from API access logs (nginx, JSON or regex formats)',
  config: ApilogsConfig,
  defaults: { interval: '15s', timeout: '10s' },
  metrics: APILOGS_METRICS,
  create: (deps) => new ApilogsCollector(deps),
  backfill: async (ctx) => void (await backfillApilogs(ctx)),
  backfillInputs: ({ settings, baseDir }, files) =>
    settings.services.map((s) => ({
      service: s.name,
      files: archivedFiles(s, baseDir, files?.[s.name])
        .sort()
        .map((f) => {
          const st = statSync(f);
          return [f, st.size, st.mtimeMs];
        }),
    })),
  simulator: apilogsSimulator,
  references: {
    service: {
      names: (s) => s.services.map((svc) => ({ name: svc.name })),
      unknown: (name, known) =>
        known.length === 0
          ? `service "${name}" is unknown: configure sources.apilogs.services, or list it under a team's services if another host exports it`
          : `service "${name}" is unknown (known: ${known.join(', ')})`,
      lacking: (s, name, trait) => {
        const svc = s.services.find((x) => x.name === name);
        const why = trait === 'duration' && svc ? missingDurationReason(svc) : undefined;
        return why && `service "${name}" logs no request duration, so this latency key result would have no data: ${why}`;
      },
    },
  },
} satisfies SourcePlugin<ApilogsConfig>;
