// The shared endpoint client against a real local OpenAI-compatible server, through the real
// openai package: retries and their waits, error classes and messages, timeouts, abort, limits,
// the response cache, and that the key never leaks.
import { Writable } from 'node:stream';
import { rm } from 'node:fs/promises';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tempDir } from '../../helpers.ts';
import { EndpointClient, EndpointConfig, EndpointRejectedError, type EndpointConfigInput } from '../../../pipelines/endpoints/index.ts';
import { backoffDelayMs, parseDuration, serverRetryDelayMs } from '../../../pipelines/endpoints/retry-delay.ts';
import { ConfigError, FatalError, RecordError, RetryableError } from '../../../pipelines/errors.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { faults, OpenAICompatibleServer, type RecordedRequest } from '../../support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_TEST_ENDPOINT_KEY';
const CHAT = '/v1/chat/completions';

let server: OpenAICompatibleServer;
let root: string;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-secret-4f1c9a7e2b' });
  root = await tempDir('emoforge-endpoint-');
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  server.reset();
  server.latencyMs = 0;
  server.chat = {};
});

function config(overrides: Partial<EndpointConfigInput> = {}): EndpointConfigInput {
  return {
    baseURL: server.baseURL,
    apiKeyEnv: KEY_ENV,
    model: 'test-model',
    timeoutMs: 5000,
    maxRetries: 3,
    initialBackoffMs: 20,
    maxBackoffMs: 5000,
    ...overrides,
  };
}

function client(
  overrides: Partial<EndpointConfigInput> = {},
  options: { key?: string; store?: LocalStore; signal?: AbortSignal; log?: pino.Logger } = {},
): EndpointClient {
  return new EndpointClient({
    config: config(overrides),
    env: { [KEY_ENV]: options.key ?? server.apiKey },
    store: options.store,
    signal: options.signal,
    log: options.log,
  });
}

const ask = (c: EndpointClient, text = 'hello', signal?: AbortSignal) => c.chat({ messages: [{ role: 'user', content: text }] }, { signal });

