/** The apilogs settings as read from an OKR file: defaults, and problems reported with their position. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { DEFAULT_LATENCY_BUCKETS } from './metrics.js';
import { DEFAULT_NGINX_LOG_FORMAT } from './config.js';

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
        { name: 'topups-api', files: ['a.log'], format: 'nginx', log_format: DEFAULT_NGINX_LOG_FORMAT, duration_unit: 's', routes: [], max_routes: 200, buckets: DEFAULT_LATENCY_BUCKETS, start_at: 'end' },
      ],
    });
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
});
