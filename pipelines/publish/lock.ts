// The refresh lock: one publisher per out folder. `emoforge run` and `emoforge schedule` take it
// before any work, the write sink takes it again before publishing (re-entrant in one process), so
// two refreshes of one corpus never overlap. The lock is OUT/.emoforge.lock holding pid + host +
// start time + a token.
//
// One holder, by construction: the lock file is written whole under a temporary name and then
// hard-linked to its place, which fails when a lock is there (link never replaces), so no process
// ever sees a half-written lock. Staleness is judged only on a complete lock (a pid gone on this
// host); a lock that does not parse is only taken over once it is old enough that no writer can
// still be at work on it (files from older emoforge versions, or garbage). Taking over a stale lock
// happens under a second, short-lived lock (OUT/.emoforge.lock.takeover), and the lock is read
// again under it before it is removed, so two processes that both judged one lock stale never
// remove a fresh lock between them.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { FatalError } from '../errors.ts';

export const LOCK_FILE = '.emoforge.lock';
const TAKEOVER_SUFFIX = '.takeover';
/** A lock file that does not parse and is older than this was not written by a live emoforge. */
const UNREADABLE_STALE_MS = 10_000;
/** A takeover lock older than this belongs to a process that died mid-takeover. */
const TAKEOVER_STALE_MS = 30_000;

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  readonly command: string;
  /** Random per acquisition: release removes the lock only while it is still this one. */
  readonly token?: string;
}

/** Another live process holds the lock; the message names it. */
export class LockHeldError extends FatalError {
  override name = 'LockHeldError';
  constructor(
    readonly outDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `another refresh of ${outDir} is running (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}: ${holder.command}); ` +
        `not starting a second one. Wait for it to finish, or if that process is gone from another host, delete ${join(outDir, LOCK_FILE)}`,
    );
  }
}

/** Locks held by this process: path → hold count, so nested takers (schedule → run → sink) share one lock. */
const held = new Map<string, { count: number; token: string }>();

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/** Takes the out folder's lock or throws LockHeldError; a stale lock (dead pid on this host) is taken over. */
export async function acquireLock(outDir: string, command: string): Promise<Lock> {
  const path = join(outDir, LOCK_FILE);
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return releaser(path);
  }
  await mkdir(outDir, { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command, token: randomBytes(12).toString('hex') };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createWhole(path, JSON.stringify(info))) {
      held.set(path, { count: 1, token: info.token! });
      return releaser(path);
    }
    const found = await inspect(path);
    if (found.kind === 'gone') continue;
    if (found.kind === 'held') throw new LockHeldError(outDir, found.holder);
    await takeOver(path, found);
  }
  const found = await inspect(path);
  throw new LockHeldError(
    outDir,
    found.kind === 'held' || found.kind === 'stale'
      ? found.holder
      : { pid: 0, host: '?', startedAt: '?', command: 'unknown (the lock file could not be read)' },
  );
}

/**
 * Creates `path` with `content` in one step: a temp file written and synced, then linked to its
 * place (EEXIST when a file is there). False when the path is taken.
 */
async function createWhole(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

type Found =
  | { readonly kind: 'gone' }
  | { readonly kind: 'held'; readonly holder: LockInfo }
  | { readonly kind: 'stale'; readonly holder: LockInfo; readonly text: string }
  | { readonly kind: 'unreadable'; readonly text: string };

/** What holds the lock now: a live holder, a stale one, an old unreadable file, or nothing. */
async function inspect(path: string): Promise<Found> {
  let text: string;
  let ageMs: number;
  try {
    [text, ageMs] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => Date.now() - s.mtimeMs)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw error;
  }
  const holder = parseLock(text);
  if (!holder)
    return ageMs > UNREADABLE_STALE_MS
      ? { kind: 'unreadable', text }
      : { kind: 'held', holder: { pid: 0, host: '?', startedAt: '?', command: `unknown (${path} does not hold a lock record)` } };
  return isStale(holder) ? { kind: 'stale', holder, text } : { kind: 'held', holder };
}

/** Removes a stale lock under the takeover lock, after reading it again: only what was judged stale goes. */
async function takeOver(path: string, judged: Extract<Found, { text: string }>): Promise<void> {
  const takeover = `${path}${TAKEOVER_SUFFIX}`;
  if (!(await createWhole(takeover, String(process.pid)))) {
    const age = await stat(takeover).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > TAKEOVER_STALE_MS) await rm(takeover, { force: true });
    return;
  }
  try {
    const now = await readFile(path, 'utf8').catch(() => undefined);
    if (now === judged.text) await rm(path, { force: true });
  } finally {
    await rm(takeover, { force: true });
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(text) as LockInfo;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function readLock(outDir: string): Promise<LockInfo | undefined> {
  return parseLock(await readFile(join(outDir, LOCK_FILE), 'utf8').catch(() => ''));
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
      const mine = held.get(path);
      if (!mine) return;
      if (mine.count > 1) {
        mine.count--;
        return;
      }
      held.delete(path);
      // Only our own lock: one taken over from us (we were judged gone) is someone else's now.
      const holder = await readLock(dirname(path));
      if (holder?.token === mine.token) await rm(path, { force: true });
    },
  };
}
