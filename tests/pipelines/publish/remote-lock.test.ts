// The refresh lock of an out folder in an S3 store, against a real S3-protocol server (s3rver):
// a second taker is refused naming the holder, release frees it, a foreign host's lock is never
// judged stale. s3rver does not honour `If-None-Match: *` on PUT; that is checked here too, so the
// README's statement about such servers stays true.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRemoteLock } from '../../../pipelines/publish/remote-lock.ts';
import { LOCK_FILE, LockHeldError } from '../../../pipelines/publish/lock.ts';
import { S3Store } from '../../../pipelines/store/s3-store.ts';
import { tempDir } from '../../helpers.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';

const BUCKET = 'emoforge-lock';
let server: S3Server;
let work: string;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  work = await tempDir('emoforge-remote-lock-');
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

function store(prefix: string): S3Store {
  return new S3Store(`s3://${BUCKET}/${prefix}`, { client: { ...server.clientConfig, maxAttempts: 1 }, scratchDir: join(work, 'scratch') });
}

describe('the refresh lock of an s3:// out folder', () => {
  it('has one holder at a time: a second taker is refused with the holder named, release frees it', async () => {
    const out = store('corpus-a');
    const lock = await acquireRemoteLock(out, 'emoforge run a.yaml');
    expect(JSON.parse((await out.get(LOCK_FILE))!.toString())).toMatchObject({ pid: process.pid, host: hostname(), command: 'emoforge run a.yaml' });
    const refused = await acquireRemoteLock(store('corpus-a'), 'emoforge run b.yaml').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect((refused as Error).message).toContain(`pid ${process.pid} on ${hostname()}`);
    await lock.release();
    expect(await out.get(LOCK_FILE)).toBeNull();
    const again = await acquireRemoteLock(out, 'emoforge run b.yaml');
    await again.release();
  });

  it("never takes over another host's lock", async () => {
    const out = store('corpus-b');
    await out.put(LOCK_FILE, JSON.stringify({ pid: 1, host: 'another-machine', startedAt: 'then', command: 'emoforge run c.yaml' }));
    await expect(acquireRemoteLock(out, 'emoforge run d.yaml')).rejects.toThrow(/pid 1 on another-machine/);
  });

  it('s3rver ignores If-None-Match: * (a second conditional PUT overwrites), as README says of such servers', async () => {
    const out = store('corpus-c');
    expect(await out.putIfAbsent('probe', 'first')).toBe(true);
    const refused = !(await out.putIfAbsent('probe', 'second'));
    expect(refused).toBe(false);
    expect((await out.get('probe'))!.toString()).toBe('second');
  });
});
