/**
 * A collection that outlives its timeout says what it was waiting for: the request in flight
 * and the last error seen (a 503 being retried, a refused connection, a 429 with its
 * Retry-After), not just "timeout". The reason label stays `timeout`.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fixedClock } from '../../src/core/clock.js';
import { HttpClient } from '../../src/core/http-client.js';
import { silentLogger } from '../../src/core/logger.js';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../../src/core/simulated-http.js';
import type { Collector } from '../../src/core/source.js';
import { SourceRunner } from '../../src/serve/source-runner.js';

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
const servers: FakeServer[] = [];
const runners: SourceRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  for (const s of servers.splice(0)) await s.close();
});

/** A retry wait that lasts until the collection is aborted: the timeout always lands in it. */
const waitForever = (_ms: number, signal: AbortSignal) =>
  new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));

async function serve(handler: (req: RecordedRequest, res: ServerResponse) => void): Promise<string> {
  const server = await startFakeServer(handler);
  servers.push(server);
  return server.url;
}

/** A collector that GETs `paths` in order through the shared HttpClient, then returns nothing. */
function collectorFor(baseUrl: string, paths: string[], maxRetries = 4): Collector {
  const http = new HttpClient({ source: 'jira', baseUrl, clock, maxRetries, sleep: waitForever, random: () => 0.5 });
  return {
    source: 'jira',
    collect: async (ctx) => {
      for (const p of paths) await http.getJson(ctx, p, z.unknown());
      return [];
    },
  };
}

/** Long enough for the first answers on a loaded 2-core machine: the timeout must land in the retry wait. */
async function timeoutMessage(collector: Collector, timeoutSeconds = 1): Promise<string> {
  const runner = new SourceRunner(collector, { intervalSeconds: 900, timeoutSeconds, logger: silentLogger(), clock });
  runners.push(runner);
  await runner.runOnce();
  const { up, lastError } = runner.getHealth();
  expect(up).toBe(false);
  expect(lastError?.reason).toBe('timeout');
  return lastError!.message;
}

describe('a collection that times out', () => {
  it('names the request being retried after a 503', async () => {
    const url = await serve((req, res) => sendJson(res, req.path.endsWith('/myself') ? 200 : 503, { errorMessages: ['down'] }));
    const message = await timeoutMessage(collectorFor(url, ['/rest/api/3/myself', '/rest/api/3/search/jql']));
    expect(message).toBe('timed out after 1s while GET /rest/api/3/search/jql was retrying after 503 Service Unavailable');
  });

  it('names a refused connection', async () => {
    const url = await serve(() => undefined);
    await servers.pop()!.close(); // the port is free again: connections are refused
    const message = await timeoutMessage(collectorFor(url, ['/api/measures/component']));
    expect(message).toBe('timed out after 1s while GET /api/measures/component was retrying after ECONNREFUSED');
  });

  it('names a 429 still waiting out its Retry-After', async () => {
    const url = await serve((_req, res) => sendJson(res, 429, { errors: [{ msg: 'Too many requests' }] }, { 'retry-after': '60' }));
    const message = await timeoutMessage(collectorFor(url, ['/2.0/repositories/acme']));
    expect(message).toBe('timed out after 1s while GET /2.0/repositories/acme was retrying after 429 Too Many Requests (Retry-After 60s)');
  });

  it('names a request still waiting for its answer, and the last error of an earlier one', async () => {
    const url = await serve((req, res) => {
      if (req.path === '/first') return sendJson(res, 500, { message: 'boom' });
      // /second never answers.
    });
    const collector: Collector = {
      source: 'jira',
      collect: async (ctx) => {
        const http = new HttpClient({ source: 'jira', baseUrl: url, clock, maxRetries: 0 });
        await http.getJson(ctx, '/first', z.unknown()).catch(() => undefined); // a per-item failure the collector skips
        await http.getJson(ctx, '/second', z.unknown());
        return [];
      },
    };
    const message = await timeoutMessage(collector);
    expect(message).toBe('timed out after 1s while GET /second was waiting for an answer; last error: GET /first: 500 Internal Server Error');
  });

  it('stays short for a collector that makes no request', async () => {
    const collector: Collector = {
      source: 'apilogs',
      collect: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    expect(await timeoutMessage(collector, 0.3)).toBe('timed out after 0.3s');
  });
});
