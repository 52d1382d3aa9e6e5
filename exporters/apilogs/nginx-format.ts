/**
 * nginx `log_format` strings compiled into a byte-scanning parser.
 *
 * The format is a sequence of literals and `$variables`. A variable's value runs up to the
 * next literal; the last variable runs to the end of the line. Inside a quoted field
 * (`"$http_user_agent"`) a backslash escapes the byte after it: Apache and nginx's
 * `escape=json` write a quote as `\"` and a backslash as `\\`, nginx's default escaping writes
 * them as `\x22` and `\x5C`, so under either style an unescaped quote ends the field. Lists
 * nginx writes for `$upstream_*` variables (`0.010, 0.020 : 0.005`) keep their separators.
 * Only the variables that feed the metrics are decoded: `$request` or `$request_method` +
 * `$request_uri`/`$uri`, `$status`, `$request_time` or `$upstream_response_time`; all others
 * (`$time_local`, `$msec`, `$host`, `$body_bytes_sent`, ...) are only skipped over, which
 * still checks the line's shape.
 */
import { methodIdFromBytes, OTHER_METHOD_ID } from './http-method.js';
import type { LineParser, ParsedRequest } from './parsed-request.js';
import { OVERFLOW_ROUTE_ID, type RouteTable } from './route-table.js';

/** nginx's `combined` format plus `$request_time`: the default of every nginx service. */
export const DEFAULT_NGINX_LOG_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time';

/** Variables nginx always writes with the same width (until the year 2286 for $msec). */
export const FIXED_WIDTH: Readonly<Record<string, number>> = {
  time_local: '01/Nov/2026:10:00:00 +0000'.length,
  time_iso8601: '2026-11-01T10:00:00+00:00'.length,
  msec: '1764583200.123'.length,
};

type Role = 'request' | 'method' | 'request_uri' | 'uri' | 'status' | 'request_time' | 'upstream_time' | 'skip';

const ROLE_OF: Record<string, Role> = {
  request: 'request',
  request_method: 'method',
  request_uri: 'request_uri',
  uri: 'uri',
  document_uri: 'uri',
  status: 'status',
  request_time: 'request_time',
  upstream_response_time: 'upstream_time',
};

interface Step {
  /** The variable's name, without `$`. */
  variable: string;
  role: Role;
  /** The literal after this variable; empty when the variable ends the line. */
  terminator: Uint8Array;
  /** Inside double quotes in the format (`"$request_method $request_uri"`): a backslash escapes the byte after it. */
  quoted: boolean;
  /** An `$upstream_*` list ended by a space: the spaces of its ", " and " : " separators do not end it. */
  list: boolean;
}

export interface CompiledNginxFormat {
  /** Literal the line starts with (often empty). */
  prefix: Uint8Array;
  steps: Step[];
  variables: string[];
}

export class LogFormatError extends Error {}

const VAR_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export function compileNginxFormat(format: string): CompiledNginxFormat {
  const literals: string[] = [];
  const variables: string[] = [];
  let last = 0;
  for (const m of format.matchAll(VAR_RE)) {
    literals.push(format.slice(last, m.index));
    variables.push((m[1] ?? m[2])!);
    last = m.index + m[0].length;
  }
  literals.push(format.slice(last));
  if (variables.length === 0) throw new LogFormatError('log_format has no $variables');
  if (literals.some((l) => l.includes('\n'))) throw new LogFormatError('log_format cannot contain a line break: one request is one line');
  for (let i = 1; i < variables.length; i++) {
    if (literals[i] === '')
      throw new LogFormatError(`log_format: $${variables[i - 1]} and $${variables[i]} have nothing between them, so their values cannot be told apart`);
  }
  const has = (v: string) => variables.includes(v);
  if (!has('status')) throw new LogFormatError('log_format needs $status');
  if (!has('request') && !has('request_uri') && !has('uri') && !has('document_uri'))
    throw new LogFormatError('log_format needs $request, $request_uri or $uri for the route');
  for (let i = 0; i < variables.length; i++) {
    // "GET /x HTTP/1.1" has spaces: unquoted, its end cannot be found (nginx's own formats quote it).
    if (variables[i] === 'request' && literals[i + 1] !== '' && literals[i + 1]!.startsWith(' ')) {
      throw new LogFormatError('$request contains spaces: quote it in log_format ("$request")');
    }
  }
  // Prefer the most specific source of each value when a format logs several.
  const pathVar = has('request_uri') ? 'request_uri' : has('uri') ? 'uri' : has('document_uri') ? 'document_uri' : 'request';
  const durationVar = durationVariable(variables);
  let quotes = 0;
  const steps: Step[] = variables.map((v, i) => {
    let role: Role = ROLE_OF[v] ?? 'skip';
    if ((role === 'request_uri' || role === 'uri') && v !== pathVar) role = 'skip';
    if ((role === 'request_time' || role === 'upstream_time') && v !== durationVar) role = 'skip';
    quotes += literals[i]!.split('"').length - 1;
    const terminator = literals[i + 1]!;
    return {
      variable: v,
      role,
      terminator: Buffer.from(terminator, 'utf8'),
      quoted: quotes % 2 === 1,
      list: v.startsWith('upstream_') && terminator.startsWith(' '),
    };
  });
  return { prefix: Buffer.from(literals[0]!, 'utf8'), steps, variables };
}

