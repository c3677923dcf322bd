// One pass of a run: ingest → the phases → the sink. A dry run publishes nothing, nor does a batch
// pass with records still waiting, nor a static worker; the publish guard keeps published rows of
// records that failed transiently.
import type { Clip, Drop, Segment } from '../../schemas/records.ts';
import type { Plan, PlannedStage } from '../config.ts';
import type { StoredCorpus } from '../corpus.ts';
import { localExecutor, publishesIn } from '../executors/partition-executor.ts';
import { publishedManifest, transientFailures } from '../publish/publish-guard.ts';
import type { SinkStage } from '../sink.ts';
import { statsFor, type StatsTable } from '../stats.ts';
import type { TeacherRegistry } from '../teachers/teacher.ts';
import { stageContext, standInStages, type RunScope } from './context.ts';
import type { RunOptions } from './options.ts';
import { runPhases } from './phases.ts';
import type { RunSummary } from './summary.ts';
import { SortedIds } from '../sorted-ids.ts';
import { trimMalloc } from '../malloc.ts';
import { ViewsById } from './views-by-id.ts';

export async function runPass(plan: Plan, options: RunOptions, teachers: TeacherRegistry, started: number): Promise<RunSummary> {
  const { store, log, signal } = options;
  const dryRun = options.dryRun === true;
  const uncached = standInStages(plan, dryRun);
  const stats: StatsTable = {};
  // Ingest's clips go to the first record phase and are let go when it ends (each segment carries
  // its clip): from then on only their count, the sources seen and the root are kept (a million
  // segments come from a hundred thousand clips or more).
  const ingested: { clips?: readonly Clip[] } = {};
  const source = await ingest(plan, options, stats, { store, log, signal, teachers, root: '' }, ingested);
  const drops: Drop[] = [...source.drops];
  const executor = options.executor ?? localExecutor;
  const { corpus, partitions } = await runPhases(plan, ingested, {
    scope: { store, log, signal, teachers, root: source.root, uncached },
    executor,
    progress: options.progress,
    stats,
    drops,
  });
  // What this run learnt of answer lengths, for later dry runs (a dry run learns nothing).
  await teachers.persist?.();

  // One pass over the corpus first: the decisions of the last global stages meet every segment
  // (their drops and counters), and the sink's view of each segment is taken.
  const batchPending = drops.some((d) => d.reason === 'teacher-batch-pending');
  const publishing = !(dryRun || !publishesIn(executor.mode) || batchPending);
  // Destructured at once: the views are handed to the sink and not held here.
  let { segments: segmentCount, views } = await settle(corpus, publishing ? plan.sink : undefined);
  trimMalloc();
  const summary = (outcome: Partial<RunSummary>): RunSummary => ({
    stats,
    teacherUsage: teachers.usage?.() ?? {},
    partitions,
    mode: executor.mode,
    clips: source.clips,
    segments: segmentCount,
    drops: drops.length,
    dryRun,
    wallMs: performance.now() - started,
    ...outcome,
  });
  if (!publishing) return summary({ batchPending, projectionBasis: teachers.projectionBasis?.() ?? {} });
  // The publish guard: records that failed transiently keep their published rows; with nothing
  // published yet, nothing is published now.
  const failures = transientFailures(drops);
  const guarded = failures.records > 0 && !plan.config.publish.allowPartial;
  if (guarded) log.warn({ records: failures.records, failed: failures.failed }, 'records failed transiently; their published rows are kept');
  if (guarded && !(await publishedManifest(options.outDir, plan.config.name))) return summary({ incomplete: failures });
  options.progress?.phase('write');
  const sinkStats = statsFor(stats, plan.sink.stage.name);
  const sinkStarted = performance.now();
  const sink = await plan.sink.stage.run(
    {
      segments: {
        count: segmentCount,
        takeViews: () => {
          const taken = views;
          views = NO_VIEWS;
          return taken;
        },
        stream: () => corpus?.stream() ?? emptyStream(),
      },
      drops,
      stats,
      teacherUsage: teachers.usage?.() ?? {},
      run: {
        name: plan.config.name,
        fingerprint: plan.fingerprint,
        stages: plan.ordered.map((p) => ({ name: p.stage.name, version: p.stage.version, fingerprint: p.fingerprint })),
        sourcesSeen: source.seen,
      },
      carry: guarded ? drops.filter((d) => d.transient !== undefined) : [],
    },
    plan.sink.config,
    { outDir: options.outDir, store, log: log.child({ stage: plan.sink.stage.name }), signal },
  );
  sinkStats.wallMs += performance.now() - sinkStarted;
  return summary({ sink, ...(failures.records > 0 ? { incomplete: failures } : {}) });
}

/** What the run keeps of ingest's result: the clips themselves go into `into`. */
interface Ingested {
  readonly clips: number;
  readonly drops: readonly Drop[];
  readonly seen: number;
  readonly root: string;
}

/** Sources → clips (into `into.clips`), counted under the source stage. */
async function ingest(plan: Plan, options: RunOptions, stats: StatsTable, scope: RunScope, into: { clips?: readonly Clip[] }): Promise<Ingested> {
  options.progress?.phase('ingest');
  const ingestStats = statsFor(stats, plan.source.stage.name);
  const ingestStarted = performance.now();
  const source = await plan.source.stage.run(
    plan.source.config,
    {
      input: options.input,
      limit: options.limit,
      rehash: options.rehash,
      partitions: plan.config.partitions,
      refused: options.refusedInputs,
      onProgress: (d, t) => options.progress?.ingestProgress(d, t),
    },
    stageContext(plan.source.stage.name, ingestStats, scope),
  );
  ingestStats.wallMs += performance.now() - ingestStarted;
  ingestStats.in += source.seen;
  ingestStats.out += source.clips.length;
  for (const d of source.drops) ingestStats.dropped[d.reason] = (ingestStats.dropped[d.reason] ?? 0) + 1;
  scope.log.info({ stage: 'ingest', root: source.root, clips: source.clips.length, rejected: source.drops.length }, 'sources listed');
  into.clips = source.clips;
  return { clips: source.clips.length, drops: source.drops, seen: source.seen, root: source.root };
}

const NO_VIEWS = { ids: new SortedIds([]), views: [] };

/**
 * Reads the corpus once if something needs it: decisions that have not met every segment yet (their
 * drops and counters must be complete), or the sink's view of each segment. Returns the segment
 * count and the views (sorted by segment id) with their ids.
 */
async function settle(
  corpus: StoredCorpus | undefined,
  sink: PlannedStage<SinkStage<any>> | undefined,
): Promise<{ segments: number; views: { readonly ids: SortedIds; readonly views: readonly unknown[] } }> {
  if (!corpus) return { segments: 0, views: NO_VIEWS };
  const project = sink?.stage.project;
  if (!corpus.pending && !project) return { segments: corpus.parts.reduce((n, part) => n + part.count, 0), views: NO_VIEWS };
  const viewed = new ViewsById<unknown>();
  let segments = 0;
  for await (const segment of corpus.stream()) {
    segments++;
    if (project) viewed.add(segment.id, project(segment, sink!.config));
  }
  return { segments, views: viewed.sortedWithIds() };
}

async function* emptyStream(): AsyncGenerator<Segment> {}
