/** From a service's settings to its parser, route table and counters (the format compiled once). */
import type { ApiService } from './config.js';
import { DEFAULT_JSON_FIELDS, JsonLineParser } from './json-line-parser.js';
import { compileNginxFormat, NginxLineParser } from './nginx-format.js';
import { DURATION_UNIT_SECONDS, type LineParser } from './parsed-request.js';
import { RegexLineParser } from './regex-line-parser.js';
import { LIVE_ROUTE_CAP, type RouteCapPolicy, RouteTable } from './route-table.js';
import { ServiceCounters } from './service-counters.js';

export type ServiceSettings = Pick<
  ApiService,
  'name' | 'format' | 'log_format' | 'regex' | 'duration_unit' | 'json_fields' | 'routes' | 'max_routes' | 'buckets'
>;

/** `cap`: how the route cap decides (default: as `serve` does, with decisions counted in lines only). */
export function createServiceCounters(s: ServiceSettings, cap: RouteCapPolicy = LIVE_ROUTE_CAP): ServiceCounters {
  const routes = new RouteTable(s.routes, s.max_routes, cap);
  let parser: LineParser;
  switch (s.format) {
    case 'nginx':
      parser = new NginxLineParser(compileNginxFormat(s.log_format), routes, { unitSeconds: DURATION_UNIT_SECONDS[s.duration_unit] });
      break;
    case 'json':
      parser = new JsonLineParser({ ...DEFAULT_JSON_FIELDS, ...(s.json_fields ?? {}) }, routes);
      break;
    case 'regex':
      parser = new RegexLineParser(s.regex ?? '', s.duration_unit, routes);
      break;
  }
  return new ServiceCounters(s.name, parser, routes, s.buckets);
}
