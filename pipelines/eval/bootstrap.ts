// Percentile bootstrap intervals with the project's seeded PRNG (pipelines/random.ts), so the same
// scores always give the same interval. A statistic is a function of the rows resampled (a mean, or
// AffectGPT's F-score of mean precision and mean recall); the paired form resamples the rows two
// models share, once, and takes the difference of the statistic on the same draw.
import { createHash } from 'node:crypto';
import { mulberry32 } from '../random.ts';

/** Resamples per interval. 2000 puts the 2.5% and 97.5% percentiles within ~0.01 of their limit for n ≥ 20. */
export const DEFAULT_RESAMPLES = 2000;
export const CONFIDENCE = 0.95;

export interface Interval {
  /** the statistic on the rows themselves (null when it is undefined, e.g. no rows) */
  readonly value: number | null;
  /** 2.5th and 97.5th percentiles of the resampled statistic */
  readonly low: number | null;
  readonly high: number | null;
  readonly n: number;
}

/** A 32-bit seed from a text, so every (task, metric, label) has its own reproducible stream. */
export function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function percentiles(draws: number[]): { low: number | null; high: number | null } {
  const finite = draws.filter((d) => Number.isFinite(d)).sort((a, b) => a - b);
  if (finite.length === 0) return { low: null, high: null };
  const tail = (1 - CONFIDENCE) / 2;
  return { low: round(quantile(finite, tail)), high: round(quantile(finite, 1 - tail)) };
}

/** The statistic of `rows` and its 95% percentile-bootstrap interval. */
export function bootstrap<R>(rows: readonly R[], statistic: (rows: readonly R[]) => number | null, seed: string, resamples = DEFAULT_RESAMPLES): Interval {
  const value = rows.length ? statistic(rows) : null;
  if (value === null || !Number.isFinite(value)) return { value: null, low: null, high: null, n: rows.length };
  const random = mulberry32(seedOf(seed));
  const draws: number[] = [];
  const sample: R[] = new Array(rows.length);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < rows.length; i++) sample[i] = rows[Math.floor(random() * rows.length)];
    draws.push(statistic(sample) ?? Number.NaN);
  }
  return { value: round(value), ...percentiles(draws), n: rows.length };
}

/**
 * Paired bootstrap of statistic(B) − statistic(A) over rows both have (`pairs[i]` = the same row
 * scored for A and for B): each draw picks the same rows for both.
 */
export function pairedBootstrap<R>(
  pairs: readonly (readonly [R, R])[],
  statistic: (rows: readonly R[]) => number | null,
  seed: string,
  resamples = DEFAULT_RESAMPLES,
): Interval {
  const diff = (sample: readonly (readonly [R, R])[]): number | null => {
    const a = statistic(sample.map((p) => p[0]));
    const b = statistic(sample.map((p) => p[1]));
    return a === null || b === null ? null : b - a;
  };
  return bootstrap(pairs, diff, seed, resamples);
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
