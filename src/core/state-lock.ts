/**
 * One process per state directory. Two `serve` processes on one server.state_dir overwrite each
 * other's checkpoints and caches, and after a restart one of them skips or re-counts what the
 * other had read. An advisory lock file (`<state_dir>/okr-metrics.lock`) names its holder (pid,
 * host, when, command); a second process is refused with that name, or, as a standby, retries
 * until the holder is gone (docs/high-availability.md).
 *
 * A lock left by a process that died is taken over:
 * - same host: the pid is gone, or the host rebooted since (Linux boot id), or the pid is our own
 *   (a container restarted with the same pid and hostname). A live pid is never taken over.
 * - another host (shared storage: NFS, a ReadWriteMany volume): its pid cannot be seen, so the
 *   holder renews a lease. It rewrites the file with the next heartbeat every third of the
 *   lease; a waiting process that has seen the very same file for a whole lease (by its own
 *   clock: no comparison of two machines' clocks) takes it over. A lock without a lease (an
 *   older okr-metrics) from another host is never taken over.
 * The holder fences itself: from a whole lease after its last renewal until the next one (it
 * was paused: a standby may be taking over), and for good once the file holds another holder's
 * token, `problem()` says why and `writeJsonFileAtomic` refuses to write the directory.
 * Every process sharing a state directory needs its own host name (Kubernetes pods have one).
 */
import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { fixedClock, type Clock } from './clock.js';
import { guardStateWrites } from './state-file.js';

export const LOCK_FILE = 'okr-metrics.lock';
/** Lock files this process holds (a second service in the same process is refused too). */
const held = new Set<string>();

const LockInfo = z.object({
  pid: z.number().int(),
  host: z.string(),
  boot_id: z.string().optional(),
  started_at: z.string(),
  command: z.string(),
  /** New for every acquisition: tells the holder's lock from a successor's. */
  token: z.string().optional(),
  lease_seconds: z.number().positive().optional(),
  heartbeat: z.number().int().nonnegative().optional(),
  renewed_at: z.string().optional(),
});
type LockInfo = z.infer<typeof LockInfo>;

/** Another live process holds the state directory. */
export class StateLockError extends Error {
  /**
   * Set when the holder is on another host and renews a lease (in ms): whether it is alive is
   * known only after watching its heartbeat for that long.
   */
  leaseMs?: number;
}

export interface StateLock {
  file: string;
  /** Rewrite the lock with the next heartbeat; undefined, or why the lock is no longer ours. */
  renew(): string | undefined;
  /** Why this process must no longer write the state directory, or undefined while it holds it. */
  problem(): string | undefined;
  /** Remove the lock file if it is still ours. */
  release(): void;
}

