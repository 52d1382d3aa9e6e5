/**
 * Differential property test: random lines built from a log_format, written the way Apache,
 * nginx (default escaping) and nginx `escape=json` write them, then some of them damaged; the
 * compiled parser and the slow reference parser (testing/reference-line-parser.ts) must agree
 * on every field, and on the counts of a whole file. Undamaged lines must also be read back
 * into exactly the fields they were built from.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY_BUCKETS, OVERFLOW_ROUTE } from './metrics.js';
import { METHOD_NAMES } from './http-method.js';
import { MAX_LINE_BYTES } from './line-splitter.js';
import { compileNginxFormat, NginxLineParser } from './nginx-format.js';
import { emptyParsedRequest } from './parsed-request.js';
import { RouteTable } from './route-table.js';
import { referenceFormat, referenceParse, type ReferenceResult } from './testing/reference-line-parser.js';
import { countText, requestTable, service } from './testing/apilogs-fixtures.js';

interface FormatCase {
  name: string;
  format: string;
  unit: 's' | 'us';
}

const FORMATS: FormatCase[] = [
  {
    name: 'combined + $request_time',
    format: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time',
    unit: 's',
  },
  { name: 'combined', format: '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"', unit: 's' },
  { name: 'Apache common', format: '$remote_addr $remote_logname $remote_user [$time_local] "$request" $status $body_bytes_sent', unit: 's' },
  {
    name: 'Apache combined + %D',
    format: '$remote_addr $remote_logname $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time',
    unit: 'us',
  },
  {
    name: 'upstream timings in quotes',
    format:
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" urt="$upstream_response_time"',
    unit: 's',
  },
  {
    name: 'upstream list mid-line',
    format: '$msec $host [$time_iso8601] "$request_method $request_uri" $status $upstream_addr $upstream_response_time "$http_user_agent"',
    unit: 's',
  },
  { name: 'unquoted request', format: '$remote_addr|$status|$request|${request_time}s', unit: 's' },
  { name: 'line starts with a quote', format: '"$request" $status $upstream_response_time "$http_user_agent"', unit: 's' },
  { name: '$uri wins over $request', format: '"$request" $uri $status $upstream_response_time $request_time', unit: 's' },
  { name: 'quoted region not bounded by quotes', format: '$remote_addr [$time_local] "$request" "ua=$http_user_agent" $status "$request_time"', unit: 's' },
  {
    name: 'escape=json object',
    format: '{"ip":"$remote_addr","time":"$time_iso8601","request":"$request","status":$status,"ua":"$http_user_agent","rt":$request_time}',
    unit: 's',
  },
];

type Style = 'apache' | 'nginx' | 'json';
const hex2 = (b: number, upper: boolean) => (upper ? b.toString(16).toUpperCase() : b.toString(16)).padStart(2, '0');

/** How each server writes a value's bytes (a latin1 string) into the log. */
function escapeValue(raw: string, style: Style): string {
  let out = '';
  for (const ch of raw) {
    const b = ch.charCodeAt(0);
    if (style === 'nginx') {
      // ngx_http_log_escape: ", \, control bytes and everything from 0x7f up as \xXX.
      out += b === 0x22 || b === 0x5c || b < 0x20 || b >= 0x7f ? `\\x${hex2(b, true)}` : ch;
    } else if (style === 'apache') {
      // ap_escape_logitem: \" \\ and the usual control escapes, other non-printables as \xhh.
      const named: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x0b: '\\v' };
      out += named[b] ?? (b < 0x20 || b >= 0x7f ? `\\x${hex2(b, false)}` : ch);
    } else {
      // escape=json: \" \\ and control characters; bytes from 0x80 up are written as they are.
      const named: Record<number, string> = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x0c: '\\f' };
      out += named[b] ?? (b < 0x20 ? `\\u00${hex2(b, false)}` : ch);
    }
  }
  return out;
}

const utf8Bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

