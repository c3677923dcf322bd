// The figures a review reports: a proportion with its Wilson score interval (sound at the small
// counts a human review has, unlike the normal approximation), and Cohen's kappa for two raters.

export interface Proportion {
  readonly successes: number;
  readonly total: number;
  /** successes / total, or null when total is 0 */
  readonly rate: number | null;
  /** 95% Wilson score interval */
  readonly low: number | null;
  readonly high: number | null;
}

const Z95 = 1.959963984540054;

export function wilson(successes: number, total: number, z = Z95): Proportion {
  if (!Number.isInteger(successes) || !Number.isInteger(total) || successes < 0 || total < 0 || successes > total) {
    throw new RangeError(`wilson needs whole counts with 0 <= successes <= total, got ${successes}/${total}`);
  }
  if (total === 0) return { successes, total, rate: null, low: null, high: null };
  const p = successes / total;
  const z2 = z * z;
  const centre = (p + z2 / (2 * total)) / (1 + z2 / total);
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / (1 + z2 / total);
  return { successes, total, rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface Kappa {
  /** items both raters rated */
  readonly items: number;
  /** observed agreement */
  readonly observed: number | null;
  /** agreement expected by chance from each rater's own rates */
  readonly expected: number | null;
  /** (observed - expected) / (1 - expected); null when chance agreement is already total (no variation to agree on) */
  readonly kappa: number | null;
}

/** Cohen's kappa over paired ratings (any categories). */
export function cohensKappa(pairs: readonly (readonly [string, string])[]): Kappa {
  const n = pairs.length;
  if (n === 0) return { items: 0, observed: null, expected: null, kappa: null };
  const a = new Map<string, number>();
  const b = new Map<string, number>();
  let agree = 0;
  for (const [x, y] of pairs) {
    a.set(x, (a.get(x) ?? 0) + 1);
    b.set(y, (b.get(y) ?? 0) + 1);
    if (x === y) agree++;
  }
  const observed = agree / n;
  let expected = 0;
  for (const [category, count] of a) expected += (count / n) * ((b.get(category) ?? 0) / n);
  return { items: n, observed, expected, kappa: expected >= 1 ? null : (observed - expected) / (1 - expected) };
}
