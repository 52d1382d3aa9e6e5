/**
 * JSON lines with a configurable field mapping (`status`, `method`, `path`, `duration` and
 * its unit). Field names may be dotted paths into nested objects (`request.method`).
 * Slower than the nginx parser (JSON.parse per line) but it is the format of many
 * application loggers, where volumes are lower.
 */
import { methodIdFromString, OTHER_METHOD_ID } from './http-method.js';
import { DURATION_UNIT_SECONDS, type DurationUnit, type LineParser, type ParsedRequest } from './parsed-request.js';
import type { RouteTable } from './route-table.js';

export interface JsonFieldMapping {
  status: string;
  method: string;
  path: string;
  duration: string;
  duration_unit: DurationUnit;
}

export const DEFAULT_JSON_FIELDS: JsonFieldMapping = { status: 'status', method: 'method', path: 'path', duration: 'duration', duration_unit: 's' };

type Getter = (o: Record<string, unknown>) => unknown;

function getter(path: string): Getter {
  if (!path.includes('.')) return (o) => o[path];
  const parts = path.split('.');
  return (o) => {
    let v: unknown = o;
    for (const p of parts) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  };
}

export class JsonLineParser implements LineParser {
  private readonly status: Getter;
  private readonly method: Getter;
  private readonly path: Getter;
  private readonly duration: Getter;
  private readonly unit: number;

  constructor(
    fields: JsonFieldMapping,
    private readonly routes: RouteTable,
  ) {
    this.status = getter(fields.status);
    this.method = getter(fields.method);
    this.path = getter(fields.path);
    this.duration = getter(fields.duration);
    this.unit = DURATION_UNIT_SECONDS[fields.duration_unit];
  }

  parse(buf: Buffer, start: number, end: number, out: ParsedRequest): boolean {
    let obj: unknown;
    try {
      obj = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return false;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return false;
    const o = obj as Record<string, unknown>;
    const status = statusOf(this.status(o));
    const path = this.path(o);
    if (status < 0 || typeof path !== 'string' || path.length === 0) return false;
    const duration = secondsOf(this.duration(o), this.unit);
    if (duration === -1) return false;
    const method = this.method(o);
    out.status = status;
    out.duration = duration;
    out.methodId = typeof method === 'string' ? methodIdFromString(method) : OTHER_METHOD_ID;
    out.routeId = this.routes.lookupString(path);
    return true;
  }
}

/** A status given as a number or a numeric string, 100-999; -1 otherwise. */
export function statusOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : -1;
  return Number.isInteger(n) && n >= 100 && n <= 999 ? n : -1;
}

/** Seconds from a number or numeric string in `unitSeconds`; NaN when absent or "-", -1 when invalid. */
export function secondsOf(v: unknown, unitSeconds: number): number {
  if (v === undefined || v === null || v === '-' || v === '') return Number.NaN;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n < 0) return -1;
  return n * unitSeconds;
}
