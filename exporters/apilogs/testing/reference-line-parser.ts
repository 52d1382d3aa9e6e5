/**
 * A slow reference parser for nginx `log_format` lines, written from the format's rules
 * (docs/apilogs.md) and sharing no code with the compiled parser it checks: the line as a
 * string of bytes (latin1), `startsWith` at each position, regular expressions for values.
 *
 * Rules, in the order they apply:
 * - The format is literals and `$name` / `${name}` variables. A variable's value runs up to
 *   the first following occurrence of the literal after it, the last variable to the end of
 *   the line; the line must end exactly there.
 * - `$time_local`, `$time_iso8601` and `$msec` have a fixed width: when the next literal
 *   follows at that width, that is the value.
 * - Inside double quotes of the format (an odd number of `"` in the literals before the
 *   variable), an occurrence preceded by an odd run of backslashes is escaped, not the end.
 * - For `$upstream_*` variables ended by a literal starting with a space, the spaces of the
 *   list separators ", " and " : " are not the end.
 * - `$status`: three digits, 100-999. Durations: digits with an optional fraction, or `-`
 *   (none); `$upstream_response_time` is such values joined by ", " or " : ", summed.
 * - `$request` is "METHOD target ...": the method up to the first space, the target up to the
 *   next space. No space: no method, no target. `$request_method`, `$request_uri`, `$uri`,
 *   `$document_uri` win over it.
 * - Route: no target or one starting with `-` is `other`; `scheme://authority` is dropped,
 *   another target not starting with `/` is `other`; the path ends at `?` or `#`; paths over
 *   the first matching template wins; else paths over 8 KiB are `other` and id segments become `:id`.
 */
import { OTHER_METHOD, OVERFLOW_ROUTE, STANDARD_HTTP_METHODS } from '../metrics.js';

export interface ReferenceFormat {
  literals: string[];
  variables: string[];
}

export interface ReferenceResult {
  /** [start, end) of each variable's value, byte offsets from the line's start. */
  fields: Array<[number, number]>;
  status: number;
  method: string;
  /** Seconds; NaN when the line logs none. */
  duration: number;
  route: string;
}

/** A tokenizer written by hand (the compiled parser uses a regular expression). */
export function referenceFormat(format: string): ReferenceFormat {
  const literals: string[] = [];
  const variables: string[] = [];
  let lit = '';
  let i = 0;
  const nameChar = (c: string | undefined, first: boolean) => c !== undefined && (/[A-Za-z_]/.test(c) || (!first && /[0-9]/.test(c)));
  while (i < format.length) {
    const c = format[i]!;
    if (c === '$' && format[i + 1] === '{') {
      const close = format.indexOf('}', i + 2);
      const name = close < 0 ? '' : format.slice(i + 2, close);
      if (name.length > 0 && [...name].every((ch, k) => nameChar(ch, k === 0))) {
        literals.push(lit);
        variables.push(name);
        lit = '';
        i = close + 1;
        continue;
      }
    } else if (c === '$' && nameChar(format[i + 1], true)) {
      let e = i + 1;
      while (nameChar(format[e], false)) e++;
      literals.push(lit);
      variables.push(format.slice(i + 1, e));
      lit = '';
      i = e;
      continue;
    }
    lit += c;
    i++;
  }
  literals.push(lit);
  return { literals, variables };
}

const WIDTH: Record<string, number> = { time_local: 26, time_iso8601: 25, msec: 14 };
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

