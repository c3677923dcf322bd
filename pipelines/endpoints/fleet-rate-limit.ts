// Teacher rate limits shared by every process of a fleet: token buckets kept in Redis, so ten
// workers on ten machines together stay under one endpoint's requests/min and tokens/min. Same
// semantics as TokenBucket (reservations that may go negative, settle afterwards, hold after a
// 429), on Redis's clock (TIME) so machines with skewed clocks agree. One Lua script per operation
// keeps read-refill-write atomic. Configured per process with EMOFORGE_REDIS_URL (set by
// `emoforge worker --redis` and `emoforge run --executor bullmq --redis` for their children);
// without it every process keeps its own in-memory buckets.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { lazyRequire } from '../lazy-require.ts';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

/** What EndpointClient needs of a bucket, in memory or in Redis. */
export interface RateBucket {
  /** Takes `amount` now; resolves to the milliseconds to wait before using it. */
  reserve(amount: number): number | Promise<number>;
  /** Gives back (positive) or charges more (negative). */
  adjust(amount: number): void;
  /** Hands nothing out for `ms`, then refills from empty. */
  holdFor(ms: number): void;
}

// KEYS[1] bucket hash; ARGV: rate per ms, capacity, op (reserve|adjust|hold), amount (tokens, or ms for hold).
const BUCKET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local op = ARGV[3]
local amount = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1]) or cap
local ts = tonumber(s[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if op == 'reserve' then
  tokens = tokens - amount
  if tokens < 0 then wait = -tokens / rate end
elseif op == 'adjust' then
  tokens = math.min(cap, tokens + amount)
elseif op == 'hold' then
  tokens = math.min(tokens, 1 - amount * rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 3600000)
return tostring(wait)
`;

type BucketRedis = Redis & { emoforgeBucket(key: string, rate: string, capacity: string, op: string, amount: string): Promise<string> };

export class RedisTokenBucket implements RateBucket {
  /**
   * @param key the bucket's Redis key; every process limiting the same endpoint must use the same one
   * @param ratePerSecond tokens added per second
   * @param capacity the most tokens the bucket holds (the largest burst)
   */
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly log?: Logger,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
    if (!(capacity > 0)) throw new RangeError(`capacity must be > 0, got ${capacity}`);
    if (!(redis as unknown as Partial<BucketRedis>).emoforgeBucket) redis.defineCommand('emoforgeBucket', { numberOfKeys: 1, lua: BUCKET_SCRIPT });
  }

  async reserve(amount: number): Promise<number> {
    return Number(await this.call('reserve', amount));
  }

  adjust(amount: number): void {
    this.call('adjust', amount).catch((error: unknown) => this.log?.warn({ err: error, key: this.key }, 'could not settle the shared rate limit'));
  }

  holdFor(ms: number): void {
    this.call('hold', ms).catch((error: unknown) => this.log?.warn({ err: error, key: this.key }, 'could not pause the shared rate limit'));
  }

  private call(op: 'reserve' | 'adjust' | 'hold', amount: number): Promise<string> {
    return (this.redis as unknown as BucketRedis).emoforgeBucket(this.key, String(this.ratePerSecond / 1000), String(this.capacity), op, String(amount));
  }
}

/** The environment variable naming the Redis that holds the fleet's rate limits. */
export const FLEET_REDIS_ENV = 'EMOFORGE_REDIS_URL';

let shared: { url: string; redis: Redis } | undefined;

/**
 * The Redis client for fleet-wide limits, or undefined when EMOFORGE_REDIS_URL is not set. One
 * connection per process, opened on first use.
 */
export function fleetRedis(env: Readonly<Record<string, string | undefined>> = process.env): Redis | undefined {
  const url = env[FLEET_REDIS_ENV];
  if (!url) return undefined;
  if (shared?.url === url) return shared.redis;
  if (shared) void shared.redis.quit().catch(() => undefined);
  shared = { url, redis: new (ioredis().Redis)(url, { maxRetriesPerRequest: 3, lazyConnect: false }) };
  return shared.redis;
}

/** Closes this process's fleet limit connection (so the process can exit). */
export async function closeFleetRedis(): Promise<void> {
  const current = shared;
  shared = undefined;
  await current?.redis.quit().catch(() => undefined);
}
