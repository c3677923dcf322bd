// One warm store per suite: the global setup runs the demo configs most e2e files share once, and a
// test whose assertions do not depend on a cold store copies its per-record stage cache and media
// into its own store, so the media stages (ffmpeg cuts, face tracking, pitch) hit the cache.
// Partition results are left out: a warmed run still runs every stage over every record, so what it
// publishes is what a cold run publishes.
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { cli, demoConfig, sampleClips, writeConfig } from '../helpers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the warm store folder the global setup made ('' when it made none) */
    warmStore: string;
  }
}

/** Store folders a warmed run may reuse: the per-record stage caches and the media they name. */
const WARM_PARTS = ['cache', 'media'];

/**
 * The runs whose caches the warm store holds: the whole-clip demo config on the 12 demo clips (its
 * records are the same for the first 3, 4 or 6), and 2 s windows over 3 clips. A test whose config
 * differs simply misses the cache, as it would cold.
 */
export const WARM_RUNS: readonly { readonly clips: number; readonly config: Record<string, unknown> }[] = [
  { clips: 12, config: demoConfig({ transcribe: { engine: 'manifest' } }) },
  { clips: 3, config: demoConfig({ segment: { strategy: 'fixed', windowSec: 2, minSec: 1, frames: 2 }, transcribe: { engine: 'manifest' } }) },
];

/** Runs every WARM_RUNS config (in parallel, each the CLI a user runs, each on its own store) and merges their caches into `store`. */
export async function buildWarmStore(store: string, work: string): Promise<void> {
  const stores = await Promise.all(
    WARM_RUNS.map(async (run, i) => {
      const dir = join(work, `run-${i}`);
      await mkdir(dir, { recursive: true });
      const input = await sampleClips(run.clips);
      const result = await cli(['run', await writeConfig(dir, run.config), '--input', input, '--out', join(dir, 'out'), '--store', join(dir, 'store')]);
      if (result.code !== 0) throw new Error(`warm store run ${i} exited ${result.code}: ${result.stderr}`);
      await rm(input, { recursive: true, force: true });
      return join(dir, 'store');
    }),
  );
  // Keys are content-addressed, so where two runs made the same key they made the same bytes.
  for (const from of stores) await copyParts(from, store);
}

async function copyParts(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const parts = new Set(await readdir(from));
  for (const part of WARM_PARTS) if (parts.has(part)) await cp(join(from, part), join(to, part), { recursive: true, force: true });
}

/** Fills the store folder `store` from the suite's warm store (a no-op when there is none). Returns `store`. */
export async function warmStore(store: string): Promise<string> {
  const warm = inject('warmStore');
  if (warm) await copyParts(warm, store);
  else await mkdir(store, { recursive: true });
  return store;
}
