// One record stage on one record, through the per-record stage cache: the outcome (output or
// permanent drop) is stored under a key of what shaped it (stage, version, the config that shapes
// the output, the teachers it asks, the input record), so a re-run asks the stage nothing.
import type { Clip, Segment } from '../../schemas/records.ts';
import type { PlannedStage } from '../config.ts';
import { fingerprint } from '../fingerprint.ts';
import type { DropResult, RecordStage } from '../stage.ts';
import { statsFor, type StatsTable } from '../stats.ts';
import { stageContext, type RunScope } from './context.ts';
import { stageOutcome, type CachedOutcome, type Outcome } from './failure-policy.ts';

/** Returns the stage's output (one segment, or a clip stage's segments) or a drop, `transient` when it failed transiently. */
export async function runRecordStage(
  planned: PlannedStage<RecordStage<any>>,
  input: Clip | Segment,
  stats: StatsTable,
  scope: RunScope,
): Promise<Segment | Segment[] | (DropResult & { transient?: string })> {
  const { stage, config } = planned;
  const stageStats = statsFor(stats, stage.name);
  stageStats.in++;
  const started = performance.now();
  // Only a cached stage needs its key (hashing the whole record is a large share of a cheap stage's cost).
  let cacheKey = '';
  if (stage.cache) {
    const teacherKeys = (stage.teacherRoles ?? []).map((role) => scope.teachers.forRole(role).fingerprint);
    const key = fingerprint(stage.name, stage.version, stage.cacheConfig ? stage.cacheConfig(config) : config, teacherKeys, input);
    cacheKey = `cache/stages/${stage.name}/${key.slice(0, 2)}/${key}.json`;
  }
  const ctx = stageContext(stage.name, stageStats, scope);
  try {
    let outcome: Outcome | undefined;
    if (stage.cache) {
      const hit = await scope.store.get(cacheKey);
      if (hit) {
        outcome = JSON.parse(hit.toString('utf8')) as CachedOutcome;
        stageStats.cached++;
      }
    }
    if (!outcome) {
      outcome = await stageOutcome(stage, config, input, ctx);
      if (stage.cache && outcome.transient === undefined && !scope.uncached?.has(stage.name)) await scope.store.put(cacheKey, JSON.stringify(outcome));
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
