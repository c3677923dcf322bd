// Workers on other machines with an s3:// input: the coordinator's clips live in its own local
// mirror, so a worker (here a process with its own, empty S3 cache folder: another machine) pulls
// the clips of each partition it takes from the bucket before processing it.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../../pipelines/store/s3-store.ts';
import { cli, demoConfig, sampleClips, spawnCli, tempDir, writeConfig } from '../../helpers.ts';
import { startRedisServer, type RedisServer } from '../../support/redis-server.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';

const BUCKET = 'emoforge-fleet';
let redis: RedisServer;
let s3: S3Server;
let work: string;

beforeAll(async () => {
  work = await tempDir('emoforge-bullmq-s3-');
  redis = await startRedisServer();
  s3 = await startS3Server({ dir: join(work, 's3') });
});
afterAll(async () => {
  await redis?.stop();
  await s3?.stop();
});

describe('bullmq workers with an s3:// input', () => {
  it('a worker on another machine pulls the clips of its partitions from the bucket', async () => {
    const clips = await sampleClips(3);
    const saved = { ...process.env };
    Object.assign(process.env, s3.env);
    try {
      const bucketInput = new S3Store(`s3://${BUCKET}/clips`, { client: s3.clientConfig, scratchDir: join(work, 'scratch') });
      await s3.createBucket(BUCKET);
      for (const file of (await readdir(clips)).sort()) await bucketInput.putFile(file, join(clips, file));
      const config = await writeConfig(work, demoConfig({ transcribe: { engine: 'manifest' }, 'cues.visual': false }, { partitions: 3, concurrency: 1 }));

      // Machine B: a worker with its own (empty) mirror folder.
      process.env.EMOFORGE_S3_CACHE = join(work, 'machine-b');
      const worker = spawnCli(['worker', '--redis', redis.url, '--concurrency', '1']);
      let output = '';
      worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        const deadline = Date.now() + 60_000;
        while (!output.includes('waiting for partitions') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(output).toContain('waiting for partitions');
        // Machine A: the coordinator, with another mirror folder.
        process.env.EMOFORGE_S3_CACHE = join(work, 'machine-a');
        const run = await cli([
          'run',
          config,
          '--executor',
          'bullmq',
          '--redis',
          redis.url,
          '--input',
          `s3://${BUCKET}/clips`,
          '--store',
          `s3://${BUCKET}/cache`,
          '--out',
          join(work, 'out'),
        ]);
        expect(run.code, run.stderr + run.stdout + output).toBe(0);
        expect(run.stdout).toMatch(/→ 3 segments/);
        expect(output).toMatch(/done partition/);
        // The worker pulled the clips into its own mirror.
        const mirrored = await readdir(join(work, 'machine-b', 'input', BUCKET, 'clips'));
        expect(mirrored.filter((f) => f.endsWith('.mp4')).length).toBeGreaterThan(0);
        expect((await stat(join(work, 'out', 'manifest.json'))).size).toBeGreaterThan(0);
      } finally {
        worker.kill('SIGTERM');
      }
    } finally {
      process.env = saved;
    }
  }, 300_000);
});
