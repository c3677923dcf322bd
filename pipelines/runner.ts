// The runner: ingest → partitions of clips through the record stages → the sink. It owns caching
// (per-record stage results and whole partition results, both content-addressed in the store),
// counters, drops, timing and concurrency; stages only transform records.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { Segment, type Clip, type Drop } from '../schemas/records.ts';
import type { Plan, PlannedStage } from './config.ts';
import { segmentDrop } from './drops.ts';
import { FatalError, RecordError, RetryableError } from './errors.ts';
import { publishedManifest, transientFailures, type TransientFailures } from './publish/publish-guard.ts';
import { fingerprint } from './fingerprint.ts';
import type { SinkResult, SinkStage } from './sink.ts';
import { StoredCorpus, type CorpusPart } from './corpus.ts';
import { isDrop, type DropResult, type GlobalStage, type RecordStage, type StageContext, type WorkKind } from './stage.ts';
import { emptyStageStats, mergeStats, statsFor, type StatsTable } from './stats.ts';
import type { Store } from './store/store.ts';
import { createTeacherRegistry, PIPELINE_ROLES } from './teachers/registry.ts';
import type { TeacherRegistry } from './teachers/teacher.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TeacherUsageTable } from './teachers/usage.ts';
import { localExecutor, type PartitionExecutor, type PartitionResult, type PartitionWork } from './executors/partition-executor.ts';

export interface RunOptions {
  readonly store: Store;
  readonly outDir: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly input?: string;
  /** Input sources refused before the run (see SourceOptions.refused). */
  readonly refusedInputs?: readonly { readonly uri: string; readonly detail: string }[];
  readonly limit?: number;
  /** Hash every input file again (SourceOptions.rehash). */
  readonly rehash?: boolean;
  readonly progress?: ProgressListener;
  /**
   * Project teacher costs without calling any teacher endpoint and publish nothing. Media, ASR and
   * cue results are real and cached; nothing computed from stand-in teacher text is.
   */
  readonly dryRun?: boolean;
  /**
   * Batch-mode teachers: after a pass that deferred requests, wait for the batches and run again
   * until everything is answered (default true). False: submit and return; a later run collects.
   */
  readonly waitForBatches?: boolean;
  /** Hears about batch passes: submissions and each poll. */
  readonly onBatches?: (event: BatchEvent) => void;
  /**
   * Where partitions are processed: here (default), this worker's share of a static split
   * (`--worker i/N`, which stops before the last global stages and the sink), or a queue.
   */
  readonly executor?: PartitionExecutor;
}

export interface BatchEvent {
  readonly pass: number;
  /** Requests submitted after this pass. */
  readonly submitted: number;
  /** Requests in batches that have not ended, and those batches. */
  readonly pending: number;
  readonly openBatches: number;
}

/** What the progress display hears about. Stats are live objects; read, never mutate. */
export interface ProgressListener {
  /** A live view of every stage's counters, finished and in-flight partitions together. */
  watch(snapshot: () => StatsTable): void;
  phase(name: 'ingest' | 'partitions' | 'write', total?: number): void;
  ingestProgress(done: number, total: number): void;
  partitionDone(done: number, total: number, cached: boolean, stats: StatsTable): void;
}

