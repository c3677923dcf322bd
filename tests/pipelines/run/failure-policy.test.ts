// The two failure classes with one policy, proved with a fake stage over three real clips: a
// permanent failure (RecordError) is a cached drop and its partition is stored, so a re-run does no
// work and static-shard peers find the partition at once; a transient one (RetryableError, a
// TransientRecordError, an unclassified error) is not cached, its partition is not stored, and the
// next run retries it.
import { join } from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlan } from '../../../pipelines/config.ts';
import { RecordError, RetryableError, TransientRecordError } from '../../../pipelines/errors.ts';
import { StaticShardExecutor } from '../../../pipelines/executors/static-shard.ts';
import { runPipeline } from '../../../pipelines/runner.ts';
import type { SegmentStage } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { z } from 'zod';
import { STAGES } from '../../../stages/index.ts';
import { sampleClips, storeKeys, tempDir } from '../../helpers.ts';

type Mode = 'permanent' | 'retryable' | 'transient-record' | 'unexpected';
let mode: Mode = 'permanent';
let calls = 0;

/** Fails every segment the way `mode` says, and counts how often it was asked. */
const flaky: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'flaky',
  version: 1,
  configSchema: z.object({}).strict(),
  reads: [],
  adds: ['transcript', 'labels', 'description', 'qa'],
  cache: true,
  async run() {
    calls++;
    if (mode === 'permanent') throw new RecordError('bad-audio', 'the WAV has no samples (the same bytes fail the same way every run)');
    if (mode === 'retryable') throw new RetryableError('teacher answered 503', { service: 'teachers.fake.endpoint' });
    if (mode === 'transient-record') throw new TransientRecordError('asr-failed', 'pocketsphinx was killed by SIGKILL', { service: 'pocketsphinx' });
    throw new TypeError('cannot read properties of undefined');
  },
};
const REGISTRY = new Map([...STAGES, ['flaky', flaky]]);

function plan(partitions: number, withGlobal = false) {
  const stages = withGlobal
    ? [
        'ingest',
        { segment: { strategy: 'whole', frames: 0 } },
        'flaky',
        { dedup: { fields: ['description'] } },
        { filter: { grounding: 'off' } },
        { write: { seed: 't' } },
      ]
    : ['ingest', { segment: { strategy: 'whole', frames: 0 } }, 'flaky', { write: { seed: 't' } }];
  return buildPlan('policy.yaml', { name: 'policy', partitions, concurrency: 2, stages }, REGISTRY);
}

function run(input: string, work: string, options: { executor?: StaticShardExecutor; partitions?: number; withGlobal?: boolean } = {}) {
  return runPipeline(plan(options.partitions ?? 3, options.withGlobal), {
    store: new LocalStore(join(work, 'store')),
    outDir: join(work, 'out'),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    input,
    executor: options.executor,
  });
}

let input: string;
beforeAll(async () => {
  input = await sampleClips(3);
});

describe('permanent failures', () => {
  it('are cached drops: the partition is stored and a re-run asks the stage nothing', async () => {
    const work = await tempDir('emoforge-policy-');
    mode = 'permanent';
    calls = 0;
    const first = await run(input, work);
    expect(calls).toBe(3);
    expect(first.stats.flaky.dropped['bad-audio']).toBe(3);
    expect(first.incomplete).toBeUndefined();
    expect(first.sink).toBeDefined();
    const stored = await storeKeys(join(work, 'store'), 'partitions');
    expect(stored.length).toBe(first.partitions.total);

    calls = 0;
    const second = await run(input, work);
    expect(calls).toBe(0);
    expect(second.partitions.cached).toBe(second.partitions.total);
    expect(second.stats.flaky.dropped['bad-audio']).toBe(3);
  }, 120_000);

  it('let static-shard peers go on at once instead of waiting for a partition that is never stored', async () => {
    const work = await tempDir('emoforge-policy-shards-');
    mode = 'permanent';
    // dedup (global) between two record phases: each worker needs every partition of the first.
    const started = Date.now();
    const workers = await Promise.all(
      [0, 1].map((index) =>
        run(input, work, { partitions: 4, withGlobal: true, executor: new StaticShardExecutor({ index, count: 2 }, { pollMs: 50, takeoverAfterMs: 60_000 }) }),
      ),
    );
    expect(Date.now() - started).toBeLessThan(45_000);
    // Each worker waited for (and got) the other's partitions of the first phase.
    expect(workers.some((w) => (w.partitions.remote ?? 0) > 0)).toBe(true);
  }, 120_000);
});

describe('transient failures', () => {
  for (const [kind, reason, service] of [
    ['retryable', 'service-unavailable', 'teachers.fake.endpoint'],
    ['transient-record', 'asr-failed', 'pocketsphinx'],
    ['unexpected', 'stage-error', 'flaky (unexpected error)'],
  ] as const) {
    it(`(${kind}) are not cached: no partition is stored and the next run asks again`, async () => {
      const work = await tempDir('emoforge-policy-');
      mode = kind;
      calls = 0;
      const first = await run(input, work);
      expect(calls).toBe(3);
      expect(first.stats.flaky.dropped[reason]).toBe(3);
      expect(await storeKeys(join(work, 'store'), 'partitions')).toEqual([]);
      // No published version to keep their rows from: nothing is published, and the summary says what failed.
      expect(first.sink).toBeUndefined();
      expect(first.incomplete).toEqual({ records: 3, failed: [{ service, stage: 'flaky', reason, records: 3 }] });

      calls = 0;
      const second = await run(input, work);
      expect(calls).toBe(3);
      expect(second.partitions.cached).toBe(0);
    }, 120_000);
  }
});
