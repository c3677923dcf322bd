// Killing a run with SIGKILL mid-way and running it again gives the same shards as a run that was
// never interrupted, and never leaves a manifest pointing at missing or partial shards.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { cli, demoConfig, readJson, sampleClips, shardHashes, spawnCli, tempDir, writeConfig } from '../helpers.ts';

async function countKeys(store: string, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of new LocalStore(store).list(prefix)) n++;
  return n;
}

describe('crash and resume', () => {
  it('SIGKILL mid-run, then a re-run, yields the shards of an uninterrupted run', async () => {
    const input = await sampleClips(6);
    const work = await tempDir();
    // Manifest text instead of ASR keeps this test fast; the media work is real.
    const config = demoConfig({ transcribe: { engine: 'manifest' }, segment: { frames: 8 } }, { partitions: 6, concurrency: 1 });
    const file = await writeConfig(work, config);

    const clean = await cli(['run', file, '--input', input, '--out', join(work, 'clean-out'), '--store', join(work, 'clean-store')]);
    expect(clean.code).toBe(0);
    const expected = await shardHashes(join(work, 'clean-out'));
    const totalPartitions = await countKeys(join(work, 'clean-store'), 'partitions');
    expect(totalPartitions).toBeGreaterThanOrEqual(3);

    const out = join(work, 'out');
    const store = join(work, 'store');
    const child = spawnCli(['run', file, '--input', input, '--out', out, '--store', store]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? -1 : code)));
    // Kill as soon as the first partition is durably done, while others are still running.
    const deadline = Date.now() + 120_000;
    while ((await countKeys(store, 'partitions')) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGKILL');
    expect(await exited).toBe(-1);
    const doneAtKill = await countKeys(store, 'partitions');
    expect(doneAtKill).toBeGreaterThanOrEqual(1);
    expect(doneAtKill).toBeLessThan(totalPartitions);
    // Killed before publishing: no manifest at all, so nothing points at partial shards.
    expect(
      await stat(join(out, 'manifest.json')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);

    const resumed = await cli(['run', file, '--input', input, '--out', out, '--store', store]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`cache: ${doneAtKill}/${totalPartitions} partitions reused`));
    expect(await shardHashes(out)).toEqual(expected);
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest.shards.map((s: { sha256: string }) => s.sha256).sort()).toEqual(Object.values(expected).sort());
  }, 300_000);
});
