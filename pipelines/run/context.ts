// What every stage call of a run shares (store, teachers, logger, signal, the source root), and
// the StageContext one call gets from it: counters, flags and scratch folders bound to its stage.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clip } from '../../schemas/records.ts';
import type { Plan } from '../config.ts';
import { FatalError } from '../errors.ts';
import type { StageContext, WorkKind } from '../stage.ts';
import type { StageStats } from '../stats.ts';
import type { Store } from '../store/store.ts';
import type { TeacherRegistry } from '../teachers/teacher.ts';

export interface RunScope {
  /** Stages whose results must not be cached (a dry run's stand-in teacher text flows through them). */
  readonly uncached?: ReadonlySet<string>;
  readonly store: Store;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly teachers: TeacherRegistry;
  /** Absolute folder clip uris are relative to; empty before ingest has listed the sources. */
  readonly root: string;
}

/** A stage call's context; `cleanup` removes its scratch folders once the call has ended. */
type StageCall = StageContext & { readonly flag: (reason: string, detail: string) => void; cleanup(): Promise<void> };

export function stageContext(stage: string, stageStats: StageStats, scope: RunScope): StageCall {
  const scratchDirs: string[] = [];
  return {
    store: scope.store,
    log: scope.log.child({ stage }),
    signal: scope.signal,
    teachers: scope.teachers,
    standIn: scope.uncached?.has(stage) === true,
    work: { add: (kind: WorkKind, amount = 1) => void (stageStats.work[kind] = (stageStats.work[kind] ?? 0) + amount) },
    flag(reason: string, detail: string) {
      const flagged = (stageStats.flagged ??= {});
      flagged[reason] = (flagged[reason] ?? 0) + 1;
      scope.log.info({ stage, reason, detail }, 'flagged');
    },
    async scratch() {
      const dir = await mkdtemp(join(tmpdir(), 'emoforge-'));
      scratchDirs.push(dir);
      return dir;
    },
    async sourcePath(clip: Clip) {
      if (!scope.root) throw new FatalError('sourcePath() is only available to record stages');
      return join(scope.root, ...clip.uri.split('/'));
    },
    async cleanup() {
      await Promise.all(scratchDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

/**
 * On a dry run, the first stage that asks a teacher and every stage after it see stand-in text:
 * none of their results may be cached. Empty on a real run.
 */
export function standInStages(plan: Plan, dryRun: boolean): ReadonlySet<string> {
  if (!dryRun) return new Set();
  const first = plan.ordered.findIndex((p) => ('teacherRoles' in p.stage ? (p.stage.teacherRoles ?? []) : []).length > 0);
  return new Set(first >= 0 ? plan.ordered.slice(first).map((p) => p.stage.name) : []);
}

/** The error an aborted run ends with: the signal's reason when it is an error. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new FatalError('run aborted');
}