export interface RunSummary {
  readonly stats: StatsTable;
  /** Teacher calls, cache hits, tokens and dollars per role and teacher, for this run. */
  readonly teacherUsage: TeacherUsageTable;
  /** Dry runs: per "role/teacher", whether the projection used observed answer lengths or stand-ins. */
  readonly projectionBasis?: Record<string, { readonly basis: 'observed' | 'stand-in'; readonly observedAnswers: number }>;
  /**
   * Partitions of all record phases: `cached` were found in the store, `remote` were processed by
   * other workers during this run, `skipped` belong to other static workers and were not needed here.
   */
  readonly partitions: { total: number; cached: number; remote?: number; skipped?: number };
  /** The executor's name ("local", "worker 0/4", "bullmq"). */
  readonly executor?: string;
  readonly clips: number;
  readonly segments: number;
  readonly drops: number;
  /** Undefined on a dry run, which publishes nothing. */
  readonly sink?: SinkResult;
  readonly dryRun: boolean;
  readonly wallMs: number;
  /** Records of this pass wait for batch answers (a static worker, which never publishes, says so here). */
  readonly batchPending?: boolean;
  /**
   * Records failed transiently and there was no published version to keep their rows from: nothing
   * was published (the CLI exits 3). Also set, beside `sink`, when a publish carried rows forward.
   */
  readonly incomplete?: TransientFailures;
  /** Batch mode: passes run, requests submitted in all, and whether batches are still running (nothing published). */
  readonly batches?: { readonly passes: number; readonly submitted: number; readonly waiting: boolean };
}

type CachedOutcome = { kind: 'ok'; value: unknown } | { kind: 'drop'; reason: string; detail: string };
/**
 * A transient failure's drop (`transient` names what failed) is not cached: the next run retries
 * it. A permanent one (a returned drop, a RecordError) is cached like any result.
 */
type Outcome = CachedOutcome & { readonly transient?: string };

export async function runPipeline(plan: Plan, options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { store, log, signal } = options;
  const teachers = createTeacherRegistry(plan.teachers, { store, log, signal, budget: plan.config.budget, dryRun: options.dryRun === true });
  const batches = teachers.batches?.enabled() ? teachers.batches : undefined;
  let submitted = 0;
  try {
    return await runPasses();
  } finally {
    await options.executor?.close?.();
  }

  async function runPasses(): Promise<RunSummary> {
    for (let pass = 1; ; pass++) {
      const summary = await runPass(plan, options, teachers, started);
      if (!batches || summary.sink || summary.dryRun || !summary.batchPending) return batches ? { ...summary, batches: { passes: pass, submitted, waiting: false } } : summary;
      // Records are waiting for batch answers: submit what this pass deferred, wait, run again.
      const now = await batches.submit(signal);
      submitted += now;
      let progress = await batches.poll(signal);
      options.onBatches?.({ pass, submitted: now, ...progress });
      if (options.waitForBatches === false) return { ...summary, wallMs: performance.now() - started, batches: { passes: pass, submitted, waiting: progress.openBatches > 0 } };
      while (progress.openBatches > 0) {
        await sleep(batches.pollIntervalMs(), undefined, { signal });
        progress = await batches.poll(signal);
        options.onBatches?.({ pass, submitted: 0, ...progress });
      }
      log.info({ pass }, 'batches ended; running the next pass');
    }
  }
}

