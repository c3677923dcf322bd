// The one place emoforge calls OpenAI-compatible endpoints (teachers and hosted ASR alike). It owns
// what every caller needs and none should write again: a response cache in the store (a re-run, a
// crashed run or another worker never pays twice), concurrency and requests/tokens-per-minute caps,
// retries with backoff that honour the server's Retry-After, error classes whose messages say what
// to do, a per-attempt timeout, and one AbortSignal that stops everything. The openai package does
// the HTTP with its own retries off (maxRetries: 0): retrying is ours, so it is counted and capped.
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import PQueue from 'p-queue';
import pino, { type Logger } from 'pino';
import { ConfigError, FatalError, RecordError } from '../errors.ts';
import { fingerprint } from '../fingerprint.ts';
import type { Store } from '../store/store.ts';
import { EndpointConfig, type EndpointConfigInput } from './endpoint-config.ts';
import { classifyFailure, displayEndpoint, EndpointRetryableError, isApiError, type FailureContext } from './endpoint-errors.ts';
import { backoffDelayMs, serverRetryDelayMs } from './retry-delay.ts';
import { fleetRedis, RedisTokenBucket, type RateBucket } from './fleet-rate-limit.ts';
import { TokenBucket } from './token-bucket.ts';
import { estimateChatTokens } from './tokens.ts';
import { openaiLib } from './openai-lib.ts';

/** Bumped when the cached entry's shape changes, so old entries are never misread. */
const CACHE_FORMAT = 'endpoint-response@1';

/** Share of requestsPerMinute the client paces to, leaving room for jitter between its clock and the server's. */
const REQUEST_PACE = 0.98;

export interface EndpointClientOptions {
  /** Validated here; a bad value throws a ConfigError naming the field. */
  readonly config: EndpointConfigInput;
  /** Where responses are cached; without a store nothing is cached. */
  readonly store?: Store;
  /** Default: silent. */
  readonly log?: Logger;
  /** Aborting it stops every queued, waiting and in-flight call of this client. */
  readonly signal?: AbortSignal;
  /** Where the key is read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the config came from, for messages (e.g. "transcribe.endpoint"). Default "endpoint". */
  readonly label?: string;
}

export interface EndpointUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** What one attempt returns: a JSON-serialisable value and the usage the server reported. */
export interface EndpointReply<T> {
  readonly value: T;
  readonly usage?: EndpointUsage;
}

export interface EndpointCall<T> {
  /** What is asked, e.g. "chat.completions"; part of the cache key and of messages. [a-z0-9._-] */
  readonly operation: string;
  /**
   * Everything that changes the answer (messages, schema, sampling params, the audio's hash); the
   * cache key is fingerprint(operation, model, params). Never put throughput settings here.
   */
  readonly params: unknown;
  /** Tokens this call will likely use (input + output), charged to tokens/min before it runs. Default 0. */
  readonly estimatedTokens?: number;
  /** Default true. */
  readonly cache?: boolean;
  /** Stops this call only. */
  readonly signal?: AbortSignal;
  /** Sends one attempt. Called again on retry, so build streams and files inside. */
  send(openai: OpenAI, options: { readonly signal: AbortSignal; readonly timeout: number; readonly maxRetries: 0 }): Promise<EndpointReply<T>>;
}

export interface EndpointResult<T> {
  readonly value: T;
  /** Reported usage (or the cached call's); zeros when the server reported none. */
  readonly usage: EndpointUsage;
  readonly cached: boolean;
  /** HTTP attempts this call made (0 on a cache hit). */
  readonly attempts: number;
}

/** Counters that add across clients and workers. */
export interface EndpointStats {
  /** HTTP requests sent, retries included */
  calls: number;
  cacheHits: number;
  retries: number;
  /** 429 replies among the failures */
  throttled: number;
  /** calls that failed for good */
  failures: number;
  inputTokens: number;
  outputTokens: number;
}

