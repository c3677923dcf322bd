// OUT/stats.json: every stage's counters (in, out, dropped by reason, work, time), what the teachers
// were asked and cost, and the run's totals. Counters add across partitions; the audit reads them.
import { join } from 'node:path';
import { totalWork, type StatsTable } from '../stats.ts';
import type { TeacherUsageTable } from '../teachers/usage.ts';
import { writeFileAtomic } from './atomic-write.ts';

const STATS_FILE = 'stats.json';

export interface RunTotals {
  readonly sources: number;
  readonly segments: number;
  readonly rows: number;
  readonly rejected: number;
  /** rows kept from the published version for records that failed transiently, and those records */
  readonly carried: number;
  readonly carriedRecords: number;
  readonly mediaFiles: number;
  readonly mediaBytes: number;
}

/** Writes OUT/stats.json (atomically) and returns its name as the manifest records it. */
export async function writeStatsFile(outDir: string, corpus: string, stages: StatsTable, teachers: TeacherUsageTable, totals: RunTotals): Promise<string> {
  const teacherUSD = Object.values(teachers)
    .flatMap((byTeacher) => Object.values(byTeacher))
    .reduce((sum, u) => sum + u.usd, 0);
  const stats = { corpus, stages: withSortedCounts(stages), teachers, totals: { ...totals, work: byName(totalWork(stages)), teacherUSD } };
  await writeFileAtomic(join(outDir, STATS_FILE), JSON.stringify(stats, null, 2));
  return STATS_FILE;
}

/**
 * The table with each stage's counts by reason and by work kind in name order: they are filled in
 * the order records met them, which follows which partition finished first, so the same run could
 * write the same numbers in another order.
 */
export function withSortedCounts(stages: StatsTable): StatsTable {
  return Object.fromEntries(
    Object.entries(stages).map(([name, s]) => [
      name,
      { ...s, dropped: byName(s.dropped), ...(s.flagged ? { flagged: byName(s.flagged) } : {}), work: byName(s.work) },
    ]),
  );
}

function byName<T>(counts: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
