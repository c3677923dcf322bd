// Static sharding: three `--worker i/3` processes share one store, each processes only its own
// partitions (waiting for the others' before the global stage between phases), publish nothing,
// and `emoforge finalize` then publishes the shards of a single-machine run, byte for byte.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkerShard, StaticShardExecutor } from '../../../pipelines/executors/static-shard.ts';
import { cli, demoConfig, sampleClips, shardHashes, storeKeys, tempDir, writeConfig } from '../../helpers.ts';

describe('--worker i/N', () => {
  it('parses INDEX/COUNT and refuses what is not one', () => {
    expect(parseWorkerShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(parseWorkerShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(() => parseWorkerShard('8/8')).toThrow(/below the count/);
    expect(() => parseWorkerShard('1/0')).toThrow(/below the count/);
    expect(() => parseWorkerShard('3')).toThrow(/INDEX\/COUNT/);
    const executor = new StaticShardExecutor({ index: 1, count: 3 });
    expect([0, 1, 2, 3, 4, 7].filter((p) => executor.owns(p))).toEqual([1, 4, 7]);
  });

  it('three static workers and finalize publish the shards of a single-machine run', async () => {
    const input = await sampleClips(6);
    const work = await tempDir();
    // cues.agreement (a global stage) sits between two record phases: workers must meet there.
    const config = demoConfig({ transcribe: { engine: 'manifest' }, 'cues.visual': false }, { partitions: 6, concurrency: 1 });
    const file = await writeConfig(work, config);

    const single = await cli(['run', file, '--input', input, '--out', join(work, 'single-out'), '--store', join(work, 'single-store')]);
    expect(single.code, single.stderr).toBe(0);
    const expected = await shardHashes(join(work, 'single-out'));
    const allPartitions = await storeKeys(join(work, 'single-store'), 'partitions');

    const store = join(work, 'store');
    const out = join(work, 'out');
    const workers = await Promise.all([0, 1, 2].map((i) => cli(['run', file, '--worker', `${i}/3`, '--input', input, '--out', out, '--store', store])));
    let processed = 0;
    for (const [i, w] of workers.entries()) {
      expect(w.code, w.stderr).toBe(0);
      const m =
        /--worker (\d)\/3: (\d+) partitions processed here, (\d+) already stored, (\d+) waited for from other workers, (\d+) left to them; nothing was published/.exec(
          w.stdout,
        );
      expect(m, w.stdout).not.toBeNull();
      expect(Number(m![1])).toBe(i);
      processed += Number(m![2]);
      // Phase 1's foreign partitions are waited for (cues.agreement needs them), phase 2's are left.
      expect(Number(m![4])).toBeGreaterThan(0);
      expect(Number(m![5])).toBeGreaterThan(0);
    }
    // Every partition of both phases was processed exactly once across the workers, and stored.
    expect(processed).toBe(allPartitions.length);
    expect(await storeKeys(store, 'partitions')).toEqual(allPartitions);
    expect(
      await stat(join(out, 'manifest.json')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);

    const finalize = await cli(['finalize', file, '--input', input, '--out', out, '--store', store]);
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(finalize.stdout).toMatch(
      new RegExp(`cache: ${allPartitions.length}/${allPartitions.length} partitions reused; no media work, no ASR, no generation`),
    );
    expect(await shardHashes(out)).toEqual(expected);
  }, 300_000);
});
