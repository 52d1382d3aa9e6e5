/** The apilogs metric families for a set of services' counters. */
import { LABEL } from '../../src/core/labels.js';
import { APILOGS_METRICS } from './metrics.js';
import type { MetricFamily, Sample, Snapshot } from '../../src/core/source.js';
import { family } from '../../src/core/snapshot.js';
import { HELP, type ServiceCounters } from './service-counters.js';

export interface SnapshotOptions {
  /** Include the file-following health families (tail mode only). */
  files: boolean;
}

export function apilogsSnapshot(services: readonly ServiceCounters[], opts: SnapshotOptions): Snapshot {
  const per = (f: (s: ServiceCounters) => number): Sample[] => services.map((s) => ({ labels: { [LABEL.service]: s.service }, value: f(s) }));
  const out: MetricFamily[] = [
    family(
      APILOGS_METRICS.requests,
      HELP.requests,
      'counter',
      services.flatMap((s) => s.requestSamples()),
    ),
    family(
      APILOGS_METRICS.duration,
      HELP.duration,
      'histogram',
      services.flatMap((s) => s.durationSamples()),
    ),
    family(
      APILOGS_METRICS.lines,
      HELP.lines,
      'counter',
      services.flatMap((s) => [
        { labels: { [LABEL.service]: s.service, [LABEL.result]: 'parsed' }, value: s.parsed },
        { labels: { [LABEL.service]: s.service, [LABEL.result]: 'malformed' }, value: s.malformed },
      ]),
    ),
    family(
      APILOGS_METRICS.routesOverflow,
      HELP.overflow,
      'counter',
      per((s) => s.overflow),
    ),
    family(
      APILOGS_METRICS.bytesRead,
      HELP.bytes,
      'counter',
      per((s) => s.bytesRead),
    ),
  ];
  if (opts.files) {
    out.push(
      family(
        APILOGS_METRICS.rotations,
        HELP.rotations,
        'counter',
        per((s) => s.rotations),
      ),
      family(
        APILOGS_METRICS.files,
        HELP.files,
        'gauge',
        per((s) => s.filesWatched),
      ),
      family(
        APILOGS_METRICS.filesMissing,
        HELP.missing,
        'gauge',
        per((s) => s.filesMissing),
      ),
    );
  }
  return out;
}