/** The variable a format's durations come from (`$request_time`, else the upstream time), if any. */
export function durationVariable(variables: readonly string[]): string | undefined {
  return variables.includes('request_time') ? 'request_time' : variables.includes('upstream_response_time') ? 'upstream_response_time' : undefined;
}

type ParseFn = (
  buf: Buffer,
  start: number,
  end: number,
  out: ParsedRequest,
  routes: RouteTable,
  methodId: typeof methodIdFromBytes,
  status: typeof parseStatus,
  seconds: typeof parseSeconds,
  upstream: typeof parseUpstreamSeconds,
  fields: Int32Array | undefined,
) => boolean;

export interface NginxParserOptions {
  /** Seconds per unit of the logged times (1 for nginx; 1e-6 for Apache's %D). */
  unitSeconds?: number;
  /**
   * Also record where each variable's value starts and ends (fields[2i], fields[2i+1]) in
   * `recordedFields`: for tests comparing every field with a reference parser. Production
   * parsers are generated without it.
   */
  recordFields?: boolean;
}

/**
 * The compiled parser: JavaScript source generated once per log_format, with every literal
 * inlined as byte comparisons, then optimised by V8 like hand-written code. Only byte values
 * from the format reach the generated source, never text.
 */
export class NginxLineParser implements LineParser {
  private readonly fn: ParseFn;
  readonly source: string;
  /** With `recordFields`: [start, end) of each variable's value in the last line parsed (up to where parsing stopped). */
  readonly recordedFields: Int32Array | undefined;

