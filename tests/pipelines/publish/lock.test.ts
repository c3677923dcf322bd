// The refresh lock has one holder: two processes racing acquire/release never both hold it, a lock
// being written is never judged stale, a dead holder's lock is taken over.
import { execFile } from 'node:child_process';
import { utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE, LockHeldError, readLock } from '../../../pipelines/publish/lock.ts';
import { REPO, tempDir } from '../../helpers.ts';

function racer(outDir: string, rounds: number, startAt: number): Promise<{ acquired: number; refused: number; violations: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'tests/support/lock-racer.ts'), outDir, String(rounds), String(startAt)],
      { cwd: REPO, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
      },
    );
  });
}

/** A pid that is not running on this host. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

describe('the refresh lock', () => {
  it('has one holder while two processes race 1,000 acquire/release rounds each', async () => {
    const out = await tempDir('emoforge-lock-race-');
    const startAt = Date.now() + 4000;
    const [a, b] = await Promise.all([racer(out, 1000, startAt), racer(out, 1000, startAt)]);
    console.info(`lock race: ${a.acquired + b.acquired} acquisitions, ${a.refused + b.refused} refusals, ${a.violations + b.violations} violations`);
    expect(a.acquired + b.acquired).toBe(2000);
    // They did contend: each was refused while the other held the lock.
    expect(a.refused + b.refused).toBeGreaterThan(0);
    expect(a.violations + b.violations).toBe(0);
  }, 120_000);

  it('never takes a lock file that is still being written (empty or partial) for a stale one', async () => {
    const out = await tempDir('emoforge-lock-');
    await writeFile(join(out, LOCK_FILE), '');
    await expect(acquireLock(out, 'test')).rejects.toBeInstanceOf(LockHeldError);
    await writeFile(join(out, LOCK_FILE), '{"pid":');
    await expect(acquireLock(out, 'test')).rejects.toThrow(/does not hold a lock record/);
    // Garbage nobody has touched for a minute is not a lock being written: it is taken over.
    const old = new Date(Date.now() - 60_000);
    await utimes(join(out, LOCK_FILE), old, old);
    const lock = await acquireLock(out, 'test');
    expect(await readLock(out)).toMatchObject({ pid: process.pid, command: 'test' });
    await lock.release();
  });

  it('takes over the complete lock of a process that is gone, and release removes only its own lock', async () => {
    const out = await tempDir('emoforge-lock-');
    await writeFile(join(out, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: 'then', command: 'emoforge run old.yaml' }));
    const lock = await acquireLock(out, 'test');
    expect(await readLock(out)).toMatchObject({ pid: process.pid });
    // Someone replaced our lock (an operator deleted it, another run took it): our release leaves theirs.
    const theirs = { pid: process.pid + 1, host: 'elsewhere', startedAt: 'now', command: 'emoforge run other.yaml', token: 'theirs' };
    await writeFile(join(out, LOCK_FILE), JSON.stringify(theirs));
    await lock.release();
    expect(await readLock(out)).toEqual(theirs);
  });
});
