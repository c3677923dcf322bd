// One warm store per suite: the demo configs most e2e files share are run once, and a test whose
// assertions do not depend on a cold store copies the per-record stage cache and media into its own
// store, so its media stages (ffmpeg cuts, face tracking, pitch) hit the cache. Partition results are
// left out: a warmed run still runs every stage over every record and publishes what a cold run does.
// The global setup hands out an empty folder; the first test to ask builds the store there (the other
// worker waits for it), so a run of unit tests alone never pays for it.
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { cli, demoConfig, sampleClips, writeConfig } from '../helpers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** the folder the suite's warm store is built in, once, by the first test that asks */
    warmStore: string;
  }
}

/** How long a test waits for another test's build before it runs cold (a build takes about a minute here). */
const WAIT_MS = 8 * 60_000;

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

/** Waits for the suite's warm store, building it if no test has yet; its folder, or null when there is none. */
export async function warmStoreReady(): Promise<string | null> {
  const root = inject('warmStore');
  if (!root) return null;
  const store = join(root, 'store');
  const [ready, failed] = [join(root, 'ready'), join(root, 'failed')];
  if (existsSync(ready)) return store;
  // mkdir is atomic: exactly one test process builds.
  if (
    await mkdir(join(root, 'building')).then(
      () => true,
      () => false,
    )
  ) {
    try {
      await buildWarmStore(store, join(root, 'build'));
    } catch (err) {
      await writeFile(failed, String(err));
      throw err;
    } finally {
      await rm(join(root, 'build'), { recursive: true, force: true });
    }
    await writeFile(ready, '');
    return store;
  }
  // A failed or lost build leaves this test a cold store (the builder's test reports why).
  for (const giveUp = Date.now() + WAIT_MS; !existsSync(ready); await sleep(250)) {
    if (existsSync(failed) || Date.now() > giveUp) return null;
  }
  return store;
}

/** Makes the store folder `store`, filled from the suite's warm store when there is one. Returns `store`. */
export async function warmStore(store: string): Promise<string> {
  const warm = await warmStoreReady();
  if (warm) await copyParts(warm, store);
  else await mkdir(store, { recursive: true });
  return store;
}
