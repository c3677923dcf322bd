// WorkerPool: a worker starts only while every started one is busy, up to the pool's size; and the
// face workers' count (EMOFORGE_FACE_WORKERS, else the cores).
import { afterEach, describe, expect, it } from 'vitest';
import { FatalError } from '../../pipelines/errors.ts';
import { WorkerPool } from '../../pipelines/worker-thread.ts';
import { faceWorkerCount } from '../../stages/cues/visual-worker.ts';
import { THREAD_ID_ROLE } from '../support/thread-id-worker.ts';

const MODULE = new URL('../support/thread-id-worker.ts', import.meta.url).href;
const pools: WorkerPool<{ ms: number }, number>[] = [];
const poolOf = (size: number) => {
  const pool = new WorkerPool<{ ms: number }, number>({ module: MODULE, role: THREAD_ID_ROLE, label: 'thread ids', size });
  pools.push(pool);
  return pool;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('WorkerPool', () => {
  const signal = new AbortController().signal;

  it('starts a second worker only while the first is busy, and no more than its size', async () => {
    const pool = poolOf(2);
    const alone = await pool.run({ ms: 0 }, signal);
    // One job at a time: the first worker answers them all.
    expect(await pool.run({ ms: 0 }, signal)).toBe(alone);
    const together = await Promise.all([1, 2, 3, 4].map(() => pool.run({ ms: 150 }, signal)));
    expect(new Set(together).size).toBe(2);
    expect(together).toContain(alone);
  });

  it('queues every job on one worker when its size is 1', async () => {
    const pool = poolOf(1);
    const together = await Promise.all([1, 2, 3].map(() => pool.run({ ms: 50 }, signal)));
    expect(new Set(together).size).toBe(1);
  });
});

describe('faceWorkerCount', () => {
  it('is the cores when EMOFORGE_FACE_WORKERS is not set, else the setting', () => {
    expect(faceWorkerCount(undefined, 2)).toBe(2);
    expect(faceWorkerCount('', 8)).toBe(8);
    expect(faceWorkerCount(undefined, 0)).toBe(1);
    expect(faceWorkerCount('1', 8)).toBe(1);
    expect(faceWorkerCount('3', 2)).toBe(3);
  });

  it('refuses a count that is not a positive integer, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', 'two']) {
      expect(() => faceWorkerCount(bad, 2)).toThrow(FatalError);
      expect(() => faceWorkerCount(bad, 2)).toThrow(/EMOFORGE_FACE_WORKERS must be a positive integer.*got "/);
    }
  });
});
