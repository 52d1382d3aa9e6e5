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
import { fixedClock, ManualClock, systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { LOCK_FILE, lockStateDir, StateDirLocker, StateLockError } from '../../src/core/state-lock.js';
import { writeJsonFileAtomic } from '../../src/core/state-file.js';
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
      new RegExp(
        `state directory .*state is in use by pid ${process.pid} on ${hostname()}, since ${now} \\(okr-metrics serve -c .*okrs.yaml\\).*remove .*${LOCK_FILE}`,
      ),
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
      const second = spawnSync(process.execPath, [cli, 'serve', '-c', join(dir, 'okrs.yaml'), '--host', '127.0.0.1', '--port', '0'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`is in use by pid ${first.pid} on ${hostname()}`);
    } finally {
      first.kill('SIGTERM');
      await new Promise((ok) => first.once('exit', ok));
    }
    expect(existsSync(join(dir, 'state', LOCK_FILE))).toBe(false);
  });
});

describe('the lease of the state directory lock (shared storage: another host cannot see our pid)', () => {
  const T0 = '2026-11-25T12:00:00Z';
  /** A lock as another host's okr-metrics writes it, heartbeat `n`. */
  const otherHost = (n: number, lease?: number) =>
    JSON.stringify({
      pid: 1,
      host: 'okr-metrics-7f9c-abcde',
      started_at: now,
      command: 'okr-metrics serve',
      token: 't-1',
      ...(lease ? { lease_seconds: lease, heartbeat: n, renewed_at: now } : {}),
    });

  it('is taken over once the same heartbeat has been seen for a whole lease, by the waiting process own clock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lease-'));
    const lockFile = join(dir, LOCK_FILE);
    writeFileSync(lockFile, otherHost(3, 15));
    const clock = ManualClock.at(T0);
    const stale: string[] = [];
    const locker = new StateDirLocker(dir, { command: 'standby', clock, leaseMs: 15_000, onStale: (reason, holder) => stale.push(`${reason} | ${holder}`) });
    expect(() => locker.acquire()).toThrow(/in use by pid 1 on okr-metrics-7f9c-abcde.*--standby/);
    clock.advance(10_000);
    expect(() => locker.acquire()).toThrow(StateLockError);
    // The holder renews: the wait starts again from this heartbeat.
    writeFileSync(lockFile, otherHost(4, 15));
    clock.advance(10_000);
    expect(() => locker.acquire()).toThrow(StateLockError);
    clock.advance(14_900);
    expect(() => locker.acquire()).toThrow(StateLockError);
    clock.advance(200);
    const lock = locker.acquire();
    expect(stale).toEqual([`no heartbeat for 15.1 s, longer than its lease of 15 s | pid 1 on okr-metrics-7f9c-abcde, since ${now} (okr-metrics serve)`]);
    const mine = JSON.parse(readFileSync(lockFile, 'utf8'));
    expect(mine).toMatchObject({ pid: process.pid, host: hostname(), lease_seconds: 15, heartbeat: 0, started_at: '2026-11-25T12:00:35.100Z' });
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('never takes over a lock without a lease from another host (an older okr-metrics), however long it waits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lease-'));
    writeFileSync(join(dir, LOCK_FILE), otherHost(0));
    const clock = ManualClock.at(T0);
    const locker = new StateDirLocker(dir, { command: 'standby', clock, leaseMs: 15_000 });
    for (let i = 0; i < 3; i++) {
      expect(() => locker.acquire()).toThrow(StateLockError);
      clock.advance(365 * 86_400_000);
    }
  });

  it('heartbeats while held; the holder writes nothing to the directory while its lease ran out unrenewed, and nothing more once another process took the lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lease-'));
    const lockFile = join(dir, LOCK_FILE);
    const clock = ManualClock.at(T0);
    const lock = new StateDirLocker(dir, { command: 'serve', clock, leaseMs: 15_000 }).acquire();
    const first = JSON.parse(readFileSync(lockFile, 'utf8'));
    clock.advance(5_000);
    expect(lock.renew()).toBeUndefined();
    const second = JSON.parse(readFileSync(lockFile, 'utf8'));
    expect(second).toEqual({ ...first, heartbeat: 1, renewed_at: '2026-11-25T12:00:05.000Z' });
    writeJsonFileAtomic(join(dir, 'checkpoint.json'), { n: 1 });

    // Frozen for a whole lease (a paused VM): a standby elsewhere may have the lock by now.
    clock.advance(15_000);
    expect(lock.problem()).toMatch(/not renewed for 15 s, longer than its lease/);
    expect(() => writeJsonFileAtomic(join(dir, 'checkpoint.json'), { n: 2 })).toThrow(/not writing .*checkpoint.json: the lock was not renewed/);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'))).toEqual({ n: 1 });
    // Nobody took it over meanwhile (the file still holds our token): renewed, writes go on.
    expect(lock.renew()).toBeUndefined();
    expect(lock.problem()).toBeUndefined();
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ heartbeat: 2, renewed_at: '2026-11-25T12:00:20.000Z' });
    writeJsonFileAtomic(join(dir, 'checkpoint.json'), { n: 2 });
    // Files outside the directory are not its business.
    const elsewhere = mkdtempSync(join(tmpdir(), 'okr-lease-'));
    writeJsonFileAtomic(join(elsewhere, 'x.json'), {});
    lock.release();
    writeJsonFileAtomic(join(dir, 'checkpoint.json'), { n: 3 });

    // Taken over (its token is not ours): renew says by whom, and release leaves the new lock alone.
    const again = new StateDirLocker(dir, { command: 'serve', clock, leaseMs: 15_000 }).acquire();
    writeFileSync(lockFile, otherHost(0, 15));
    expect(again.renew()).toBe(`the lock was taken over by pid 1 on okr-metrics-7f9c-abcde, since ${now} (okr-metrics serve)`);
    expect(() => writeJsonFileAtomic(join(dir, 'checkpoint.json'), { n: 4 })).toThrow(/taken over/);
    again.release();
    expect(readFileSync(lockFile, 'utf8')).toBe(otherHost(0, 15));
  });

  it('serve without --standby watches a lease from another host once before refusing: a pod gone with its node does not lock out the next one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'okr-lease-'));
    writeFileSync(join(dir, 'okrs.yaml'), 'version: okr/v1\nserver: { state_dir: state, lock_lease: 1s }\n');
    const loaded = parseConfig(readFileSync(join(dir, 'okrs.yaml'), 'utf8'), join(dir, 'okrs.yaml'), { env: {} });
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'state', LOCK_FILE), otherHost(9, 1));
    const service = await startService(loaded, { host: '127.0.0.1', port: 0, logger: silentLogger(), clock: systemClock });
    services.push(service);
    expect(service.active()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'state', LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  });
});
