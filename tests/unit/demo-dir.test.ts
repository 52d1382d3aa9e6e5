/**
 * `demo --dir DIR` deletes and recreates DIR's logs/, state/, secrets/, history/...: it must
 * only ever do that in a directory it made (its marker file) or an empty one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/config/config-error.js';
import { claimDemoDir, DEMO_MARKER, startDemo } from '../../src/demo/demo.js';
import { hostname } from 'node:os';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { LOCK_FILE } from '../../src/core/state-lock.js';

const cli = join(resolve(import.meta.dirname, '../..'), 'dist/src/cli/main.js');

describe('demo --dir', () => {
  it('refuses a non-empty directory it did not make, and deletes nothing in it (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-demo-dir-'));
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'state', 'precious.db'), 'x');
    writeFileSync(join(dir, 'README.md'), 'my project');
    expect(() => claimDemoDir(dir)).toThrow(UsageError);
    expect(() => claimDemoDir(dir)).toThrow(new RegExp(`--dir ${dir} is not empty and was not made by okr-metrics demo \\(no ${DEMO_MARKER} in it\\)`));
    const r = spawnSync(process.execPath, [cli, 'demo', '--dir', dir, '--no-prometheus', '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('was not made by okr-metrics demo');
    expect(existsSync(join(dir, 'state', 'precious.db'))).toBe(true);
    expect(existsSync(join(dir, DEMO_MARKER))).toBe(false);
  });

  it('takes a new or empty directory and marks it, and reuses a directory it marked', () => {
    const parent = mkdtempSync(join(tmpdir(), 'okr-demo-dir-'));
    const fresh = join(parent, 'new');
    claimDemoDir(fresh);
    expect(existsSync(join(fresh, DEMO_MARKER))).toBe(true);
    mkdirSync(join(fresh, 'state'));
    expect(() => claimDemoDir(fresh)).not.toThrow();
    // The parent now holds "new": not empty, not marked.
    expect(() => claimDemoDir(parent)).toThrow(UsageError);
  });

  it('refuses to recreate the folders of a demo still running in the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-demo-dir-'));
    claimDemoDir(dir);
    mkdirSync(join(dir, 'state'));
    // vitest's main process: alive on this host, like a demo running there.
    writeFileSync(
      join(dir, 'state', LOCK_FILE),
      JSON.stringify({ pid: process.ppid, host: hostname(), started_at: '2026-11-25T12:00:00.000Z', command: 'okr-metrics demo' }),
    );
    writeFileSync(join(dir, 'state', 'apilogs-checkpoint.json'), '{}');
    await expect(
      startDemo({ dir, port: 0, prometheus: 'off', history: false, logger: silentLogger(), clock: fixedClock(Date.parse('2026-11-25T12:00:00Z')) }),
    ).rejects.toThrow(/is in use by pid/);
    expect(existsSync(join(dir, 'state', 'apilogs-checkpoint.json'))).toBe(true);
  });
});
