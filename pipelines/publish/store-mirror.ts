// Publishing an out folder that lives in a store (s3://…/out): the run writes the folder locally, then
// publishFolder copies it so that a reader of the store never sees a manifest.json pointing at a missing,
// partial or foreign shard: the old manifest goes first (when anything changes), then every other file
// (each put is atomic), then stale files are removed, and the new manifest.json lands last.
// A publish that dies half-way leaves no manifest; running it again uploads only what differs.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { Store } from '../store/store.ts';

const MANIFEST = 'manifest.json';

/**
 * Local-only parts of an out folder: per-run logs (still open while publishing), temp files and dot-entries
 * such as .staging/ and the refresh lock (.emoforge.lock names this machine's process: another machine
 * that pulled it would think a refresh is running).
 */
function isLocalOnly(key: string): boolean {
  return key.startsWith('logs/') || key.startsWith('.') || key.includes('.tmp-');
}

/** A store that can say an object's MD5 (S3's ETag for single-part objects), so unchanged files are not sent again. */
interface Md5Store extends Store {
  md5?(key: string): Promise<string | null>;
  /** Streams an object straight into a local file (else localPath's copy is copied). */
  download?(key: string, path: string): Promise<void>;
}

export interface PublishResult {
  /** False when the folder holds no manifest.json (a dry run, or batches still waiting): nothing was published. */
  readonly published: boolean;
  readonly uploaded: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly bytes: number;
}

async function localFiles(dir: string, rel = ''): Promise<string[]> {
  const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const files: string[] = [];
  for (const entry of entries) {
    const key = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await localFiles(dir, key)));
    else if (entry.isFile() && !isLocalOnly(key)) files.push(key);
  }
  return files;
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Uploads the out folder `localDir` to `target`, manifest.json last (see the file comment). */
export async function publishFolder(localDir: string, target: Md5Store, options: { readonly concurrency?: number } = {}): Promise<PublishResult> {
  const files = await localFiles(localDir);
  if (!files.includes(MANIFEST)) return { published: false, uploaded: 0, unchanged: 0, deleted: 0, bytes: 0 };
  const remote = new Set<string>();
  for await (const key of target.list('')) if (!isLocalOnly(key)) remote.add(key);

  // Which files differ from the published ones (size, then MD5 where the store knows it).
  const changed: string[] = [];
  let unchanged = 0;
  for (const key of files) {
    const path = join(localDir, key);
    const size = (await stat(path)).size;
    let same = remote.has(key) && (await target.size(key)) === size;
    if (same) {
      const remoteMd5 = target.md5 ? await target.md5(key) : null;
      same = remoteMd5 !== null && remoteMd5 === (await md5File(path));
    }
    if (same) unchanged++;
    else changed.push(key);
  }
  const local = new Set(files);
  const stale = [...remote].filter((key) => !local.has(key));
  if (changed.length === 0 && stale.length === 0) return { published: true, uploaded: 0, unchanged, deleted: 0, bytes: 0 };

  // From here until the new manifest lands, the store holds no manifest: readers see an unfinished publish.
  await target.delete(MANIFEST);
  const uploads = changed.filter((key) => key !== MANIFEST);
  let bytes = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, options.concurrency ?? 4) }, async () => {
      while (next < uploads.length) {
        const key = uploads[next++]!;
        await target.putFile(key, join(localDir, key));
        bytes += (await stat(join(localDir, key))).size;
      }
    }),
  );
  for (const key of stale) if (key !== MANIFEST) await target.delete(key);
  await target.putFile(MANIFEST, join(localDir, MANIFEST));
  bytes += (await stat(join(localDir, MANIFEST))).size;
  return { published: true, uploaded: uploads.length + 1, unchanged, deleted: stale.filter((key) => key !== MANIFEST).length, bytes };
}

/**
 * Brings a folder kept in a store into `localDir`: before a run, the published out folder (the previous
 * manifest and shards, which the write stage compares against and the report diffs with), or input clips
 * given as s3://. Files already present with the same size (and MD5, where the store knows it) stay; with
 * `prune`, local files the store no longer holds are removed (clips that left the source). Returns how
 * many files were downloaded.
 */
export async function pullFolder(
  source: Md5Store,
  localDir: string,
  options: { readonly prune?: boolean } = {},
): Promise<{ downloaded: number; removed: number; escaped: string[] }> {
  let downloaded = 0;
  const seen = new Set<string>();
  // Keys are names chosen by whoever writes the bucket: one that would land outside the mirror
  // ("../../x", "/etc/x") is never written, and ingest rejects it path-escape.
  const escaped: string[] = [];
  for await (const key of source.list('')) {
    const path = join(localDir, key);
    const rel = relative(localDir, path);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) || isAbsolute(key)) {
      escaped.push(key);
      continue;
    }
    if (isLocalOnly(key)) continue;
    seen.add(key);
    const size = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    if (size !== null && size === (await source.size(key))) {
      const remoteMd5 = source.md5 ? await source.md5(key) : null;
      if (remoteMd5 === null || remoteMd5 === (await md5File(path))) continue;
    }
    if (source.download) await source.download(key, path);
    else {
      await mkdir(dirname(path), { recursive: true });
      const temp = `${path}.tmp-pull`;
      await copyFile(await source.localPath(key), temp);
      await rename(temp, path);
    }
    downloaded++;
  }
  let removed = 0;
  if (options.prune) {
    for (const key of await localFiles(localDir)) {
      if (seen.has(key)) continue;
      await rm(join(localDir, key), { force: true });
      removed++;
    }
  }
  return { downloaded, removed, escaped };
}

/** The local folder that mirrors a store location (input clips or an out folder) on this machine. */
export function mirrorFolder(kind: 'input' | 'out', location: string): string {
  const root = process.env.EMOFORGE_S3_CACHE || join(tmpdir(), 'emoforge-s3-cache');
  return join(root, kind, location.replace(/^[a-z0-9]+:\/\//, '').replace(/[^A-Za-z0-9._/-]/g, '_'));
}
