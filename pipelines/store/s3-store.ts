// A store in an S3 bucket (AWS, MinIO, Ceph RGW, R2, any S3-compatible endpoint): `s3://bucket/prefix`.
// Every put is atomic on S3 itself: a single PUT, or a multipart upload whose object appears only when
// CompleteMultipartUpload succeeds (lib-storage aborts the upload on failure, so no part is left visible).
// Endpoint, region and credentials come from the standard AWS chain (env, ~/.aws/config, instance roles).
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { FatalError } from '../errors.ts';
import { assertSafeKey, type Store } from './store.ts';
import { sha256 } from '../fingerprint.ts';
import { lazyRequire } from '../lazy-require.ts';

/** The AWS SDK (~0.3 CPU s to load) is loaded by the first S3 store a process opens. */
const sdk = lazyRequire<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');
const storage = lazyRequire<typeof import('@aws-sdk/lib-storage')>('@aws-sdk/lib-storage');

// The pinned SDK supports Node 20; its warning that later releases will need Node 22 would print on every
// run (package.json pins the version, so no later release arrives unnoticed).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Multipart part size: objects larger than this upload in parts of this size (S3's minimum is 5 MiB). */
export const S3_PART_SIZE = 8 * 1024 * 1024;

export interface S3StoreOptions {
  /** Parts uploaded at once per multipart upload (default 4). */
  readonly queueSize?: number;
  /** Multipart part size in bytes (default S3_PART_SIZE, at least 5 MiB). */
  readonly partSize?: number;
  /** Folder for localPath downloads (default $EMOFORGE_S3_CACHE or <tmpdir>/emoforge-s3-cache). */
  readonly scratchDir?: string;
  /** Overrides for the S3 client; by default everything comes from the AWS environment/config chain. */
  readonly client?: S3ClientConfig;
}

