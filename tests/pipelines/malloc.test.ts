// pipelines/malloc.ts on this machine (Linux, glibc): a run fixes the mmap threshold, so a 1 MiB
// buffer allocated after a 20 MB one was freed is a mapping of its own (given back when freed),
// where glibc's moving threshold would have put it in the arena.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers.ts';

const run = promisify(execFile);

async function probe(env: NodeJS.ProcessEnv): Promise<{ setting: { kind: string; why?: string }; mappedBytes: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(REPO, 'tests/support/malloc-probe.ts')], {
    cwd: REPO,
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, GLIBC_TUNABLES: undefined, EMOFORGE_MALLOC: undefined, ...env },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('malloc', () => {
  it('keeps megabyte buffers in their own mappings after a large one was freed', async () => {
    const tuned = await probe({});
    expect(tuned.setting).toEqual({ kind: 'set', mmapThresholdBytes: 128 * 1024 });
    expect(tuned.mappedBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  it('is left as glibc has it with EMOFORGE_MALLOC=default (the 1 MiB buffers come from the arena)', async () => {
    const left = await probe({ EMOFORGE_MALLOC: 'default' });
    expect(left.setting).toEqual({ kind: 'left', why: 'EMOFORGE_MALLOC=default' });
    expect(left.mappedBytes).toBeLessThan(1024 * 1024);
  });

  it("follows the user's own MALLOC_MMAP_THRESHOLD_", async () => {
    const left = await probe({ MALLOC_MMAP_THRESHOLD_: '65536' });
    expect(left.setting.kind).toBe('left');
    expect(left.mappedBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });
});
