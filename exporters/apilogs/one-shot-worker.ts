/** A counting thread of parallel one-shot mode: counts its ranges and posts the counts back. */
import { parentPort, workerData } from 'node:worker_threads';
import { readBuffer } from './line-splitter.js';
import { countFileRange } from './one-shot.js';
import type { WorkerInput } from './parallel-one-shot.js';
import { createServiceCounters } from './service-setup.js';

const input = workerData as WorkerInput;
const counters = createServiceCounters(input.settings);
const buf = readBuffer();
for (const range of input.ranges) countFileRange(range, counters, buf);
parentPort!.postMessage(counters.exportCounts());
