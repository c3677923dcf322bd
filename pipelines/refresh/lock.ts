// The refresh lock: one publisher per out folder. `emoforge run` and `emoforge schedule` take it
// before any work, the write sink takes it again before publishing (re-entrant in one process), so
// two refreshes of one corpus never overlap. The lock is OUT/.emoforge.lock, created exclusively,
// holding pid + host + start time; a lock whose pid is gone on this host is stale and taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FatalError } from '../errors.ts';

export const LOCK_FILE = '.emoforge.lock';

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly command: string;
}

/** Another live process holds the lock; the message names it. */
export class LockHeldError extends FatalError {
  override name = 'LockHeldError';
  constructor(readonly outDir: string, readonly holder: LockInfo) {
    super(
      `another refresh of ${outDir} is running (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}: ${holder.command}); ` +
        `not starting a second one. Wait for it to finish, or if that process is gone from another host, delete ${join(outDir, LOCK_FILE)}`,
    );
  }
}

/** Locks held by this process: path → hold count, so nested takers (schedule → run → sink) share one lock. */
const held = new Map<string, number>();

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/** Takes the out folder's lock or throws LockHeldError; a stale lock (dead pid on this host, or unreadable) is replaced. */
export async function acquireLock(outDir: string, command: string): Promise<Lock> {
  const path = join(outDir, LOCK_FILE);
  const count = held.get(path);
  if (count !== undefined) {
    held.set(path, count + 1);
    return releaser(path);
  }
  await mkdir(outDir, { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(info));
        await handle.sync();
      } finally {
        await handle.close();
      }
      held.set(path, 1);
      return releaser(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(outDir);
    if (holder && !isStale(holder)) throw new LockHeldError(outDir, holder);
    // Stale: its process is gone (or the file is half-written garbage). Remove it and try again.
    await rm(path, { force: true });
  }
  const holder = await readLock(outDir);
  throw new LockHeldError(outDir, holder ?? { pid: 0, host: '?', startedAt: '?', command: 'unknown' });
}

export async function readLock(outDir: string): Promise<LockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(outDir, LOCK_FILE), 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A lock is stale when its holder ran on this host and that pid no longer exists. Locks of other hosts are never judged stale. */
export function isStale(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function releaser(path: string): Lock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const count = held.get(path) ?? 0;
      if (count > 1) {
        held.set(path, count - 1);
        return;
      }
      held.delete(path);
      await rm(path, { force: true });
    },
  };
}
