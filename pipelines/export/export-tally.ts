// What an export wrote and skipped, per split and reason: the numbers export-report.json carries.
import { SPLITS, type Split } from '../../schemas/sample.ts';

export interface SplitCounts {
  written: number;
  /** why rows were left out → how many */
  skipped: Record<string, number>;
}

export class ExportTally {
  readonly splits = Object.fromEntries(SPLITS.map((s) => [s, { written: 0, skipped: {} }])) as Record<Split, SplitCounts>;
  /** rows written per task */
  readonly tasks: Record<string, number> = {};
  largestSampleTokens = 0;

  written(split: Split, task: string, tokens: number): void {
    this.splits[split].written++;
    this.tasks[task] = (this.tasks[task] ?? 0) + 1;
    this.largestSampleTokens = Math.max(this.largestSampleTokens, tokens);
  }

  skip(split: Split, reason: string, rows = 1): void {
    if (rows > 0) this.splits[split].skipped[reason] = (this.splits[split].skipped[reason] ?? 0) + rows;
  }

  totalWritten(): number {
    return SPLITS.reduce((n, s) => n + this.splits[s].written, 0);
  }

  /** skipped rows per reason over all splits, reasons in name order */
  totalSkipped(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const split of SPLITS) for (const [reason, n] of Object.entries(this.splits[split].skipped)) total[reason] = (total[reason] ?? 0) + n;
    return Object.fromEntries(Object.entries(total).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** The reason a row over the token budget is skipped with. */
export const OVER_BUDGET = 'over-token-budget';
