/**
 * When each archived access-log line happened, from the line itself: the live tailer counts a
 * line when nginx writes it, so a backfill must place it at its own timestamp. The apilogs
 * parsers ignore time (live counting does not need it), so this finds it separately, per format:
 *   nginx  `$time_local`, `$time_iso8601` or `$msec` in log_format
 *   json   json_fields.time, else the first of time, timestamp, @timestamp, ts
 *   regex  a named group (?<time>...)
 */
import type { ApiService } from './config.js';

/** Unix ms of the line buf[start, end), or NaN when it has no readable timestamp. */
export type TimestampReader = (buf: Buffer, start: number, end: number) => number;

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const TIME_LOCAL_RE = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** `25/Nov/2026:10:00:00 +0100` (nginx $time_local, Apache %t). */
export function parseTimeLocal(s: string): number {
  const m = TIME_LOCAL_RE.exec(s);
  if (!m) return Number.NaN;
  const mon = MONTHS[m[2]!];
  const [day, h, min, sec] = [Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])];
  // Date.UTC would roll 99:99:99 over into the next days: a garbage line must not move time.
  if (mon === undefined || day < 1 || day > 31 || h > 23 || min > 59 || sec > 60) return Number.NaN;
  const utc = Date.UTC(Number(m[3]), mon, day, h, min, sec);
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000;
  return m[7] === '+' ? utc - offset : utc + offset;
}

/** Any of the forms logs use: epoch seconds or ms (with fraction), $time_local, ISO 8601. */
export function parseTimeText(s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n > 1e11 ? n : n * 1000;
  }
  const local = parseTimeLocal(s);
  if (local === local) return local;
  return Date.parse(s);
}

const VAR_RE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const TIME_VARS: Record<string, string> = {
  time_local: '(\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4})',
  time_iso8601: '(\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:?\\d{2}))',
  msec: '(\\d+\\.\\d+)',
};
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Only the first bytes are decoded: the time sits near the start of every usual format. */
const HEAD_BYTES = 1024;

/** One-entry memo: consecutive lines mostly share their second. */
function memo(parse: (s: string) => number): (s: string) => number {
  let lastText = '';
  let lastValue = Number.NaN;
  return (s) => {
    if (s !== lastText) {
      lastText = s;
      lastValue = parse(s);
    }
    return lastValue;
  };
}

export function timestampReader(svc: Pick<ApiService, 'name' | 'format' | 'log_format' | 'regex' | 'json_fields'>): TimestampReader {
  switch (svc.format) {
    case 'nginx': {
      // The format up to its time variable, each earlier variable matching lazily up to the next literal.
      let re = '^';
      let last = 0;
      let found = false;
      for (const m of svc.log_format.matchAll(VAR_RE)) {
        re += escapeRe(svc.log_format.slice(last, m.index));
        const v = (m[1] ?? m[2])!;
        last = m.index + m[0].length;
        if (TIME_VARS[v]) {
          re += TIME_VARS[v];
          found = true;
          break;
        }
        re += '[^]*?';
      }
      if (!found)
        throw new Error(
          `apilogs service ${svc.name}: log_format has no $time_local, $time_iso8601 or $msec, so archived lines cannot be dated for the backfill`,
        );
      const rx = new RegExp(re);
      const parse = memo(parseTimeText);
      return (buf, start, end) => {
        const m = rx.exec(buf.toString('latin1', start, Math.min(end, start + HEAD_BYTES)));
        return m ? parse(m[1]!) : Number.NaN;
      };
    }
    case 'json': {
      const names = svc.json_fields?.time ? [svc.json_fields.time] : ['time', 'timestamp', '@timestamp', 'ts'];
      const rx = new RegExp(`"(?:${names.map(escapeRe).join('|')})"\\s*:\\s*(?:"([^"]*)"|(-?\\d+(?:\\.\\d+)?))`);
      const parse = memo(parseTimeText);
      return (buf, start, end) => {
        const m = rx.exec(buf.toString('utf8', start, end));
        return m ? parse((m[1] ?? m[2])!) : Number.NaN;
      };
    }
    case 'regex': {
      const source = svc.regex ?? '';
      if (!source.includes('(?<time>'))
        throw new Error(`apilogs service ${svc.name}: the regex needs a named group (?<time>...) to date archived lines for the backfill`);
      const rx = new RegExp(source);
      const parse = memo(parseTimeText);
      return (buf, start, end) => {
        const t = rx.exec(buf.toString('utf8', start, end))?.groups?.time;
        return t ? parse(t) : Number.NaN;
      };
    }
  }
}
