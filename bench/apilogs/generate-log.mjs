/**
 * A reproducible nginx access log for the benchmark: default log_format (combined plus
 * $request_time), about 20 routes with ids in their paths, ~3% 4xx and ~0.7% 5xx, log-normal
 * latencies with a tail to 5 s. Same seed, same bytes.
 */
import { createWriteStream } from 'node:fs';

/** mulberry32: tiny seeded PRNG, good enough for test data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (rnd, n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rnd() * 16)];
  return s;
};
const uuid = (rnd) => `${hex(rnd, 8)}-${hex(rnd, 4)}-4${hex(rnd, 3)}-a${hex(rnd, 3)}-${hex(rnd, 12)}`;
const num = (rnd) => String(1 + Math.floor(rnd() * 999999));

/** [method, path template, weight]; ids drawn per line. */
const ROUTES = [
  ['GET', '/v1/topups/{n}', 14],
  ['POST', '/v1/topups', 10],
  ['GET', '/v1/topups/{n}/status', 8],
  ['GET', '/v1/operators', 6],
  ['GET', '/v1/operators/{n}', 8],
  ['GET', '/v1/operators/{n}/fx-rate', 5],
  ['GET', '/v1/countries', 3],
  ['GET', '/v1/countries/{n}/operators', 4],
  ['GET', '/v1/accounts/{u}/balance', 7],
  ['GET', '/v1/accounts/{u}/transactions', 4],
  ['POST', '/v1/gift-cards/orders', 3],
  ['GET', '/v1/gift-cards/orders/{u}', 3],
  ['GET', '/v1/gift-cards/products/{n}', 4],
  ['POST', '/v1/utilities/pay', 2],
  ['GET', '/v1/utilities/transactions/{h}', 2],
  ['PUT', '/v1/webhooks/{n}', 1],
  ['DELETE', '/v1/webhooks/{n}', 1],
  ['GET', '/v1/reports/{h}/download', 1],
  ['GET', '/healthz', 12],
  ['POST', '/oauth/token', 2],
];
const TOTAL_WEIGHT = ROUTES.reduce((n, r) => n + r[2], 0);
const AGENTS = [
  'okhttp/4.12.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'python-requests/2.31.0',
  'Go-http-client/1.1',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timeLocal(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Box-Muller normal → log-normal latency, median ~40 ms, capped at 5 s; never 0 (mtail drops 0 from histograms). */
function latency(rnd) {
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const v = Math.exp(Math.log(0.04) + 1.1 * z);
  return Math.min(5, Math.max(0.001, v)).toFixed(3);
}

export function* logLines(count, seed = 42) {
  const rnd = prng(seed);
  let t = Date.UTC(2026, 10, 1, 0, 0, 0);
  for (let i = 0; i < count; i++) {
    let w = rnd() * TOTAL_WEIGHT;
    let r = ROUTES[0];
    for (const cand of ROUTES) {
      w -= cand[2];
      if (w < 0) {
        r = cand;
        break;
      }
    }
    const path = r[1]
      .replace('{n}', () => num(rnd))
      .replace('{u}', () => uuid(rnd))
      .replace('{h}', () => hex(rnd, 24));
    const q = rnd() < 0.1 ? `?page=${Math.floor(rnd() * 10)}` : '';
    const x = rnd();
    const status =
      x < 0.007 ? [500, 502, 503, 504][Math.floor(rnd() * 4)] : x < 0.037 ? [400, 401, 404, 409, 422, 429][Math.floor(rnd() * 6)] : r[0] === 'POST' ? 201 : 200;
    t += Math.floor(rnd() * 20);
    const ip = `10.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
    const ua = AGENTS[Math.floor(rnd() * AGENTS.length)];
    yield `${ip} - - [${timeLocal(t)}] "${r[0]} ${path}${q} HTTP/1.1" ${status} ${Math.floor(rnd() * 4000)} "-" "${ua}" ${latency(rnd)}\n`;
  }
}

/** Write `count` lines to `file`; resolves with the byte count. */
export async function writeLog(file, count, seed = 42) {
  const out = createWriteStream(file);
  let bytes = 0;
  let batch = '';
  let n = 0;
  for (const line of logLines(count, seed)) {
    batch += line;
    if (++n % 5000 === 0) {
      bytes += Buffer.byteLength(batch);
      if (!out.write(batch)) await new Promise((r) => out.once('drain', r));
      batch = '';
    }
  }
  bytes += Buffer.byteLength(batch);
  out.write(batch);
  await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  return bytes;
}