async function runPass(plan: Plan, options: RunOptions, teachers: TeacherRegistry, started: number): Promise<RunSummary> {
  const { store, log, signal } = options;
  const dryRun = options.dryRun === true;
  // On a dry run, the first stage that asks a teacher and every stage after it see stand-in text:
  // none of their results may be cached.
  const ordered = plan.phases.flatMap((p): PlannedStage[] => (p.kind === 'global' ? [p.stage] : [...p.stages]));
  const firstTeacherStage = ordered.findIndex((p) => ((p.stage as { teacherRoles?: readonly string[] }).teacherRoles ?? []).length > 0);
  const uncached = new Set(dryRun && firstTeacherStage >= 0 ? ordered.slice(firstTeacherStage).map((p) => p.stage.name) : []);
  const stats: StatsTable = {};

  // 1. Sources → clips.
  options.progress?.phase('ingest');
  const ingestStats = statsFor(stats, plan.source.stage.name);
  const ingestStarted = performance.now();
  const source = await plan.source.stage.run(
    plan.source.config,
    { input: options.input, limit: options.limit, rehash: options.rehash, partitions: plan.config.partitions, refused: options.refusedInputs, onProgress: (d, t) => options.progress?.ingestProgress(d, t) },
    contextFor(plan.source.stage.name, ingestStats, { store, log, signal, teachers, root: '' }),
  );
  ingestStats.wallMs += performance.now() - ingestStarted;
  ingestStats.in += source.seen;
  ingestStats.out += source.clips.length;
  for (const d of source.drops) ingestStats.dropped[d.reason] = (ingestStats.dropped[d.reason] ?? 0) + 1;
  log.info({ stage: 'ingest', root: source.root, clips: source.clips.length, rejected: source.drops.length }, 'sources listed');

  // 2. Phases: partitions of records through per-record stages, and stages over the whole corpus.
  const drops: Drop[] = [...source.drops];
  // What the teachers are (model, params, prompts), not how fast they are reached.
  const teacherFingerprint = fingerprint(PIPELINE_ROLES.map((role) => teachers.forRole(role).fingerprint));
  const finished: StatsTable = {};
  const inFlight = new Set<StatsTable>();
  let merged = false;
  options.progress?.watch(() => {
    const view: StatsTable = {};
    mergeStats(view, stats);
    if (!merged) mergeStats(view, finished);
    for (const table of inFlight) mergeStats(view, table);
    return view;
  });
  const shared: Shared = { store, log, signal, teachers, root: source.root, uncached };
  const executor = options.executor ?? localExecutor;
  const partitionCount = { total: 0, cached: 0, remote: 0, skipped: 0 };
  // Between phases the corpus stays in the store, a partition at a time (pipelines/corpus.ts).
  let input: PhaseInput = clipInput(source.clips);
  let corpus: StoredCorpus | undefined;
  const lastRecordPhase = plan.phases.reduce((last, p, i) => (p.kind === 'global' ? last : i), -1);
  for (const [index, phase] of plan.phases.entries()) {
    // A static worker stops after its share of the last record phase: `finalize` does the rest.
    if (!executor.publishes && index > lastRecordPhase) break;
    if (phase.kind === 'global') {
      mergeStats(stats, finished);
      for (const key of Object.keys(finished)) delete finished[key];
      if (!corpus) throw new FatalError(`global stage ${phase.stage.stage.name} has no record phase before it`);
      corpus = await runGlobalStage(phase.stage, corpus, drops, stats, shared);
      input = corpusInput(corpus);
      continue;
    }
    const result = await runRecordPhase(phase.stages, input, {
      shared,
      options,
      teacherFingerprint,
      finished,
      inFlight,
      concurrency: plan.config.concurrency,
      executor,
      index,
      needed: executor.publishes || index < lastRecordPhase,
    });
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new FatalError('run aborted');
    partitionCount.total += result.partitions.total;
    partitionCount.cached += result.partitions.cached;
    partitionCount.remote += result.partitions.remote;
    partitionCount.skipped += result.partitions.skipped;
    drops.push(...result.drops);
    corpus = new StoredCorpus(store, result.parts);
    input = corpusInput(corpus);
  }
  mergeStats(stats, finished);
  merged = true;
  // What this run learnt of answer lengths, for later dry runs (a dry run learns nothing).
  await teachers.persist?.();

  // 3. The sink (a dry run publishes nothing, nor does a batch pass with records still waiting,
  // nor a static worker). One pass over the corpus first: the decisions of the last global stages
  // meet every segment (their drops and counters), and the sink's view of each segment is taken.
  const batchPending = drops.some((d) => d.reason === 'teacher-batch-pending');
  const publishing = !(dryRun || !executor.publishes || batchPending);
  const counted = await settle(corpus, publishing ? plan.sink : undefined);
  if (!publishing) {
    return {
      batchPending,
      stats,
      teacherUsage: teachers.usage?.() ?? {},
      projectionBasis: teachers.projectionBasis?.() ?? {},
      partitions: partitionCount,
      executor: executor.name,
      clips: source.clips.length,
      segments: counted.segments,
      drops: drops.length,
      dryRun,
      wallMs: performance.now() - started,
    };
  }
  // The publish guard: records that failed transiently keep their published rows; with nothing
  // published yet, nothing is published now.
  const failures = transientFailures(drops);
  const guarded = failures.records > 0 && !plan.config.publish.allowPartial;
  if (guarded) log.warn({ records: failures.records, failed: failures.failed }, 'records failed transiently; their published rows are kept');
  if (guarded && !(await publishedManifest(options.outDir, plan.config.name))) {
    return {
      incomplete: failures,
      stats,
      teacherUsage: teachers.usage?.() ?? {},
      partitions: partitionCount,
      executor: executor.name,
      clips: source.clips.length,
      segments: counted.segments,
      drops: drops.length,
      dryRun,
      wallMs: performance.now() - started,
    };
  }
  options.progress?.phase('write');
  const sinkStats = statsFor(stats, plan.sink.stage.name);
  const sinkStarted = performance.now();
  const sink = await plan.sink.stage.run(
    {
      segments: { count: counted.segments, views: counted.views, stream: () => corpus?.stream() ?? emptyStream() },
      drops,
      stats,
      teacherUsage: teachers.usage?.() ?? {},
      run: {
        name: plan.config.name,
        fingerprint: plan.fingerprint,
        stages: [plan.source, ...plan.phases.flatMap((p): PlannedStage[] => (p.kind === 'global' ? [p.stage] : [...p.stages])), plan.sink].map((p) => ({ name: p.stage.name, version: p.stage.version, fingerprint: p.fingerprint })),
        sourcesSeen: source.seen,
      },
      carry: guarded ? drops.filter((d) => d.transient !== undefined) : [],
    },
    plan.sink.config,
    { outDir: options.outDir, store, log: log.child({ stage: plan.sink.stage.name }), signal },
  );
  sinkStats.wallMs += performance.now() - sinkStarted;
  return {
    stats,
    teacherUsage: teachers.usage?.() ?? {},
    dryRun,
    partitions: partitionCount,
    executor: executor.name,
    clips: source.clips.length,
    segments: counted.segments,
    drops: drops.length,
    sink,
    ...(failures.records > 0 ? { incomplete: failures } : {}),
    wallMs: performance.now() - started,
  };
}