const seconds = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 60_000 }).map((ms) => (ms / 1000).toFixed(3)) },
  { weight: 1, arbitrary: fc.constant('-') },
  { weight: 1, arbitrary: fc.nat({ max: 10_000_000 }).map(String) },
  // More digits than a double holds: rounding must equal parseFloat's.
  { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 99 }), fc.stringMatching(/^[0-9]{14,24}$/)).map(([i, f]) => `${i}.${f}`) },
);
const upstreamList = fc
  .array(seconds, { minLength: 1, maxLength: 4 })
  .chain((vs) =>
    fc
      .array(fc.constantFrom(', ', ' : '), { minLength: vs.length - 1, maxLength: vs.length - 1 })
      .map((seps) => vs.map((v, i) => (i === 0 ? v : `${seps[i - 1]}${v}`)).join('')),
  );
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const address = fc.oneof(ipv4, fc.ipV6(), fc.constant('unix:'));
const upstreamAddrs = fc
  .array(
    fc.oneof(
      ipv4.map((a) => `${a}:8080`),
      fc.constant('unix:/run/app.sock'),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .chain((as) => fc.constantFrom(', ', ' : ').map((sep) => as.join(sep)));

/** Raw bytes of free text: unicode, quotes, backslashes, spaces, escapes-looking text, invalid UTF-8. */
const freeText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '/', '-', '(', ';', '\\x22', '" "', '\\"', 'é', '\t'), maxLength: 30 })
      .map(utf8Bytes),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map(utf8Bytes) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '-',
      '',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      'ends with a backslash\\',
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: fc.nat({ max: 40_000 }).map((n) => `long ${'x'.repeat(n)} "quoted" \\`) },
);

