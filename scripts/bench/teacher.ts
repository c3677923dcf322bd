// Teacher throughput benchmark: the same N distinct chat requests sent, one side after the other in
// one run, to a local OpenAI-compatible server (tests/support/openai-server.ts, loopback only) that
// answers after `--latency` ms and refuses more than `--rpm` requests per minute with 429 and
// Retry-After, as a provider does. (a) is emoforge's EndpointClient with limits.requestsPerMinute
// set to the server's limit and a fresh store (no cache hits); (b) is what a user would write
// without it: the openai package with its own retries (default 2) behind a p-queue concurrency cap.
// Both get the same concurrency. The server's window is reset between the sides (a fresh key).
// Throughput counts answered requests per minute of wall time; the share is that over the limit.
//
//   npx tsx scripts/bench/teacher.ts [--quick] [--requests N] [--rpm 600] [--latency 300]
//                                     [--window second|minute] [--concurrency 16]
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import PQueue from 'p-queue';
import { EndpointClient } from '../../pipelines/endpoints/index.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { OpenAICompatibleServer, type RateLimit } from '../../tests/support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_BENCH_TEACHER_KEY';
const MODEL = 'bench-teacher';
const CHAT = '/v1/chat/completions';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    requests: { type: 'string' },
    rpm: { type: 'string', default: '600' },
    latency: { type: 'string', default: '300' },
    window: { type: 'string', default: 'second' },
    concurrency: { type: 'string', default: '16' },
  },
});
const rpm = Number(args.rpm);
const latencyMs = Number(args.latency);
const concurrency = Number(args.concurrency);
// Enough for 60 s of sustained load at the limit (15 s with --quick).
const requests = args.requests !== undefined ? Number(args.requests) : Math.round((rpm * (args.quick ? 15 : 60)) / 60);
const window = args.window as NonNullable<RateLimit['window']>;
if (!(rpm > 0)) throw new RangeError(`--rpm must be > 0, got ${args.rpm}`);
if (!Number.isSafeInteger(latencyMs) || latencyMs < 0) throw new RangeError(`--latency must be a non-negative integer, got ${args.latency}`);
if (!Number.isSafeInteger(concurrency) || concurrency <= 0) throw new RangeError(`--concurrency must be a positive integer, got ${args.concurrency}`);
if (!Number.isSafeInteger(requests) || requests <= 0 || requests > 100_000)
  throw new RangeError(`--requests must be an integer in 1..100000, got ${args.requests}`);
if (window !== 'second' && window !== 'minute') throw new RangeError(`--window must be second or minute, got ${window}`);

/** Each side is stopped after this long: at the limit the work takes requests / rpm minutes. */
const deadlineMs = Math.ceil((requests / rpm) * 60_000 * 3) + 60_000;

interface Measurement {
  readonly side: string;
  readonly ms: number;
  readonly answered: number;
  readonly failed: number;
  /** HTTP requests the server saw */
  readonly sent: number;
  readonly throttled: number;
  readonly retries: number;
  readonly firstFailure?: string;
}

/** The i-th request: distinct, so nothing is shared or cached. */
function question(i: number) {
  return {
    messages: [
      { role: 'system' as const, content: 'You label the emotion a speaker shows. Answer with one word.' },
      { role: 'user' as const, content: `Segment ${i}: "I can't believe you did that", said with a rising voice and a half smile.` },
    ],
    max_tokens: 16,
    temperature: 0,
  };
}

