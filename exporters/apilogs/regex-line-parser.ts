/**
 * The escape hatch for formats nothing else describes: a regular expression with named
 * groups `status` and `path` (required), `method` and `duration` (optional, in
 * `duration_unit`).
 */
import { methodIdFromString, OTHER_METHOD_ID } from './http-method.js';
import { secondsOf, statusOf } from './json-line-parser.js';
import { DURATION_UNIT_SECONDS, type DurationUnit, type LineParser, type ParsedRequest } from './parsed-request.js';
import type { RouteTable } from './route-table.js';

export class RegexFormatError extends Error {}

/**
 * What makes `source` unusable as a regex format (empty when nothing does): config
 * validation reports every problem, the parser refuses on the first.
 */
export function regexFormatProblems(source: string): string[] {
  try {
    new RegExp(source);
  } catch (e) {
    return [`invalid regular expression: ${(e as Error).message}`];
  }
  return ['status', 'path'].filter((g) => !source.includes(`(?<${g}>`)).map((g) => `regex needs a named group (?<${g}>...)`);
}

export class RegexLineParser implements LineParser {
  private readonly re: RegExp;
  private readonly unit: number;

  constructor(
    source: string,
    unit: DurationUnit,
    private readonly routes: RouteTable,
  ) {
    const problem = regexFormatProblems(source)[0];
    if (problem) throw new RegexFormatError(problem);
    this.re = new RegExp(source);
    this.unit = DURATION_UNIT_SECONDS[unit];
  }

  parse(buf: Buffer, start: number, end: number, out: ParsedRequest): boolean {
    const m = this.re.exec(buf.toString('utf8', start, end));
    const g = m?.groups;
    if (!g) return false;
    const status = statusOf(g.status);
    const path = g.path;
    if (status < 0 || !path) return false;
    const duration = secondsOf(g.duration, this.unit);
    if (duration === -1) return false;
    out.status = status;
    out.duration = duration;
    out.methodId = g.method ? methodIdFromString(g.method) : OTHER_METHOD_ID;
    out.routeId = this.routes.lookupString(path);
    return true;
  }
}
