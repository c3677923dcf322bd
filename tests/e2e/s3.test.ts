// Input, store and output on a real S3-protocol server (s3rver on loopback): a CLI run reads clips from
// s3://, keeps its cache in s3:// and publishes shards then manifest.json to s3://; a publish killed
// half-way (the server SIGKILLed while shard parts upload) never leaves a manifest pointing at missing
// or partial shards, and publishing again completes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFolder } from '../../pipelines/publish/store-mirror.ts';
import { S3Store } from '../../pipelines/store/s3-store.ts';
import { cli, demoConfig, sampleClips, tempDir, writeConfig } from '../helpers.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

const BUCKET = 'emoforge-e2e';
let server: S3Server;
let work: string;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  work = await tempDir('emoforge-s3-e2e-');
});
afterAll(async () => {
  await server?.stop();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function s3(prefix: string): S3Store {
  return new S3Store(`s3://${BUCKET}/${prefix}`, { client: { ...server.clientConfig, maxAttempts: 2 }, scratchDir: join(work, 'scratch') });
}

async function keys(store: S3Store, prefix = ''): Promise<string[]> {
  const all: string[] = [];
  for await (const key of store.list(prefix)) all.push(key);
  return all;
}

/** An out folder like the write stage's: shards of random bytes (12 MB: two multipart parts each) and a manifest naming them. */
async function outFolder(dir: string, shards: number, version: string): Promise<Record<string, string>> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'shards'), { recursive: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  const hashes: Record<string, string> = {};
  for (let i = 0; i < shards; i++) {
    const file = `shards/train-${String(i).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.parquet`;
    const bytes = randomBytes(12 * 1024 * 1024);
    await writeFile(join(dir, file), bytes);
    hashes[file] = sha256(bytes);
  }
  await writeFile(join(dir, 'stats.json'), JSON.stringify({ version }));
  await writeFile(join(dir, 'logs', 'run.jsonl'), 'local only\n');
  await writeFile(join(dir, '.emoforge.lock'), '{"pid":1}');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version, shards: Object.entries(hashes).map(([file, sha]) => ({ file, sha256: sha })) }));
  return hashes;
}

/** What a reader of the bucket would conclude: the manifest (if any) and whether every shard it names is whole. */
async function readerView(
  store: S3Store,
): Promise<{ manifest: { version: string; shards: { file: string; sha256: string }[] } | null; brokenShards: string[] }> {
  const text = await store.get('manifest.json');
  if (!text) return { manifest: null, brokenShards: [] };
  const manifest = JSON.parse(text.toString()) as { version: string; shards: { file: string; sha256: string }[] };
  const brokenShards: string[] = [];
  for (const shard of manifest.shards) {
    const bytes = await store.get(shard.file);
    if (!bytes || sha256(bytes) !== shard.sha256) brokenShards.push(shard.file);
  }
  return { manifest, brokenShards };
}

/** SIGKILLs the server when the n-th shard part starts uploading (other parts are then in flight). */
function killOnPart(store: S3Store, n: number): { readonly killed: () => boolean } {
  let parts = 0;
  let killed = false;
  store.client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'UploadPartCommand' && ++parts === n && !killed) {
        killed = true;
        server.kill();
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return { killed: () => killed };
}