/** Largest number of requests the server was handling at the same moment. */
function maxInFlight(requests: RecordedRequest[]): number {
  const events = requests.flatMap((r) => [
    { at: r.receivedAt, delta: 1 },
    { at: r.closedAt ?? Infinity, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const event of events) max = Math.max(max, (current += event.delta));
  return max;
}

describe('endpoint config', () => {
  it('fills the documented defaults and names a bad field', () => {
    expect(EndpointConfig.parse({ baseURL: 'https://api.openai.com/v1', model: 'gpt-4o-mini' })).toEqual({
      baseURL: 'https://api.openai.com/v1',
      apiKeyEnv: 'OPENAI_API_KEY',
      model: 'gpt-4o-mini',
      timeoutMs: 60_000,
      maxRetries: 4,
      initialBackoffMs: 500,
      maxBackoffMs: 60_000,
      limits: { requestsPerMinute: 500, tokensPerMinute: 200_000, concurrency: 4 },
    });
    const error = (() => {
      try {
        new EndpointClient({ config: { baseURL: 'ftp://x', model: 'm', limits: { concurrency: 0 } }, label: 'teachers.gpt' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.join('\n')).toMatch(/teachers\.gpt\.baseURL: an http\(s\) URL/);
    expect(error!.issues.join('\n')).toMatch(/teachers\.gpt\.limits\.concurrency/);
  });

  it('reads server retry hints and backs off with full jitter', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(serverRetryDelayMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(serverRetryDelayMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3000);
    expect(serverRetryDelayMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(
      serverRetryDelayMs(
        new Headers({
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '1m2.5s',
          'x-ratelimit-remaining-tokens': '900',
          'x-ratelimit-reset-tokens': '9m',
        }),
      ),
    ).toBe(62_500);
    expect(serverRetryDelayMs(new Headers({ 'content-type': 'application/json' }))).toBeUndefined();
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('soon')).toBeUndefined();
    expect(backoffDelayMs(0, 500, 60_000, () => 0.999)).toBe(499);
    expect(backoffDelayMs(3, 500, 60_000, () => 0.5)).toBe(2000);
    expect(backoffDelayMs(20, 500, 60_000, () => 0.5)).toBe(30_000);
  });
});

describe('endpoint retries', () => {
  it('retries a 429 after the Retry-After the server asked for', async () => {
    server.failNext(faults.rateLimited(1), 1, CHAT);
    const c = client();
    const result = await ask(c);
    expect(result.value.choices[0].message.content).toBe('ok');
    expect(result.attempts).toBe(2);
    const [first, second] = server.requestsTo(CHAT);
    const waited = second.receivedAt - first.receivedAt;
    console.info(`429 with Retry-After: 1 → retried after ${waited.toFixed(0)} ms`);
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(3000);
    expect(c.stats()).toMatchObject({ calls: 2, retries: 1, throttled: 1, failures: 0 });
  });

  it('honours retry-after-ms and x-ratelimit-reset-* over its own backoff', async () => {
    server.failNext(faults.status(429, { headers: { 'retry-after-ms': '300' } }), 1, CHAT);
    server.failNext(faults.status(429, { headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '400ms' } }), 1, CHAT);
    await ask(client({ initialBackoffMs: 0 }));
    const [a, b, c] = server.requestsTo(CHAT);
    console.info(
      `retry-after-ms 300 → ${(b.receivedAt - a.receivedAt).toFixed(0)} ms; x-ratelimit-reset-requests 400ms → ${(c.receivedAt - b.receivedAt).toFixed(0)} ms`,
    );
    expect(b.receivedAt - a.receivedAt).toBeGreaterThanOrEqual(290);
    expect(c.receivedAt - b.receivedAt).toBeGreaterThanOrEqual(390);
  });

  it('recovers from a 503, a dropped connection and a reply that is not JSON', async () => {
    server.failNext(faults.status(503), 1, CHAT).failNext(faults.drop(), 1, CHAT).failNext(faults.invalidJson(), 1, CHAT);
    const c = client();
    const result = await ask(c);
    expect(result.value.choices[0].message.content).toBe('ok');
    expect(server.requestsTo(CHAT).map((r) => r.outcome)).toEqual(['status:503', 'drop', 'invalid-json', 'ok']);
    expect(c.stats()).toMatchObject({ calls: 4, retries: 3, failures: 0 });
  });

  it('gives up after maxRetries with an error that says what happened and what to do', async () => {
    server.failNext(faults.status(500, { message: 'upstream exploded' }), 10, CHAT);
    const c = client({ maxRetries: 2 });
    const error = (await ask(c).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(
      /chat\.completions with model 'test-model' at http:\/\/127\.0\.0\.1:\d+\/v1: 500 \(upstream exploded\); gave up after 3 attempt\(s\) \(endpoint\.maxRetries is 2\)/,
    );
    expect(server.requestsTo(CHAT)).toHaveLength(3);
    expect(c.stats()).toMatchObject({ calls: 3, retries: 2, failures: 1 });
  });

  it('does not retry a 401 and names the variable to fix, without repeating the key', async () => {
    const wrongKey = 'sk-wrong-7d3e0b9c55aa';
    const c = client({}, { key: wrongKey });
    const error = (await ask(c).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toContain(`set ${KEY_ENV} to a valid key`);
    expect(error.message).not.toContain(wrongKey);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(wrongKey);
    expect(server.requestsTo(CHAT)).toHaveLength(1);
    // The server did echo it: the client scrubbed it.
    expect(server.requestsTo(CHAT)[0].apiKey).toBe(wrongKey);
  });

  it('drops the record on a 400 and stops the run on a 404 or a missing key variable', async () => {
    server.failNext(faults.status(400, { message: "'messages' is too long" }), 1, CHAT);
    const rejected = await ask(client()).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(EndpointRejectedError);
    expect(rejected).toBeInstanceOf(RecordError);
    expect(rejected).toMatchObject({ reason: 'endpoint-rejected', status: 400 });

    server.failNext(faults.status(404, { message: 'The model `nope` does not exist' }), 1, CHAT);
    const missing = (await ask(client()).catch((e: unknown) => e)) as Error;
    expect(missing).toBeInstanceOf(FatalError);
    expect(missing.message).toMatch(/check baseURL .* and that the endpoint serves model 'test-model'/);

    const before = server.requests.length;
    const noKey = new EndpointClient({ config: config({ apiKeyEnv: 'EMOFORGE_UNSET_KEY_VAR' }), env: {} });
    const unset = (await ask(noKey).catch((e: unknown) => e)) as Error;
    expect(unset).toBeInstanceOf(FatalError);
    expect(unset.message).toMatch(/EMOFORGE_UNSET_KEY_VAR .* is not set: export EMOFORGE_UNSET_KEY_VAR=/);
    expect(server.requests.length).toBe(before);
  });

  it('times out a hanging request after timeoutMs', async () => {
    server.failNext(faults.hang(), 1, CHAT);
    const started = performance.now();
    const error = (await ask(client({ timeoutMs: 300, maxRetries: 0 })).catch((e: unknown) => e)) as Error;
    const elapsed = performance.now() - started;
    console.info(`hang with timeoutMs 300 → failed after ${elapsed.toFixed(0)} ms`);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/timed out/i);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });
});

describe('endpoint limits and abort', () => {
  it('one abort stops the call in flight and every queued call', async () => {
    server.latencyMs = 400;
    const controller = new AbortController();
    const c = client({ limits: { concurrency: 1 } }, { signal: controller.signal });
    const started = performance.now();
    const calls = Array.from({ length: 5 }, (_, i) =>
      ask(c, `q${i}`).then(
        () => 'done',
        (e: Error) => e.message,
      ),
    );
    setTimeout(() => controller.abort(new Error('run cancelled')), 100);
    expect(await Promise.all(calls)).toEqual(Array(5).fill('run cancelled'));
    // Unaborted, five 400 ms calls one at a time would take 2 s.
    expect(performance.now() - started).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(server.requestsTo(CHAT)).toHaveLength(1);
    await expect(ask(c, 'after')).rejects.toThrow('run cancelled');
  });

  it('a per-call signal removes only that call from the queue', async () => {
    server.latencyMs = 150;
    const c = client({ limits: { concurrency: 1 } });
    const controller = new AbortController();
    const first = ask(c, 'a');
    const second = ask(c, 'b', controller.signal);
    const third = ask(c, 'c');
    controller.abort(new Error('not needed'));
    await expect(second).rejects.toThrow('not needed');
    await expect(first).resolves.toMatchObject({ cached: false });
    await expect(third).resolves.toMatchObject({ cached: false });
    expect(server.requestsTo(CHAT).map((r) => r.json.messages[0].content)).toEqual(['a', 'c']);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server.latencyMs = 150;
    const c = client({ limits: { concurrency: 2 } });
    await Promise.all(Array.from({ length: 6 }, (_, i) => ask(c, `q${i}`)));
    const inFlight = maxInFlight(server.requestsTo(CHAT));
    console.info(`concurrency 2, 6 calls of 150 ms → at most ${inFlight} in flight`);
    expect(inFlight).toBe(2);
  });

  it('spreads requests to requestsPerMinute', async () => {
    const c = client({ limits: { requestsPerMinute: 600, tokensPerMinute: 10_000_000, concurrency: 50 } });
    // When the limiter lets each attempt go (client side: the server's clock adds CPU noise).
    const released: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        c.request({
          operation: 'chat.completions',
          params: { i },
          async send(openai, options) {
            released.push(performance.now() - started);
            const completion = await openai.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: `q${i}` }] }, options);
            return { value: completion.id };
          },
        }),
      ),
    );
    released.sort((a, b) => a - b);
    expect(server.requestsTo(CHAT)).toHaveLength(25);
    // A burst of one second's share (10 requests), then one every 100 ms: the k-th (from 0) goes
    // (k - 9) × 100 ms after the start.
    const early = released.filter((t, k) => k >= 10 && t < (k - 9) * 100 - 5);
    const burst = released.filter((t) => t < 50).length;
    console.info(
      `600 rpm, 25 calls at once → burst of ${burst}, then one per ${((released[24] - released[10]) / 14).toFixed(0)} ms, last released at ${released[24].toFixed(0)} ms`,
    );
    expect(burst).toBe(10);
    expect(early).toEqual([]);
    expect(released[24]).toBeGreaterThanOrEqual(1495);
  });

  it('holds tokensPerMinute, and settles estimates with the usage the server reports', async () => {
    server.chat = { usage: null };
    const slow = client({ limits: { tokensPerMinute: 60_000, concurrency: 4 } });
    let started = performance.now();
    await Promise.all(['a', 'b', 'c'].map((text) => slow.chat({ messages: [{ role: 'user', content: text }] }, { estimatedTokens: 1000 })));
    const unsettled = performance.now() - started;

    server.chat = { usage: { prompt_tokens: 8, completion_tokens: 2 } };
    const settled = client({ limits: { tokensPerMinute: 60_000, concurrency: 1 } });
    started = performance.now();
    for (const text of ['a', 'b', 'c']) await settled.chat({ messages: [{ role: 'user', content: text }] }, { estimatedTokens: 1000 });
    const withUsage = performance.now() - started;
    console.info(`60k tpm, 3 calls estimated at 1000 tokens: ${unsettled.toFixed(0)} ms without usage, ${withUsage.toFixed(0)} ms when each reports 10 tokens`);
    expect(unsettled).toBeGreaterThanOrEqual(1900);
    expect(withUsage).toBeLessThan(1000);
    expect(settled.stats()).toMatchObject({ inputTokens: 24, outputTokens: 6 });
  });
});

