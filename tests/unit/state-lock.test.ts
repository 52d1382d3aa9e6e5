/**
 * One process per state directory: a second `serve` on the same server.state_dir is refused with
 * the holder named (exit 1 from the CLI); a lock left by a dead process is taken over.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { LOCK_FILE, lockStateDir, StateLockError } from '../../src/core/state-lock.js';
import { startService, type RunningService } from '../../src/serve/service.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
const clock = fixedClock(Date.parse('2026-11-25T12:00:00Z'));
const now = '2026-11-25T12:00:00.000Z';

const services: RunningService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

function config(dir: string) {
  writeFileSync(join(dir, 'okrs.yaml'), 'version: okr/v1\nserver: { state_dir: state }\n');
  return parseConfig(readFileSync(join(dir, 'okrs.yaml'), 'utf8'), join(dir, 'okrs.yaml'), { env: {} });
}

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('the state directory lock', () => {
  it('refuses a second service on the same state_dir, naming the holder, and frees it on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lock-'));
    const loaded = config(dir);
    const first = await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock });
    services.push(first);
    const lock = JSON.parse(readFileSync(join(dir, 'state', LOCK_FILE), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, host: hostname(), started_at: now });
    await expect(startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock })).rejects.toThrow(
      new RegExp(`state directory .*state is in use by pid ${process.pid} on ${hostname()}, since ${now} \\(okr-metrics serve -c .*okrs.yaml\\).*remove .*${LOCK_FILE}`),
    );
    await services.pop()!.stop();
    expect(existsSync(join(dir, 'state', LOCK_FILE))).toBe(false);
    services.push(await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock }));
  });

  it('takes over a lock whose process is gone, and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lock-'));
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), started_at: now, command: 'okr-metrics serve' }));
    const stale: string[] = [];
    const lock = lockStateDir(dir, 'test', now, (reason) => stale.push(reason));
    expect(stale).toEqual([`process ${pid} is gone`]);
    expect(JSON.parse(readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });

  it('never takes over a lock held from another host, nor a live process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lock-'));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'other-host', started_at: now, command: 'okr-metrics serve' }));
    expect(() => lockStateDir(dir, 'test', now)).toThrow(StateLockError);
    expect(() => lockStateDir(dir, 'test', now)).toThrow(/on other-host/);
    // Our parent (vitest's main process) is alive on this host.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), started_at: now, command: 'okr-metrics serve' }));
    expect(() => lockStateDir(dir, 'test', now)).toThrow(new RegExp(`in use by pid ${process.ppid}`));
  });

  it('serve exits 1 with the holder named when another serve holds the state directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lock-'));
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'okrs.yaml'), 'version: okr/v1\nserver: { state_dir: state }\n');
    const first = spawn(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--host', '127.0.0.1', '--port', '0'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(join(dir, 'state', LOCK_FILE)); i++) await sleep(100);
      const second = spawnSync(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--host', '127.0.0.1', '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`is in use by pid ${first.pid} on ${hostname()}`);
    } finally {
      first.kill('SIGTERM');
      await new Promise((ok) => first.once('exit', ok));
    }
    expect(existsSync(join(dir, 'state', LOCK_FILE))).toBe(false);
  });
});
