/** The apilogs settings as read from an OKR file: defaults, and problems reported with their position. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { DEFAULT_LATENCY_BUCKETS } from './metrics.js';
import { DEFAULT_NGINX_LOG_FORMAT } from './config.js';
import { LOG_PRESETS } from './log-presets.js';

const file = (apilogs: string) => `version: okr/v1\norganization: x\nsources:\n  apilogs:\n${apilogs}`;

function problems(apilogs: string): string[] {
  try {
    parseConfig(file(apilogs), 'okrs.yaml', { env: {} });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.message.split('\n');
  }
}

describe('apilogs settings', () => {
  it('fills in the defaults', () => {
    const { config } = parseConfig(file('    services:\n      - { name: topups-api, files: [a.log] }\n'), 'okrs.yaml', { env: {} });
    expect(config.sources.apilogs).toEqual({
      enabled: true,
      poll_interval: '250ms',
      services: [
        {
          name: 'topups-api',
          files: ['a.log'],
          format: 'nginx',
          log_format: DEFAULT_NGINX_LOG_FORMAT,
          duration_unit: 's',
          routes: [],
          max_routes: 200,
          buckets: DEFAULT_LATENCY_BUCKETS,
          start_at: 'end',
        },
      ],
    });
  });

  it('reads named presets, and keeps format/log_format settings written before presets', () => {
    const svc = (yaml: string) => parseConfig(file(`    services:\n      - ${yaml}\n`), 'okrs.yaml', { env: {} }).config.sources.apilogs!.services[0]!;
    const pick = (yaml: string) => {
      const s = svc(yaml);
      return [s.format, s.log_format];
    };
    expect(pick('{ name: a, files: [a.log], format: combined }')).toEqual(['nginx', LOG_PRESETS.combined.logFormat]);
    expect(pick('{ name: a, files: [a.log], format: combined_rt }')).toEqual(['nginx', DEFAULT_NGINX_LOG_FORMAT]);
    expect(pick('{ name: a, files: [a.log], format: apache_common }')).toEqual([
      'nginx',
      '$remote_addr $remote_logname $remote_user [$time_local] "$request" $status $body_bytes_sent',
    ]);
    expect(pick('{ name: a, files: [a.log], format: apache_combined }')).toEqual([
      'nginx',
      '$remote_addr $remote_logname $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
    ]);
    expect(svc('{ name: a, files: [a.log], format: json }').format).toBe('json');
    // Before presets: format nginx (the default) with or without a log_format.
    expect(pick('{ name: a, files: [a.log] }')).toEqual(['nginx', DEFAULT_NGINX_LOG_FORMAT]);
    expect(pick('{ name: a, files: [a.log], format: nginx }')).toEqual(['nginx', DEFAULT_NGINX_LOG_FORMAT]);
    expect(pick('{ name: a, files: [a.log], log_format: \'$status "$request"\' }')).toEqual(['nginx', '$status "$request"']);
    expect(pick('{ name: a, files: [a.log], format: nginx, log_format: \'$status "$request"\' }')).toEqual(['nginx', '$status "$request"']);
    expect(pick("{ name: a, files: [a.log], format: json, log_format: '$status' }")[0]).toBe('json');
    expect(problems('    services:\n      - { name: a, files: [a.log], format: combined, log_format: \'$status "$request"\' }\n')).toEqual([
      'okrs.yaml:6:66: sources.apilogs.services[0].log_format: log_format goes with format nginx; format combined is a preset with its own (drop one of them)',
    ]);
    expect(problems('    services:\n      - { name: a, files: [a.log], format: nginx_combined }\n')[0]).toBe(
      'okrs.yaml:6:44: sources.apilogs.services[0].format: Invalid option: expected one of "combined_rt"|"combined"|"apache_common"|"apache_combined"|"json"|"nginx"|"regex"',
    );
  });

  it('reports each problem with its line and column', () => {
    expect(
      problems(
        [
          '    poll_interval: soon',
          '    services:',
          "      - { name: a, files: [a.log], log_format: '$request $bytes_sent' }",
          "      - { name: b, files: [b.log], format: regex, regex: '(?<status>\\d+)' }",
          '      - { name: c, files: [c.log], buckets: [0.1, 0.05], routes: [/x?y] }',
          '      - { name: "d e", files: [], colour: red }',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'okrs.yaml:5:20: sources.apilogs.poll_interval: must be a duration such as 30s, 5m, 1h or 1h30m',
      'okrs.yaml:7:48: sources.apilogs.services[0].log_format: log_format needs $status',
      'okrs.yaml:8:58: sources.apilogs.services[1].regex: regex needs a named group (?<path>...)',
      'okrs.yaml:9:51: sources.apilogs.services[2].buckets[1]: buckets must be strictly increasing',
      'okrs.yaml:9:67: sources.apilogs.services[2].routes[0]: route templates are paths without query string',
      'okrs.yaml:10:17: sources.apilogs.services[3].name: service names are label-safe: letters, digits, ".", "_", "-"',
      'okrs.yaml:10:31: sources.apilogs.services[3].files: Too small: expected array to have >=1 items',
      'okrs.yaml:10:35: sources.apilogs.services[3].colour: unknown key "colour"',
    ]);
  });

  it('rejects a latency key result on a service whose lines log no duration, with its position', () => {
    const okrs = (services: string) =>
      [
        'version: okr/v1',
        'organization: x',
        'sources:',
        '  apilogs:',
        '    services:',
        services,
        'objectives:',
        '  - id: api',
        '    title: Fast API',
        '    key_results:',
        '      - { id: p95, title: p95 down, measure: { latency_p95: { service: web } }, target: "< 0.5" }',
        '      - { id: up, title: available, measure: { availability: { service: web } }, target: "> 99%" }',
        '',
      ].join('\n');
    const issues = (services: string) => {
      try {
        parseConfig(okrs(services), 'okrs.yaml', { env: {} });
        return [];
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        return e.message.split('\n');
      }
    };
    expect(issues('      - { name: web, files: [a.log], format: combined }')).toEqual([
      'okrs.yaml:11:72: objectives[0].key_results[0].measure.latency_p95.service: service "web" logs no request duration, so this latency key result would have no data: format combined has neither $request_time nor $upstream_response_time (use format combined_rt, or add $request_time to log_format)',
    ]);
    expect(issues('      - { name: web, files: [a.log], log_format: \'$remote_addr "$request" $status\' }')).toHaveLength(1);
    expect(issues("      - { name: web, files: [a.log], format: regex, regex: '(?<status>\\d+) (?<path>\\S+)' }")[0]).toContain(
      'its regex has no (?<duration>...) group',
    );
    // With a duration, or JSON (only known when read): fine.
    for (const ok of [
      '      - { name: web, files: [a.log] }',
      '      - { name: web, files: [a.log], format: combined_rt }',
      '      - { name: web, files: [a.log], log_format: \'"$request" $status $upstream_response_time\' }',
      '      - { name: web, files: [a.log], format: json }',
    ])
      expect(issues(ok), ok).toEqual([]);
  });
});