  constructor(
    format: CompiledNginxFormat,
    private readonly routes: RouteTable,
    opts: NginxParserOptions = {},
  ) {
    this.recordedFields = opts.recordFields ? new Int32Array(2 * format.steps.length) : undefined;
    this.source = generateParserSource(format, opts.unitSeconds ?? 1, opts.recordFields ?? false);
    // The parser is compiled from the log format once (a hand-unrolled scanner per format): the
    // source is built from our own templates, never from log content.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    this.fn = new Function(
      'buf',
      'start',
      'end',
      'out',
      'routes',
      'methodIdFromBytes',
      'parseStatus',
      'parseSeconds',
      'parseUpstreamSeconds',
      'fields',
      this.source,
    ) as ParseFn;
  }

  parse(buf: Buffer, start: number, end: number, out: ParsedRequest): boolean {
    return this.fn(buf, start, end, out, this.routes, methodIdFromBytes, parseStatus, parseSeconds, parseUpstreamSeconds, this.recordedFields);
  }
}

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function generateParserSource(format: CompiledNginxFormat, unitSeconds: number, recordFields: boolean): string {
  const scale = unitSeconds === 1 ? '' : ` * ${unitSeconds}`;
  const roles = new Set(format.steps.map((s) => s.role));
  const requestGivesPath = !roles.has('request_uri') && !roles.has('uri');
  const requestGivesMethod = !roles.has('method');
  const L: string[] = [];
  L.push('let pos = start, j = 0, stop = 0, status = -1, duration = NaN, methodId = ' + OTHER_METHOD_ID + ', pathStart = -1, pathEnd = -1, scanned = false;');
  if (recordFields) L.push('fields.fill(-1);');
  const p = format.prefix;
  if (p.length > 0) {
    L.push(`if (end - pos < ${p.length}) return false;`);
    L.push(`if (${[...p].map((b, k) => `buf[pos + ${k}] !== ${b}`).join(' || ')}) return false;`);
    L.push(`pos += ${p.length};`);
  }
  // "METHOD target PROTOCOL" in [pos, j): the method up to the first space, the target up to the next.
  const splitRequest = () => {
    L.push('{ let sp = pos; while (sp < j && buf[sp] !== 32) sp++;');
    if (requestGivesMethod) L.push(`  methodId = ${OTHER_METHOD_ID};`);
    if (requestGivesPath) L.push('  pathStart = -1; pathEnd = -1; scanned = false;');
    L.push('  if (sp < j) {');
    if (requestGivesMethod) L.push('    methodId = methodIdFromBytes(buf, pos, sp);');
    if (requestGivesPath) L.push('    let pe = sp + 1; while (pe < j && buf[pe] !== 32) pe++; pathStart = sp + 1; pathEnd = pe;');
    L.push('  } }');
  };
  for (const [index, step] of format.steps.entries()) {
    const t = step.terminator;
    // The usual quoted "$request": method and target are read while the field's end is searched.
    const fused = step.role === 'request' && step.quoted && t[0] === QUOTE && (requestGivesMethod || requestGivesPath);
    L.push(`// $${step.variable}`);
    if (t.length === 0) {
      L.push('j = end;');
    } else {
      if (fused) {
        // A space or a quote stops each part; a quote before the field's end (escaped, or
        // inside a garbage line) sends the field to splitRequest below, which reads it whole.
        L.push(`{ let sp = pos; while (sp < end && buf[sp] !== ${SPACE} && buf[sp] !== ${QUOTE}) sp++;`);
        L.push(`  j = sp; if (sp < end && buf[sp] === ${SPACE}) {`);
        if (requestGivesMethod) L.push('    methodId = methodIdFromBytes(buf, pos, sp);');
        if (requestGivesPath) {
          // The route table normalises the target while finding its end.
          L.push('    const pe = routes.scanTarget(buf, sp + 1, end);');
          L.push('    pathStart = sp + 1; pathEnd = pe; scanned = true; j = pe; } }');
        } else {
          L.push(`    let pe = sp + 1; while (pe < end && buf[pe] !== ${SPACE} && buf[pe] !== ${QUOTE}) pe++;`);
          L.push('    j = pe; } }');
        }
        L.push('stop = j;');
      } else {
        L.push('j = pos;');
      }
      const rest = [...t].slice(1).map((b, k) => `buf[j + ${k + 1}] === ${b}`);
      const width = FIXED_WIDTH[step.variable];
      const termAt = (at: string) => [...t].map((b, k) => `buf[${at} + ${k}] === ${b}`).join(' && ');
      // Fixed-width values (timestamps): try the terminator where it must be before scanning.
      if (width !== undefined) L.push(`if (pos + ${width + t.length} <= end && ${termAt(`pos + ${width}`)}) j = pos + ${width}; else`);
      // Scan for the terminator's first byte, then confirm the rest of it.
      L.push('for (;;) {');
      if (step.role === 'skip' && t[0] === QUOTE) {
        // Quoted values may be long (user agents): after a short JS scan, native memchr.
        L.push(`  const limit = j + 16 < end ? j + 16 : end; while (j < limit && buf[j] !== ${t[0]}) j++;`);
        L.push(`  if (j === limit && limit < end) { j = buf.indexOf(${t[0]}, j); if (j < 0 || j > end) j = end; }`);
      } else {
        L.push(`  while (j < end && buf[j] !== ${t[0]}) j++;`);
      }
      L.push(`  if (j + ${t.length} > end) return false;`);
      L.push(`  if (${rest.length > 0 ? rest.join(' && ') : 'true'}) {`);
      if (step.quoted) {
        // An odd run of backslashes before the quote escapes it: still inside the value.
        L.push(
          `    if (buf[j - 1] === ${BACKSLASH}) { let k = j - 2; while (k >= pos && buf[k] === ${BACKSLASH}) k--; if (((j - 1 - k) & 1) === 1) { j++; continue; } }`,
        );
      }
      if (step.list) {
        // The space of ", " or either space of " : " between list entries.
        L.push(
          `    if ((j > pos && buf[j - 1] === 44) || (j + 2 < end && buf[j + 1] === 58 && buf[j + 2] === ${SPACE}) || (j - 2 >= pos && buf[j - 1] === 58 && buf[j - 2] === ${SPACE})) { j++; continue; }`,
        );
      }
      L.push('    break;');
      L.push('  }');
      L.push('  j++;');
      L.push('}');
    }
    if (recordFields) L.push(`fields[${2 * index}] = pos; fields[${2 * index + 1}] = j;`);
    switch (step.role) {
      case 'status':
        L.push('status = parseStatus(buf, pos, j); if (status === -1) return false;');
        break;
      case 'request':
        // Garbage requests (TLS probes, "-", "") keep the line but land in the overflow route
        // with method OTHER.
        if (fused) {
          L.push(`if (stop !== j && buf[stop] !== ${SPACE})`);
          splitRequest();
        } else if (requestGivesMethod || requestGivesPath) {
          splitRequest();
        }
        break;
      case 'method':
        L.push('methodId = methodIdFromBytes(buf, pos, j);');
        break;
      case 'request_uri':
      case 'uri':
        L.push('pathStart = pos; pathEnd = j;');
        break;
      case 'request_time':
        L.push(`duration = parseSeconds(buf, pos, j); if (duration === -1) return false; duration = duration${scale};`);
        break;
      case 'upstream_time':
        L.push(`duration = parseUpstreamSeconds(buf, pos, j); if (duration === -1) return false; duration = duration${scale};`);
        break;
      case 'skip':
        break;
    }
    L.push(`pos = j + ${t.length};`);
  }
  L.push('if (pos !== end) return false;');
  L.push('out.status = status; out.duration = duration; out.methodId = methodId;');
  // No usable target ("-", a TLS probe): counted under the overflow route, not as overflow.
  L.push(`if (pathEnd > pathStart && buf[pathStart] !== 45) out.routeId = scanned ? routes.resolveScanned() : routes.lookup(buf, pathStart, pathEnd);`);
  L.push(`else { out.routeId = ${OVERFLOW_ROUTE_ID}; routes.overflowed = false; }`);
  L.push('return true;');
  return L.join('\n');
}

