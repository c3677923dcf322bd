import { defineConfig } from 'vitest/config';
import SlowestFirst from './tests/support/slowest-first.ts';

/**
 * Files that start servers, browsers, workers or CLIs, or load the face models: each in a fresh
 * process. Every other file shares its worker's module cache with the files before it (isolate:
 * false), which spares each of them re-importing the pipeline (most of a unit file's time).
 */
const ISOLATED = ['tests/e2e/**/*.test.ts', 'tests/pipelines/executors/**/*.test.ts', 'tests/stages/cues/visual.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: true,
    // Three on two cores: e2e files spend much of their time waiting on the processes they start.
    maxWorkers: 3,
    // The suite's own files fill the cores: a pipeline run in a test (and the CLIs it starts) keeps
    // one face worker instead of loading the models again for a second (tests/pipelines/worker-pool.test.ts
    // covers the default).
    env: { EMOFORGE_FACE_WORKERS: '1' },
    sequence: { sequencer: SlowestFirst },
    projects: [
      // The global setup makes the demo clips (for both projects) and the e2e files' warm store.
      { extends: true, test: { name: 'isolated', include: ISOLATED, globalSetup: ['tests/support/global-setup.ts'] } },
      { extends: true, test: { name: 'shared', include: ['tests/**/*.test.ts'], exclude: ISOLATED, isolate: false } },
    ],
  },
});
