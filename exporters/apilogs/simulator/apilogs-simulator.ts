/**
 * The demo's API access log: AccessLogWriter appends live nginx lines for the first configured
 * service every second; `archive` writes the same traffic model for the past as a rotated,
 * gzipped log (one incident every ten days or so) for the backfill to read.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { Random } from '../../../src/core/random.js';
import type { SourceSimulator } from '../../../src/core/source.js';
import { AccessLogWriter, historyChunks, scheduleIncidents, type TrafficModel } from './access-log-writer.js';

/** The live access log, relative to the demo directory. */
export const DEMO_LOG_FILE = 'logs/topups-api.access.log';
/**
 * Archived traffic as a share of the live rate (about 3 requests a minute, 650,000 lines a
 * quarter and a half): months at the live rate would be gigabytes. Ratios (availability,
 * latency quantiles) do not depend on the rate.
 */
const HISTORY_RATE = 0.003;

export const apilogsSimulator: SourceSimulator = {
  async start({ dir, clock, incidentEveryMs, rateScale }) {
    const file = join(dir, DEMO_LOG_FILE);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(file, '');
    const log = new AccessLogWriter({ file, incidentEveryMs: incidentEveryMs ?? 30 * 60_000, rateScale, clock });
    log.start();
    let service = 'topups-api';
    return {
      settings(current) {
        const services = Array.isArray(current.services) ? (current.services as Array<Record<string, unknown>>) : [];
        if (typeof services[0]?.name === 'string') service = services[0].name;
        // The first service reads the demo's log from its first line; the others keep their files.
        return { ...current, services: services.map((s, i) => (i === 0 ? { ...s, files: [DEMO_LOG_FILE], start_at: 'beginning' } : s)) };
      },
      incident: (durationMs, errorShare) => void log.injectIncident(durationMs, errorShare),
      currentIncident: () => log.currentIncident(),
      async archive(fromMs, toMs, archiveDir, signal) {
        const archive = join(archiveDir, `${service}.access.log.1.gz`);
        mkdirSync(archiveDir, { recursive: true });
        const rand = new Random(7);
        const model: TrafficModel = { baseErrorShare: 0.001, incidents: scheduleIncidents(fromMs, toMs, 10 * 86_400_000, () => rand.next()) };
        const gzip = createGzip({ level: 1 });
        const done = new Promise<void>((resolve, reject) => {
          const out = createWriteStream(archive);
          out.on('finish', () => resolve());
          out.on('error', reject);
          gzip.pipe(out);
        });
        let lines = 0;
        for (const chunk of historyChunks(fromMs, toMs, model, HISTORY_RATE, 11)) {
          signal?.throwIfAborted();
          lines += chunk.lines;
          if (!gzip.write(chunk.text)) await once(gzip, 'drain');
        }
        gzip.end();
        await done;
        return { files: { [service]: [archive] }, lines };
      },
      close: async () => log.stop(),
    };
  },
};