interface PhaseContext {
  readonly shared: Shared;
  readonly options: RunOptions;
  readonly teacherFingerprint: string;
  /** stats of finished partitions (cached ones count as cache hits) */
  readonly finished: StatsTable;
  /** stats of partitions being processed, for the live progress view */
  readonly inFlight: Set<StatsTable>;
  readonly concurrency: number;
  readonly executor: PartitionExecutor;
  /** Index of this phase in plan.phases. */
  readonly index: number;
  /** Whether every partition's result is needed here (see PartitionWork.needed). */
  readonly needed: boolean;
}

/** The input of a record phase: its partitions, each read on demand. */
interface PhaseInput {
  readonly partitions: readonly { readonly partition: number; readonly size: number }[];
  load(partition: number): Promise<readonly (Clip | Segment)[]>;
}

/** Ingest's clips (held: they are small), by partition. */
function clipInput(clips: readonly Clip[]): PhaseInput {
  const byPartition = new Map<number, Clip[]>();
  for (const clip of clips) {
    const list = byPartition.get(clip.partition);
    if (list) list.push(clip);
    else byPartition.set(clip.partition, [clip]);
  }
  return {
    partitions: [...byPartition].sort((a, b) => a[0] - b[0]).map(([partition, list]) => ({ partition, size: list.length })),
    load: async (partition) => byPartition.get(partition) ?? [],
  };
}

/** The segments of the phase before, read from the store a partition at a time. */
function corpusInput(corpus: StoredCorpus): PhaseInput {
  const parts = new Map(corpus.parts.map((part) => [part.partition, part]));
  return {
    partitions: corpus.parts.filter((part) => part.count > 0).map((part) => ({ partition: part.partition, size: part.count })),
    load: (partition) => corpus.load(parts.get(partition)!),
  };
}

/**
 * Runs every partition of `input` through `stages`, reusing finished partitions from the store.
 * The executor decides where each partition is processed; work done in this process is limited to
 * `concurrency` partitions at once, while waiting for other workers is not. A partition's inputs are
 * read when its key is computed and again when it is processed here, never held while it waits;
 * its result stays in the store and the phase returns only where each partition's result is.
 */