export interface LockOptions {
  /** Recorded for the message another process prints. */
  command: string;
  clock: Clock;
  /** The lease written into the lock (renewed every third of it); 0 or absent: no lease. */
  leaseMs?: number;
  onStale?: (reason: string, holder: string) => void;
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

function holderOf(info: LockInfo | undefined): string {
  return info ? `pid ${info.pid} on ${info.host}, since ${info.started_at} (${info.command})` : 'an unknown process (the lock file is not readable)';
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * Takes the lock of one state directory. Keep one per directory and call `acquire()` again to
 * wait: a lease from another host expires only once the same file has been seen for a lease.
 */
export class StateDirLocker {
  readonly file: string;
  private seen: { text: string; since: number } | undefined;

  constructor(
    readonly dir: string,
    private readonly opts: LockOptions,
  ) {
    this.file = join(dir, LOCK_FILE);
  }

  /** Why the lock is stale, or undefined when its holder may be alive. */
  private staleReason(current: { text: string; info?: LockInfo }, me: { host: string; bootId?: string }): string | undefined {
    const info = current.info;
    if (!info) return undefined;
    if (info.host === me.host) {
      if (info.boot_id && me.bootId && info.boot_id !== me.bootId) return 'the machine restarted since';
      if (info.pid === process.pid) return held.has(this.file) ? undefined : 'its pid is ours (a restarted container)';
      if (!alive(info.pid)) return `process ${info.pid} is gone`;
      return undefined;
    }
    if (info.lease_seconds === undefined) return undefined;
    const now = this.opts.clock.now();
    if (this.seen?.text !== current.text) {
      this.seen = { text: current.text, since: now };
      return undefined;
    }
    const quiet = now - this.seen.since;
    return quiet >= info.lease_seconds * 1000 ? `no heartbeat for ${seconds(quiet)}, longer than its lease of ${info.lease_seconds} s` : undefined;
  }

  /** Take the lock, or throw StateLockError naming the process that holds it. */
  acquire(): StateLock {
    const { dir, file, opts } = this;
    mkdirSync(dir, { recursive: true });
    const me = { host: hostname(), bootId: bootId() };
    const leaseMs = opts.leaseMs ?? 0;
    const startedAt = opts.clock.now();
    const token = randomUUID();
    let heartbeat = 0;
    let renewedAt = startedAt;
    const content = () => {
      const info: LockInfo = {
        pid: process.pid,
        host: me.host,
        ...(me.bootId ? { boot_id: me.bootId } : {}),
        started_at: new Date(startedAt).toISOString(),
        command: opts.command,
        token,
        ...(leaseMs > 0 ? { lease_seconds: leaseMs / 1000, heartbeat, renewed_at: new Date(renewedAt).toISOString() } : {}),
      };
      return `${JSON.stringify(info)}\n`;
    };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, content());
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          // link() fails if the lock exists: taking it is atomic, and it is never half-written.
          linkSync(tmp, file);
          this.seen = undefined;
          return this.holding(
            token,
            leaseMs,
            content,
            () => renewedAt,
            (v) => {
              heartbeat++;
              renewedAt = v;
            },
          );
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const current = readLock(file);
        if (!current) continue; // released meanwhile: try again
        const holder = holderOf(current.info);
        const stale = this.staleReason(current, me);
        if (!stale) {
          const refused = new StateLockError(
            `the state directory ${dir} is in use by ${holder}: two processes on one state_dir would overwrite each other's checkpoints. Stop the other process, run this one with --standby (it takes over when the other stops), or give it another server.state_dir. If you are sure no process uses it, remove ${file}`,
          );
          if (current.info?.host !== me.host && current.info?.lease_seconds !== undefined) refused.leaseMs = current.info.lease_seconds * 1000;
          throw refused;
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
          // We moved someone's fresh lock (or heartbeat): put it back and look again.
          try {
            linkSync(aside, file);
          } catch {
            // it took another lock meanwhile
          }
          unlinkSync(aside);
          continue;
        }
        unlinkSync(aside);
        opts.onStale?.(stale, holder);
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

  private holding(token: string, leaseMs: number, content: () => string, renewedAt: () => number, renewed: (at: number) => void): StateLock {
    const { file, opts } = this;
    let lost: string | undefined;
    const expired = (now: number) =>
      leaseMs > 0 && now - renewedAt() >= leaseMs
        ? `the lock was not renewed for ${seconds(now - renewedAt())}, longer than its lease: another process may have taken it over`
        : undefined;
    const problem = () => lost ?? expired(opts.clock.now());
    held.add(file);
    const unguard = guardStateWrites(resolve(this.dir), problem);
    return {
      file,
      problem,
      renew: () => {
        if (lost) return lost;
        const now = opts.clock.now();
        const current = readLock(file);
        // Late (a suspended laptop, a paused VM) but nobody took over meanwhile: still ours. A
        // standby takes over only after seeing the same heartbeat for a lease, and our rewrite
        // changes it.
        lost =
          current === undefined
            ? `the lock file ${file} was removed`
            : current.info?.token !== token
              ? `the lock was taken over by ${holderOf(current.info)}`
              : undefined;
        if (lost) return lost;
        renewed(now);
        // Replaced whole (rename): a waiting process never reads half a heartbeat.
        const tmp = `${file}.${process.pid}.renew.tmp`;
        writeFileSync(tmp, content());
        renameSync(tmp, file);
        return undefined;
      },
      release: () => {
        held.delete(file);
        unguard();
        lost ??= 'released';
        try {
          if (readLock(file)?.info?.token === token) unlinkSync(file);
        } catch {
          // already gone
        }
      },
    };
  }
}

/**
 * Take the state directory's lock once (no lease, no waiting), or throw StateLockError naming
 * the process that holds it. `command` is recorded for the message another process would print.
 */
export function lockStateDir(dir: string, command: string, nowIso: string, onStale?: (reason: string, holder: string) => void): StateLock {
  return new StateDirLocker(dir, { command, clock: fixedClock(Date.parse(nowIso)), ...(onStale ? { onStale } : {}) }).acquire();
}
