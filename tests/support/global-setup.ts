// Vitest global setup: before any test file starts, makes the demo clips of every count the suite
// asks for (so two workers never build the same set at once), and hands the test files the folder
// the warm store (warm-store.ts) is built in, as inject('warmStore'); removes it when the suite ends.
import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { sampleClips, tempDir } from '../helpers.ts';

/** Every sampleClips(count) the suite calls. */
const CLIP_COUNTS = [3, 4, 6, 8, 12];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await tempDir('emoforge-suite-');
  await Promise.all(CLIP_COUNTS.map(async (count) => rm(await sampleClips(count), { recursive: true, force: true })));
  project.provide('warmStore', root);
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
