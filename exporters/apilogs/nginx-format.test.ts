import { describe, expect, it } from 'vitest';
import { compileNginxFormat, LogFormatError, parseSeconds, parseStatus, parseUpstreamSeconds } from './nginx-format.js';
import { countText, nginxLine, requestTable, service } from './testing/apilogs-fixtures.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('compileNginxFormat', () => {
  it('splits literals and variables, picking the path and duration variables', () => {
    const f = compileNginxFormat('$remote_addr [$time_local] "$request_method $request_uri" $status ${request_time}s');
    expect(f.variables).toEqual(['remote_addr', 'time_local', 'request_method', 'request_uri', 'status', 'request_time']);
    expect(f.steps.map((s) => s.role)).toEqual(['skip', 'skip', 'method', 'request_uri', 'status', 'request_time']);
    expect(f.steps.map((s) => Buffer.from(s.terminator).toString())).toEqual([' [', '] "', ' ', '" ', ' ', 's']);
  });

  it('refuses formats it cannot read', () => {
    expect(() => compileNginxFormat('$status$request')).toThrow(LogFormatError);
    expect(() => compileNginxFormat('$request $body_bytes_sent')).toThrow('needs $status');
    expect(() => compileNginxFormat('$status $host')).toThrow('$request, $request_uri or $uri');
    expect(() => compileNginxFormat('no variables')).toThrow('no $variables');
    expect(() => compileNginxFormat('$status\n$request')).toThrow('line break');
    expect(() => compileNginxFormat('$remote_addr $request $status')).toThrow('quote it');
    expect(compileNginxFormat('$status $request').variables).toEqual(['status', 'request']);
  });
});

describe('value parsers', () => {
  it('reads statuses, seconds and upstream times exactly', () => {
    expect(parseStatus(b('503'), 0, 3)).toBe(503);
    expect(parseStatus(b('099'), 0, 3)).toBe(-1);
    expect(parseStatus(b('20x'), 0, 3)).toBe(-1);
    expect(parseStatus(b('2000'), 0, 4)).toBe(-1);
    expect(parseSeconds(b('0.123'), 0, 5)).toBe(0.123);
    expect(parseSeconds(b('12'), 0, 2)).toBe(12);
    expect(parseSeconds(b('5.000'), 0, 5)).toBe(5);
    expect(parseSeconds(b('-'), 0, 1)).toBeNaN();
    expect(parseSeconds(b('1e3'), 0, 3)).toBe(-1);
    expect(parseSeconds(b('.5'), 0, 2)).toBe(-1);
    expect(parseSeconds(b('1.'), 0, 2)).toBe(-1);
    expect(parseSeconds(b(''), 0, 0)).toBe(-1);
    // Past 15 digits integer arithmetic would round differently from parseFloat.
    for (const t of ['0.12345678901234567890', '12345678901234567', '1.0000000000000002220446'])
      expect(parseSeconds(b(t), 0, t.length)).toBe(Number.parseFloat(t));
    expect(parseUpstreamSeconds(b('0.120, 0.003'), 0, 12)).toBeCloseTo(0.123, 12);
    expect(parseUpstreamSeconds(b('0.100 : 0.050'), 0, 13)).toBeCloseTo(0.15, 12);
    expect(parseUpstreamSeconds(b('-, 0.002'), 0, 8)).toBe(0.002);
    expect(parseUpstreamSeconds(b('-'), 0, 1)).toBeNaN();
    expect(parseUpstreamSeconds(b('abc'), 0, 3)).toBe(-1);
    for (const t of ['0.1,0.2', '0.1 :0.2', '0.1, ', '', '0.1  0.2']) expect(parseUpstreamSeconds(b(t), 0, t.length), t).toBe(-1);
  });
});

