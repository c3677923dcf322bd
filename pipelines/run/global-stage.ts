// A global stage over the stored corpus: one pass takes its view of every segment (and records the
// decisions of earlier global stages that had not met them yet), the stage decides over the views,
// and its decision joins the corpus, applied to each segment whenever the corpus is read.
import { Segment, type Drop } from '../../schemas/records.ts';
import type { PlannedStage } from '../config.ts';
import type { StoredCorpus } from '../corpus.ts';
import { segmentDrop } from '../drops.ts';
import { FatalError } from '../errors.ts';
import { isDrop, type GlobalStage } from '../stage.ts';
import { statsFor, type StatsTable } from '../stats.ts';
import { stageContext, type RunScope } from './context.ts';
import { ViewsById } from './views-by-id.ts';

/** Returns the corpus with the stage's decision as its newest layer; its drops join `drops` as segments meet it. */
export async function runGlobalStage(
  planned: PlannedStage<GlobalStage<any>>,
  corpus: StoredCorpus,
  drops: Drop[],
  stats: StatsTable,
  scope: RunScope,
): Promise<StoredCorpus> {
  const { stage, config } = planned;
  const stageStats = statsFor(stats, stage.name);
  const ctx = stageContext(stage.name, stageStats, scope);
  const started = performance.now();
  try {
    const viewed = new ViewsById<unknown>();
    for await (const segment of corpus.stream()) viewed.add(segment.id, await stage.project(segment, config, ctx));
    stageStats.in += viewed.length;
    // The views in id order, as the corpus was handed to global stages when it was held whole.
    const { ids, views } = viewed.sortedWithIds();
    const decision = await stage.decide(views, config, ctx, ids);
    scope.log.info({ stage: stage.name, segments: stageStats.in, ms: Math.round(performance.now() - started) }, 'global stage decided');
    return corpus.withLayer({
      stage: stage.name,
      decision,
      flag: ctx.flag,
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
