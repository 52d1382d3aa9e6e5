import { describe, expect, it } from 'vitest';
import { ApiService } from './config.js';
import { countText, requestTable, service } from './testing/apilogs-fixtures.js';

describe('json format', () => {
  it('maps configured fields, including dotted paths and the duration unit', () => {
    const c = countText(
      service({ format: 'json', json_fields: { status: 'res.status', method: 'req.method', path: 'req.url', duration: 'took_ms', duration_unit: 'ms' } }),
      [
        '{"req":{"method":"GET","url":"/v1/topups/77?x=1"},"res":{"status":200},"took_ms":12}',
        '{"req":{"method":"POST","url":"/v1/topups"},"res":{"status":"503"},"took_ms":"250.5"}',
        '{"req":{"method":"GET","url":"/v1/topups/78"},"res":{"status":200}}',
      ].join('\n'),
    );
    expect(c.malformed).toBe(0);
    expect(requestTable(c)).toEqual({ '/v1/topups POST 503': 1, '/v1/topups/:id GET 200': 2 });
    const sums = Object.fromEntries(
      c
        .durationSamples()
        .filter((s) => s.suffix === '_sum')
        .map((s) => [s.labels.route, s.value]),
    );
    expect(sums['/v1/topups/:id']).toBeCloseTo(0.012, 12);
    expect(sums['/v1/topups']).toBeCloseTo(0.2505, 12);
    const counts = Object.fromEntries(
      c
        .durationSamples()
        .filter((s) => s.suffix === '_count')
        .map((s) => [s.labels.route, s.value]),
    );
    expect(counts).toEqual({ '/v1/topups': 1, '/v1/topups/:id': 1 });
  });

  it('uses the default field names and counts bad objects as malformed', () => {
    const c = countText(
      service({ format: 'json' }),
      [
        '{"status":201,"method":"PUT","path":"/v1/webhooks/5","duration":0.02}',
        '{"status":201,"path":"/v1/webhooks/5"}', // no method: OTHER
        '{"status":"2xx","method":"GET","path":"/a"}',
        '{"status":200,"method":"GET"}',
        '{"status":200,"method":"GET","path":"/a","duration":"slow"}',
        '[1,2,3]',
        '{"status":200,',
        'not json',
      ].join('\n'),
    );
    expect(c.parsed).toBe(2);
    expect(c.malformed).toBe(6);
    expect(requestTable(c)).toEqual({ '/v1/webhooks/:id OTHER 201': 1, '/v1/webhooks/:id PUT 201': 1 });
  });
});

describe('regex format', () => {
  const regex = String.raw`^(?<method>[A-Z]+) (?<path>\S+) -> (?<status>\d{3}) in (?<duration>[\d.]+)ms$`;

  it('reads named groups', () => {
    const c = countText(
      service({ format: 'regex', regex, duration_unit: 'ms' }),
      ['GET /v1/operators/12 -> 200 in 35ms', 'GET /v1/operators -> 404 in 2.5ms', 'this line does not match', 'GET /x -> 2000 in 1ms'].join('\n'),
    );
    expect(c.parsed).toBe(2);
    expect(c.malformed).toBe(2);
    expect(requestTable(c)).toEqual({ '/v1/operators GET 404': 1, '/v1/operators/:id GET 200': 1 });
    const sum = c.durationSamples().reduce((n, s) => n + (s.suffix === '_sum' ? s.value : 0), 0);
    expect(sum).toBeCloseTo(0.0375, 12);
  });

  it('is rejected by the config schema without the required groups or with invalid syntax', () => {
    const base = { name: 'x', files: ['a.log'], format: 'regex' };
    const problems = (over: object) => {
      const r = ApiService.safeParse({ ...base, ...over });
      return r.success ? [] : r.error.issues.map((i) => i.message);
    };
    expect(problems({ regex: '(?<status>\\d+) (?<path>\\S+)' })).toEqual([]);
    expect(problems({ regex: '(?<status>\\d+)' })).toEqual(['regex needs a named group (?<path>...)']);
    expect(problems({ regex: '(' })[0]).toMatch(/^invalid regular expression/);
    expect(problems({})).toEqual(['format regex needs a regex with named groups']);
    expect(ApiService.safeParse({ name: 'x', files: ['a.log'], log_format: '$request $bytes_sent' }).error?.issues[0]?.message).toBe(
      'log_format needs $status',
    );
  });
});