/** Three digits, 100-999; -1 otherwise. */
export function parseStatus(buf: Uint8Array, s: number, e: number): number {
  if (e - s !== 3) return -1;
  const a = buf[s]! - 0x30;
  const b = buf[s + 1]! - 0x30;
  const c = buf[s + 2]! - 0x30;
  if (a < 1 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  return a * 100 + b * 10 + c;
}

/** Digits up to which integer arithmetic gives exactly the double parseFloat returns (< 2^53). */
const EXACT_DIGITS = 15;

/**
 * A decimal number of seconds ("0.123", "12"; "1.5e-3", ".5" and "1." are not written by
 * nginx and are refused). NaN for "-" (no value logged), -1 when the text is not a number.
 */
export function parseSeconds(buf: Uint8Array, s: number, e: number): number {
  if (e - s === 1 && buf[s] === 0x2d) return Number.NaN;
  let int = 0;
  let i = s;
  for (; i < e; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) break;
    int = int * 10 + d;
  }
  if (i === s) return -1;
  if (i === e) return i - s > EXACT_DIGITS ? decimalText(buf, s, e) : int;
  if (buf[i] !== 0x2e) return -1;
  i++;
  const fracStart = i;
  let frac = 0;
  let scale = 1;
  for (; i < e; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    frac = frac * 10 + d;
    scale *= 10;
  }
  if (i === fracStart) return -1;
  if (e - s - 1 > EXACT_DIGITS) return decimalText(buf, s, e);
  // Exact integers divided once: the same double parseFloat would return.
  return (int * scale + frac) / scale;
}

/** More digits than doubles hold exactly: let the engine round the text (rare: nginx writes milliseconds). */
function decimalText(buf: Uint8Array, s: number, e: number): number {
  let text = '';
  for (let i = s; i < e; i++) text += String.fromCharCode(buf[i]!);
  const v = Number(text);
  return Number.isFinite(v) ? v : -1;
}

/**
 * `$upstream_response_time`: one value per upstream tried, separated by ", " (retries) or
 * " : " (internal redirects); the request's upstream time is their sum, added left to right.
 * "-" entries count 0; all "-" is NaN (no observation). Anything else is -1.
 */
export function parseUpstreamSeconds(buf: Uint8Array, s: number, e: number): number {
  let total = 0;
  let any = false;
  let i = s;
  for (;;) {
    let j = i;
    while (j < e && buf[j] !== 0x2c && buf[j] !== 0x20 && buf[j] !== 0x3a) j++;
    if (j === i) return -1;
    const v = parseSeconds(buf, i, j);
    if (v === -1) return -1;
    if (v === v) {
      total += v;
      any = true;
    }
    if (j === e) break;
    if (buf[j] === 0x2c && j + 1 < e && buf[j + 1] === 0x20) i = j + 2;
    else if (buf[j] === 0x20 && j + 2 < e && buf[j + 1] === 0x3a && buf[j + 2] === 0x20) i = j + 3;
    else return -1;
  }
  return any ? total : Number.NaN;
}
