/** Helpers shared by the apilogs tests: services with defaults, and counting lines from strings. */
import { DEFAULT_LATENCY_BUCKETS } from '../metrics.js';
import { DEFAULT_NGINX_LOG_FORMAT } from '../config.js';
import { LineSplitter } from '../line-splitter.js';
import type { ServiceCounters } from '../service-counters.js';
import { createServiceCounters, type ServiceSettings } from '../service-setup.js';

export function service(over: Partial<ServiceSettings> = {}): ServiceCounters {
  return createServiceCounters({
    name: 'topups',
    format: 'nginx',
    log_format: DEFAULT_NGINX_LOG_FORMAT,
    duration_unit: 's',
    routes: [],
    max_routes: 200,
    buckets: DEFAULT_LATENCY_BUCKETS,
    ...over,
  });
}

/** Count `text` (or raw bytes) as one whole file into `c`. */
export function countText(c: ServiceCounters, text: string | Buffer): ServiceCounters {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const s = new LineSplitter(c);
  const keep = s.process(buf, buf.length);
  s.finish(buf, keep, buf.length);
  return c;
}

/** api_requests_total samples as "route method code" → value. */
export function requestTable(c: ServiceCounters): Record<string, number> {
  return Object.fromEntries(c.requestSamples().map((s) => [`${s.labels.route} ${s.labels.method} ${s.labels.code}`, s.value]));
}

/** A default-format nginx line. */
export function nginxLine(method: string, target: string, status: number, seconds: string, agent = 'curl/8.5.0'): string {
  return `10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "${method} ${target} HTTP/1.1" ${status} 512 "-" "${agent}" ${seconds}`;
}
