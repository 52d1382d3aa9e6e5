/** A counting thread of parallel one-shot mode: counts its ranges and posts the counts back. */
import { parentPort, workerData } from 'node:worker_threads';
import { FormatDetector } from './format-detection.js';
import { readBuffer } from './line-splitter.js';
import { countFileRange } from './one-shot.js';
import type { WorkerInput, WorkerMessage } from './parallel-one-shot.js';
import { createServiceCounters } from './service-setup.js';

const input = workerData as WorkerInput;
const counters = createServiceCounters(input.settings, input.cap);
const detector = input.detect ? new FormatDetector(input.settings) : undefined;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const buf = readBuffer();
for (const range of input.ranges) countFileRange(range, counters, buf, detector, (warning) => post({ warning }));
post({ counts: counters.exportCounts() });
