// Vitest global setup: before any test file starts, makes the demo clips every count the suite asks
// for (so two workers never build the same set at once) and the suite's warm store (warm-store.ts),
// handed to the test files as inject('warmStore'); removes its own folder when the suite ends.
import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { sampleClips, tempDir } from '../helpers.ts';
import { buildWarmStore } from './warm-store.ts';

/** Every sampleClips(count) the suite calls. */
const CLIP_COUNTS = [3, 4, 6, 8, 12];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await tempDir('emoforge-suite-');
  await Promise.all(CLIP_COUNTS.map(async (count) => rm(await sampleClips(count), { recursive: true, force: true })));
  await buildWarmStore(`${root}/store`, `${root}/build`);
  await rm(`${root}/build`, { recursive: true, force: true });
  project.provide('warmStore', `${root}/store`);
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
