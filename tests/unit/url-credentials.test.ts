/**
 * Credentials written into a URL (`http://admin:${PROM_PASS}@prometheus`) would be printed
 * wherever the URL is: logs, errors, /report and the md/json reports. `check` refuses them with
 * their position; URLs given on the command line are refused too; and anything that still
 * reaches a log line, an error or a report has them scrubbed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/core/logger.js';
import { periodContaining } from '../../src/core/periods.js';
import { redact } from '../../src/core/secrets.js';
import { reportContext } from '../../src/report/report-context.js';
import { issuesOf as issues } from '../support/config-issues.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const PASSWORD = 'pr0m-Pa55-91c';

describe('credentials in URLs', () => {
  it('are refused by check, with file:line:col, in every URL setting, also when they come from a variable', () => {
    const text = `version: okr/v1
prometheus:
  url: http://admin:\${PROM_PASS}@prometheus:9090
grafana:
  url: https://viewer:secret@grafana.example.com
sources:
  jira:
    url: https://bot:hunter22@acme.atlassian.net
    email: a@b.c
    api_token: \${JIRA_TOKEN}
`;
    const lines = issues(text, { PROM_PASS: PASSWORD, JIRA_TOKEN: 'x'.repeat(20) });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^okrs\.yaml:3:8: prometheus\.url: a URL must not carry credentials \("user:password@"\).*prometheus: basic_auth or bearer_token/);
    expect(lines[1]).toMatch(/^okrs\.yaml:5:8: grafana\.url: a URL must not carry credentials/);
    expect(lines[2]).toMatch(/^okrs\.yaml:8:10: sources\.jira\.url: a URL must not carry credentials/);
    // The error itself never prints the password it found.
    expect(lines.join('\n')).not.toContain(PASSWORD);
    expect(lines.join('\n')).not.toContain('hunter22');
  });

  it('check exits 2 on them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-url-'));
    writeFileSync(join(dir, 'okrs.yaml'), 'version: okr/v1\nprometheus: { url: "http://u:p4ssw0rd@127.0.0.1:9090" }\n');
    const r = spawnSync(process.execPath, [cli, 'check', '-c', join(dir, 'okrs.yaml')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/okrs\.yaml:2:20: prometheus\.url: a URL must not carry credentials/);
  });

  it('are refused on the command line (report --prometheus), exit 2, without echoing them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-url-'));
    writeFileSync(join(dir, 'okrs.yaml'), 'version: okr/v1\n');
    const r = spawnSync(process.execPath, [cli, 'report', '-c', join(dir, 'okrs.yaml'), '--prometheus', `http://admin:${PASSWORD}@127.0.0.1:9`], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('must not carry credentials');
  });

  it('are scrubbed from log lines, error messages and reports however they got there', () => {
    expect(redact(`Prometheus at http://admin:${PASSWORD}@prom:9090 is unreachable; also https://tok@host/x`)).toBe(
      'Prometheus at http://[REDACTED]@prom:9090 is unreachable; also https://[REDACTED]@host/x',
    );
    const out = new PassThrough();
    let logged = '';
    out.on('data', (d: Buffer) => (logged += d.toString()));
    createLogger({ destination: out }).warn({ url: `http://admin:${PASSWORD}@prom:9090` }, 'key results cannot be measured');
    expect(logged).toContain('http://[REDACTED]@prom:9090');
    expect(logged).not.toContain(PASSWORD);
    const loaded = parseConfig('version: okr/v1\n', 'okrs.yaml', { env: {} });
    const ctx = reportContext(
      loaded,
      periodContaining('quarter', Date.parse('2026-11-25T12:00:00Z'), { timezone: 'UTC', fiscalYearStartMonth: 1 }),
      `http://admin:${PASSWORD}@prom:9090`,
    );
    expect(ctx.prometheusUrl).toBe('http://[REDACTED]@prom:9090');
  });
});
