/**
 * The Docker path cannot run here (no Docker engine), so its pieces are checked one by one: the
 * entrypoint picks demo or serve mode as documented and passes options the CLI has, the
 * Dockerfile copies files that exist from pinned base images, and the compose service wires
 * the entrypoint's paths.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const start = join(root, 'docker/start.sh');

function startCommand(env: Record<string, string>): string {
  const r = spawnSync('sh', [start], { encoding: 'utf8', env: { PATH: process.env.PATH, DRY_RUN: '1', ...env } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

function cliHelp(command: string): string {
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), command, '--help'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('docker', () => {
  it('start.sh runs the demo against the compose Prometheus when no credentials are configured', () => {
    const cmd = startCommand({});
    expect(cmd).toMatch(/^node \/app\/dist\/src\/cli\/main\.js demo /);
    expect(cmd).toContain('--host 0.0.0.0 --port 9797 --prometheus-url http://prometheus:9090 --prometheus-data-dir /prometheus');
    const help = cliHelp('demo');
    for (const flag of cmd.match(/--[a-z-]+/g)!) expect(help, flag).toContain(flag);
  });

  it('start.sh serves the OKR file under /config once a token or OKR_CONFIG is set', () => {
    for (const env of [{ JIRA_API_TOKEN: 'x' }, { SONAR_TOKEN: 'x' }, { BITBUCKET_ACCESS_TOKEN: 'x' }] as Array<Record<string, string>>)
      expect(startCommand(env)).toContain('serve -c /config/okrs.example.yaml --host 0.0.0.0 --port 9797');
    expect(startCommand({ OKR_CONFIG: 'okrs.yaml' })).toContain('serve -c /config/okrs.yaml ');
    for (const flag of ['-c', '--host', '--port']) expect(cliHelp('serve')).toContain(flag);
  });

  it('the Dockerfile builds from pinned images and copies files that exist', () => {
    const lines = readFileSync(join(root, 'Dockerfile'), 'utf8').split('\n');
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBe(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:20\.\d+\.\d+-bookworm-slim/);
    for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
      const parts = l.split(/\s+/).slice(1, -1);
      for (const p of parts) expect(existsSync(join(root, p)), p).toBe(true);
    }
    expect(lines.join('\n')).toContain('ENTRYPOINT ["/bin/sh", "/usr/local/bin/okr-metrics-start"]');
    // promtool (the demo's history blocks) from the same Prometheus release compose runs.
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image?: string }> };
    expect(lines).toContain(`COPY --from=${compose.services.prometheus!.image} /bin/promtool /usr/local/bin/promtool`);
  });

  it('compose builds the image and mounts what the entrypoint reads', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { build?: string; volumes?: string[] }> };
    const svc = compose.services['okr-metrics']!;
    expect(svc.build).toBe('.');
    expect(svc.volumes).toContain('./:/config');
    expect(svc.volumes).toContain('prometheus-data:/prometheus');
    expect(compose.services.prometheus!.volumes).toContain('prometheus-data:/prometheus');
  });
});
