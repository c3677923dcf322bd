// What teachers cost: HTTP requests, cache hits, retries and tokens per role and teacher, priced in
// USD. Every field is a number that adds across partitions, workers and runs, so tables from many
// processes merge by summing (the same rule as the stage stats).

/** Counters of one teacher answering one role. */
export interface TeacherUsageCounters {
  /** HTTP requests sent (retries and invalid-output retries included); 0 for a cache hit. */
  calls: number;
  /** Requests answered from the endpoint's response cache (no HTTP, no cost). */
  cacheHits: number;
  /** Requests sent again after a retryable failure (429, 5xx, timeout, garbled reply). */
  retries: number;
  /** Requests sent again because the answer did not parse or did not match the stage schema. */
  invalidRetries: number;
  /** Answers returned to a stage. */
  answers: number;
  /** Generations that ended in an error (invalid after retries, refused, endpoint gave up). */
  failures: number;
  /** Tokens billed: reported by the server for requests that were not cache hits. */
  inputTokens: number;
  outputTokens: number;
  /** inputTokens and outputTokens at the teacher's prices; cache hits cost nothing. */
  usd: number;
}

/** role → teacher name → counters. */
export type TeacherUsageTable = Record<string, Record<string, TeacherUsageCounters>>;

export function emptyTeacherUsage(): TeacherUsageCounters {
  return { calls: 0, cacheHits: 0, retries: 0, invalidRetries: 0, answers: 0, failures: 0, inputTokens: 0, outputTokens: 0, usd: 0 };
}

/** USD per million tokens. */
export interface TokenPrices {
  readonly inputPerMTokUSD: number;
  readonly outputPerMTokUSD: number;
}

export function priceOf(tokens: { readonly inputTokens: number; readonly outputTokens: number }, prices: TokenPrices): number {
  return (tokens.inputTokens * prices.inputPerMTokUSD + tokens.outputTokens * prices.outputPerMTokUSD) / 1_000_000;
}

/** Adds every counter of `from` into `into` (mutates and returns `into`). */
export function mergeTeacherUsage(into: TeacherUsageTable, from: TeacherUsageTable): TeacherUsageTable {
  for (const [role, byTeacher] of Object.entries(from)) {
    const target = (into[role] ??= {});
    for (const [teacher, counters] of Object.entries(byTeacher)) {
      const sum = (target[teacher] ??= emptyTeacherUsage());
      for (const key of Object.keys(counters) as (keyof TeacherUsageCounters)[]) sum[key] += counters[key];
    }
  }
  return into;
}

/** The live counters of one registry; teachers add to it, the runner reads snapshots. */
export class TeacherUsageLedger {
  private readonly counters: TeacherUsageTable = {};

  add(role: string, teacher: string, delta: Partial<TeacherUsageCounters>): void {
    const sum = ((this.counters[role] ??= {})[teacher] ??= emptyTeacherUsage());
    for (const [key, value] of Object.entries(delta) as [keyof TeacherUsageCounters, number][]) sum[key] += value;
  }

  /** Dollars spent so far, over every role and teacher. */
  spentUSD(): number {
    let total = 0;
    for (const byTeacher of Object.values(this.counters)) for (const counters of Object.values(byTeacher)) total += counters.usd;
    return total;
  }

  /** A deep copy: later calls never change a snapshot already written. */
  snapshot(): TeacherUsageTable {
    return mergeTeacherUsage({}, this.counters);
  }
}