/** A one-line progress report on a TTY, once a second. */
function progress(side: string, done: () => number): () => void {
  if (!process.stderr.isTTY) return () => {};
  const started = performance.now();
  const timer = setInterval(() => process.stderr.write(`\r${side}: ${done()}/${requests} in ${((performance.now() - started) / 1000).toFixed(0)} s   `), 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

async function measure(
  server: OpenAICompatibleServer,
  side: string,
  run: (signal: AbortSignal, settled: () => void) => Promise<{ failures: unknown[]; retries?: number }>,
): Promise<Measurement> {
  server.reset();
  const deadline = AbortSignal.timeout(deadlineMs);
  // Every request of the side listens to it.
  setMaxListeners(requests * 4, deadline);
  let done = 0;
  const stop = progress(side, () => done);
  const started = performance.now();
  const { failures, retries } = await run(deadline, () => done++).finally(stop);
  const ms = performance.now() - started;
  const seen = server.requestsTo(CHAT);
  const throttled = seen.filter((r) => r.outcome === 'rate-limited').length;
  const first = failures[0];
  return {
    side,
    ms,
    answered: requests - failures.length,
    failed: failures.length,
    sent: seen.length,
    throttled,
    // The SDK does not count its retries: every request past the first of each item is one.
    retries: retries ?? seen.length - requests,
    firstFailure: first === undefined ? undefined : (first instanceof Error ? first.message : String(first)).slice(0, 200),
  };
}

async function ours(server: OpenAICompatibleServer, storeRoot: string): Promise<Measurement> {
  return measure(server, 'emoforge EndpointClient', async (signal, settled) => {
    const client = new EndpointClient({
      config: {
        baseURL: server.baseURL,
        apiKeyEnv: KEY_ENV,
        model: MODEL,
        // Tokens are not what this bench limits.
        limits: { requestsPerMinute: rpm, tokensPerMinute: 100_000_000, concurrency },
      },
      env: { [KEY_ENV]: server.apiKey },
      store: new LocalStore(storeRoot),
      signal,
      label: 'bench.teacher',
    });
    const outcomes = await Promise.allSettled(Array.from({ length: requests }, (_, i) => client.chat(question(i)).finally(settled)));
    const stats = client.stats();
    if (stats.cacheHits) throw new Error(`expected a fresh store, got ${stats.cacheHits} cache hits`);
    return { failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : [])), retries: stats.retries };
  });
}

async function naive(server: OpenAICompatibleServer): Promise<Measurement> {
  return measure(server, 'openai + p-queue', async (signal, settled) => {
    const openai = new OpenAI({ baseURL: server.baseURL, apiKey: server.apiKey, logLevel: 'off' });
    const queue = new PQueue({ concurrency });
    const outcomes = await Promise.allSettled(
      Array.from({ length: requests }, (_, i) =>
        queue.add(() => openai.chat.completions.create({ model: MODEL, ...question(i) }, { signal })).finally(settled),
      ),
    );
    return { failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : [])) };
  });
}

function table(results: readonly Measurement[]): string {
  const header = ['client', 'wall s', 'answered/min', 'share of limit', 'failed', '429s', 'retries', 'HTTP requests'];
  const lines = results.map((r) => {
    const perMinute = (r.answered / r.ms) * 60_000;
    return [
      r.side,
      (r.ms / 1000).toFixed(1),
      perMinute.toFixed(0),
      `${((perMinute / rpm) * 100).toFixed(1)}%`,
      String(r.failed),
      String(r.throttled),
      String(r.retries),
      String(r.sent),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

async function main(): Promise<void> {
  const rateLimit: RateLimit = { requestsPerMinute: rpm, window };
  const server = await OpenAICompatibleServer.start({ latencyMs, rateLimit, chat: { content: 'surprise' } });
  const storeRoot = await mkdtemp(join(tmpdir(), 'emoforge-bench-teacher-'));
  const results: Measurement[] = [];
  try {
    process.stderr.write(
      `${requests} distinct chat requests, server at ${server.baseURL}: ${latencyMs} ms latency, ${rpm} requests/min enforced per ${window}\n`,
    );
    results.push(await ours(server, join(storeRoot, 'store')));
    results.push(await naive(server));
  } finally {
    await server.close();
    await rm(storeRoot, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nTeacher calls: ${requests} distinct chat requests, one side after the other; server ${latencyMs} ms latency, limit ${rpm}/min enforced per ${window} (429 + Retry-After); concurrency ${concurrency} on both sides\n\n`,
  );
  process.stdout.write(`${table(results)}\n\n`);
  const [a, b] = results;
  const share = (r: Measurement) => r.answered / r.ms / (rpm / 60_000);
  process.stdout.write(
    `ours: ${(share(a) * 100).toFixed(1)}% of the limit (goal >= 95%), ${a.failed} failed (goal 0); naive: ${b.answered} of ${requests} answered (${b.failed} given up after the SDK's retries)\n`,
  );
  process.stdout.write(
    `ratio ours / naive: wall ${(a.ms / b.ms).toFixed(2)}, answered/min ${(share(a) / share(b)).toFixed(2)}, items answered ${(a.answered / Math.max(1, b.answered)).toFixed(2)}, HTTP requests per answered item ${(a.sent / a.answered / (b.sent / Math.max(1, b.answered))).toFixed(2)}\n`,
  );
  for (const r of results) if (r.firstFailure) process.stdout.write(`${r.side}, first failure: ${r.firstFailure}\n`);
}

await main();