describe('endpoint cache', () => {
  it('answers a repeated request from the store with no HTTP call, whatever the throughput settings or baseURL', async () => {
    const store = new LocalStore(`${root}/cache-store`);
    server.chat = { json: { emotion: 'happy' } };
    const schema = { type: 'json_schema' as const, json_schema: { name: 'label', schema: z.toJSONSchema(z.object({ emotion: z.string() })) } };
    const body = { messages: [{ role: 'user' as const, content: 'label this' }], response_format: schema, temperature: 0 };

    const first = client({}, { store });
    const paid = await first.chat(body);
    expect(paid).toMatchObject({ cached: false, attempts: 1 });
    expect(JSON.parse(paid.value.choices[0].message.content!)).toEqual({ emotion: 'happy' });
    expect(server.requestsTo(CHAT)[0].json.response_format.type).toBe('json_schema');

    // Another worker with other limits, and a mirror of the same model at another address.
    const other = client({ limits: { concurrency: 9, requestsPerMinute: 10 }, maxRetries: 0 }, { store });
    const again = await other.chat(body);
    expect(again).toMatchObject({ cached: true, attempts: 0, usage: paid.usage });
    expect(again.value).toEqual(paid.value);
    expect(other.stats()).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(client({ baseURL: 'http://mirror.invalid:9/v1' }).cacheKey('chat.completions', { a: 1 })).toBe(first.cacheKey('chat.completions', { a: 1 }));
    expect(server.requestsTo(CHAT)).toHaveLength(1);

    // A different model or prompt is a different answer.
    await client({ model: 'other-model' }, { store }).chat(body);
    await other.chat({ ...body, temperature: 0.7 });
    expect(server.requestsTo(CHAT)).toHaveLength(3);
  });

  it('pays once for identical calls made at the same time', async () => {
    server.latencyMs = 100;
    const store = new LocalStore(`${root}/inflight-store`);
    const c = client({}, { store });
    const results = await Promise.all(Array.from({ length: 4 }, () => ask(c, 'same question')));
    expect(server.requestsTo(CHAT)).toHaveLength(1);
    expect(results.filter((r) => r.cached)).toHaveLength(3);
  });
});

describe('endpoint secrets', () => {
  it('never writes the key to logs or error messages, and sends only the configured key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'trace' }, sink);
    const good = client({ maxRetries: 2 }, { log });
    server.failNext(faults.rateLimited(0), 1, CHAT).failNext(faults.status(500), 5, CHAT);
    const errors = [(await ask(good).catch((e: unknown) => e)) as Error];
    const wrongKey = 'sk-leaky-1234567890abcdef';
    errors.push((await ask(client({}, { key: wrongKey, log })).catch((e: unknown) => e)) as Error);
    server.reset();
    await ask(good, 'fine now');

    const output = lines.join('');
    expect(output).toContain('retrying');
    for (const secret of [server.apiKey, wrongKey]) {
      expect(output).not.toContain(secret);
      for (const error of errors) {
        expect(error).toBeInstanceOf(Error);
        expect(`${error.message} ${String(error.cause)}`).not.toContain(secret);
      }
    }
    expect([...server.presentedKeys()]).toEqual([server.apiKey]);
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${server.apiKey}`);
  });
});
