// The runner over fake stages and a real LocalStore in a temp folder, no media: a listing source,
// a clip stage that fans out, segment stages that tag, drop and fail on demand, a global stage
// between two record phases, and a sink that collects what reaches it.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Clip, Drop, Segment } from '../../schemas/records.ts';
import { buildPlan, type AnyStage } from '../../pipelines/config.ts';
import { FatalError, RecordError, RetryableError, TransientRecordError } from '../../pipelines/errors.ts';
import type { PartitionExecutor } from '../../pipelines/executors/partition-executor.ts';
import { StaticShardExecutor } from '../../pipelines/executors/static-shard.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import type { SinkStage } from '../../pipelines/sink.ts';
import { drop, runGlobalInMemory, type ClipStage, type GlobalStage, type SegmentStage, type SourceStage } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const NoConfig = z.object({}).strict() as z.ZodType<Record<string, never>>;

function clip(name: string, partition: number): Clip {
  return {
    id: sha(`clip ${name}`),
    uri: `${name}.mp4`,
    name,
    bytes: 1,
    probe: { duration: 4, formatName: 'mov', hasVideo: true, hasAudio: true },
    manifest: {},
    partition,
  };
}

// Partition 0 holds a and b, 1 holds c, 2 holds d; `split` makes 1 + 2 + 3 + 2 = 8 segments, and
// `gate` drops the one with index 2 (c's third), so 7 reach the sink.
const CLIPS = [clip('a', 0), clip('b', 0), clip('c', 1), clip('d', 2)];
const PIECES: Record<string, number> = { a: 1, b: 2, c: 3, d: 2 };
const SEGMENTS = 8;
const KEPT = 7;

type Failure = 'none' | 'permanent' | 'retryable' | 'transient-record' | 'unexpected' | 'fatal';

/** What the fake stages did in one test. */
let calls: Record<'split' | 'gate' | 'tag' | 'flaky' | 'decide' | 'after', number>;
let failure: Failure;
let onTag: (() => void) | undefined;
let decided: string[];
let afterSaw: (string | undefined)[];
let published: Segment[];
let sinkDrops: readonly Drop[];
let sinkStages: readonly string[];

const listing: SourceStage<Record<string, never>> = {
  kind: 'source',
  name: 'listing',
  version: 1,
  configSchema: NoConfig,
  async run() {
    return { clips: CLIPS, drops: [], seen: CLIPS.length, root: '/clips' };
  },
};

const split: ClipStage<Record<string, never>> = {
  kind: 'clip',
  name: 'split',
  version: 1,
  configSchema: NoConfig,
  reads: [],
  adds: [],
  cache: true,
  async run(source) {
    calls.split++;
    return Array.from({ length: PIECES[source.name] }, (_, index) => ({
      id: sha(`${source.id}/${index}`),
      clipId: source.id,
      clip: source,
      index,
      start: index,
      end: index + 1,
    }));
  },
};

const gate: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'gate',
  version: 1,
  configSchema: NoConfig,
  reads: [],
  adds: [],
  cache: true,
  async run(segment) {
    calls.gate++;
    return segment.index === 2 ? drop('too-short', `${segment.clip.name}#2 is too short`) : segment;
  },
};

const tag: SegmentStage<{ word: string }> = {
  kind: 'segment',
  name: 'tag',
  version: 1,
  configSchema: z.object({ word: z.string().default('said') }).strict() as z.ZodType<{ word: string }>,
  reads: [],
  adds: ['transcript'],
  cache: true,
  async run(segment, config) {
    calls.tag++;
    onTag?.();
    return { ...segment, transcript: { text: `${config.word} ${segment.clip.name}#${segment.index}`, language: 'en', engine: 'fake' } };
  },
};

/** Fails every segment of clip b the way `failure` says and passes the rest; `fatal` fails every segment. */
const flaky: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'flaky',
  version: 1,
  configSchema: NoConfig,
  reads: [],
  adds: [],
  cache: true,
  async run(segment) {
    calls.flaky++;
    if (failure === 'fatal') throw new FatalError('the store is gone');
    if (segment.clip.name !== 'b' || failure === 'none') return segment;
    if (failure === 'permanent') throw new RecordError('bad-input', 'the same bytes fail the same way every run');
    if (failure === 'retryable') throw new RetryableError('teacher answered 503', { service: 'teachers.fake.endpoint' });
    if (failure === 'transient-record') throw new TransientRecordError('asr-failed', 'the ASR child was killed', { service: 'asr' });
    throw new TypeError('cannot read properties of undefined');
  },
};

