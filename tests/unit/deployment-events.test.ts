/**
 * POST /api/v1/deployments on the real `serve` (in-process, port 0): unauthenticated and
 * malformed events are refused with clear answers, a retry (same id or Idempotency-Key) counts
 * once, a reused id for another deployment is a conflict, other environments are ignored, and an
 * acknowledged event survives a restart and reaches /metrics once through the delivery source.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { startService, type RunningService } from '../../src/serve/service.js';
import { DEPLOYMENT_EVENTS_PATH } from '../../src/serve/deployment-events-route.js';

const NOW = Date.parse('2026-10-01T12:00:00Z');
const STARTED = Date.parse('2026-10-01T11:00:00Z');
const TOKEN = 'ci-token-5b1e';

const yaml = (dir: string, auth = true) => `version: okr/v1
server:
  state_dir: ${dir}/state
  # The test's clock jumps the hour since serve started: a lease longer than that, or the
  # state-directory lock would fence the writes as possibly taken over.
  lock_lease: 2h
${auth ? '  auth:\n    bearer_token: ${OKR_TOKEN}' : ''}
engine: { enabled: false }
teams:
  platform: { services: [topups-api] }
sources:
  delivery:
    services:
      - { name: topups-api }
      - { name: admin-portal, team: backoffice }
    environments: [production]
    deployments_from: [events]
`;

const EVENT = {
  id: 'jenkins-topups-api-1042',
  service: 'topups-api',
  environment: 'Production',
  status: 'successful',
  finished_at: '2026-10-01T11:05:00Z',
  commit: '3a8d6c7910f7bf68f7cf9cc1964998006fa8894b',
  changes: [
    { id: 'PR-42', first_commit_at: '2026-09-30T09:00:00Z', pull_request_created_at: '2026-09-30T10:00:00+02:00' },
    { id: 'c0ffee1', first_commit_at: '2026-10-01T08:00:00Z' },
  ],
};

let dir: string;
let service: RunningService | undefined;
const clock = new ManualClock(NOW);

async function start(): Promise<RunningService> {
  const file = join(dir, 'okrs.yaml');
  writeFileSync(file, yaml(dir));
  // serve started an hour ago: the delivery source counts the deployments that finished since.
  clock.set(STARTED);
  service = await startService(loadConfig(file, { env: { OKR_TOKEN: TOKEN } }), { host: '127.0.0.1', port: 0, logger: silentLogger(), clock });
  clock.set(NOW);
  return service;
}

function post(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Response> {
  return fetch(`${service!.url}${DEPLOYMENT_EVENTS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function metric(name: string, match: string): Promise<number | undefined> {
  const text = await (await fetch(`${service!.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(match));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function collectDelivery(): Promise<void> {
  await service!.scheduler.runners.find((r) => r.source === 'delivery')!.runOnce();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'okr-events-'));
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /api/v1/deployments', () => {
  it('refuses an unauthenticated or wrongly authenticated event', async () => {
    await start();
    const none = await post(EVENT, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await post(EVENT, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(EVENT, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status).toBe(401);
  });

  it('refuses malformed events, saying what is wrong', async () => {
    await start();
    const notJson = await post('{"service": "topups-api",');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/^the body is not JSON/);

    const bad = await post({ ...EVENT, status: 'done', finished_at: 'yesterday', changes: [{ id: 'x' }], extra: 1 });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toBe('invalid deployment event');
    expect(body.issues.map((i) => i.path).sort()).toEqual(['(body)', 'changes.0.first_commit_at', 'finished_at', 'status']);
    expect(body.issues.find((i) => i.path === 'finished_at')!.message).toMatch(/ISO 8601 date-time with a time zone/);

    const unknown = await post({ ...EVENT, service: 'billing' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'service "billing" is not in sources.delivery.services',
      issues: [{ path: 'service', message: 'known: topups-api, admin-portal' }],
    });

    const noId = await post({ ...EVENT, id: undefined });
    expect(noId.status).toBe(400);
    expect(((await noId.json()) as { error: string }).error).toMatch(/needs an id \(or an Idempotency-Key header\)/);

    const future = await post({ ...EVENT, id: 'f', finished_at: '2026-10-01T13:00:00Z' });
    expect(future.status).toBe(400);
    const late = await post({ ...EVENT, id: 'l', changes: [{ id: 'x', first_commit_at: '2026-10-01T11:30:00Z' }] });
    expect(((await late.json()) as { error: string }).error).toBe('a change starts after the deployment finished');
    expect((await post('x'.repeat(2_000_000))).status).toBe(413);
  });

  it('counts a retried event once, refuses a reused id, ignores other environments, and keeps events across a restart', async () => {
    await start();
    const first = await post(EVENT);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ status: 'recorded', id: EVENT.id });
    const retry = await post(EVENT);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ status: 'duplicate', id: EVENT.id });
    // The idempotency key may come as a header instead.
    const { id: _id, ...withoutId } = EVENT;
    expect(
      (await post({ ...withoutId, finished_at: '2026-10-01T11:20:00Z' }, { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'gh-run-77' })).status,
    ).toBe(201);
    expect(
      (await post({ ...withoutId, finished_at: '2026-10-01T11:20:00Z' }, { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'gh-run-77' })).status,
    ).toBe(200);
    const reused = await post({ ...EVENT, status: 'failed' });
    expect(reused.status).toBe(409);
    expect(((await reused.json()) as { error: string }).error).toMatch(/recorded before with other content/);
    const staging = await post({ ...EVENT, id: 'stg-1', environment: 'staging' });
    expect(staging.status).toBe(200);
    expect(((await staging.json()) as { status: string }).status).toBe('ignored');

    // Finished before serve started: kept as context (a later rollback to it), not counted (a backfill counts it).
    expect((await post({ ...EVENT, id: 'before-start', finished_at: '2026-10-01T10:30:00Z', changes: [] })).status).toBe(201);

    await collectDelivery();
    expect(await metric('delivery_deployments_total', 'service="topups-api",environment="production",team="platform",status="successful"')).toBe(2);
    expect(await metric('delivery_lead_time_seconds_count', 'service="topups-api",environment="production",team="platform",from="first_commit"')).toBe(2);

    // A restart: the events were on disk before they were acknowledged.
    await service!.stop();
    service = undefined;
    expect(JSON.parse(readFileSync(join(dir, 'state', 'delivery-feed.events.json'), 'utf8')).deployments.items).toHaveLength(3);
    await start();
    expect((await post(EVENT)).status).toBe(200);
    await collectDelivery();
    expect(await metric('delivery_deployments_total', 'service="topups-api",environment="production",team="platform",status="successful"')).toBe(2);
  });

  it('takes the users of the web config file, and is refused by a web config file without users', async () => {
    const withWeb = (web: string) => {
      writeFileSync(join(dir, 'web.yml'), web);
      const file = join(dir, 'okrs.yaml');
      writeFileSync(file, yaml(dir, false).replace('server:\n', 'server:\n  web_config_file: web.yml\n'));
      return file;
    };
    expect(() => loadConfig(withWeb('http_server_config:\n  headers:\n    X-Frame-Options: deny\n'), { env: {} })).toThrow(
      /deployment events are only taken with authentication/,
    );
    const file = withWeb(`basic_auth_users:\n  jenkins: ${bcrypt.hashSync('ci-pass', 4)}\n`);
    service = await startService(loadConfig(file, { env: {} }), { host: '127.0.0.1', port: 0, logger: silentLogger(), clock });
    expect((await post(EVENT, {})).status).toBe(401);
    expect((await post(EVENT, { authorization: `Basic ${Buffer.from('jenkins:wrong').toString('base64')}` })).status).toBe(401);
    expect((await post(EVENT, { authorization: `Basic ${Buffer.from('jenkins:ci-pass').toString('base64')}` })).status).toBe(201);
  });

  it('is refused by the configuration without server.auth', () => {
    expect(() => parseConfig(yaml('/tmp/x', false), '/tmp/x/okrs.yaml', { env: {} })).toThrow(ConfigError);
    expect(() => parseConfig(yaml('/tmp/x', false), '/tmp/x/okrs.yaml', { env: {} })).toThrow(
      /deployment events are only taken with authentication: set server.auth/,
    );
  });
});
