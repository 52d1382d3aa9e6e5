/**
 * A synthetic API access log for the demo: nginx's default format (combined + $request_time),
 * a daily traffic pattern, a latency distribution that improves from one quarter to the next,
 * and incidents (a share of 5xx and slower answers for a few minutes), both scheduled at random
 * and injected on demand. `historyChunks` writes the same traffic for past days (for the
 * backfill); `AccessLogWriter` appends live traffic every second.
 */
import { appendFileSync } from 'node:fs';
import { Random } from '../../../src/core/random.js';
import type { Clock } from '../../../src/core/clock.js';

const stream = (seed: number) => {
  const rand = new Random(seed);
  return () => rand.next();
};

/** Requests per second at the daily peak (14:00 UTC); the night trough is a fifth of it. */
const PEAK_RPS = 24;
const DAY_MS = 86_400_000;

export interface Incident {
  fromMs: number;
  toMs: number;
  /** Share of requests answered 5xx during the incident. */
  errorShare: number;
}

/** Share of the peak rate at a given instant: low at night, high in the afternoon (UTC). */
export function dailyShape(ms: number): number {
  const hour = (((ms % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000;
  return 0.6 + 0.4 * Math.cos(((hour - 14) / 24) * 2 * Math.PI);
}

/**
 * Latency scale by calendar quarter: each quarter about 10% faster than the one before, so
 * "improve API latency by 10% every quarter" sits close to its target.
 */
export function latencyScale(ms: number): number {
  const d = new Date(ms);
  const quarterIndex = d.getUTCFullYear() * 4 + Math.floor(d.getUTCMonth() / 3);
  const q = quarterIndex - (2026 * 4 + 3); // 2026-Q4 = 0
  return 0.11 * Math.pow(0.9, q);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** nginx `$time_local` in UTC: `26/Nov/2026:14:05:09 +0000`. */
function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

const ENDPOINTS: Array<{ weight: number; method: string; path: (r: () => number) => string }> = [
  { weight: 0.45, method: 'POST', path: () => '/v1/topups' },
  { weight: 0.25, method: 'GET', path: (r) => `/v1/topups/${100_000 + Math.floor(r() * 900_000)}` },
  { weight: 0.2, method: 'GET', path: (r) => `/v1/operators/${1 + Math.floor(r() * 800)}` },
  { weight: 0.1, method: 'GET', path: (r) => `/v1/countries?page=${1 + Math.floor(r() * 5)}` },
];
const AGENTS = ['reloadly-sdk-java/2.3.1', 'reloadly-sdk-node/1.9.0', 'okhttp/4.12.0', 'python-requests/2.32.3'];

export interface TrafficModel {
  /** Background 5xx share outside incidents. */
  baseErrorShare: number;
  incidents: Incident[];
}

/** One access-log line for a request at `ms`. */
function requestLine(ms: number, r: () => number, model: TrafficModel): string {
  let x = r();
  const ep = ENDPOINTS.find((e) => (x -= e.weight) < 0) ?? ENDPOINTS[0]!;
  const incident = model.incidents.find((i) => ms >= i.fromMs && ms < i.toMs);
  const errorShare = incident ? incident.errorShare : model.baseErrorShare;
  let status: number;
  const s = r();
  if (s < errorShare) status = s < errorShare * 0.8 ? 503 : 500;
  else if (s < errorShare + 0.01) status = 404;
  else if (s < errorShare + 0.025) status = 400;
  else status = ep.method === 'POST' ? 201 : 200;
  // Log-normal latency: median `scale`, a long tail; incidents are three times slower.
  const normal = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const seconds = latencyScale(ms) * Math.exp(0.55 * normal) * (incident ? 3 : 1);
  const ip = `10.${Math.floor(r() * 4)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
  const agent = AGENTS[Math.floor(r() * AGENTS.length)]!;
  const bytes = status >= 500 ? 162 : 200 + Math.floor(r() * 1800);
  return `${ip} - - [${timeLocal(ms)}] "${ep.method} ${ep.path(r)} HTTP/1.1" ${status} ${bytes} "-" "${agent}" ${seconds.toFixed(3)}`;
}

/** How many requests arrive in [ms, ms + spanMs) at `rateScale` times the demo's peak rate. */
function arrivals(ms: number, spanMs: number, rateScale: number, r: () => number): number {
  const expected = PEAK_RPS * rateScale * dailyShape(ms) * (spanMs / 1000);
  // Round stochastically so low rates still average out right.
  return Math.floor(expected) + (r() < expected - Math.floor(expected) ? 1 : 0);
}

/**
 * Random incidents between `fromMs` and `toMs`: on average one every `everyMs`, each 5–20
 * minutes long with 15–45% of requests failing.
 */
export function scheduleIncidents(fromMs: number, toMs: number, everyMs: number, r: () => number): Incident[] {
  const out: Incident[] = [];
  let t = fromMs;
  for (;;) {
    t += -Math.log(1 - r()) * everyMs;
    if (t >= toMs) return out;
    const minutes = 5 + Math.floor(r() * 16);
    out.push({ fromMs: t, toMs: t + minutes * 60_000, errorShare: 0.15 + r() * 0.3 });
  }
}

/**
 * Past traffic for [fromMs, toMs), in time order, at `rateScale` of the live rate (history is
 * thinned: months of full-rate logs would be gigabytes), in chunks of about 10,000 lines.
 */
export function* historyChunks(fromMs: number, toMs: number, model: TrafficModel, rateScale: number, seed: number): Generator<{ text: string; lines: number }> {
  const r = stream(seed);
  const stepMs = 60_000;
  let chunk: string[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    const count = arrivals(t, stepMs, rateScale, r);
    for (let i = 0; i < count; i++) chunk.push(requestLine(t + Math.floor((i * stepMs) / count), r, model));
    if (chunk.length >= 10_000) {
      yield { text: `${chunk.join('\n')}\n`, lines: chunk.length };
      chunk = [];
    }
  }
  if (chunk.length > 0) yield { text: `${chunk.join('\n')}\n`, lines: chunk.length };
}

export interface AccessLogWriterOptions {
  file: string;
  seed?: number;
  /** Background 5xx share (default 0.1%: availability 99.9% outside incidents). */
  baseErrorShare?: number;
  /** Mean time between random incidents; 0 = none. */
  incidentEveryMs?: number;
  /** Multiplies the demo's request rate (tests use more, for faster-moving ratios). */
  rateScale?: number;
  clock: Clock;
}

/** Appends a second's worth of requests to the live log every second. */
export class AccessLogWriter {
  readonly model: TrafficModel;
  private readonly r: () => number;
  private timer: NodeJS.Timeout | undefined;
  private last: number;
  /** Random incidents are drawn up to here, a day at a time. */
  private drawnUntil: number;
  lines = 0;

  constructor(private readonly opts: AccessLogWriterOptions) {
    this.r = stream(opts.seed ?? 42);
    this.last = this.opts.clock.now();
    this.model = { baseErrorShare: opts.baseErrorShare ?? 0.001, incidents: [] };
    this.drawnUntil = this.last;
    this.drawIncidents();
  }

  /** Keep a day of random incidents drawn ahead of now. */
  private drawIncidents(): void {
    const every = this.opts.incidentEveryMs ?? 0;
    if (every <= 0 || this.drawnUntil > this.last + DAY_MS / 2) return;
    this.model.incidents.push(...scheduleIncidents(this.drawnUntil, this.drawnUntil + DAY_MS, every, this.r));
    this.drawnUntil += DAY_MS;
  }

  /** An incident from now on: `errorShare` of requests fail for `durationMs`. */
  injectIncident(durationMs: number, errorShare: number): Incident {
    const t = this.opts.clock.now();
    const incident = { fromMs: t, toMs: t + durationMs, errorShare };
    this.model.incidents.push(incident);
    return incident;
  }

  /** The incident running now, if any. */
  currentIncident(): Incident | undefined {
    const t = this.opts.clock.now();
    return this.model.incidents.find((i) => t >= i.fromMs && t < i.toMs);
  }

  /** Write the requests since the last call; returns how many. */
  writeDue(): number {
    const t = this.opts.clock.now();
    const span = t - this.last;
    if (span <= 0) return 0;
    const count = arrivals(this.last, span, this.opts.rateScale ?? 1, this.r);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(requestLine(this.last + Math.floor((i * span) / count), this.r, this.model));
    this.last = t;
    // Forget finished incidents so the list stays small in a long demo.
    this.model.incidents = this.model.incidents.filter((i) => i.toMs > t - 3_600_000);
    this.drawIncidents();
    if (lines.length > 0) appendFileSync(this.opts.file, `${lines.join('\n')}\n`);
    this.lines += count;
    return count;
  }

  start(everyMs = 1000): void {
    this.timer ??= setInterval(() => this.writeDue(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
