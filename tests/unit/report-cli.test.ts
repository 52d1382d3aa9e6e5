/** `okr-metrics report` without a reachable Prometheus: every KR still listed, exit code 1. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { freePort } from '../support/binaries.js';

const root = resolve(import.meta.dirname, '../..');

describe('okr-metrics report', () => {
  it('lists every KR and exits 1 naming Prometheus when it cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    // A copy, so the ledger (server.state_dir) lands in a temporary directory.
    const dir = mkdtempSync(join(tmpdir(), 'okr-report-cli-'));
    copyFileSync(join(root, 'okrs.example.yaml'), join(dir, 'okrs.yaml'));
    const r = spawnSync(
      process.execPath,
      [join(root, 'dist/src/cli/main.js'), 'report', '-c', join(dir, 'okrs.yaml'), '--prometheus', `http://127.0.0.1:${port}`],
      {
        encoding: 'utf8',
        env: { ...process.env, OKR_METRICS_LOG_LEVEL: 'silent' },
        timeout: 30_000,
      },
    );
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`okr-metrics report: Prometheus at http://127.0.0.1:${port} is unreachable (ECONNREFUSED)`);
    const titles = loadConfig(join(root, 'okrs.example.yaml'), { env: {} }).config.objectives.flatMap((o) => o.key_results.map((k) => k.title));
    for (const t of titles) expect(r.stdout).toContain(`| ${t} |`);
    // Manual key results keep their values.
    expect(r.stdout).toMatch(/\| Remove dependency on a single engineer by 100% \| [^|]+ \| 70% \|/);
  });
});