async function runRecordPhase(
  stages: readonly PlannedStage<RecordStage<any>>[],
  input: PhaseInput,
  phase: PhaseContext,
): Promise<{ parts: CorpusPart[]; drops: Drop[]; partitions: { total: number; cached: number; remote: number; skipped: number } }> {
  const { shared, options, finished, inFlight, executor } = phase;
  const { store, log, signal } = shared;
  const partitions = input.partitions;
  const phaseFingerprint = stages.at(-1)!.fingerprint;
  const parts: CorpusPart[] = [];
  const drops: Drop[] = [];
  const counts = { total: partitions.length, cached: 0, remote: 0, skipped: 0 };
  let done = 0;
  options.progress?.phase('partitions', partitions.length);
  const concurrency = executor.concurrency ?? phase.concurrency;
  const queue = new PQueue({ concurrency });
  // Keys need every input record: read them a few partitions at a time.
  const reading = new PQueue({ concurrency: Number.isFinite(concurrency) ? Math.max(1, concurrency) : Math.max(2, phase.concurrency) });
  await Promise.all(
    partitions.map(async ({ partition, size }) => {
      if (signal.aborted) return;
      const key = await reading.add(async () => partitionKey(phaseFingerprint, phase.teacherFingerprint, await input.load(partition)));
      if (key === undefined || signal.aborted) return;
      const work: PartitionWork = {
        partition,
        phase: phase.index,
        key,
        items: () => input.load(partition),
        size,
        root: shared.root,
        needed: phase.needed,
        stored: () => readPartition(store, key),
        here: () =>
          queue.add(async () => {
            const live: StatsTable = {};
            inFlight.add(live);
            try {
              return await processAndStore(stages, await input.load(partition), key, live, { ...shared, log: log.child({ partition }) });
            } finally {
              inFlight.delete(live);
            }
          }),
      };
      const obtained = await executor.obtain(work, signal);
      if (signal.aborted) return;
      if (!obtained) {
        counts.skipped++;
        return;
      }
      const { result, origin } = obtained;
      if (origin === 'store') counts.cached++;
      if (origin === 'remote') counts.remote++;
      mergeStats(finished, result.stats, origin === 'store');
      // A result processed here that could not be stored is held; any other is in the store.
      const stored = origin !== 'here' || (await store.exists(key));
      parts.push({ partition, key, count: result.segments.length, ...(stored ? {} : { segments: result.segments }) });
      drops.push(...result.drops);
      done++;
      log.info({ partition, inputs: size, segments: result.segments.length, drops: result.drops.length, cached: origin === 'store', origin }, 'partition done');
      options.progress?.partitionDone(done, partitions.length, origin === 'store', finished);
    }),
  );
  parts.sort((a, b) => a.partition - b.partition);
  return { parts, drops, partitions: counts };
}

async function readPartition(store: Store, key: string): Promise<PartitionResult | null> {
  const existing = await store.get(key);
  return existing ? (JSON.parse(existing.toString('utf8')) as PartitionResult) : null;
}

/**
 * Processes one partition and stores its result under `key`: written once, atomically, so done =
 * the object exists. Not stored when records failed with thrown errors (a re-run retries them) or
 * when stand-in teacher text (a dry run) flowed through.
 */
async function processAndStore(stages: readonly PlannedStage<RecordStage<any>>[], items: readonly (Clip | Segment)[], key: string, stats: StatsTable, shared: Shared): Promise<PartitionResult> {
  const result = await processPartition(stages, items, stats, shared);
  if (shared.signal.aborted) throw shared.signal.reason instanceof Error ? shared.signal.reason : new FatalError('run aborted');
  const { transientDrops, ...durable } = result;
  const standIn = stages.some((p) => shared.uncached?.has(p.stage.name));
  if (!transientDrops && !standIn) await shared.store.put(key, JSON.stringify(durable));
  else if (transientDrops) shared.log.warn({ transientDrops }, 'partition had records fail with errors; it will be retried on the next run');
  return result;
}