/** `s3://bucket/prefix` split into bucket and prefix (no leading or trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new FatalError(`not an S3 location: ${JSON.stringify(url)} (expected s3://bucket/prefix)`);
  const bucket = match[1]!;
  const prefix = match[2]!.replace(/\/+$/, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new FatalError(`${url}: "${bucket}" is not a valid S3 bucket name (3-63 characters of a-z, 0-9, "." and "-")`);
  }
  if (prefix) assertSafeKey(prefix);
  return { bucket, prefix };
}

/**
 * Client settings from the environment: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for S3-compatible servers,
 * path-style addressing when an endpoint is set (override with EMOFORGE_S3_FORCE_PATH_STYLE=1 or 0), region
 * from AWS_REGION / AWS_DEFAULT_REGION / ~/.aws/config (us-east-1 when an endpoint is set and none is given).
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const pathStyle = env.EMOFORGE_S3_FORCE_PATH_STYLE;
  const forcePathStyle = pathStyle === undefined || pathStyle === '' ? Boolean(endpoint) : pathStyle === '1' || pathStyle.toLowerCase() === 'true';
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle,
    followRegionRedirects: true,
    // Flexible checksums with aws-chunked bodies are not understood by every S3-compatible server;
    // ask for them only where S3 requires them unless the environment says otherwise.
    requestChecksumCalculation: env.AWS_REQUEST_CHECKSUM_CALCULATION === 'WHEN_SUPPORTED' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: env.AWS_RESPONSE_CHECKSUM_VALIDATION === 'WHEN_SUPPORTED' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
  };
}

export class S3Store implements Store {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  /** The S3 client (for tools and tests that need a raw request). */
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly scratchDir: string;
  /** The endpoint, for messages. */
  private readonly endpoint: string;

  constructor(url: string, options: S3StoreOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.partSize = options.partSize ?? S3_PART_SIZE;
    if (!Number.isInteger(this.partSize) || this.partSize < 5 * 1024 * 1024) {
      throw new Error(`S3Store partSize must be a whole number of at least 5 MiB (5242880), got ${options.partSize}`);
    }
    this.queueSize = options.queueSize ?? 4;
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1)
      throw new Error(`S3Store queueSize must be a whole number of at least 1, got ${options.queueSize}`);
    const scratchRoot = options.scratchDir ?? (process.env.EMOFORGE_S3_CACHE || join(tmpdir(), 'emoforge-s3-cache'));
    this.scratchDir = join(scratchRoot, sha256(this.location).slice(0, 16));
    const config = { ...s3ClientConfig(), ...options.client };
    this.endpoint = typeof config.endpoint === 'string' ? config.endpoint : 'AWS S3';
    this.client = new (sdk().S3Client)(config);
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async get(key: string): Promise<Buffer | null> {
    const Key = this.objectKey(key);
    // The SDK retries failed requests, not a body cut off mid-stream; those get two more tries here.
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.client.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key }));
        return Buffer.from(await response.Body!.transformToByteArray());
      } catch (error) {
        if (isMissing(error)) return null;
        if (attempt < 3 && isCutOff(error)) continue;
        throw this.explain(error, 'read', Key);
      }
    }
  }

  async put(key: string, bytes: Uint8Array | string): Promise<void> {
    await this.upload(this.objectKey(key), typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  }

  /**
   * Creates `key` only if no object is there: a PUT with `If-None-Match: *`, which S3 (since 2024),
   * MinIO, R2 and Ceph refuse with 412 when the key exists. False when refused. A server that ignores
   * the header (s3rver, older gateways) overwrites instead; callers read the object back to see whose
   * it is (pipelines/publish/remote-lock.ts).
   */
  async putIfAbsent(key: string, bytes: string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new (sdk().PutObjectCommand)({ Bucket: this.bucket, Key, Body: Buffer.from(bytes), IfNoneMatch: '*' }));
      return true;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (
        e.name === 'PreconditionFailed' ||
        e.$metadata?.httpStatusCode === 412 ||
        e.name === 'ConditionalRequestConflict' ||
        e.$metadata?.httpStatusCode === 409
      )
        return false;
      throw this.explain(error, 'write', Key);
    }
  }

  async putFile(key: string, sourcePath: string, options: { readonly move?: boolean } = {}): Promise<void> {
    const Key = this.objectKey(key);
    await this.upload(Key, createReadStream(sourcePath));
    if (options.move) await rm(sourcePath, { force: true });
  }

  /** One PUT for bodies up to partSize, else a multipart upload; the object appears only when complete. */
  private async upload(Key: string, Body: Uint8Array | Readable): Promise<void> {
    const upload = new (storage().Upload)({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw this.explain(error, 'write', Key);
    }
  }

  private async head(Key: string): Promise<{ size: number; etag: string } | null> {
    try {
      const response = await this.client.send(new (sdk().HeadObjectCommand)({ Bucket: this.bucket, Key }));
      return { size: response.ContentLength ?? 0, etag: (response.ETag ?? '').replace(/"/g, '') };
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.explain(error, 'stat', Key);
    }
  }

  /** The object's MD5 (hex) when S3 knows it (ETag of a single-part upload), else null. */
  async md5(key: string): Promise<string | null> {
    const etag = (await this.head(this.objectKey(key)))?.etag ?? '';
    return /^[0-9a-f]{32}$/.test(etag) ? etag : null;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(this.objectKey(key))) !== null;
  }

  async size(key: string): Promise<number | null> {
    return (await this.head(this.objectKey(key)))?.size ?? null;
  }

  /** Keys under a folder prefix ("" for all), in lexicographic order (S3 lists in UTF-8 byte order). */
  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, '');
    if (base) assertSafeKey(base);
    const folder = [this.prefix, base].filter(Boolean).join('/');
    const Prefix = folder ? `${folder}/` : '';
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new (sdk().ListObjectsV2Command)({ Bucket: this.bucket, Prefix, ContinuationToken }));
      } catch (error) {
        throw this.explain(error, 'list', Prefix);
      }
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key.slice(strip);
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new (sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key }));
    } catch (error) {
      if (isMissing(error)) return;
      throw this.explain(error, 'delete', Key);
    }
  }

  /**
   * Downloads the object to a scratch file named by key and ETag, so a second call for an unchanged object
   * costs one HEAD, and a replaced object is fetched again. The extension is kept for tools such as ffmpeg.
   */
  async localPath(key: string): Promise<string> {
    const Key = this.objectKey(key);
    const head = await this.head(Key);
    if (!head) {
      throw Object.assign(new Error(`ENOENT: ${this.location}/${key} does not exist`), { code: 'ENOENT' });
    }
    const name = sha256(key).slice(0, 32);
    const path = join(this.scratchDir, name.slice(0, 2), `${name}-${head.etag.replace(/[^A-Za-z0-9-]/g, '')}${extname(key)}`);
    try {
      if ((await stat(path)).size === head.size) return path;
    } catch {
      // not downloaded yet
    }
    await this.download(key, path, head.etag);
    return path;
  }

  /** Streams the object into a local file (temp file, then rename); with `etag`, only that version of it. */
  async download(key: string, path: string, etag?: string): Promise<void> {
    const Key = this.objectKey(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const response = await this.client.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key, IfMatch: etag ? `"${etag}"` : undefined }));
      await pipeline(response.Body as Readable, createWriteStream(temp));
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      if (isMissing(error)) throw Object.assign(new Error(`ENOENT: ${this.location}/${key} does not exist`), { code: 'ENOENT' });
      throw this.explain(error, 'download', Key);
    }
  }

  /** A message that names the bucket and key and says what to do; configuration faults stop the run. */
  private explain(error: unknown, action: string, Key: string): Error {
    const where = `s3://${this.bucket}/${Key}`;
    const endpoint = this.endpoint;
    const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const name = e.name ?? e.code ?? '';
    const status = e.$metadata?.httpStatusCode;
    if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message ?? '')) {
      return new FatalError(
        `cannot ${action} ${where}: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run where an instance/pod role applies)`,
        { cause: error },
      );
    }
    if (name === 'NoSuchBucket') {
      return new FatalError(
        `cannot ${action} ${where}: bucket "${this.bucket}" does not exist at ${endpoint}; create it (aws s3 mb s3://${this.bucket}, mc mb ALIAS/${this.bucket}) or fix the store location`,
        { cause: error },
      );
    }
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      return new FatalError(
        `cannot ${action} ${where}: ${endpoint} rejected the credentials (${name}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE`,
        { cause: error },
      );
    }
    if (name === 'AccessDenied' || status === 403) {
      return new FatalError(
        `cannot ${action} ${where}: access denied; the credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on ${this.location}`,
        { cause: error },
      );
    }
    if (/Region is missing/i.test(e.message ?? '')) {
      return new FatalError(`cannot ${action} ${where}: no AWS region configured; set AWS_REGION (any value, e.g. us-east-1, for MinIO/Ceph)`, {
        cause: error,
      });
    }
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new Error(
        `cannot ${action} ${where}: cannot reach ${endpoint} (${code}); check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 and that the server is up`,
        { cause: error },
      );
    }
    return new Error(`cannot ${action} ${where}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`, { cause: error });
  }
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

/** A response body that ended early (connection reset or aborted while streaming). */
function isCutOff(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: unknown };
  return (
    e.$metadata === undefined && (e.code === 'ECONNRESET' || e.message === 'aborted' || e.name === 'AbortError' || e.code === 'ERR_STREAM_PREMATURE_CLOSE')
  );
}
