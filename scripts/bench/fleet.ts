// Fleet benchmark: the same teacher-bound corpus built by the BullMQ executor with 1 worker and
// then with 3 workers, in one run, against a local OpenAI-compatible server (tests/support/
// openai-server.ts, loopback) that answers after --latency ms with realistic structured answers,
// and a real redis-server on a loopback port. Every worker runs --concurrency partitions at once.
//
// What is timed is a whole `emoforge run --executor bullmq` (ingest, queueing, partitions on the
// workers, the sink). Media work is taken out of the comparison: a warm-up run with the offline
// rules teacher fills the shared store with segments, keyframes and transcripts first, and each
// side asks a model name of its own, so neither side finds the other's answers in the response
// cache. Worker child processes are started (and warmed) before each timed side.
//
//   npx tsx scripts/bench/fleet.ts [--clips 48] [--latency 300] [--concurrency 2] [--quick]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { realisticAnswer } from '../../tests/support/answer-model.ts';
import { OpenAICompatibleServer } from '../../tests/support/openai-server.ts';
import { startRedisServer } from '../../tests/support/redis-server.ts';
import { REPO, sampleClips } from '../../tests/helpers.ts';

const KEY_ENV = 'EMOFORGE_BENCH_FLEET_KEY';
const { values: args } = parseArgs({
  options: {
    clips: { type: 'string' },
    latency: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});
const clips = Number(args.clips ?? (args.quick ? 24 : 48));
const latencyMs = Number(args.latency);
const concurrency = Number(args.concurrency);
if (!Number.isInteger(clips) || clips < 3) throw new RangeError(`--clips must be an integer of at least 3, got ${args.clips}`);
if (!Number.isInteger(latencyMs) || latencyMs < 0) throw new RangeError(`--latency must be a non-negative integer, got ${args.latency}`);
if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`--concurrency must be a positive integer, got ${args.concurrency}`);

/** Teacher-bound: four LLM roles per segment; the cue stages describe reads come from the warm-up's cache. */
function config(model: string | undefined): Record<string, unknown> {
  return {
    name: 'bench-fleet',
    // Partitions of about one clip: the unit of work is small next to the whole run.
    partitions: clips * 2,
    concurrency,
    ...(model
      ? {
          teachers: {
            teachers: {
              llm: {
                kind: 'openai',
                endpoint: {
                  baseURL: server.baseURL,
                  apiKeyEnv: KEY_ENV,
                  model,
                  timeoutMs: 30_000,
                  limits: { requestsPerMinute: 60_000, tokensPerMinute: 100_000_000, concurrency: 64 },
                },
              },
            },
            roles: { describe: 'llm', labels: 'llm', qa: 'llm', rationale: 'llm' },
          },
        }
      : {}),
    stages: [
      { ingest: {} },
      { segment: { strategy: 'whole', frames: 2 } },
      { transcribe: { engine: 'manifest' } },
      'cues.acoustic',
      'cues.lexical',
      'describe',
      'labels',
      'qa',
      'rationale',
      { write: { seed: 'bench' } },
    ],
  };
}

const server = await OpenAICompatibleServer.start({ latencyMs, chat: { json: realisticAnswer } });
const redis = await startRedisServer();
const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-fleet-'));
const env = { ...process.env, [KEY_ENV]: server.apiKey };
const workers: ChildProcess[] = [];

function emoforge(argv: string[]): ChildProcess {
  return spawn(process.execPath, [join(REPO, 'scripts/emoforge.mjs'), ...argv], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function startWorker(): Promise<ChildProcess> {
  const child = emoforge(['worker', '--redis', redis.url, '--concurrency', String(concurrency)]);
  workers.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('waiting for partitions')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function run(name: string, model: string | undefined, limit?: number): Promise<{ ms: number; stdout: string }> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, stringify(config(model)));
  const started = performance.now();
  const child = emoforge([
    'run',
    file,
    '--executor',
    'bullmq',
    '--redis',
    redis.url,
    '--input',
    input,
    '--out',
    join(work, `out-${name}`),
    '--store',
    join(work, 'store'),
    ...(limit ? ['--limit', String(limit)] : []),
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${name}: emoforge run exited with ${code}\n${stderr}\n${stdout}`);
  return { ms: performance.now() - started, stdout };
}

const input = await sampleClips(clips);
// The demo clips repeat a few sentences, and equal prompts are one cached answer: a take number
// in each transcript makes every segment's requests its own, so the work grows with the clips.
const manifest = (await readFile(join(input, 'manifest.csv'), 'utf8')).trimEnd().split('\n');
await writeFile(join(input, 'manifest.csv'), `${[manifest[0], ...manifest.slice(1).map((line, i) => line.replace(/"$/, ` (take ${i + 1})"`))].join('\n')}\n`);
try {
  process.stderr.write(`fleet bench: ${clips} clips, ${clips * 2} partitions, teacher latency ${latencyMs} ms, ${concurrency} partitions at once per worker\n`);
  await startWorker();
  // Media into the shared store, and worker 1's child processes started.
  await run('warm-media', undefined);
  server.reset();
  const one = await run('one-worker', 'fleet-bench-1');
  const oneCalls = server.requestsTo('/v1/chat/completions').length;
  await Promise.all([startWorker(), startWorker()]);
  // Start the new workers' child processes on a few clips asked of a third model.
  await run('warm-workers', 'fleet-bench-warm', Math.min(clips, concurrency * 6));
  server.reset();
  const three = await run('three-workers', 'fleet-bench-3');
  const threeCalls = server.requestsTo('/v1/chat/completions').length;

  // The run's own time (from its summary) leaves out the command's start-up (loading tsx and the
  // stages), which is the same on one machine or thirty.
  const runTime = (stdout: string) => Number(/time:\s+([\d.]+)s/.exec(stdout)?.[1] ?? NaN) * 1000;
  const [oneRun, threeRun] = [runTime(one.stdout), runTime(three.stdout)];
  const rows = [
    ['workers', 'command s', 'run s', 'teacher calls', 'calls/s (run)'],
    ['1', (one.ms / 1000).toFixed(1), (oneRun / 1000).toFixed(1), String(oneCalls), (oneCalls / (oneRun / 1000)).toFixed(1)],
    ['3', (three.ms / 1000).toFixed(1), (threeRun / 1000).toFixed(1), String(threeCalls), (threeCalls / (threeRun / 1000)).toFixed(1)],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padStart(widths[i])).join('  ')}\n`);
  if (process.env.EMOFORGE_BENCH_VERBOSE) process.stdout.write(`${one.stdout}\n${three.stdout}\n`);
  process.stdout.write(
    `speed-up with 3 workers: ${(oneRun / threeRun).toFixed(2)}x of the run's time (goal ≥ 2.7x), ${(one.ms / three.ms).toFixed(2)}x of the whole command's${oneCalls !== threeCalls ? ` — note: the sides made different numbers of calls` : ''}\n`,
  );
} finally {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : undefined)));
  await redis.stop();
  await server.close();
  await rm(work, { recursive: true, force: true });
}
