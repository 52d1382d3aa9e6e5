/**
 * The apilogs source: follows every service's access logs in the background from the first
 * collect() on, and each collect() returns the counters so far (cheap: no I/O but the
 * checkpoint). close() stops following and saves the checkpoint.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { durationSeconds } from '../../src/core/config-primitives.js';
import type { CollectContext, Collector, Snapshot, SourceDeps } from '../../src/core/source.js';
import { SourceError } from '../../src/core/source.js';
import { apilogsSnapshot } from './apilogs-snapshot.js';
import { FormatDetector } from './format-detection.js';
import type { ApilogsConfig } from './config.js';
import { LogTailer } from './log-tailer.js';
import { LIVE_ROUTE_CAP } from './route-table.js';
import type { ServiceCounters } from './service-counters.js';
import { createServiceCounters } from './service-setup.js';

export const DEFAULT_STATE_FILE = 'apilogs-checkpoint.json';

export class ApilogsCollector implements Collector {
  readonly source = 'apilogs' as const;
  readonly services: ServiceCounters[];
  readonly tailer: LogTailer;
  readonly stateFile: string;
  private started = false;

  constructor(opts: SourceDeps<ApilogsConfig>) {
    const s = opts.settings;
    const cap = { ...LIVE_ROUTE_CAP, clock: opts.clock };
    this.services = s.services.map((svc) => createServiceCounters(svc, cap));
    const stateFile = s.state_file ?? join(opts.stateDir, DEFAULT_STATE_FILE);
    this.stateFile = isAbsolute(stateFile) ? stateFile : resolve(opts.baseDir, stateFile);
    this.tailer = new LogTailer({
      services: s.services.map((svc, i) => ({
        name: svc.name,
        files: svc.files,
        startAt: svc.start_at,
        counters: this.services[i]!,
        detector: new FormatDetector(svc),
      })),
      baseDir: opts.baseDir,
      stateFile: this.stateFile,
      pollIntervalMs: durationSeconds(s.poll_interval) * 1000,
      logger: opts.logger,
      clock: opts.clock,
    });
  }

  async collect(_ctx: CollectContext): Promise<Snapshot> {
    if (!this.started) {
      this.started = true;
      this.tailer.start();
    }
    try {
      this.tailer.saveCheckpoint();
    } catch (e) {
      // Counting goes on; the runner reports the failure (up 0) until the state file is writable.
      throw new SourceError('error', `cannot write the apilogs checkpoint ${this.stateFile}: ${(e as Error).message}`);
    }
    return apilogsSnapshot(this.services, { files: true });
  }

  async close(): Promise<void> {
    this.tailer.stop();
  }
}
