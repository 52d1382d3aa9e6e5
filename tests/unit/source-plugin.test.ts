/**
 * A new source is its folder plus one line in exporters/index.ts. Here the folder is
 * tests/fixtures/ping-source/ and the line is the list handed to the loader: the plugin shows up
 * in the OKR file's JSON Schema, `check` accepts and validates its settings (with file:line:col),
 * `serve` runs its collector on its schedule with the runner's health series, and `generate`
 * writes its health alerts. Nothing else in the application changed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES } from '../../exporters/index.js';
import { runCheck } from '../../src/config/check-command.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load-config.js';
import { okrJsonSchema } from '../../src/config/schema-command.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { generate } from '../../src/generate/generate.js';
import { startService, type RunningService } from '../../src/serve/service.js';
import { pingPlugin } from '../fixtures/ping-source/plugin.js';

const sources = [...SOURCES, pingPlugin] as const;

let dir: string;
let target: Server;
let targetUrl: string;
let service: RunningService | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'okr-plugin-'));
  target = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}/health`;
});

afterAll(async () => {
  await service?.stop();
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function okrFile(pingSection: string): string {
  const file = join(dir, 'okrs.yaml');
  writeFileSync(file, `version: okr/v1\nserver: { state_dir: state }\nengine: { enabled: false }\nsources:\n  ping:\n${pingSection}`);
  return file;
}

describe('a source plugin from a folder of its own', () => {
  it('appears in the JSON Schema with its settings', () => {
    const schema = okrJsonSchema(sources) as { properties: { sources: { properties: Record<string, { properties?: Record<string, unknown> }> } } };
    expect(Object.keys(schema.properties.sources.properties)).toEqual(['jira', 'sonarqube', 'bitbucket', 'apilogs', 'delivery', 'ping']);
    expect(Object.keys(schema.properties.sources.properties.ping!.properties!)).toEqual(['enabled', 'refresh_interval', 'timeout', 'targets']);
    // The built-in list does not know it.
    expect(Object.keys((okrJsonSchema() as typeof schema).properties.sources.properties)).not.toContain('ping');
  });

  it('is accepted by check, which validates its settings with file:line:col', () => {
    const good = okrFile(`    targets: ["${targetUrl}"]\n`);
    expect(runCheck(good, { sources }).sources).toEqual(['ping']);
    expect(() => runCheck(good)).toThrow(/unknown key "ping"/);

    const bad = okrFile(`    targets: ["${targetUrl}"]\n    retries: 3\n`);
    const e = (() => {
      try {
        runCheck(bad, { sources });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toContain('okrs.yaml:7:5: sources.ping.retries: unknown key "retries"');
  });

  it('is collected by serve, with the runner health series under its name', async () => {
    const loaded = loadConfig(okrFile(`    refresh_interval: 1h\n    targets: ["${targetUrl}"]\n`), { env: {}, sources });
    service = await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')) });
    let body = '';
    for (let i = 0; i < 100 && !body.includes('ping_target_up'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      body = await (await fetch(`${service.url}/metrics`)).text();
    }
    expect(body).toContain(`ping_target_up{target="${targetUrl}"} 1`);
    expect(body).toContain('okr_source_up{source="ping"} 1');
    expect(body).toContain('okr_source_refresh_interval_seconds{source="ping"} 3600');
  });

  it('gets the source health alerts from generate', () => {
    const loaded = loadConfig(okrFile(`    targets: ["${targetUrl}"]\n`), { env: {}, sources });
    const alerts = generate(loaded).alerts.groups.flatMap((g) => g.rules);
    const forPing = alerts.filter((r) => r.expr.includes('source="ping"')).map((r) => r.alert);
    expect(forPing).toContain('OkrSourceAbsent');
  });
});
