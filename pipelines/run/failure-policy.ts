// The error → drop policy of one stage call on one record (DESIGN principle 7). A returned drop or
// a RecordError is permanent: the outcome is cached like any result. A transient RecordError, a
// RetryableError or an error no stage classified is a drop marked `transient`: never cached, so the
// next run retries the record, and the publish guard keeps its published rows. A FatalError, or any
// error once the run is aborted, stops the run.
import { Segment, type Clip } from '../../schemas/records.ts';
import { FatalError, RecordError, RetryableError } from '../errors.ts';
import { isDrop, type RecordStage, type StageContext } from '../stage.ts';

/** What a stage call leaves in the stage cache. */
export type CachedOutcome = { kind: 'ok'; value: unknown } | { kind: 'drop'; reason: string; detail: string };
/** `transient` names what failed; such an outcome is not cached. */
export type Outcome = CachedOutcome & { readonly transient?: string };

export async function stageOutcome(stage: RecordStage<any>, config: unknown, input: Clip | Segment, ctx: StageContext): Promise<Outcome> {
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
    return {
      kind: 'drop',
      reason: 'stage-error',
      detail: `${stage.name} threw: ${(error as Error).message ?? String(error)}`,
      transient: `${stage.name} (unexpected error)`,
    };
  }
  if (isDrop(result)) return { kind: 'drop', reason: result.reason, detail: result.detail };
  // A stage's output must still be a valid segment: a bug upstream never reaches Parquet.
  const outputs = Array.isArray(result) ? result : [result];
  for (const output of outputs) {
    const check = Segment.safeParse(output);
    if (!check.success) {
      const where = check.error.issues[0];
      return {
        kind: 'drop',
        reason: 'invalid-stage-output',
        detail: `${stage.name} produced an invalid segment at ${where?.path.join('.')}: ${where?.message}`,
      };
    }
  }
  return { kind: 'ok', value: result };
}