describe('S3 store end to end', () => {
  it('a publish killed mid-upload never exposes a manifest pointing at missing or partial shards; a re-run completes', async () => {
    const dir = join(work, 'publish-out');

    // First publish to an empty prefix, killed while shards upload: no manifest appears.
    await outFolder(dir, 3, 'v1');
    const first = s3('published');
    const trap = killOnPart(first, 3);
    await expect(publishFolder(dir, first)).rejects.toThrow(
      /cannot write s3:\/\/emoforge-e2e\/published\/shards\/.*(cannot reach|ECONNRESET|socket hang up|aborted)/,
    );
    expect(trap.killed()).toBe(true);
    await server.restart();
    expect((await readerView(s3('published'))).manifest).toBeNull();

    // Publishing again completes: v1 is readable and whole.
    const v1 = await outFolder(dir, 3, 'v1');
    const republished = await publishFolder(dir, s3('published'));
    // Three new shards and the manifest at least; stats.json may have made it before the kill (same bytes).
    expect(republished.uploaded).toBeGreaterThanOrEqual(4);
    expect(republished.uploaded + republished.unchanged).toBe(5);
    let view = await readerView(s3('published'));
    expect(view.manifest?.version).toBe('v1');
    expect(view.brokenShards).toEqual([]);
    expect(await keys(s3('published'))).toEqual([...Object.keys(v1), 'manifest.json', 'stats.json'].sort());

    // v2 replaces every shard with other bytes and drops one; the server dies while its parts upload.
    const v2 = await outFolder(dir, 2, 'v2');
    const second = s3('published');
    killOnPart(second, 2);
    await expect(publishFolder(dir, second)).rejects.toThrow(/cannot write/);
    await server.restart();
    view = await readerView(s3('published'));
    // The old manifest went before any shard changed, the new one was never written.
    expect(view.manifest).toBeNull();
    // Whatever shards are visible are whole files of v1 or v2, never a partial upload.
    const whole = new Set([...Object.values(v1), ...Object.values(v2)]);
    for (const key of await keys(s3('published'), 'shards')) expect(whole.has(sha256((await s3('published').get(key))!))).toBe(true);

    // The re-run uploads what differs, removes v1's shards (other names) and lands the v2 manifest last.
    const result = await publishFolder(dir, s3('published'));
    expect(result.published).toBe(true);
    expect(result.deleted).toBe(3);
    view = await readerView(s3('published'));
    expect(view.manifest?.version).toBe('v2');
    expect(view.brokenShards).toEqual([]);
    expect(await keys(s3('published'), 'shards')).toEqual(Object.keys(v2).sort());

    // Nothing changed: nothing is sent again.
    expect(await publishFolder(dir, s3('published'))).toMatchObject({ published: true, uploaded: 0, unchanged: 4, deleted: 0 });
  }, 180_000);

  it('emoforge run reads clips from s3://, caches in s3:// and publishes to s3://; another machine resumes from the bucket', async () => {
    const clips = await sampleClips(3);
    const input = s3('clips');
    for (const file of (await readdir(clips)).sort()) await input.putFile(file, join(clips, file));
    // The first run names the input in the config, the second with --input (same location, same fingerprint).
    const config = await writeConfig(
      work,
      demoConfig({ transcribe: { engine: 'manifest' }, 'cues.visual': false, ingest: { input: `s3://${BUCKET}/clips` } }, { partitions: 3, concurrency: 1 }),
    );
    const args = ['run', config, '--store', `s3://${BUCKET}/cache`, '--out', `s3://${BUCKET}/corpus`];
    const saved = { ...process.env };
    Object.assign(process.env, server.env, { EMOFORGE_S3_CACHE: join(work, 'machine-1') });
    try {
      const run = await cli(args);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`input s3://${BUCKET}/clips: ${(await readdir(clips)).length} files downloaded, 0 removed`);
      expect(run.stdout).toMatch(/published s3:\/\/emoforge-e2e\/corpus\/manifest.json: \d+ files uploaded/);
      const view = await readerView(s3('corpus'));
      expect(view.manifest!.shards.length).toBeGreaterThan(0);
      expect(view.brokenShards).toEqual([]);
      const published = await keys(s3('corpus'));
      expect(published).toEqual(expect.arrayContaining(['manifest.json', 'rejects.parquet', 'stats.json', 'media.jsonl']));
      // The published corpus carries its media: every file the index lists is in the bucket with its bytes.
      const index = (await s3('corpus').get('media.jsonl'))!
        .toString()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { file: string; sha256: string });
      expect(index.length).toBeGreaterThan(0);
      for (const entry of index) expect(sha256((await s3('corpus').get(entry.file))!)).toBe(entry.sha256);
      const stats = JSON.parse((await s3('corpus').get('stats.json'))!.toString()) as { totals: { rows: number } };
      expect(stats.totals.rows).toBeGreaterThan(0);
      const partitions = (await keys(s3('cache'), 'partitions')).length;
      expect(partitions).toBeGreaterThan(0);
      expect((await keys(s3('cache'), 'media')).length).toBeGreaterThan(0);

      // A machine with an empty local cache: every partition comes from the bucket, the shards are the same.
      process.env.EMOFORGE_S3_CACHE = join(work, 'machine-2');
      const again = await cli([...args, '--input', `s3://${BUCKET}/clips`]);
      expect(again.stdout).toContain(`input s3://${BUCKET}/clips: ${(await readdir(clips)).length} files downloaded, 0 removed`);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/cache: (\d+)\/\1 partitions reused/);
      const second = await readerView(s3('corpus'));
      expect(second.brokenShards).toEqual([]);
      expect(second.manifest!.shards.map((s) => s.sha256)).toEqual(view.manifest!.shards.map((s) => s.sha256));
      expect(await readFile(join(work, 'machine-2', 'out', BUCKET, 'corpus', 'manifest.json'), 'utf8')).toBe(
        (await s3('corpus').get('manifest.json'))!.toString(),
      );
    } finally {
      process.env = saved;
    }
  }, 300_000);
});
