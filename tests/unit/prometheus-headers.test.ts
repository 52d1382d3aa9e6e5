/**
 * `prometheus.headers`: a Mimir or Cortex tenant (X-Scope-OrgID) and a gateway key reach the
 * query API on every query the engine and `report` make; a credential header is a secret like
 * `bearer_token` (an ${ENV_VAR} reference, scrubbed from errors, reports and logs even when a
 * hostile store echoes it back); mistakes are config errors that name file, line and field.
 *
 * The fake answers in the shapes of the Prometheus HTTP API documentation's examples
 * (prometheus.io/docs/prometheus/latest/querying/api/, "Instant queries" and "Format overview").
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJson, startFakeServer, type FakeServer } from '../../src/core/simulated-http.js';
import { runReport } from '../../src/report/report-command.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { secretVars } from '../../src/generate/kubernetes.js';
import { createLogger } from '../../src/core/logger.js';
import { KrEngine } from '../../src/engine/engine.js';
import { EngineLoop } from '../../src/engine/kr-metrics.js';
import { Ledger } from '../../src/engine/ledger.js';
import { PrometheusClient } from '../../src/engine/prometheus-client.js';

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
const KEY = 'gw-K3Y-5be81f0c9a';
const env = { OKR_TEST_GATEWAY_KEY: KEY };

/** One KR measured by a query, so the engine and the report ask the store. */
function okrFile(url: string, headers: string): string {
  return `version: okr/v1
prometheus:
  url: ${url}
  headers:
${headers}
objectives:
  - id: reliability
    title: Reliable
    key_results:
      - id: targets-up
        title: Every target up
        measure: { promql: "sum(up)", unit: count }
        target: ">= 1"
`;
}

const HEADERS = `    X-Scope-OrgID: "\${OKR_TEST_TENANT:-team-a}"
    X-Api-Key: \${OKR_TEST_GATEWAY_KEY}`;

/** The documentation's instant-query answer, reduced to one series. */
const UP_VECTOR = {
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: { __name__: 'up', job: 'prometheus', instance: 'localhost:9090' }, value: [1435781451.781, '1'] }] },
};

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function load(text: string): LoadedConfig {
  return parseConfig(text, 'okrs.yaml', { env });
}