/** Needs the whole corpus: tells every segment how many there are. */
const tally: GlobalStage<Record<string, never>, string> = {
  kind: 'global',
  name: 'tally',
  version: 1,
  configSchema: NoConfig,
  reads: [],
  adds: ['subtitle'],
  cache: false,
  project: (segment) => segment.id,
  async decide(ids) {
    calls.decide++;
    decided = [...ids];
    return { apply: (segment) => ({ ...segment, subtitle: `one of ${ids.length}` }) };
  },
  run(segments, config, ctx) {
    return runGlobalInMemory(tally, segments, config, ctx);
  },
};

/** A record stage after the global one: records what it sees. */
const after: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'after',
  version: 1,
  configSchema: NoConfig,
  reads: ['subtitle'],
  adds: [],
  cache: false,
  async run(segment) {
    calls.after++;
    afterSaw.push(segment.subtitle);
    return segment;
  },
};

const collect: SinkStage<Record<string, never>> = {
  kind: 'sink',
  name: 'collect',
  version: 1,
  configSchema: NoConfig,
  reads: [],
  adds: [],
  async run(input) {
    for await (const segment of input.segments.stream()) published.push(segment);
    sinkDrops = input.drops;
    sinkStages = input.run.stages.map((stage) => stage.name);
    return { splits: { train: input.segments.count }, shards: [], unchanged: false };
  },
};

const REGISTRY = new Map<string, AnyStage>([listing, split, gate, tag, flaky, tally, after, collect].map((stage) => [stage.name, stage]));
const TAGGED = (word = 'said') => ['listing', 'split', 'gate', { tag: { word } }, 'collect'];
const WITH_GLOBAL = ['listing', 'split', 'gate', 'tag', 'tally', 'after', 'collect'];
const FLAKY = (word = 'said') => ['listing', 'split', 'flaky', { tag: { word } }, 'collect'];

let work: string;
let store: LocalStore;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'emoforge-runner-'));
  store = new LocalStore(join(work, 'store'));
  reset();
  failure = 'none';
  onTag = undefined;
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Forgets what the fake stages did (not what the store holds). */
function reset(): void {
  calls = { split: 0, gate: 0, tag: 0, flaky: 0, decide: 0, after: 0 };
  decided = [];
  afterSaw = [];
  published = [];
  sinkDrops = [];
  sinkStages = [];
}

function run(stages: unknown[], signal = new AbortController().signal, executor?: StaticShardExecutor) {
  const plan = buildPlan('fake.yaml', { name: 'fake', partitions: 3, concurrency: 1, stages }, REGISTRY);
  return runPipeline(plan, { store, outDir: join(work, 'out'), log: pino({ level: 'silent' }), signal, executor });
}

async function keys(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const key of store.list(prefix)) found.push(key);
  return found.sort();
}

async function cachedOutcomes(stage: string): Promise<{ kind: string; reason?: string }[]> {
  return Promise.all((await keys(`cache/stages/${stage}/`)).map(async (key) => JSON.parse((await store.get(key))!.toString('utf8'))));
}