function seconds(text: string): number | undefined {
  if (text === '-') return Number.NaN;
  if (!NUMBER.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

function upstreamSeconds(text: string): number | undefined {
  let total = 0;
  let any = false;
  for (const part of text.split(/, | : /)) {
    const v = seconds(part);
    if (v === undefined) return undefined;
    if (!Number.isNaN(v)) {
      total += v;
      any = true;
    }
  }
  return any ? total : Number.NaN;
}

export interface ReferenceOptions {
  unitSeconds?: number;
  templates?: readonly string[];
  /** Replaces the id heuristics for one path segment given the one before it (default: referenceIsId). */
  isId?: (segment: string, previous: string | undefined) => boolean;
}

/** The reference reading of one line (no newline), or undefined when it is malformed. */
export function referenceParse(format: ReferenceFormat, line: Uint8Array, opts: ReferenceOptions = {}): ReferenceResult | undefined {
  const s = Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('latin1');
  const { literals, variables } = format;
  if (!s.startsWith(literals[0]!)) return undefined;
  let pos = literals[0]!.length;
  let quotes = [...literals[0]!].filter((c) => c === '"').length;
  const fields: Array<[number, number]> = [];
  for (let v = 0; v < variables.length; v++) {
    const name = variables[v]!;
    const after = literals[v + 1]!;
    const inQuotes = quotes % 2 === 1;
    quotes += [...after].filter((c) => c === '"').length;
    let end: number;
    if (after === '') end = s.length;
    else if (WIDTH[name] !== undefined && s.startsWith(after, pos + WIDTH[name])) end = pos + WIDTH[name];
    else {
      let k = pos;
      for (;;) {
        k = s.indexOf(after, k);
        if (k < 0) return undefined;
        let backslashes = 0;
        while (k - 1 - backslashes >= pos && s[k - 1 - backslashes] === '\\') backslashes++;
        const escaped = inQuotes && backslashes % 2 === 1;
        const separator =
          name.startsWith('upstream_') &&
          after.startsWith(' ') &&
          ((k - 1 >= pos && s[k - 1] === ',') || (k + 2 < s.length && s.slice(k, k + 3) === ' : ') || (k - 2 >= pos && s.slice(k - 2, k + 1) === ' : '));
        if (!escaped && !separator) break;
        k++;
      }
      end = k;
    }
    fields.push([pos, end]);
    pos = end + after.length;
  }
  if (pos !== s.length) return undefined;

  const value = (name: string): string | undefined => {
    const i = variables.lastIndexOf(name);
    return i < 0 ? undefined : s.slice(fields[i]![0], fields[i]![1]);
  };
  // Every occurrence must be valid, the last one counts.
  const all = (name: string) => variables.flatMap((n, i) => (n === name ? [s.slice(fields[i]![0], fields[i]![1])] : []));

  const statuses = all('status');
  if (statuses.length === 0 || !statuses.every((x) => /^[1-9][0-9]{2}$/.test(x))) return undefined;
  const status = Number(statuses[statuses.length - 1]);

  let duration = Number.NaN;
  const unit = opts.unitSeconds ?? 1;
  if (variables.includes('request_time')) {
    for (const text of all('request_time')) {
      const d = seconds(text);
      if (d === undefined) return undefined;
      duration = d * unit;
    }
  } else if (variables.includes('upstream_response_time')) {
    for (const text of all('upstream_response_time')) {
      const d = upstreamSeconds(text);
      if (d === undefined) return undefined;
      duration = d * unit;
    }
  }

  let method: string | undefined = value('request_method');
  let target = value('request_uri') ?? value('uri') ?? value('document_uri');
  const request = value('request');
  if (request !== undefined && (method === undefined || target === undefined)) {
    const sp = request.indexOf(' ');
    const reqMethod = sp < 0 ? undefined : request.slice(0, sp);
    const next = sp < 0 ? -1 : request.indexOf(' ', sp + 1);
    const reqTarget = sp < 0 ? undefined : request.slice(sp + 1, next < 0 ? undefined : next);
    method ??= reqMethod;
    target ??= reqTarget;
  }
  return {
    fields,
    status,
    method: method !== undefined && (STANDARD_HTTP_METHODS as readonly string[]).includes(method) ? method : OTHER_METHOD,
    duration,
    route: target === undefined ? OVERFLOW_ROUTE : referenceRoute(target, opts),
  };
}

/** The route label of a request target given as a latin1 string of its bytes. */
export function referenceRoute(target: string, opts: Pick<ReferenceOptions, 'templates' | 'isId'> = {}): string {
  if (target === '' || target.startsWith('-')) return OVERFLOW_ROUTE;
  let path = target;
  if (!path.startsWith('/')) {
    const authority = /^[A-Za-z]*:\/\/[^/]*/.exec(path);
    if (!authority) return OVERFLOW_ROUTE;
    path = path.slice(authority[0].length);
  }
  path = path.split(/[?#]/)[0]!;
  const segments = path === '' ? [] : path.slice(1).split('/');
  for (const template of opts.templates ?? []) {
    const parts = template.split('/').slice(1);
    const rest = parts[parts.length - 1] === '*';
    if (rest) parts.pop();
    if (segments.length > 64 || (rest ? segments.length < parts.length : segments.length !== parts.length)) continue;
    if (parts.every((p, k) => (p.startsWith(':') ? segments[k] !== '' : Buffer.from(p, 'utf8').toString('latin1') === segments[k]))) return template;
  }
  if (path.length > 8192) return OVERFLOW_ROUTE;
  const isId = opts.isId ?? referenceIsId;
  const label = path === '' ? '/' : `/${segments.map((g, k) => (isId(g, segments[k - 1]) ? ':id' : g)).join('/')}`;
  return Buffer.from(label, 'latin1').toString('utf8');
}

/**
 * The id shapes of docs/apilogs.md, one regular expression each: numbers (but a number of up
 * to three digits right after `api` is a version), UUIDs, hex of 8+ with a digit, ULIDs, long
 * mixed tokens (16+ of [A-Za-z0-9_-] with two digits and a letter), dates.
 */
export function referenceIsId(segment: string, previous?: string): boolean {
  if (/^[0-9]+$/.test(segment)) return !(/^[0-9]{1,3}$/.test(segment) && previous?.toLowerCase() === 'api');
  if (/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(segment)) return true;
  if (/^[0-9a-fA-F]{8,}$/.test(segment) && /[0-9]/.test(segment)) return true;
  if (/^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$/.test(segment) && /[0-9]/.test(segment)) return true;
  if (/^[A-Za-z0-9_-]{16,}$/.test(segment) && /[0-9].*[0-9]/.test(segment) && /[A-Za-z]/.test(segment)) return true;
  return /^[0-9]{4}-[0-9]{2}[0-9\-:._TZ+]*$/.test(segment);
}
