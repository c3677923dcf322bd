import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FatalError } from '../../../pipelines/errors.ts';
import { LocalStore, openStore, S3Store, S3_PART_SIZE } from '../../../pipelines/store/index.ts';
import { s3ClientConfig } from '../../../pipelines/store/s3-store.ts';
import { tempDir } from '../../helpers.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';
import { storeConformance } from './store-conformance.ts';

let server: S3Server;
let scratchDir: string;
let stores = 0;
const BUCKET = 'emoforge-conformance';

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(BUCKET);
  scratchDir = await tempDir('emoforge-s3-scratch-');
});
afterAll(async () => {
  await server?.stop();
});

storeConformance('LocalStore', async () => new LocalStore(await tempDir()));
// Each S3 store lives under its own prefix of one bucket, so the suite also shows prefixes isolate stores.
storeConformance('S3Store', async () => new S3Store(`s3://${BUCKET}/run-${++stores}/store`, { client: server.clientConfig, scratchDir }), {
  folderWalkListing: true,
  nonAtomicReplace: true,
});

describe('S3Store', () => {
  it('uploads objects larger than the part size in parts, smaller ones in one PUT', async () => {
    const store = new S3Store(`s3://${BUCKET}/multipart`, { client: server.clientConfig, scratchDir });
    const commands: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName!);
        return next(args);
      },
      { step: 'initialize' },
    );
    const big = randomBytes(S3_PART_SIZE * 2 + 1);
    await store.put('big.bin', big);
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands).toContain('CompleteMultipartUploadCommand');
    expect(commands).not.toContain('PutObjectCommand');
    commands.length = 0;
    await store.put('small.bin', randomBytes(1024));
    expect(commands).toEqual(['PutObjectCommand']);
    expect((await store.get('big.bin'))!.equals(big)).toBe(true);
  });

  it('keeps stores under different prefixes apart', async () => {
    const one = new S3Store(`s3://${BUCKET}/apart/one`, { client: server.clientConfig, scratchDir });
    const two = new S3Store(`s3://${BUCKET}/apart/one-two/`, { client: server.clientConfig, scratchDir });
    await one.put('k', '1');
    await two.put('k', '2');
    expect((await one.get('k'))!.toString()).toBe('1');
    expect(two.location).toBe(`s3://${BUCKET}/apart/one-two`);
    const keys: string[] = [];
    for await (const key of one.list('')) keys.push(key);
    expect(keys).toEqual(['k']);
  });

  it('says which bucket is missing, that credentials are missing, or which endpoint is down', async () => {
    const missing = new S3Store('s3://no-such-bucket/x', { client: server.clientConfig, scratchDir });
    const error = await missing.put('k', 'v').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/s3:\/\/no-such-bucket\/x\/k: bucket "no-such-bucket" does not exist/);

    // No credentials anywhere in the chain (no env keys, no profile, no instance metadata).
    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(scratchDir, 'no-credentials');
      process.env.AWS_CONFIG_FILE = join(scratchDir, 'no-config');
      const { credentials: _, ...anonymous } = server.clientConfig;
      const nobody = new S3Store(`s3://${BUCKET}/x`, { client: anonymous, scratchDir });
      const error = await nobody.get('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toMatch(/cannot read s3:\/\/emoforge-conformance\/x\/k: no AWS credentials found; set AWS_ACCESS_KEY_ID/);
    } finally {
      process.env = saved;
    }

    const down = new S3Store(`s3://${BUCKET}/x`, { client: { ...server.clientConfig, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }, scratchDir });
    await expect(down.get('k')).rejects.toThrow(/cannot read s3:\/\/emoforge-conformance\/x\/k: cannot reach .*ECONNREFUSED/);
  });

  it('openStore picks S3 for s3:// locations and a folder otherwise', async () => {
    expect(openStore(`s3://${BUCKET}/p`, { client: server.clientConfig })).toBeInstanceOf(S3Store);
    const dir = await tempDir();
    const local = openStore(dir);
    expect(local).toBeInstanceOf(LocalStore);
    expect(local.location).toBe(dir);
    expect(() => openStore('s3://Bad_Bucket/p')).toThrow(/not a valid S3 bucket name/);
    expect(() => openStore(`s3://${BUCKET}/../up`)).toThrow(/invalid store key/);
  });

  it('takes endpoint, region and path style from the AWS environment', async () => {
    expect(s3ClientConfig({})).toMatchObject({ forcePathStyle: false });
    expect(s3ClientConfig({}).endpoint).toBeUndefined();
    expect(s3ClientConfig({ AWS_REGION: 'eu-west-1' })).toMatchObject({ region: 'eu-west-1', forcePathStyle: false });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://minio:9000' })).toMatchObject({
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://s3-only' })).toMatchObject({ endpoint: 'http://s3-only' });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'https://acct.r2.cloudflarestorage.com', EMOFORGE_S3_FORCE_PATH_STYLE: '0', AWS_REGION: 'auto' })).toMatchObject({
      forcePathStyle: false,
      region: 'auto',
    });
    expect(s3ClientConfig({ EMOFORGE_S3_FORCE_PATH_STYLE: '1' })).toMatchObject({ forcePathStyle: true });

    // A store built from the environment alone reaches the server.
    const saved = { ...process.env };
    try {
      Object.assign(process.env, server.env);
      const store = openStore(`s3://${BUCKET}/from-env`);
      await store.put('k.txt', 'from env');
      expect((await store.get('k.txt'))!.toString()).toBe('from env');
    } finally {
      process.env = saved;
    }
  });
});