describe('runPipeline over fake stages', () => {
  it('fans out: every segment a clip stage yields goes through the segment stages to the sink', async () => {
    const summary = await run(TAGGED());
    expect(summary.stats.split).toMatchObject({ in: CLIPS.length, out: SEGMENTS });
    expect(calls.gate).toBe(SEGMENTS);
    expect(summary.stats.tag).toMatchObject({ in: KEPT, out: KEPT });
    expect(summary.segments).toBe(KEPT);
    expect(published.map((s) => s.transcript?.text).sort()).toEqual(['said a#0', 'said b#0', 'said b#1', 'said c#0', 'said c#1', 'said d#0', 'said d#1']);
    expect(summary.sink?.splits).toEqual({ train: KEPT });
    expect(summary.mode).toEqual({ kind: 'local' });
  });

  it('counts a returned drop under its reason, hands it to the sink with its stage, and caches it', async () => {
    const summary = await run(TAGGED());
    expect(summary.stats.gate.dropped).toEqual({ 'too-short': 1 });
    expect(summary.drops).toBe(1);
    expect(sinkDrops).toEqual([expect.objectContaining({ clipId: CLIPS[2].id, stage: 'gate', reason: 'too-short', detail: 'c#2 is too short' })]);
    expect(sinkDrops[0].transient).toBeUndefined();
    const outcomes = await cachedOutcomes('gate');
    expect(outcomes).toHaveLength(SEGMENTS);
    expect(outcomes.filter((o) => o.kind === 'drop')).toEqual([{ kind: 'drop', reason: 'too-short', detail: 'c#2 is too short' }]);
  });

  it('a second run finds every partition in the store and asks no stage anything', async () => {
    await run(TAGGED());
    expect(await keys('partitions/')).toHaveLength(3);
    reset();
    const second = await run(TAGGED());
    expect(calls).toEqual({ split: 0, gate: 0, tag: 0, flaky: 0, decide: 0, after: 0 });
    expect(second.partitions).toMatchObject({ total: 3, cached: 3 });
    expect(second.stats.gate.dropped).toEqual({ 'too-short': 1 });
    expect(published.map((s) => s.transcript?.text).sort()).toHaveLength(KEPT);
  });

  it('a stored partition result cut short stops the next run with an error naming it, not a corpus without its segments', async () => {
    await run(TAGGED());
    const [damaged] = await keys('partitions/');
    expect(damaged).toMatch(/^partitions\/[0-9a-f]{2}\/[0-9a-f]{64}\.ndjson$/);
    const bytes = (await store.get(damaged))!;
    await store.put(damaged, bytes.subarray(0, bytes.length - 5));
    reset();
    const error = await run(TAGGED()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(`${damaged} in ${store.location} is damaged`);
    expect(published).toEqual([]);
    // Deleting it, as the message says, redoes that partition alone.
    await store.delete(damaged);
    reset();
    const again = await run(TAGGED());
    expect(again.partitions).toMatchObject({ total: 3, cached: 2 });
    expect(published).toHaveLength(KEPT);
  });

  it('per-record cache: a later stage changed re-runs only that stage; the earlier ones and their drops come from the cache', async () => {
    await run(TAGGED('said'));
    reset();
    const second = await run(TAGGED('whispered'));
    expect(second.partitions.cached).toBe(0);
    expect(calls.split).toBe(0);
    expect(calls.gate).toBe(0);
    expect(calls.tag).toBe(KEPT);
    expect(second.stats.split.cached).toBe(CLIPS.length);
    expect(second.stats.gate).toMatchObject({ cached: SEGMENTS, dropped: { 'too-short': 1 } });
    expect(second.stats.tag.cached).toBe(0);
    expect(published.map((s) => s.transcript?.text)).toContain('whispered c#1');
  });

  it('a global stage decides over the whole corpus between two record phases', async () => {
    const summary = await run(WITH_GLOBAL);
    expect(calls.decide).toBe(1);
    // Every kept segment of every partition, in id order.
    expect(decided).toEqual(published.map((s) => s.id).sort());
    expect(decided).toHaveLength(KEPT);
    expect(afterSaw).toEqual(Array(KEPT).fill(`one of ${KEPT}`));
    expect(published.every((s) => s.subtitle === `one of ${KEPT}`)).toBe(true);
    expect(summary.stats.tally).toMatchObject({ in: KEPT, out: KEPT });
    // Both record phases are partitioned: 3 partitions each.
    expect(summary.partitions.total).toBe(6);
    // The manifest's stage list is the plan's, source to sink.
    expect(sinkStages).toEqual(['listing', 'split', 'gate', 'tag', 'tally', 'after', 'collect']);
  });

  it("an aborted run ends with the signal's reason, stores no partition, and the next run finishes the work", async () => {
    const controller = new AbortController();
    const reason = new FatalError('interrupted: run the same command again to resume');
    onTag = () => controller.abort(reason);
    await expect(run(TAGGED(), controller.signal)).rejects.toBe(reason);
    // The first clip's segments finish their stages; no other clip is started.
    expect(calls.split).toBe(1);
    expect(await keys('partitions/')).toEqual([]);
    expect(published).toEqual([]);

    reset();
    onTag = undefined;
    const second = await run(TAGGED());
    expect(second.segments).toBe(KEPT);
    // The one clip split before the abort is in the stage cache.
    expect(calls.split).toBe(CLIPS.length - 1);
  });

  it('a static worker reports its mode, stores its partitions and publishes nothing; a local run then publishes from the store', async () => {
    const worker = await run(WITH_GLOBAL, undefined, new StaticShardExecutor({ index: 0, count: 1 }));
    expect(worker.mode).toEqual({ kind: 'static-worker', index: 0, count: 1 });
    expect(worker.sink).toBeUndefined();
    expect(published).toEqual([]);
    // It stops after the last record phase's share: nothing after it runs on a worker.
    expect(calls).toMatchObject({ decide: 1, after: KEPT });
    reset();
    const finalize = await run(WITH_GLOBAL);
    expect(finalize.mode).toEqual({ kind: 'local' });
    expect(finalize.partitions).toMatchObject({ total: 6, cached: 6 });
    expect(calls).toMatchObject({ split: 0, after: 0 });
    expect(published).toHaveLength(KEPT);
  });

  it('an abort without an error for a reason ends the run with a FatalError', async () => {
    const controller = new AbortController();
    onTag = () => controller.abort('stop');
    await expect(run(TAGGED(), controller.signal)).rejects.toThrow(new FatalError('run aborted'));
  });
});

describe('the error policy', () => {
  it('a RecordError is a permanent drop: cached, its partition stored, the run publishes', async () => {
    failure = 'permanent';
    const first = await run(FLAKY('said'));
    expect(calls.flaky).toBe(SEGMENTS);
    expect(first.stats.flaky.dropped).toEqual({ 'bad-input': 2 });
    expect(sinkDrops.filter((d) => d.stage === 'flaky').map((d) => [d.reason, d.transient])).toEqual([
      ['bad-input', undefined],
      ['bad-input', undefined],
    ]);
    expect(first.incomplete).toBeUndefined();
    expect(first.sink?.splits).toEqual({ train: SEGMENTS - 2 });
    expect(await keys('partitions/')).toHaveLength(3);
    expect((await cachedOutcomes('flaky')).filter((o) => o.kind === 'drop')).toHaveLength(2);

    // A later stage changed: every partition is processed again, and flaky answers from its cache.
    reset();
    const second = await run(FLAKY('whispered'));
    expect(calls.flaky).toBe(0);
    expect(second.stats.flaky).toMatchObject({ cached: SEGMENTS, dropped: { 'bad-input': 2 } });
  });

  it('a result another worker could not store comes back with its segments, and the next phase reads them from there', async () => {
    failure = 'transient-record';
    // Every partition done "elsewhere" (here, but reported as a remote worker's, as the queue coordinator receives it).
    const remote: PartitionExecutor = {
      mode: { kind: 'queue' },
      async obtain(work) {
        return { result: (await work.stored()) ?? (await work.here()), origin: 'remote' };
      },
    };
    const plan = buildPlan(
      'fake.yaml',
      { name: 'fake', partitions: 3, concurrency: 1, stages: ['listing', 'split', 'flaky', 'tally', 'after', 'collect'] },
      REGISTRY,
    );
    const summary = await runPipeline(plan, {
      store,
      outDir: join(work, 'out'),
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      executor: remote,
    });
    // b's two segments failed; partition 0 (a and b) was not stored, yet a's segment reached the global stage and the phase after it.
    expect(await keys('partitions/')).toHaveLength(2 + 3);
    expect(decided).toHaveLength(SEGMENTS - 2);
    expect(decided).toContain(sha(`${CLIPS[0].id}/0`));
    expect(afterSaw).toHaveLength(SEGMENTS - 2);
    expect(summary.incomplete?.records).toBe(2);
  });

  for (const [kind, reason, service] of [
    ['retryable', 'service-unavailable', 'teachers.fake.endpoint'],
    ['transient-record', 'asr-failed', 'asr'],
    ['unexpected', 'stage-error', 'flaky (unexpected error)'],
  ] as const) {
    it(`${kind}: a transient drop, not cached, its partition not stored, retried by the next run`, async () => {
      failure = kind;
      const first = await run(FLAKY());
      expect(first.stats.flaky.dropped).toEqual({ [reason]: 2 });
      expect(sinkDrops).toEqual([]);
      expect(first.sink).toBeUndefined();
      expect(first.incomplete).toEqual({ records: 2, failed: [{ service, stage: 'flaky', reason, records: 2 }] });
      // b's two segments left nothing in the stage cache, and b's partition (0) is not stored.
      expect(await cachedOutcomes('flaky')).toHaveLength(SEGMENTS - 2);
      expect(await keys('partitions/')).toHaveLength(2);

      reset();
      failure = 'none';
      const second = await run(FLAKY());
      expect(calls.flaky).toBe(2);
      expect(second.partitions).toMatchObject({ total: 3, cached: 2 });
      expect(second.incomplete).toBeUndefined();
      expect(second.sink?.splits).toEqual({ train: SEGMENTS });
      expect(await keys('partitions/')).toHaveLength(3);
    });
  }

  it('a FatalError from a stage stops the run', async () => {
    failure = 'fatal';
    await expect(run(FLAKY())).rejects.toThrow(new FatalError('the store is gone'));
    expect(await keys('partitions/')).toEqual([]);
    expect(published).toEqual([]);
  });
});
