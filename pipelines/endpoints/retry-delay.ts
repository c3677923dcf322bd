// How long to wait before retrying: the server's own hint when it gives one (retry-after-ms,
// Retry-After in seconds or as an HTTP date, OpenAI's x-ratelimit-reset-* durations), otherwise
// exponential backoff with full jitter so that many workers do not retry in lockstep.

/** The wait a response asks for, in milliseconds, or undefined when it gives no usable hint. */
export function serverRetryDelayMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const millis = headers.get('retry-after-ms');
  if (millis !== null && /^\s*\d+(\.\d+)?\s*$/.test(millis)) return Number(millis);

  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }

  // OpenAI sends when each limit window resets ("1s", "6m0s", "20ms"); the exhausted one matters.
  const resets: number[] = [];
  for (const limit of ['requests', 'tokens']) {
    const reset = parseDuration(headers.get(`x-ratelimit-reset-${limit}`));
    const remaining = headers.get(`x-ratelimit-remaining-${limit}`);
    if (reset !== undefined && (remaining === null || Number(remaining) <= 0)) resets.push(reset);
  }
  return resets.length ? Math.max(...resets) : undefined;
}

/** Full jitter: uniform in [0, min(max, initial * 2^retry)); `retry` counts from 0. */
export function backoffDelayMs(retry: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Parses Go-style durations as OpenAI writes them ("1h2m3.5s", "20ms"); a bare number is seconds. */
export function parseDuration(text: string | null): number | undefined {
  if (text === null) return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^((\d+(\.\d+)?)(ms|h|m|s))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, value, unit] of trimmed.matchAll(DURATION_PART)) total += Number(value) * UNIT_MS[unit];
  return total;
}