export class EndpointClient {
  readonly config: EndpointConfig;
  private readonly store: Store | undefined;
  private readonly log: Logger;
  private readonly signal: AbortSignal | undefined;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly label: string;
  private readonly endpoint: string;
  private readonly queue: PQueue;
  private readonly requests: RateBucket;
  private readonly tokens: RateBucket;
  private readonly inflight = new Map<string, Promise<EndpointResult<unknown>>>();
  private readonly counters: EndpointStats = { calls: 0, cacheHits: 0, retries: 0, throttled: 0, failures: 0, inputTokens: 0, outputTokens: 0 };
  /** Set by a 429 with a hint: nobody starts before then, so the whole client backs off together. */
  private pausedUntil = 0;
  private openai: OpenAI | undefined;
  private apiKey: string | undefined;

  constructor(options: EndpointClientOptions) {
    this.label = options.label ?? 'endpoint';
    const parsed = EndpointConfig.safeParse(options.config);
    if (!parsed.success) {
      throw new ConfigError(
        this.label,
        parsed.error.issues.map((issue) => `${[this.label, ...issue.path].join('.')}: ${issue.message}`),
      );
    }
    this.config = parsed.data;
    this.store = options.store;
    this.signal = options.signal;
    this.env = options.env ?? process.env;
    this.endpoint = displayEndpoint(this.config.baseURL);
    // Nothing here logs headers; the redaction guards a future debug line that would.
    this.log = (options.log ?? pino({ level: 'silent' })).child(
      { endpoint: this.endpoint, model: this.config.model },
      { redact: { paths: ['headers.authorization', 'headers["api-key"]', '*.headers.authorization'], censor: '[redacted]' } },
    );
    const { requestsPerMinute, tokensPerMinute, concurrency } = this.config.limits;
    this.queue = new PQueue({ concurrency });
    // Buckets hold one second's share: limits are spread evenly, as providers enforce them.
    // Requests are paced 2% under the limit: the server times them on its own clock, after network
    // jitter, and one that lands a few ms early in a full window is refused and pauses every call.
    // With EMOFORGE_REDIS_URL set (a fleet), the buckets live in Redis and every process that
    // reaches this endpoint with this model and key variable shares them.
    const redis = fleetRedis(this.env);
    const bucket = (kind: string, rate: number, capacity: number): RateBucket =>
      redis
        ? new RedisTokenBucket(
            redis,
            `emoforge:limits:${fingerprint(this.config.baseURL, this.config.model, this.config.apiKeyEnv).slice(0, 24)}:${kind}`,
            rate,
            capacity,
            this.log,
          )
        : new TokenBucket(rate, capacity);
    this.requests = bucket('requests', (requestsPerMinute / 60) * REQUEST_PACE, Math.max(1, requestsPerMinute / 60));
    this.tokens = bucket('tokens', tokensPerMinute / 60, Math.max(1, tokensPerMinute / 60));
  }

  /** A snapshot of the counters. */
  stats(): EndpointStats {
    return { ...this.counters };
  }

  /** The store key a call's response is cached under. */
  cacheKey(operation: string, params: unknown): string {
    if (!/^[a-z0-9._-]+$/.test(operation)) throw new RangeError(`operation must be [a-z0-9._-], got ${JSON.stringify(operation)}`);
    const key = fingerprint(CACHE_FORMAT, operation, this.config.model, params);
    return `cache/endpoints/${operation}/${key.slice(0, 2)}/${key}.json`;
  }

  /**
   * Caches an answer obtained another way (a Batch API output line) under `key` (from cacheKey()),
   * exactly as a direct call would have, so the next request for it is a cache hit.
   */
  async putCached(key: string, value: unknown, usage: EndpointUsage | undefined): Promise<void> {
    if (!this.store) throw new FatalError(`${this.label}: batch results need a store to be cached in`);
    await this.store.put(key, JSON.stringify({ format: CACHE_FORMAT, operation: key.split('/')[2], model: this.config.model, value, usage }));
  }

  /** True when a call with these params would be answered from the response cache (no HTTP, no cost). */
  async isCached(operation: string, params: unknown): Promise<boolean> {
    return this.store !== undefined && (await this.store.exists(this.cacheKey(operation, params)));
  }