/** What a queue worker needs to process one partition of a run it did not plan. */
export interface PartitionJob {
  /** Index of the record phase in plan.phases. */
  readonly phase: number;
  /** The key the coordinator expects the result under; checked against the key computed here. */
  readonly key: string;
  readonly items: readonly (Clip | Segment)[];
  readonly root: string;
}

/**
 * Processes one partition of a run for a queue worker, with this process's own teachers (same
 * response cache and limits as every other worker), and stores the result. Refuses a job whose key
 * this code would not produce (a worker running another emoforge version or config): its result
 * would be stored where the coordinator never looks.
 */
export async function runPartitionJob(plan: Plan, job: PartitionJob, context: { readonly store: Store; readonly log: Logger; readonly signal: AbortSignal }): Promise<PartitionResult> {
  const phase = plan.phases[job.phase];
  if (!phase || phase.kind === 'global') throw new FatalError(`job names phase ${job.phase}, which is not a record phase of this config`);
  const teachers = createTeacherRegistry(plan.teachers, { store: context.store, log: context.log, signal: context.signal, budget: plan.config.budget });
  const teacherFingerprint = fingerprint(PIPELINE_ROLES.map((role) => teachers.forRole(role).fingerprint));
  const key = partitionKey(phase.stages.at(-1)!.fingerprint, teacherFingerprint, job.items);
  if (key !== job.key) throw new FatalError(`partition key mismatch (coordinator ${job.key}, worker ${key}): this worker runs a different emoforge version, config or teacher setup than the run that queued the job`);
  const result = await processAndStore(phase.stages, job.items, key, {}, { store: context.store, log: context.log, signal: context.signal, teachers, root: job.root });
  await teachers.persist?.();
  return result;
}

/**
 * A global stage over the stored corpus: one pass takes its view of every segment (and records the
 * decisions of earlier global stages that had not met them yet), the stage decides over the views,
 * and its decision joins the corpus, applied to each segment whenever the corpus is read.
 */
async function runGlobalStage(planned: PlannedStage<GlobalStage<any>>, corpus: StoredCorpus, drops: Drop[], stats: StatsTable, shared: Shared): Promise<StoredCorpus> {
  const { stage, config } = planned;
  const stageStats = statsFor(stats, stage.name);
  const ctx = contextFor(stage.name, stageStats, shared);
  const started = performance.now();
  try {
    const viewed: { id: string; view: unknown }[] = [];
    for await (const segment of corpus.stream()) viewed.push({ id: segment.id, view: await stage.project(segment, config, ctx) });
    // The views in id order, as the corpus was handed to global stages when it was held whole.
    viewed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    stageStats.in += viewed.length;
    const decision = await stage.decide(
      viewed.map((v) => v.view),
      config,
      ctx,
    );
    return corpus.withLayer({
      stage: stage.name,
      decision,
      flag: ctx.flag!,
      record(input, result) {
        if (isDrop(result)) {
          stageStats.dropped[result.reason] = (stageStats.dropped[result.reason] ?? 0) + 1;
          drops.push(segmentDrop(result.segment ?? input, stage.name, result));
          return;
        }
        const check = Segment.safeParse(result);
        if (!check.success) throw new FatalError(`global stage ${stage.name} produced an invalid segment: ${check.error.issues[0]?.message}`);
        stageStats.out++;
      },
    });
  } finally {
    stageStats.wallMs += performance.now() - started;
    await ctx.cleanup();
  }
}

/**
 * Reads the corpus once if something needs it: decisions that have not met every segment yet (their
 * drops and counters must be complete), or the sink's view of each segment. Returns the segment
 * count and the views (sorted by segment id).
 */
