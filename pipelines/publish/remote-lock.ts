// The refresh lock of an out folder that lives in an S3 store (`--out s3://…`): the object
// `.emoforge.lock` under the out prefix, so two machines never publish one corpus at once (the local
// lock only guards this machine's mirror). It is created with a conditional PUT (`If-None-Match: *`):
// on S3, MinIO, R2 and Ceph that is atomic, one creator wins and the other is refused. A server that
// ignores the header overwrites instead; then the lock is only as good as "look, put, read back": a
// lock already there refuses the run, and the object is read back after the PUT to see whose it is,
// which catches every overlap except two machines putting within the same round trip.
// Remote locks are never judged stale from their content (another machine's pid means nothing here),
// except one left by a dead process of this very host.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isStale, LOCK_FILE, LockHeldError, type Lock, type LockInfo } from './lock.ts';

/** The part of S3Store the remote lock needs. */
export interface LockStore {
  readonly location: string;
  get(key: string): Promise<Buffer | null>;
  putIfAbsent(key: string, bytes: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** Takes the store out folder's lock or throws LockHeldError naming the holder. */
export async function acquireRemoteLock(store: LockStore, command: string): Promise<Lock> {
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command, token: randomBytes(12).toString('hex') };
  for (let attempt = 0; attempt < 2; attempt++) {
    const present = await readRemote(store);
    if (present) {
      if (!isStale(present)) throw new LockHeldError(store.location, present);
      await store.delete(LOCK_FILE);
    }
    if (!(await store.putIfAbsent(LOCK_FILE, JSON.stringify(info)))) continue;
    const now = await readRemote(store);
    if (now?.token !== info.token)
      throw new LockHeldError(store.location, now ?? { pid: 0, host: '?', startedAt: '?', command: 'unknown (the lock object changed under this run)' });
    return {
      path: `${store.location}/${LOCK_FILE}`,
      async release() {
        const current = await readRemote(store);
        if (current?.token === info.token) await store.delete(LOCK_FILE);
      },
    };
  }
  const holder = await readRemote(store);
  throw new LockHeldError(store.location, holder ?? { pid: 0, host: '?', startedAt: '?', command: 'unknown (the lock object could not be read)' });
}

async function readRemote(store: LockStore): Promise<LockInfo | undefined> {
  const bytes = await store.get(LOCK_FILE);
  if (!bytes) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as LockInfo;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string'
      ? parsed
      : { pid: 0, host: '?', startedAt: '?', command: `unknown (${LOCK_FILE} does not hold a lock record)` };
  } catch {
    return { pid: 0, host: '?', startedAt: '?', command: `unknown (${LOCK_FILE} does not hold a lock record)` };
  }
}
