/**
 * Safe by default, protected by choice: serve listens on 127.0.0.1 unless told otherwise, warns
 * loudly when it listens beyond the machine without authentication, and takes TLS and basic auth
 * from a web configuration file in the Prometheus exporter-toolkit format (the format of
 * node_exporter's --web.config.file: tls_server_config, basic_auth_users with bcrypt hashes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';
import { loadWebConfig } from '../../src/config/web-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { startService, type RunningService } from '../../src/serve/service.js';

const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
const services: RunningService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

/** A self-signed certificate for 127.0.0.1 (it is also its own CA, for the client certificate test). */
function certificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function get(
  url: string,
  opts: { ca: string; auth?: string; cert?: string; key?: string },
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: opts.ca, ...(opts.auth ? { auth: opts.auth } : {}), ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function setup(webConfig: string, okr = 'version: okr/v1\nserver: { state_dir: state, web_config_file: web.yml }\n') {
  const dir = mkdtempSync(join(tmpdir(), 'okr-web-'));
  const { cert, key } = certificate(dir);
  writeFileSync(join(dir, 'web.yml'), webConfig);
  writeFileSync(join(dir, 'okrs.yaml'), okr);
  return { dir, cert, key, load: () => parseConfig(okr, join(dir, 'okrs.yaml'), { env: {} }) };
}

const HASH = bcrypt.hashSync('s3cret-scrape', 4).replace('$2b$', '$2y$');

describe('web config (exporter-toolkit format)', () => {
  it('serves over TLS with bcrypt basic auth and the configured headers', async () => {
    const s = setup(
      `tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: ${HASH}\n`,
    );
    const service = await startService(s.load(), { host: '127.0.0.1', port: 0, logger: silentLogger(), clock });
    services.push(service);
    expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = execFileSync('cat', [s.cert], { encoding: 'utf8' });
    expect((await get(`${service.url}/metrics`, { ca })).status).toBe(401);
    expect((await get(`${service.url}/metrics`, { ca, auth: 'prometheus:wrong' })).status).toBe(401);
    expect((await get(`${service.url}/metrics`, { ca, auth: 'nobody:s3cret-scrape' })).status).toBe(401);
    const ok = await get(`${service.url}/metrics`, { ca, auth: 'prometheus:s3cret-scrape' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('okr_metrics_build_info');
    expect(ok.headers['x-frame-options']).toBe('deny');
    // Cached after the first success: the second scrape does not pay bcrypt again.
    expect((await get(`${service.url}/metrics`, { ca, auth: 'prometheus:s3cret-scrape' })).status).toBe(200);
    await expect(fetch(service.url.replace('https:', 'http:') + '/metrics')).rejects.toThrow();
  });

  it('requires a verified client certificate with RequireAndVerifyClientCert', async () => {
    const s = setup(
      'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: cert.pem\n',
    );
    const service = await startService(s.load(), { host: '127.0.0.1', port: 0, logger: silentLogger(), clock });
    services.push(service);
    const pem = (f: string) => execFileSync('cat', [f], { encoding: 'utf8' });
    await expect(get(`${service.url}/metrics`, { ca: pem(s.cert) })).rejects.toThrow();
    expect((await get(`${service.url}/metrics`, { ca: pem(s.cert), cert: pem(s.cert), key: pem(s.key) })).status).toBe(200);
  });

  it('is checked with the OKR file: unsupported settings, bad hashes and unreadable files have their position', () => {
    const s = setup(
      `tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\nbasic_auth_users:\n  alice: plaintext\nrate_limit: { interval: 1s, burst: 5 }\n`,
    );
    let message = '';
    try {
      s.load();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      message = e.message;
    }
    const web = join(s.dir, 'web.yml');
    // Shape first (as for the OKR file); the files are read once the shape is right.
    expect(message.split('\n').sort()).toEqual([
      `${web}:4:3: tls_server_config.cipher_suites: cipher_suites is not supported by okr-metrics; remove it`,
      `${web}:6:10: basic_auth_users.alice: must be a bcrypt hash ($2y$10$...); make one with htpasswd -nBC 10 "" | tr -d ':\\n'`,
      `${web}:7:1: rate_limit: rate_limit is not supported by okr-metrics; remove it (or put a reverse proxy in front)`,
    ]);
    writeFileSync(web, 'tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n');
    expect(() => s.load()).toThrow(`${web}:2:14: tls_server_config.cert_file: cannot read ${join(s.dir, 'missing.pem')}: ENOENT`);
  });

  it('refuses basic_auth_users together with server.auth, and a client CA missing for verification', () => {
    const s = setup(
      `basic_auth_users:\n  prometheus: ${HASH}\n`,
      'version: okr/v1\nserver:\n  web_config_file: web.yml\n  auth: { bearer_token: "${TOKEN}" }\n',
    );
    expect(() =>
      parseConfig('version: okr/v1\nserver:\n  web_config_file: web.yml\n  auth: { bearer_token: "${TOKEN}" }\n', join(s.dir, 'okrs.yaml'), {
        env: { TOKEN: 'x'.repeat(20) },
      }),
    ).toThrow(/okrs\.yaml:4:9: server\.auth: give either server\.auth or basic_auth_users in web\.yml, not both/);
    writeFileSync(join(s.dir, 'web.yml'), 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: VerifyClientCertIfGiven\n');
    expect(() => loadWebConfig('web.yml', s.dir)).toThrow(/web\.yml:4:21: tls_server_config\.client_auth_type: VerifyClientCertIfGiven needs client_ca_file/);
    writeFileSync(join(s.dir, 'web.yml'), 'tls_server_config:\n  cert_file: cert.pem\n  key_file: cert.pem\n');
    expect(() => loadWebConfig('web.yml', s.dir)).toThrow(/web\.yml:2:3: tls_server_config: TLS: /);
  });
});

describe('listen address', () => {
  function capture() {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    return { logger: createLogger({ destination: out, level: 'warn' }), text: () => text };
  }

  it('defaults to 127.0.0.1, and warns loudly when listening beyond the machine without authentication', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-web-'));
    const loaded = parseConfig('version: okr/v1\nserver: { state_dir: state, port: 0 }\n', join(dir, 'okrs.yaml'), { env: {} });
    const quiet = capture();
    const local = await startService(loaded, { logger: quiet.logger, clock });
    services.push(local);
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(quiet.text()).not.toContain('without authentication');
    await services.pop()!.stop();

    const loud = capture();
    services.push(await startService(loaded, { host: '0.0.0.0', logger: loud.logger, clock }));
    expect(loud.text()).toContain('listening beyond this machine (0.0.0.0:');
    expect(loud.text()).toContain('without authentication: anyone who can reach the port reads /metrics and /report');
    await services.pop()!.stop();

    const dir2 = mkdtempSync(join(tmpdir(), 'okr-web-'));
    const protectedCfg = parseConfig('version: okr/v1\nserver: { state_dir: state, port: 0, auth: { bearer_token: "${T}" } }\n', join(dir2, 'okrs.yaml'), {
      env: { T: 'x'.repeat(24) },
    });
    const calm = capture();
    services.push(await startService(protectedCfg, { host: '0.0.0.0', logger: calm.logger, clock }));
    expect(calm.text()).not.toContain('without authentication');
  });
});