describe('nginx format', () => {
  it('counts the default format (combined plus $request_time) by route, method and code', () => {
    const c = countText(
      service(),
      [
        nginxLine('GET', '/v1/topups/123?expand=operator', 200, '0.042'),
        nginxLine('GET', '/v1/topups/456', 200, '0.006'),
        nginxLine('POST', '/v1/topups', 201, '0.300'),
        nginxLine('POST', '/v1/topups', 503, '5.000'),
        nginxLine('BREW', '/coffee', 418, '0.001'),
        '',
      ].join('\n'),
    );
    expect(c.parsed).toBe(5);
    expect(c.malformed).toBe(0);
    expect(requestTable(c)).toEqual({
      '/coffee OTHER 418': 1,
      '/v1/topups POST 201': 1,
      '/v1/topups POST 503': 1,
      '/v1/topups/:id GET 200': 2,
    });
    const hist = c.durationSamples().filter((s) => s.labels.route === '/v1/topups/:id');
    const byLe = Object.fromEntries(hist.filter((s) => s.suffix === '_bucket').map((s) => [s.labels.le, s.value]));
    expect(byLe).toEqual({ '0.005': 0, '0.01': 1, '0.025': 1, '0.05': 2, '0.1': 2, '0.25': 2, '0.5': 2, '1': 2, '2.5': 2, '5': 2, '10': 2, '+Inf': 2 });
    expect(hist.find((s) => s.suffix === '_sum')!.value).toBeCloseTo(0.048, 12);
    expect(hist.find((s) => s.suffix === '_count')!.value).toBe(2);
  });

  it('puts an observation equal to a bucket bound in that bucket (le is inclusive)', () => {
    const c = countText(service({ buckets: [0.1, 1] }), nginxLine('GET', '/a', 200, '0.100'));
    const buckets = c
      .durationSamples()
      .filter((s) => s.suffix === '_bucket')
      .map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([
      ['0.1', 1],
      ['1', 1],
      ['+Inf', 1],
    ]);
  });

  it('reads a custom format: $request_method, $request_uri, $upstream_response_time, $time_iso8601, $msec, $host', () => {
    const fmt = '$msec $host [$time_iso8601] $request_method $request_uri $status $body_bytes_sent $upstream_response_time';
    const c = countText(
      service({ log_format: fmt }),
      [
        '1764583200.123 api.example.com [2026-11-01T10:00:00+00:00] GET /v1/operators/42/fx-rate?amount=5 200 88 0.020, 0.010',
        '1764583200.456 api.example.com [2026-11-01T10:00:00+00:00] DELETE /v1/webhooks/7 204 0 -',
        '1764583200.789 api.example.com [2026-11-01T10:00:01+00:00] GET /v1/operators/42/fx-rate 502 0 0.100 : 0.050',
      ].join('\n'),
    );
    expect(c.malformed).toBe(0);
    expect(requestTable(c)).toEqual({ '/v1/operators/:id/fx-rate GET 200': 1, '/v1/operators/:id/fx-rate GET 502': 1, '/v1/webhooks/:id DELETE 204': 1 });
    const counts = c
      .durationSamples()
      .filter((s) => s.suffix === '_count')
      .map((s) => [s.labels.route, s.labels.method, s.value]);
    // The DELETE logged no upstream time ("-"): counted as a request, not observed.
    expect(counts).toEqual([['/v1/operators/:id/fx-rate', 'GET', 2]]);
    const sum = c.durationSamples().find((s) => s.suffix === '_sum')!.value;
    expect(sum).toBeCloseTo(0.18, 12);
  });

  it('reads timestamps of an unexpected width too (the fixed-width shortcut falls back to scanning)', () => {
    const fmt = '$msec [$time_local] "$request" $status';
    const c = countText(
      service({ log_format: fmt }),
      [
        '1764583200.123 [01/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200',
        '1764583200.1 [1/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 201',
        '17645832001234 [01/Nov/2026:10:00:00 +00000] "GET /a HTTP/1.1" 202',
        '1764583200.123 [01/Nov/2026:10:00:00 +0000]"GET /a HTTP/1.1" 203',
      ].join('\n'),
    );
    expect(requestTable(c)).toEqual({ '/a GET 200': 1, '/a GET 201': 1, '/a GET 202': 1 });
    expect(c.malformed).toBe(1);
  });

  it('reads Apache combined logs with %D (microseconds) through duration_unit', () => {
    // LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D"
    const c = countText(
      service({ duration_unit: 'us' }),
      '192.0.2.7 - frank [10/Oct/2026:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08" 250000',
    );
    expect(requestTable(c)).toEqual({ '/apache_pb.gif GET 200': 1 });
    expect(c.durationSamples().find((s) => s.suffix === '_sum')!.value).toBe(0.25);
  });

  it('prefers $request_time over $upstream_response_time and $uri over $request', () => {
    const c = countText(
      service({ log_format: '"$request" $uri $status $upstream_response_time $request_time' }),
      '"GET /x/1?q HTTP/1.1" /internal/9 200 0.500 0.700\n',
    );
    expect(requestTable(c)).toEqual({ '/internal/:id GET 200': 1 });
    expect(c.durationSamples().find((s) => s.suffix === '_sum')!.value).toBe(0.7);
  });

  it('keeps lines whose request is not a request ("-", TLS probes) under route "other" with method OTHER', () => {
    const c = countText(
      service(),
      [
        '10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "-" 400 0 "-" "-" 0.000',
        '10.0.0.1 - - [01/Nov/2026:10:00:00 +0000] "\\x16\\x03\\x01" 400 157 "-" "-" 0.001',
      ].join('\n'),
    );
    expect(c.parsed).toBe(2);
    expect(requestTable(c)).toEqual({ 'other OTHER 400': 2 });
    expect(c.overflow).toBe(0);
  });

  it('reads escaped quotes in every quoted field: \\" (Apache, escape=json) and \\x22 (nginx default)', () => {
    const head = '203.0.113.9 - - [01/Nov/2026:10:00:00 +0000]';
    const lines = [
      // A user agent with quotes, one of them followed by a space (the old parser ended the field there).
      String.raw`${head} "GET /v1/topups/1 HTTP/1.1" 200 5 "-" "Mozilla/5.0 \"compatible\" bot" 0.010`,
      String.raw`${head} "GET /v1/topups/2 HTTP/1.1" 200 5 "-" "Mozilla/5.0 \x22compatible\x22 bot" 0.020`,
      // A referer ending in a quote and a backslash: \\ is an escaped backslash, the quote after it ends the field.
      String.raw`${head} "GET /v1/topups/3 HTTP/1.1" 200 5 "https://x.example/?q=\" \"\\" "curl/8.5.0" 0.030`,
      // A quote in the request target: the route keeps it.
      String.raw`${head} "GET /v1/search/a\"b HTTP/1.1" 404 5 "-" "curl/8.5.0" 0.040`,
      String.raw`${head} "GET /v1/search/a\x22b HTTP/1.1" 404 5 "-" "curl/8.5.0" 0.050`,
      // An escaped quote before the method's end: method OTHER, the target still read.
      String.raw`${head} "GE\"T /v1/topups/4 HTTP/1.1" 400 5 "-" "-" 0.060`,
    ];
    const c = countText(service(), lines.join('\n'));
    expect([c.parsed, c.malformed]).toEqual([6, 0]);
    expect(requestTable(c)).toEqual({
      '/v1/topups/:id GET 200': 3,
      '/v1/search/a\\"b GET 404': 1,
      '/v1/search/a\\x22b GET 404': 1,
      '/v1/topups/:id OTHER 400': 1,
    });
    // An unescaped quote followed by the terminator still ends the field: a \\ before it is an escaped backslash.
    expect(countText(service(), String.raw`${head} "GET / HTTP/1.1" 200 5 "-" "a \\" b" 0.1`).malformed).toBe(1);
  });

  it('reads $upstream_* lists whose ", " and " : " separators contain the space that ends the field', () => {
    const fmt = '$status $upstream_addr $upstream_response_time $body_bytes_sent "$request"';
    const c = countText(
      service({ log_format: fmt }),
      [
        '502 10.0.0.1:80, 10.0.0.2:80 : unix:/run/app.sock 0.001, 0.002 : 0.003 0 "GET /a HTTP/1.1"',
        '200 10.0.0.1:80 - 17 "GET /a HTTP/2.0"',
        '200 10.0.0.1:80 0.1,0.2 17 "GET /a HTTP/1.1"',
      ].join('\n'),
    );
    expect([c.parsed, c.malformed]).toEqual([2, 1]);
    expect(requestTable(c)).toEqual({ '/a GET 200': 1, '/a GET 502': 1 });
    const sum = c.durationSamples().find((s) => s.suffix === '_sum')!.value;
    expect(sum).toBe(0.001 + 0.002 + 0.003);
  });

  it('counts lines that do not fit the format as malformed, one each', () => {
    const good = nginxLine('GET', '/a', 200, '0.010');
    const c = countText(
      service(),
      [
        good,
        'complete garbage',
        good.slice(0, 60), // truncated inside the request
        good.slice(0, good.length - 6), // truncated before $request_time
        good.replace(' 200 ', ' 2OO '), // status not a number
        good.replace('0.010', '0.0x0'), // request_time not a number
        `${good} trailing`,
        good,
      ].join('\n'),
    );
    expect(c.parsed).toBe(2);
    expect(c.malformed).toBe(6);
  });
});