async function settle(corpus: StoredCorpus | undefined, sink: PlannedStage<SinkStage<any>> | undefined): Promise<{ segments: number; views: unknown[] }> {
  if (!corpus) return { segments: 0, views: [] };
  const project = sink?.stage.project;
  if (!corpus.pending && !project) return { segments: corpus.parts.reduce((n, part) => n + part.count, 0), views: [] };
  const viewed: { id: string; view: unknown }[] = [];
  let segments = 0;
  for await (const segment of corpus.stream()) {
    segments++;
    if (project) viewed.push({ id: segment.id, view: project(segment, sink!.config) });
  }
  viewed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { segments, views: viewed.map((v) => v.view) };
}

async function* emptyStream(): AsyncGenerator<Segment> {}

function partitionKey(phaseFingerprint: string, teacherFingerprint: string, items: readonly (Clip | Segment)[]): string {
  const members = [...items].sort((a, b) => (a.id < b.id ? -1 : 1));
  const key = fingerprint('partition', phaseFingerprint, teacherFingerprint, members);
  return `partitions/${key.slice(0, 2)}/${key}.json`;
}

interface Shared {
  /** Stages whose results must not be cached (a dry run's stand-in teacher text flows through them). */
  readonly uncached?: ReadonlySet<string>;
  readonly store: Store;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly teachers: TeacherRegistry;
  readonly root: string;
}

