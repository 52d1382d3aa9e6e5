/**
 * One process per state directory. Two `serve` processes on one server.state_dir overwrite each
 * other's checkpoints and caches, and after a restart one of them skips or re-counts what the
 * other had read. An advisory lock file (`<state_dir>/okr-metrics.lock`) names its holder (pid,
 * host, when, command); a second process is refused with that name. A lock left by a process
 * that died (SIGKILL, a crash, a reboot) is taken over: same host and the pid is gone, or the
 * host rebooted since (Linux boot id), or the pid is our own (a container restarted with the
 * same pid and hostname). A lock from another host is never taken over: we cannot see its pid.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export const LOCK_FILE = 'okr-metrics.lock';
/** Lock files this process holds (a second service in the same process is refused too). */
const held = new Set<string>();

const LockInfo = z.object({
  pid: z.number().int(),
  host: z.string(),
  boot_id: z.string().optional(),
  started_at: z.string(),
  command: z.string(),
});
type LockInfo = z.infer<typeof LockInfo>;

/** Another live process holds the state directory. */
export class StateLockError extends Error {}

export interface StateLock {
  file: string;
  /** Remove the lock file if it is still ours. */
  release(): void;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { text: string; info?: LockInfo } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const parsed = LockInfo.safeParse(JSON.parse(text));
    return { text, info: parsed.success ? parsed.data : undefined };
  } catch {
    return { text };
  }
}

/** Why the lock in `info` is stale, or undefined when its holder may be alive. */
function staleReason(file: string, info: LockInfo | undefined, me: { host: string; bootId?: string }): string | undefined {
  if (!info) return undefined;
  if (info.host !== me.host) return undefined;
  if (info.boot_id && me.bootId && info.boot_id !== me.bootId) return 'the machine restarted since';
  if (info.pid === process.pid) return held.has(file) ? undefined : 'its pid is ours (a restarted container)';
  if (!alive(info.pid)) return `process ${info.pid} is gone`;
  return undefined;
}

/**
 * Take the state directory's lock, or throw StateLockError naming the process that holds it.
 * `command` is recorded for the message another process would print.
 */
export function lockStateDir(dir: string, command: string, nowIso: string, onStale?: (reason: string, holder: string) => void): StateLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const me = { host: hostname(), bootId: bootId() };
  const info: LockInfo = { pid: process.pid, host: me.host, ...(me.bootId ? { boot_id: me.bootId } : {}), started_at: nowIso, command };
  const mine = `${JSON.stringify(info)}\n`;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, mine);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // link() fails if the lock exists: taking it is atomic, and it is never half-written.
        linkSync(tmp, file);
        held.add(file);
        return {
          file,
          release: () => {
            held.delete(file);
            try {
              if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
            } catch {
              // already gone
            }
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = readLock(file);
      if (!current) continue; // released meanwhile: try again
      const holder = current.info ? `pid ${current.info.pid} on ${current.info.host}, since ${current.info.started_at} (${current.info.command})` : 'an unknown process (the lock file is not readable)';
      const stale = staleReason(file, current.info, me);
      if (!stale) {
        throw new StateLockError(
          `the state directory ${dir} is in use by ${holder}: two processes on one state_dir would overwrite each other's checkpoints. Stop the other process, or give this one another server.state_dir. If you are sure no process uses it, remove ${file}`,
        );
      }
      // Move the stale lock aside rather than deleting it: a process that took it over in
      // the meantime would otherwise lose its fresh lock to us.
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readLock(aside);
      if (moved?.text !== current.text) {
        // We moved someone's fresh lock: put it back and look again.
        try {
          linkSync(aside, file);
        } catch {
          // it took another lock meanwhile
        }
        unlinkSync(aside);
        continue;
      }
      unlinkSync(aside);
      onStale?.(stale, holder);
    }
    throw new StateLockError(`could not take the lock ${file}: it keeps changing hands`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
