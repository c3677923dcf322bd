// The BullMQ executor against a real redis-server: a coordinator queues the partitions, three
// `emoforge worker` processes take them, one is SIGKILLed mid-run (its job's lease expires and
// another worker runs it again), and the published shards are byte-identical to a single-machine
// run's, with every row exactly once. The Redis token bucket is checked on its own: two processes'
// worth of clients sharing one limit get half the rate each.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointClient } from '../../../pipelines/endpoints/index.ts';
import { closeFleetRedis, FLEET_REDIS_ENV, RedisTokenBucket } from '../../../pipelines/endpoints/fleet-rate-limit.ts';
import { OpenAICompatibleServer } from '../../support/openai-server.ts';
import { readRowsHyparquet } from '../../../pipelines/parquet/index.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { cli, demoConfig, readJson, sampleClips, shardHashes, spawnCli, storeKeys, tempDir, writeConfig } from '../../helpers.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

describe('bullmq executor', () => {
  it('three workers, one SIGKILLed mid-run: every partition once, the shards of a single-machine run', async () => {
    const input = await sampleClips(8);
    const work = await tempDir();
    // cues.agreement between two record phases: the coordinator runs it between two rounds of jobs.
    // No cues.visual: face-api costs ~5 CPU s a clip in every sandboxed job and tests nothing the executor does.
    const config = demoConfig({ transcribe: { engine: 'manifest' }, segment: { frames: 8 }, 'cues.visual': false }, { partitions: 8, concurrency: 1 });
    const file = await writeConfig(work, config);

    const single = await cli(['run', file, '--input', input, '--out', join(work, 'single-out'), '--store', join(work, 'single-store')]);
    expect(single.code, single.stderr).toBe(0);
    const expected = await shardHashes(join(work, 'single-out'));
    const allPartitions = await storeKeys(join(work, 'single-store'), 'partitions');

    const store = join(work, 'store');
    const out = join(work, 'out');
    // A short lease, so the killed worker's job is taken over within seconds.
    const workers = [0, 1, 2].map(() =>
      spawnCli(['worker', '--redis', redis.url, '--concurrency', '1', '--lock-duration', '4000', '--stalled-interval', '2000']),
    );
    const outputs = workers.map(() => '');
    const exits = workers.map((w) => new Promise<number | null>((resolve) => w.on('exit', (code, signal) => resolve(signal === 'SIGKILL' ? -9 : code))));
    workers.forEach((w, i) => w.stdout!.on('data', (chunk: Buffer) => (outputs[i] += chunk.toString())));
    try {
      await waitFor(() => outputs.every((o) => o.includes('waiting for partitions')), 60_000, 'workers to start');
      const coordinator = cli(['run', file, '--executor', 'bullmq', '--redis', redis.url, '--input', input, '--out', out, '--store', store]);
      // Kill worker 0 right after its first partition: it has already taken the next one.
      await waitFor(() => /done partition/.test(outputs[0]), 180_000, 'worker 0 to finish a partition');
      workers[0].kill('SIGKILL');
      expect(await exits[0]).toBe(-9);
      const doneByKilled = (outputs[0].match(/done partition/g) ?? []).length;

      const run = await coordinator;
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`cache: 0/${allPartitions.length} partitions reused`));
      expect(await shardHashes(out)).toEqual(expected);
      expect(await storeKeys(store, 'partitions')).toEqual(allPartitions);

      // Every row exactly once, and the rows of the single run.
      const ids = async (dir: string) =>
        (await Promise.all((await readdir(join(dir, 'shards'))).map((f) => readRowsHyparquet(join(dir, 'shards', f))))).flat().map((r) => String(r.id));
      const rowIds = await ids(out);
      expect(new Set(rowIds).size).toBe(rowIds.length);
      expect(rowIds.sort()).toEqual((await ids(join(work, 'single-out'))).sort());
      const manifest = await readJson(join(out, 'manifest.json'));
      expect(manifest.shards.map((s: { sha256: string }) => s.sha256).sort()).toEqual(Object.values(expected).sort());

      // The surviving workers did the rest, including the job the killed one held.
      const survivors = (outputs[1].match(/done partition/g) ?? []).length + (outputs[2].match(/done partition/g) ?? []).length;
      expect(doneByKilled + survivors).toBeGreaterThanOrEqual(allPartitions.length);
      expect(survivors).toBeGreaterThanOrEqual(allPartitions.length - doneByKilled);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
      await Promise.all(exits);
    }
  }, 600_000);

  it('a Redis token bucket is one limit for every client that shares its key', async () => {
    const a = new Redis(redis.url);
    const b = new Redis(redis.url);
    try {
      // 20 tokens/s, burst 1: 40 reservations from two connections need ~2 s in all, whoever asks.
      const buckets = [new RedisTokenBucket(a, 'test:bucket', 20, 1), new RedisTokenBucket(b, 'test:bucket', 20, 1)];
      // A reservation's wait counts from when it was made: on a loaded machine the loop itself takes time.
      const started = Date.now();
      const readyAt: number[] = [];
      for (let i = 0; i < 40; i++) {
        const wait = await buckets[i % 2].reserve(1);
        readyAt.push(Date.now() - started + wait);
      }
      const last = Math.max(...readyAt);
      expect(last).toBeGreaterThan(1800);
      expect(last).toBeLessThan(2100);
      // A separate key is a separate limit.
      expect(await new RedisTokenBucket(a, 'test:other', 20, 1).reserve(1)).toBe(0);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('endpoint clients with EMOFORGE_REDIS_URL share one requests/min limit', async () => {
    const server = await OpenAICompatibleServer.start();
    const store = new LocalStore(await tempDir());
    const client = (env: Record<string, string>) =>
      new EndpointClient({
        config: { baseURL: server.baseURL, apiKeyEnv: 'FLEET_TEST_KEY', model: 'fleet-test', limits: { requestsPerMinute: 120, concurrency: 32 } },
        env: { FLEET_TEST_KEY: server.apiKey, ...env },
        store,
      });
    const ask = (c: EndpointClient, tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => c.chat({ messages: [{ role: 'user', content: `${tag} ${i}` }], max_tokens: 4 }));
    try {
      // Two "workers" at 2 requests/s with a burst of 2: 10 requests each take ~4 s on their own buckets...
      let started = performance.now();
      await Promise.all([...ask(client({}), 'alone-a', 10), ...ask(client({}), 'alone-b', 10)]);
      const separate = performance.now() - started;
      // ...and ~9 s when the limit is one for both.
      const shared = { [FLEET_REDIS_ENV]: redis.url };
      started = performance.now();
      await Promise.all([...ask(client(shared), 'fleet-a', 10), ...ask(client(shared), 'fleet-b', 10)]);
      const fleet = performance.now() - started;
      // The shared limit is the floor of the second half; the first half is 5 s faster on a quiet
      // machine. The limits are slow (2/s) so that a loaded machine's latency, which slows both
      // halves (20 requests took up to ~1.5 s at a load average of 12), stays far below the 5 s
      // between them (at 10/s and 60 requests the gap was 2.5 s and load closed it: 0.3 s).
      expect(fleet).toBeGreaterThan(8500);
      expect(fleet - separate).toBeGreaterThan(3000);
      expect(server.requestsTo('/v1/chat/completions')).toHaveLength(40);
    } finally {
      await closeFleetRedis();
      await server.close();
    }
  }, 60_000);
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