const segment = fc.oneof(
  fc.constantFrom('v1', 'v2.1', 'api', 'API', 'topups', 'accounts', 'users', 'static', 'café', 'x"y', 'back\\slash', '%22', ''),
  // Id shapes and near misses.
  fc.constantFrom(
    '2017-06-29',
    '2017-06',
    '2017-06-29T10:00:00Z',
    '20170629',
    '1.2.3',
    'a1b2c3d4',
    'a1b2c3d',
    'deadbeefdeadbeef',
    '01ARZ3NDEKTSV4RRFFQ69G5FAV',
    '0ABCDEFGHJKMNPQRSTVWXYZABC',
    '0ABCDEFGHJKMNPQRSTVWXYZABU',
    'iphone-15-pro-max',
    'sk_live_4eC39HqLyjWDarjtT1zdp7dc',
    '12345678-1234-1234-12341-23456789012',
    '1234567a-1234-1234-12341-23456789012',
  ),
  fc.nat().map(String),
  fc.nat({ max: 1200 }).map(String),
  fc.uuid(),
  fc.ulid(),
  fc.stringMatching(/^[0-9a-f]{6,32}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{14,24}$/),
  fc.stringMatching(/^[0-9_-]{14,20}$/),
  fc.stringMatching(/^[0-9]{4}-[0-9]{2}[0-9:T.Z_-]{0,10}$/),
  fc.stringMatching(/^[A-Za-z0-9._~%-]{1,12}$/),
);
const path = fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`);
const target = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(path, fc.option(fc.stringMatching(/^[?#][a-z=&0-9"\\]{0,10}$/), { nil: '' })).map(([p, q]) => p + q) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('http://api.example.com', 'https://h:8443', 'HTTP://x'), fc.option(path, { nil: '' })).map(([a, p]) => a + p),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', '-', 'example.com:443', '-x', '/a/../b', `/${'z'.repeat(8200)}`) },
);
const method = fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'BREW', 'get');
const request = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(method, target, fc.constantFrom(' HTTP/1.0', ' HTTP/1.1', ' HTTP/2.0', '')).map(([m, t, proto]) => `${m} ${utf8Bytes(t)}${proto}`),
  },
  // What nginx writes for 400 and 408 (no request line read), Apache's "-", TLS sent to an HTTP port.
  { weight: 1, arbitrary: fc.constantFrom('', '-', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'GET', 'GET  /double-space HTTP/1.1') },
);
const timeLocal = fc
  .tuple(fc.integer({ min: 1, max: 28 }), fc.nat(11), fc.integer({ min: 1990, max: 2100 }), fc.nat(23), fc.nat(59), fc.nat(59), fc.boolean())
  .map(([d, m, y, h, mi, s, odd]) => `${odd ? d : p2(d)}/${MONTHS[m]}/${y}:${p2(h)}:${p2(mi)}:${p2(s)} +0000`);
const timeIso = fc
  .tuple(fc.integer({ min: 1990, max: 2100 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.nat(23), fc.boolean())
  .map(([y, m, d, h, z]) => `${y}-${p2(m)}-${p2(d)}T${p2(h)}:00:00${z ? 'Z' : '+00:00'}`);
const msec = fc
  .tuple(fc.integer({ min: 1_000_000_000, max: 9_999_999_999 }), fc.nat(999), fc.boolean())
  .map(([s, ms, short]) => (short ? `${s}.${ms}` : `${s}.${String(ms).padStart(3, '0')}`));
const statusCode = fc.constantFrom('200', '201', '204', '301', '304', '400', '404', '408', '429', '499', '500', '502', '503', '504');

/** Near misses: values a parser must refuse, not read leniently. */
const BAD: Record<string, readonly string[]> = {
  status: ['2000', '099', '20x', '', '2OO', '-'],
  request_time: ['1.', '.5', '1e3', '', '0,5', '+1', 'NaN', '--'],
  upstream_response_time: ['0.1,0.2', '0.1 :0.2', '0.1,, 0.2', '0.1, ', ', 0.1', '0.1 , 0.2', '0.1  0.2', '', '0.1:0.2', '1.,2'],
};

/** A raw value for a variable (before escaping), and whether the line can be valid with it. */
function valueFor(name: string): fc.Arbitrary<[string, boolean]> {
  const good = goodValueFor(name).map((v): [string, boolean] => [v, true]);
  const bad = BAD[name];
  return bad ? fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom(...bad).map((v): [string, boolean] => [v, false]) }) : good;
}

function goodValueFor(name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'remote_addr':
      return address;
    case 'remote_user':
    case 'remote_logname':
      return fc.oneof(fc.constant('-'), fc.stringMatching(/^[a-z0-9_.@-]{1,12}$/));
    case 'time_local':
      return timeLocal;
    case 'time_iso8601':
      return timeIso;
    case 'msec':
      return msec;
    case 'request':
      return request;
    case 'request_method':
      return method;
    case 'request_uri':
      return target.filter((t) => !t.includes(' ')).map(utf8Bytes);
    case 'uri':
      return path.map(utf8Bytes);
    case 'status':
      return statusCode;
    case 'body_bytes_sent':
      return fc.nat().map(String);
    case 'request_time':
      return seconds;
    case 'upstream_response_time':
    case 'upstream_connect_time':
      return upstreamList;
    case 'upstream_addr':
      return upstreamAddrs;
    case 'host':
      return fc.domain();
    default:
      return freeText;
  }
}

interface BuiltLine {
  text: string;
  fields: Array<[number, number]>;
  /** Built from valid values only: it must be read back into exactly `fields`. */
  valid: boolean;
}

function lineArbitrary(fmt: FormatCase): fc.Arbitrary<BuiltLine> {
  const { literals, variables } = referenceFormat(fmt.format);
  return fc.tuple(fc.constantFrom<Style>('apache', 'nginx', 'json'), fc.tuple(...variables.map(valueFor))).map(([style, values]) => {
    let text = literals[0]!;
    const fields: Array<[number, number]> = [];
    values.forEach(([raw], i) => {
      const v = escapeValue(raw, style);
      fields.push([text.length, text.length + v.length]);
      text += v + literals[i + 1]!;
    });
    return { text, fields, valid: values.every(([, ok]) => ok) };
  });
}

/** Damage: bytes cut, inserted or replaced (never a newline), or the line cut short. */
const damage = fc.array(
  fc.tuple(
    fc.constantFrom('cut', 'insert', 'replace', 'truncate'),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.string({ unit: fc.constantFrom('"', '\\', ' ', ',', ':', '[', ']', '-', '0', '5', '.', 'x', '\xff', '\xc3', '\r'), minLength: 1, maxLength: 4 }),
  ),
  { maxLength: 3 },
);

function applyDamage(text: string, edits: Array<[string, number, string]>): string {
  for (const [op, at, bytes] of edits) {
    const i = Math.floor(at * text.length);
    if (op === 'cut') text = text.slice(0, i) + text.slice(i + bytes.length);
    else if (op === 'insert') text = text.slice(0, i) + bytes + text.slice(i);
    else if (op === 'replace') text = text.slice(0, i) + bytes + text.slice(i + bytes.length);
    else text = text.slice(0, i);
  }
  return text;
}

function fastParsers(fmt: FormatCase, templates: string[]) {
  const compiled = compileNginxFormat(fmt.format);
  const unitSeconds = fmt.unit === 'us' ? 1e-6 : 1;
  const routes = new RouteTable(templates, 10_000);
  return {
    routes,
    parser: new NginxLineParser(compiled, routes, { unitSeconds }),
    recorder: new NginxLineParser(compiled, new RouteTable(templates, 10_000), { unitSeconds, recordFields: true }),
  };
}

const TEMPLATES = ['/v1/users/:name', '/static/*'];

describe('compiled parser vs reference parser', () => {
  for (const fmt of FORMATS) {
    it(`agree on every field of random lines: ${fmt.name}`, () => {
      const ref = referenceFormat(fmt.format);
      fc.assert(
        fc.property(fc.array(fc.tuple(lineArbitrary(fmt), damage), { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, withTemplates) => {
          const templates = withTemplates ? TEMPLATES : [];
          const { routes, parser, recorder } = fastParsers(fmt, templates);
          const opts = { unitSeconds: fmt.unit === 'us' ? 1e-6 : 1, templates };
          const texts: string[] = [];
          for (const [built, edits] of lines) {
            const text = applyDamage(built.text, edits);
            texts.push(text);
            const buf = Buffer.from(text, 'latin1');
            const want = referenceParse(ref, buf, opts);
            if (edits.length === 0 && built.valid) {
              // Undamaged: read back into exactly the values it was built from.
              expect(want?.fields, text).toEqual(built.fields);
            }
            const out = emptyParsedRequest();
            const ok = parser.parse(buf, 0, buf.length, out);
            expect(ok, text).toBe(want !== undefined);
            expect(recorder.parse(buf, 0, buf.length, emptyParsedRequest())).toBe(ok);
            if (!want) continue;
            const fields: Array<[number, number]> = want.fields.map((_, i) => [recorder.recordedFields![2 * i]!, recorder.recordedFields![2 * i + 1]!]);
            expect(fields, text).toEqual(want.fields);
            const got: ReferenceResult = {
              fields,
              status: out.status,
              method: METHOD_NAMES[out.methodId]!,
              duration: out.duration,
              route: routes.names[out.routeId]!,
            };
            expect(got, text).toEqual(want);
          }
          // The same lines as one file: equal counts, malformed lines included.
          const c = countText(
            service({ log_format: fmt.format, duration_unit: fmt.unit, routes: templates, max_routes: 10_000 }),
            Buffer.from(texts.join('\n'), 'latin1'),
          );
          const expected = referenceCounts(texts, (b) => referenceParse(ref, b, opts));
          expect([c.parsed, c.malformed]).toEqual([expected.parsed, expected.malformed]);
          expect(requestTable(c)).toEqual(expected.requests);
          expect(histograms(c)).toEqual(expected.histograms);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('agree on lines over 1 MiB and on invalid UTF-8 (malformed in a file, still parsed alike)', () => {
    const fmt = FORMATS[0]!;
    const ref = referenceFormat(fmt.format);
    const { routes, parser } = fastParsers(fmt, []);
    const head = '2001:db8::1 - - [01/Nov/2026:10:00:00 +0000] "GET /v1/topups/1 HTTP/2.0" 200 5 "-" "';
    const texts = [`${head}${'y'.repeat(MAX_LINE_BYTES)}" 0.010`, `${head}caf\xe9 \xff\\"" 0.020`, `${head}ok" 0.030`];
    for (const text of texts) {
      const buf = Buffer.from(text, 'latin1');
      const want = referenceParse(ref, buf);
      const out = emptyParsedRequest();
      expect(parser.parse(buf, 0, buf.length, out)).toBe(true);
      expect([out.status, out.duration, routes.names[out.routeId]]).toEqual([want!.status, want!.duration, want!.route]);
    }
    const c = countText(service(), Buffer.from(texts.join('\n'), 'latin1'));
    expect([c.parsed, c.malformed]).toEqual([1, 2]);
    expect(referenceCounts(texts, (b) => referenceParse(ref, b))).toMatchObject({ parsed: 1, malformed: 2 });
  });
});

interface Counts {
  parsed: number;
  malformed: number;
  requests: Record<string, number>;
  histograms: Record<string, { count: number; sum: number; buckets: number[] }>;
}

/** What a file of these lines must count: the line splitter's rules, then the reference parser. */
function referenceCounts(texts: string[], parse: (b: Buffer) => ReferenceResult | undefined): Counts {
  const out: Counts = { parsed: 0, malformed: 0, requests: {}, histograms: {} };
  for (let text of texts) {
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text === '') continue;
    const buf = Buffer.from(text, 'latin1');
    const r = buf.length > MAX_LINE_BYTES || !isUtf8(buf) ? undefined : parse(buf);
    if (!r) {
      out.malformed++;
      continue;
    }
    out.parsed++;
    const key = `${r.route} ${r.method} ${r.status}`;
    out.requests[key] = (out.requests[key] ?? 0) + 1;
    if (Number.isNaN(r.duration)) continue;
    const h = (out.histograms[`${r.route} ${r.method}`] ??= { count: 0, sum: 0, buckets: DEFAULT_LATENCY_BUCKETS.map(() => 0) });
    h.count++;
    h.sum += r.duration;
    DEFAULT_LATENCY_BUCKETS.forEach((le, i) => {
      if (r.duration <= le) h.buckets[i]!++;
    });
  }
  return out;
}

function histograms(c: ReturnType<typeof service>): Counts['histograms'] {
  const out: Counts['histograms'] = {};
  for (const s of c.durationSamples()) {
    const h = (out[`${s.labels.route} ${s.labels.method}`] ??= { count: 0, sum: 0, buckets: [] });
    if (s.suffix === '_count') h.count = s.value;
    else if (s.suffix === '_sum') h.sum = s.value;
    else if (s.labels.le !== '+Inf') h.buckets.push(s.value);
  }
  return out;
}

describe('reference parser', () => {
  it('reads what the rules say (checked by hand, so the differential test compares with something true)', () => {
    const ref = referenceFormat(
      '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time',
    );
    const r = referenceParse(ref, Buffer.from('::1 - - [01/Nov/2026:10:00:00 +0000] "GET /v1/topups/12?x=\\"1 HTTP/1.1" 503 0 "-" "a \\" \\"b\\\\" 0.250'));
    expect(r).toMatchObject({ status: 503, method: 'GET', duration: 0.25, route: '/v1/topups/:id' });
    expect(referenceParse(ref, Buffer.from('::1 - - [01/Nov/2026:10:00:00 +0000] "-" 400 0 "-" "-" 0.000'))?.route).toBe(OVERFLOW_ROUTE);
    expect(referenceParse(ref, Buffer.from('::1 - - [01/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 0 "-" "a \\\\" b" 0.1'))).toBeUndefined();
  });
});
