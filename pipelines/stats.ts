// Per-stage counters. Every figure is a number that adds across partitions and workers, so partition
// results carry their own stats and the run merges them.
import type { WorkKind } from './stage.ts';

export interface StageStats {
  /** records that entered the stage */
  in: number;
  /** records that left it (a clip stage's out counts segments) */
  out: number;
  /** records dropped, by reason */
  dropped: Record<string, number>;
  /** records kept but flagged for an audit, by reason (only stages that flag have it) */
  flagged?: Record<string, number>;
  /** records whose result came from the cache (stage cache or a finished partition) */
  cached: number;
  /** wall time spent in the stage, milliseconds (summed over concurrent calls) */
  wallMs: number;
  /** expensive work actually done: ffmpeg runs, ASR runs, teacher calls, … */
  work: Partial<Record<WorkKind, number>>;
}

export type StatsTable = Record<string, StageStats>;

export function emptyStageStats(): StageStats {
  return { in: 0, out: 0, dropped: {}, cached: 0, wallMs: 0, work: {} };
}

export function statsFor(table: StatsTable, stage: string): StageStats {
  return (table[stage] ??= emptyStageStats());
}

/** Adds `source` into `target`. With `asCached`, the source's records count as cache hits and its work and time as none. */
export function mergeStats(target: StatsTable, source: StatsTable, asCached = false): void {
  for (const [stage, s] of Object.entries(source)) {
    const t = statsFor(target, stage);
    t.in += s.in;
    t.out += s.out;
    for (const [reason, n] of Object.entries(s.dropped)) t.dropped[reason] = (t.dropped[reason] ?? 0) + n;
    if (s.flagged) {
      const flagged = (t.flagged ??= {});
      for (const [reason, n] of Object.entries(s.flagged)) flagged[reason] = (flagged[reason] ?? 0) + n;
    }
    if (asCached) {
      t.cached += s.in;
      continue;
    }
    t.cached += s.cached;
    t.wallMs += s.wallMs;
    for (const [kind, n] of Object.entries(s.work) as [WorkKind, number][]) t.work[kind] = (t.work[kind] ?? 0) + n;
  }
}

export function totalDropped(s: StageStats): number {
  return Object.values(s.dropped).reduce((a, b) => a + b, 0);
}

export function totalWork(table: StatsTable): Partial<Record<WorkKind, number>> {
  const total: Partial<Record<WorkKind, number>> = {};
  for (const s of Object.values(table)) for (const [kind, n] of Object.entries(s.work) as [WorkKind, number][]) total[kind] = (total[kind] ?? 0) + n;
  return total;
}