function configErrors(text: string, e: Record<string, string> = env): string[] {
  try {
    parseConfig(text, 'okrs.yaml', { env: e });
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('prometheus.headers', () => {
  it('reach the store with every query of the engine and the report', async () => {
    fake = await startFakeServer((_req, res) => sendJson(res, 200, UP_VECTOR));
    const loaded = load(okrFile(fake.url, HEADERS));
    // The file keeps the credential as a reference; the tenant is interpolated like any string.
    expect(loaded.config.prometheus.headers).toEqual({ 'X-Scope-OrgID': 'team-a', 'X-Api-Key': '${OKR_TEST_GATEWAY_KEY}' });

    const ledger = new Ledger(':memory:');
    try {
      const ev = await new KrEngine({ loaded, prom: PrometheusClient.fromConfig(loaded), ledger, clock }).evaluateCurrent();
      expect(ev.objectives[0]!.keyResults[0]).toMatchObject({ value: 1, status: 'on_track' });
      const report = await runReport(loaded, { period: '2026-Q4', format: 'json', ledger, clock });
      expect(JSON.parse(report.text).objectives[0].key_results[0].value).toBe(1);
    } finally {
      ledger.close();
    }

    expect(fake.requests.length).toBeGreaterThan(3);
    for (const r of fake.requests) {
      expect(r).toMatchObject({ method: 'POST', path: '/api/v1/query' });
      // Thanos Query and vmselect must fail rather than answer from part of the data.
      expect(Object.fromEntries(new URLSearchParams(r.body))).toMatchObject({ partial_response: 'false', deny_partial_response: '1' });
      expect(r.headers['x-scope-orgid']).toBe('team-a');
      expect(r.headers['x-api-key']).toBe(KEY);
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
    }
  });

  it('go out beside bearer_token, which stays the Authorization header', async () => {
    fake = await startFakeServer((_req, res) => sendJson(res, 200, UP_VECTOR));
    const loaded = parseConfig(
      okrFile(fake.url, '    X-Scope-OrgID: team-b').replace('  headers:', '  bearer_token: ${OKR_TEST_BEARER}\n  headers:'),
      'okrs.yaml',
      {
        env: { OKR_TEST_BEARER: 'bearer-T0KEN-77aa' },
      },
    );
    await PrometheusClient.fromConfig(loaded).query('up', clock.now());
    expect(fake.requests[0]!.headers).toMatchObject({ 'x-scope-orgid': 'team-b', authorization: 'Bearer bearer-T0KEN-77aa' });
  });

  it('never show a credential header in errors, reports or logs, even when the store echoes it', async () => {
    // A hostile store (or a proxy in front of it) that repeats every header it got.
    let plainText = false;
    fake = await startFakeServer((req, res) => {
      const echo = `tenant ${String(req.headers['x-scope-orgid'])} with key ${String(req.headers['x-api-key'])} is not allowed`;
      if (plainText) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`${echo}\n`);
      } else sendJson(res, 422, { status: 'error', errorType: 'bad_data', error: echo });
    });
    const loaded = load(okrFile(fake.url, HEADERS));
    const client = PrometheusClient.fromConfig(loaded);

    const apiError = ((await client.query('up', clock.now()).catch((e: unknown) => e)) as Error).message;
    expect(apiError).toBe('Prometheus rejected the query (422): tenant team-a with key [REDACTED] is not allowed; query: up');
    plainText = true;
    const proxyError = ((await client.query('up', clock.now()).catch((e: unknown) => e)) as Error).message;
    expect(proxyError).toBe('Prometheus rejected the query (502): tenant team-a with key [REDACTED] is not allowed; query: up');
    plainText = false;

    const ledger = new Ledger(':memory:');
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    try {
      const loop = new EngineLoop(new KrEngine({ loaded, prom: client, ledger, clock }), 300, createLogger({ destination: logs, level: 'debug' }));
      await loop.runOnce();
      const kr = loop.lastEvaluation()!.objectives[0]!.keyResults[0]!;
      expect(kr.status).toBe('no_data');
      expect(kr.problem).toContain('[REDACTED]');
      const report = (await runReport(loaded, { period: '2026-Q4', format: 'md', ledger, clock })).text;
      expect(report).toContain('[REDACTED]');
      expect(logText).toContain('key results cannot be measured');
      for (const [where, text] of [
        ['api error', apiError],
        ['proxy error', proxyError],
        ['problem', kr.problem!],
        ['report', report],
        ['logs', logText],
        ['config', JSON.stringify(loaded.config)],
      ] as const) {
        expect(text, where).not.toContain(KEY);
      }
    } finally {
      ledger.close();
    }
  });

  it('are config errors when a credential is literal, a header is doubled or clashes with bearer_token', () => {
    const lines = configErrors(
      okrFile(
        'http://127.0.0.1:9',
        `    Authorization: Bearer literal-secret-value
    x-scope-orgid: a
    X-Scope-OrgID: b
    Content-Type: text/plain
    "Bad Name": x
    X-Auth-Token: \${OKR_TEST_UNSET}`,
      ),
      {},
    );
    expect(lines).toEqual([
      'okrs.yaml:5:20: prometheus.headers.Authorization: header "Authorization" carries a credential: its value must be an ${ENV_VAR} reference, never a literal value',
      'okrs.yaml:7:20: prometheus.headers.X-Scope-OrgID: header "X-Scope-OrgID" is also given as "x-scope-orgid" (header names ignore case)',
      'okrs.yaml:8:19: prometheus.headers.Content-Type: header "Content-Type" is set by okr-metrics itself',
      'okrs.yaml:9:17: prometheus.headers.Bad Name: "Bad Name" is not an HTTP header name (letters, digits and -)',
      'okrs.yaml:10:19: prometheus.headers.X-Auth-Token: environment variable OKR_TEST_UNSET is not set',
    ]);
    expect(lines.join('\n')).not.toContain('literal-secret-value');

    const both = configErrors(
      okrFile('http://127.0.0.1:9', '    Authorization: ${OKR_TEST_GATEWAY_KEY}').replace('  headers:', '  bearer_token: ${OKR_TEST_GATEWAY_KEY}\n  headers:'),
    );
    expect(both).toEqual(['okrs.yaml:6:20: prometheus.headers.Authorization: give either bearer_token / basic_auth or an Authorization header, not both']);
  });

  it('refuse at start a credential whose value no HTTP header can carry, without quoting it', () => {
    const loaded = parseConfig(okrFile('http://127.0.0.1:9', HEADERS), 'okrs.yaml', { env: { OKR_TEST_GATEWAY_KEY: 'first-line\nsecond-K3Y-line' } });
    const e = (() => {
      try {
        PrometheusClient.fromConfig(loaded);
      } catch (x) {
        return x as Error;
      }
      return undefined;
    })();
    expect(e?.message).toBe(
      'prometheus.headers: the value of X-Api-Key holds characters an HTTP header cannot carry (a line break, a control or non-Latin-1 character)',
    );
  });

  it('credential headers become Kubernetes Secret references like every other secret', () => {
    const loaded = load(okrFile('http://127.0.0.1:9', HEADERS));
    expect(secretVars(loaded.config)).toEqual([{ name: 'OKR_TEST_GATEWAY_KEY', optional: false }]);
  });
});

describe('the query API client', () => {
  it('fails loudly on a body that is not the query API (invalid_output)', async () => {
    fake = await startFakeServer((_req, res) =>
      sendJson(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: 'one' }] } }),
    );
    const e = (await new PrometheusClient(fake.url).query('up', clock.now()).catch((x: unknown) => x)) as Error;
    expect(e.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ answered with a body that is not the query API's \(invalid_output\): .+; query: up$/);
  });

  it('refuses an answer from part of the data (a VictoriaMetrics cluster with a vmstorage down)', async () => {
    // vmselect's answer when -search.denyPartialResponse is off and a storage node is unreachable.
    fake = await startFakeServer((_req, res) =>
      sendJson(res, 200, { status: 'success', isPartial: true, data: { resultType: 'vector', result: [{ metric: {}, value: [1435781451.781, '1'] }] } }),
    );
    const e = (await new PrometheusClient(fake.url).query('sum(up)', clock.now()).catch((x: unknown) => x)) as Error;
    expect(e.message).toBe(`Prometheus at ${fake.url} answered from part of its data (isPartial); query: sum(up)`);
  });

  it('reads a scalar and refuses a range vector', async () => {
    // The documentation's "Format overview": scalars are [<unix_time>, "<value>"].
    fake = await startFakeServer((req, res) =>
      req.body.includes('scalar')
        ? sendJson(res, 200, { status: 'success', data: { resultType: 'scalar', result: [1435781451.781, '0.5'] } })
        : sendJson(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } }),
    );
    const client = new PrometheusClient(fake.url);
    expect(await client.query('scalar(up)', clock.now())).toEqual([{ labels: {}, value: 0.5 }]);
    await expect(client.query('up[5m]', clock.now())).rejects.toThrow('query returned a matrix, expected an instant vector or scalar: up[5m]');
  });
});