function contextFor(stage: string, stageStats: ReturnType<typeof emptyStageStats>, shared: Shared): StageContext & { cleanup(): Promise<void> } {
  const scratchDirs: string[] = [];
  return {
    store: shared.store,
    log: shared.log.child({ stage }),
    signal: shared.signal,
    teachers: shared.teachers,
    standIn: shared.uncached?.has(stage) === true,
    work: { add: (kind: WorkKind, amount = 1) => void (stageStats.work[kind] = (stageStats.work[kind] ?? 0) + amount) },
    flag(reason: string, detail: string) {
      const flagged = (stageStats.flagged ??= {});
      flagged[reason] = (flagged[reason] ?? 0) + 1;
      shared.log.info({ stage, reason, detail }, 'flagged');
    },
    async scratch() {
      const dir = await mkdtemp(join(tmpdir(), 'emoforge-'));
      scratchDirs.push(dir);
      return dir;
    },
    async sourcePath(clip: Clip) {
      if (!shared.root) throw new FatalError('sourcePath() is only available to record stages');
      return join(shared.root, ...clip.uri.split('/'));
    },
    async cleanup() {
      await Promise.all(scratchDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/** Runs every input of a partition (a clip, or a segment of a later phase) through the stages, in id order. */
async function processPartition(stages: readonly PlannedStage<RecordStage<any>>[], items: readonly (Clip | Segment)[], stats: StatsTable, shared: Shared): Promise<PartitionResult> {
  const segments: Segment[] = [];
  const drops: Drop[] = [];
  let transientDrops = 0;
  const [first, ...following] = stages;
  const clipStage = first.stage.kind === 'clip' ? first : undefined;
  const segmentStages = clipStage ? following : stages;
  for (const item of [...items].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (shared.signal.aborted) break;
    let made: Segment[];
    if (clipStage) {
      const clip = item as Clip;
      const result = await runStage(clipStage, clip, stats, shared);
      if (isDrop(result)) {
        if (result.transient !== undefined) transientDrops++;
        const dropped: Drop = { id: clip.id, clipId: clip.id, uri: clip.uri, stage: clipStage.stage.name, reason: result.reason, detail: result.detail };
        drops.push(result.transient === undefined ? dropped : { ...dropped, transient: result.transient });
        continue;
      }
      made = result as Segment[];
    } else made = [item as Segment];
    for (let current of made) {
      let kept = true;
      for (const planned of segmentStages) {
        const result = await runStage(planned, current, stats, shared);
        if (isDrop(result)) {
          if (result.transient !== undefined) transientDrops++;
          drops.push(segmentDrop(current, planned.stage.name, result));
          kept = false;
          break;
        }
        current = result as Segment;
      }
      if (kept) segments.push(current);
    }
  }
  return { segments, drops, stats, transientDrops };
}

/** One stage on one record, through the stage cache. Returns the stage's output or a drop. */
async function runStage(planned: PlannedStage<RecordStage<any>>, input: Clip | Segment, stats: StatsTable, shared: Shared): Promise<Segment | Segment[] | (DropResult & { transient?: string })> {
  const { stage, config } = planned;
  const stageStats = statsFor(stats, stage.name);
  stageStats.in++;
  const started = performance.now();
  // Only a cached stage needs its key (hashing the whole record is a large share of a cheap stage's cost).
  let cacheKey = '';
  if (stage.cache) {
    const teacherKeys = (stage.teacherRoles ?? []).map((role) => shared.teachers.forRole(role).fingerprint);
    const key = fingerprint(stage.name, stage.version, stage.cacheConfig ? stage.cacheConfig(config) : config, teacherKeys, input);
    cacheKey = `cache/stages/${stage.name}/${key.slice(0, 2)}/${key}.json`;
  }
  const ctx = contextFor(stage.name, stageStats, shared);
  try {
    let outcome: Outcome | undefined;
    if (stage.cache) {
      const hit = await shared.store.get(cacheKey);
      if (hit) {
        outcome = JSON.parse(hit.toString('utf8')) as CachedOutcome;
        stageStats.cached++;
      }
    }
    if (!outcome) {
      outcome = await execute(stage, config, input, ctx);
      if (stage.cache && outcome.transient === undefined && !shared.uncached?.has(stage.name)) await shared.store.put(cacheKey, JSON.stringify(outcome));
    }
    if (outcome.kind === 'drop') {
      stageStats.dropped[outcome.reason] = (stageStats.dropped[outcome.reason] ?? 0) + 1;
      return { drop: true, reason: outcome.reason, detail: outcome.detail, ...(outcome.transient === undefined ? {} : { transient: outcome.transient }) };
    }
    const value = outcome.value as Segment | Segment[];
    stageStats.out += Array.isArray(value) ? value.length : 1;
    return value;
  } finally {
    stageStats.wallMs += performance.now() - started;
    await ctx.cleanup();
  }
}

async function execute(stage: RecordStage<any>, config: unknown, input: Clip | Segment, ctx: StageContext): Promise<Outcome> {
  let result;
  try {
    result = stage.kind === 'clip' ? await stage.run(input as Clip, config, ctx) : await stage.run(input as Segment, config, ctx);
  } catch (error) {
    if (error instanceof FatalError || ctx.signal.aborted) throw error;
    if (error instanceof RecordError) {
      if (!error.transient) return { kind: 'drop', reason: error.reason, detail: error.message };
      return { kind: 'drop', reason: error.reason, detail: error.message, transient: error.service ?? stage.name };
    }
    if (error instanceof RetryableError) {
      ctx.log.warn({ err: error }, `stage ${stage.name}: a service failed on a record; the next run retries it`);
      return { kind: 'drop', reason: 'service-unavailable', detail: error.message, transient: error.service ?? stage.name };
    }
    // An error no stage classified: treated as transient, so a bug or a flaky dependency never
    // removes published rows (publish.allowPartial publishes anyway).
    ctx.log.error({ err: error }, `stage ${stage.name} failed on a record`);
    return { kind: 'drop', reason: 'stage-error', detail: `${stage.name} threw: ${(error as Error).message ?? String(error)}`, transient: `${stage.name} (unexpected error)` };
  }
  if (isDrop(result)) return { kind: 'drop', reason: result.reason, detail: result.detail };
  // A stage's output must still be a valid segment: a bug upstream never reaches Parquet.
  const outputs = Array.isArray(result) ? result : [result];
  for (const output of outputs) {
    const check = Segment.safeParse(output);
    if (!check.success) {
      const where = check.error.issues[0];
      return { kind: 'drop', reason: 'invalid-stage-output', detail: `${stage.name} produced an invalid segment at ${where?.path.join('.')}: ${where?.message}` };
    }
  }
  return { kind: 'ok', value: result };
}