  /** Runs one call through cache, limits and retries. */
  async request<T>(call: EndpointCall<T>): Promise<EndpointResult<T>> {
    const signal = combine(this.signal, call.signal);
    throwIfAborted(signal);
    if (call.cache === false || !this.store) return this.send(call, signal, undefined);
    const key = this.cacheKey(call.operation, call.params);
    const running = this.inflight.get(key);
    if (running) {
      // The same request is already on its way in this process: share its answer instead of paying twice.
      const shared = (await untilAborted(running, signal)) as EndpointResult<T>;
      this.counters.cacheHits++;
      return { ...shared, cached: true, attempts: 0 };
    }
    const pending = (async () => (await this.readCache<T>(key)) ?? this.send(call, signal, key))();
    this.inflight.set(key, pending);
    try {
      return await pending;
    } finally {
      if (this.inflight.get(key) === pending) this.inflight.delete(key);
    }
  }

  /** A chat completion (non-streaming) with this endpoint's model; the whole body is the cache identity. */
  chat(
    body: Omit<ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>,
    options: { readonly signal?: AbortSignal; readonly estimatedTokens?: number; readonly cache?: boolean } = {},
  ): Promise<EndpointResult<ChatCompletion>> {
    const params = { ...body, model: this.config.model };
    return this.request<ChatCompletion>({
      operation: 'chat.completions',
      params,
      estimatedTokens: options.estimatedTokens ?? estimateChatTokens(params),
      cache: options.cache,
      signal: options.signal,
      async send(openai, requestOptions) {
        const completion = await openai.chat.completions.create({ ...params, stream: false }, requestOptions);
        const usage = completion.usage ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens } : undefined;
        return { value: completion, usage };
      },
    });
  }

  private async readCache<T>(key: string): Promise<EndpointResult<T> | undefined> {
    const bytes = await this.store!.get(key);
    if (!bytes) return undefined;
    let entry: { format?: string; value: T; usage?: EndpointUsage };
    try {
      entry = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.log.warn({ key }, 'ignoring an unreadable cached endpoint response');
      return undefined;
    }
    if (entry.format !== CACHE_FORMAT) return undefined;
    this.counters.cacheHits++;
    return { value: entry.value, usage: entry.usage ?? { inputTokens: 0, outputTokens: 0 }, cached: true, attempts: 0 };
  }

  private async send<T>(call: EndpointCall<T>, signal: AbortSignal, cacheKey: string | undefined): Promise<EndpointResult<T>> {
    const estimated = Math.max(0, call.estimatedTokens ?? 0);
    for (let attempt = 0; ; attempt++) {
      let reply: EndpointReply<T> | undefined;
      let failure: unknown;
      try {
        // Retries jump the queue: they were admitted first and already hold the caller's patience.
        reply = await this.queue.add(() => this.attempt(call, estimated, signal), { signal, priority: attempt > 0 ? 1 : 0 });
      } catch (error) {
        failure = error;
      }
      if (reply) {
        const usage = reply.usage ?? { inputTokens: 0, outputTokens: 0 };
        this.counters.inputTokens += usage.inputTokens;
        this.counters.outputTokens += usage.outputTokens;
        if (reply.usage) this.tokens.adjust(estimated - usage.inputTokens - usage.outputTokens);
        if (cacheKey)
          await this.store!.put(
            cacheKey,
            JSON.stringify({ format: CACHE_FORMAT, operation: call.operation, model: this.config.model, value: reply.value, usage: reply.usage }),
          );
        return { value: reply.value, usage, cached: false, attempts: attempt + 1 };
      }
      if (signal.aborted) throw abortReason(signal);
      if (!(failure instanceof EndpointRetryableError)) {
        this.counters.failures++;
        throw failure;
      }
      if (failure.status === 429) this.counters.throttled++;
      if (attempt >= this.config.maxRetries) {
        this.counters.failures++;
        throw new EndpointRetryableError(
          `${failure.message}; gave up after ${attempt + 1} attempt(s) (${this.label}.maxRetries is ${this.config.maxRetries}): the endpoint is down or overloaded, retry later or lower ${this.label}.limits`,
          failure.status,
          undefined,
          { cause: failure, service: failure.service },
        );
      }
      const hinted = failure.retryAfterMs;
      const waitMs =
        hinted !== undefined ? Math.min(hinted, this.config.maxBackoffMs) : backoffDelayMs(attempt, this.config.initialBackoffMs, this.config.maxBackoffMs);
      if (failure.status === 429 && hinted !== undefined && Date.now() + waitMs > this.pausedUntil) {
        this.pausedUntil = Date.now() + waitMs;
        this.requests.holdFor(waitMs);
      }
      this.counters.retries++;
      this.log.warn(
        { operation: call.operation, status: failure.status, attempt: attempt + 1, waitMs, hinted: hinted !== undefined },
        `retrying: ${failure.message}`,
      );
      await sleep(waitMs, undefined, { signal }).catch(() => {
        throw abortReason(signal);
      });
    }
  }

  /** One HTTP attempt, inside a concurrency slot, after the rate limits allow it. */
  private async attempt<T>(call: EndpointCall<T>, estimated: number, signal: AbortSignal): Promise<EndpointReply<T>> {
    const openai = await this.client();
    for (;;) {
      const paused = this.pausedUntil - Date.now();
      if (paused > 0) await sleep(paused, undefined, { signal });
      const waitMs = Math.max(await this.requests.reserve(1), estimated > 0 ? await this.tokens.reserve(estimated) : 0);
      if (waitMs > 0) {
        await sleep(waitMs, undefined, { signal }).catch((error: unknown) => {
          // Aborted while waiting: give the reservation back for the calls that remain.
          this.requests.adjust(1);
          if (estimated > 0) this.tokens.adjust(estimated);
          throw error;
        });
      }
      // A 429 paused the client while this call waited: its turn fell in the pause (holdFor spent
      // it), so it takes a new one instead of being refused too. Its tokens were not used.
      if (this.pausedUntil <= Date.now()) break;
      if (estimated > 0) this.tokens.adjust(estimated);
    }
    this.counters.calls++;
    this.log.debug({ operation: call.operation }, 'endpoint call');
    try {
      return await call.send(openai, { signal, timeout: this.config.timeoutMs, maxRetries: 0 });
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      // The caller's own refusals (a spent budget, say) pass through unchanged, never retried.
      if (error instanceof RecordError || error instanceof FatalError) throw error;
      throw classifyFailure(error, this.failureContext(call.operation, error));
    }
  }

  private failureContext(operation: string, error: unknown): FailureContext {
    return {
      operation,
      model: this.config.model,
      endpoint: this.endpoint,
      apiKeyEnv: this.config.apiKeyEnv,
      label: this.label,
      scrub: (text) => this.scrub(text),
      retryAfterMs: isApiError(error) ? serverRetryDelayMs(error.headers) : undefined,
    };
  }

  /** The openai client, made on first use so a fully cached run needs no key. */
  private async client(): Promise<OpenAI> {
    if (this.openai) return this.openai;
    const name = this.config.apiKeyEnv;
    const apiKey = this.env[name];
    if (!apiKey) {
      throw new FatalError(
        `${this.label}: the environment variable ${name} (${this.label}.apiKeyEnv) is not set: export ${name}=<your API key> for ${this.endpoint} (any non-empty value for a server without keys)`,
      );
    }
    this.apiKey = apiKey;
    const { default: OpenAIClient } = await openaiLib();
    // Two first calls may both have waited for the import: the first client made is the one kept.
    this.openai ??= new OpenAIClient({ baseURL: this.config.baseURL, apiKey, maxRetries: 0, timeout: this.config.timeoutMs, logLevel: 'off' });
    return this.openai;
  }

  /** Removes the key (and any bearer token) from text that may have come from a server. */
  private scrub(text: string): string {
    let clean = text.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
    if (this.apiKey && this.apiKey.length >= 4) clean = clean.split(this.apiKey).join('[redacted]');
    return clean;
  }
}

/** Rough tokens for a chat call: ~4 characters per token of the messages, plus the output budget. */

function combine(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return new AbortController().signal;
  return present.length === 1 ? present[0] : AbortSignal.any(present);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new FatalError(`endpoint call aborted: ${String(signal.reason)}`);
}

/** The promise's outcome, or the abort reason as soon as the signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}
