/**
 * A token given through ${VAR} must never appear in log output, /metrics or an error
 * message — even when a hostile server echoes it back in its error body.
 */
import { z } from 'zod';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Collector } from '../../src/core/source.js';
import { HttpClient } from '../../src/core/http-client.js';
import { sendJson, startFakeServer, type FakeServer } from '../../src/core/simulated-http.js';
import { parseConfig } from '../../src/config/load-config.js';
import { resolveSecret } from '../../src/core/secrets.js';
import { serverAuth } from '../../src/serve/service.js';
import { createLogger } from '../../src/core/logger.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer, type RunningServer } from '../../src/serve/http-server.js';
import { fixedClock } from '../../src/core/clock.js';

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));

const TOKEN = 'jira-T0KEN-4f9c2a7e1b';
const SERVER_TOKEN = 'scrape-T0KEN-88d1e0c3';

let fake: FakeServer | undefined;
let server: RunningServer | undefined;
let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await server?.stop();
  await fake?.close();
});

describe('secrets', () => {
  it('never reach logs, /metrics or error messages', async () => {
    // A hostile Jira: refuses the credentials and echoes the Authorization header back.
    fake = await startFakeServer((req, res) =>
      sendJson(res, 401, {
        errorMessages: [
          `bad credentials: ${req.headers.authorization}`,
          `token was ${Buffer.from(String(req.headers.authorization).slice(6), 'base64').toString()}`,
        ],
        errors: {},
      }),
    );
    const env = { OKR_TEST_JIRA_TOKEN: TOKEN, OKR_TEST_SCRAPE_TOKEN: SERVER_TOKEN };
    const loaded = parseConfig(
      `version: okr/v1
server:
  auth:
    bearer_token: \${OKR_TEST_SCRAPE_TOKEN}
sources:
  jira:
    url: ${fake.url}
    email: bot@example.com
    api_token: \${OKR_TEST_JIRA_TOKEN}
`,
      'okrs.yaml',
      { env },
    );
    const jira = loaded.config.sources.jira!;
    expect(JSON.stringify(loaded.config)).not.toContain(TOKEN); // the config only holds the reference

    const token = resolveSecret(jira, 'api_token', { env, baseDir: '.' })!;
    expect(String(token)).toBe('[REDACTED]');
    expect(JSON.stringify({ token })).toBe('{"token":"[REDACTED]"}');
    expect(inspect(token)).toBe('[REDACTED]');

    const client = new HttpClient({
      source: 'jira',
      baseUrl: jira.url,
      auth: { type: 'basic', username: jira.email!, password: token },
      credentialSetting: 'sources.jira.api_token',
      maxRetries: 0,
      clock,
    });
    const collector: Collector = { source: 'jira', collect: async (ctx) => (await client.getJson(ctx, '/rest/api/3/myself', z.unknown()), []) };

    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (c: Buffer) => (logText += c.toString()));
    const logger = createLogger({ destination: logs, level: 'debug' });
    logger.info({ config: loaded.config, token }, 'starting with config');

    scheduler = new Scheduler([{ collector, intervalSeconds: 3600, timeoutSeconds: 5 }], logger, clock);
    const s = scheduler;
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      auth: serverAuth(loaded),
      snapshot: () => s.snapshot(),
      health: () => s.health(),
      ready: () => s.ready(),
    });
    await scheduler.runners[0]!.runOnce();

    const health = scheduler.health()[0]!;
    expect(health.lastError?.reason).toBe('auth');
    expect(health.lastError?.message).toContain('check sources.jira.api_token');
    expect(health.lastError?.message).toContain('[REDACTED]');

    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${SERVER_TOKEN}` } })).text();
    const ready = await (await fetch(`${server.url}/readyz`, { headers: { authorization: `Bearer ${SERVER_TOKEN}` } })).text();
    expect(metrics).toContain('okr_source_up{source="jira"} 0');
    expect(ready).toContain('sources.jira.api_token');

    const basic = Buffer.from(`bot@example.com:${TOKEN}`).toString('base64');
    for (const [where, text] of [
      ['logs', logText],
      ['metrics', metrics],
      ['readyz', ready],
      ['error', health.lastError!.message],
    ] as const) {
      expect(text, where).not.toContain(TOKEN);
      expect(text, where).not.toContain(basic);
      expect(text, where).not.toContain(SERVER_TOKEN);
    }
    expect(logText).toContain('source collection failed');
  });
});
