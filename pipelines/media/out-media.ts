// The media files of a published corpus live inside the out folder, so the folder is the dataset:
// copied, pushed or opened on another machine, every path a row names still resolves. A row names a
// file by its path relative to OUT (`media/audio/1c/….wav`), which is the artefact's key in the
// store: keys are content-addressed (they hash what made the file), so one path always holds the
// same bytes and versions can share files.
// Files are hard links to the store's objects when both sit on one file system (no bytes copied),
// copies otherwise (or when the store is remote: its local download is linked or copied). The index
// OUT/media.jsonl lists every file with its size and sha256, like the manifest lists shards; a file
// already placed with the size its index entry gives is not read again.
import { copyFile, constants, link, lstat, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { FatalError } from '../errors.ts';
import { sha256, sha256File } from '../fingerprint.ts';
import { assertSafeKey, type Store } from '../store/store.ts';
import { writeFileAtomic } from '../publish/atomic-write.ts';

/** The folder under OUT that holds every media file rows name. */
export const MEDIA_DIR = 'media';
/** One JSON object per media file, sorted by path: `{"file", "bytes", "sha256"}`. */
export const MEDIA_INDEX = 'media.jsonl';
/** Present while a publish may have left media the new index does not list: the next publish sweeps the whole folder. */
const SWEEP_MARKER = '.media-sweep';

export interface MediaEntry {
  /** path relative to OUT, e.g. media/audio/1c/1c….wav */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface MediaIndexRef {
  readonly index: string;
  readonly files: number;
  readonly bytes: number;
  /** sha256 of the index file */
  readonly sha256: string;
}

export interface PlacedMedia {
  readonly entries: readonly MediaEntry[];
  /** files newly hard-linked / copied into OUT, and files already there */
  readonly linked: number;
  readonly copied: number;
  readonly kept: number;
}

/** How many files are linked, copied or hashed at once. */
const CONCURRENCY = 8;

/** A media key a row may name: a safe store key under media/. */
export function assertMediaKey(key: string): void {
  assertSafeKey(key);
  if (!key.startsWith(`${MEDIA_DIR}/`))
    throw new FatalError(`media key ${JSON.stringify(key)} is not under ${MEDIA_DIR}/: rows may only name media files of the out folder`);
}

/** The index of the media published in `outDir`, by path; empty when there is none. */
export async function readMediaIndex(outDir: string): Promise<Map<string, MediaEntry>> {
  const text = await readFile(join(outDir, MEDIA_INDEX), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const entries = new Map<string, MediaEntry>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as MediaEntry;
    entries.set(entry.file, entry);
  }
  return entries;
}

/**
 * Makes OUT/<key> exist for every key (hard link from the store, else a copy) and returns the index
 * entries, sorted by path. `previous` (the published index) saves hashing files that are already in
 * place. Nothing is removed here: stale files go after the new manifest is published (pruneMedia).
 */
export async function placeMedia(
  outDir: string,
  store: Store,
  keys: Iterable<string>,
  previous: ReadonlyMap<string, MediaEntry>,
  options: { readonly fallbackDir?: string } = {},
): Promise<PlacedMedia> {
  const wanted = [...new Set(keys)].sort();
  for (const key of wanted) assertMediaKey(key);
  const entries = new Array<MediaEntry>(wanted.length);
  let linked = 0;
  let copied = 0;
  let kept = 0;
  let next = 0;
  const worker = async () => {
    while (next < wanted.length) {
      const index = next++;
      const key = wanted[index];
      const target = join(outDir, key);
      const present = await lstat(target).catch(() => null);
      const known = previous.get(key);
      if (present?.isFile() && known && known.bytes === present.size) {
        entries[index] = known;
        kept++;
        continue;
      }
      if (present && !present.isFile()) throw new FatalError(`${target} is not a plain file (a folder or a symlink?): remove it and run again`);
      const source = await store.localPath(key).catch(async (error: Error) => {
        // Rows carried forward from the published version may name media the store no longer has
        // (another store, a cleaned cache): the version folder still links them.
        const kept = options.fallbackDir ? join(options.fallbackDir, key) : undefined;
        if (
          kept &&
          (await lstat(kept).then(
            (s) => s.isFile(),
            () => false,
          ))
        )
          return kept;
        throw new FatalError(
          `media file ${key} is missing from the store ${store.location} (${error.message}): run the pipeline again so the stage that makes it can redo it`,
          { cause: error },
        );
      });
      if (present?.isFile()) {
        // Placed by an unfinished publish, or its index entry is gone: take it as it is if it is the store's bytes.
        entries[index] = { file: key, bytes: present.size, sha256: await sha256File(target) };
        kept++;
        continue;
      }
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.tmp-${process.pid}`;
      await rm(temp, { force: true });
      try {
        await link(source, temp);
        linked++;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
        await copyFile(source, temp, constants.COPYFILE_FICLONE);
        copied++;
      }
      await rename(temp, target);
      const info = await stat(target);
      entries[index] = { file: key, bytes: info.size, sha256: await sha256File(target) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(1, wanted.length)) }, worker));
  return { entries, linked, copied, kept };
}

/** Writes OUT/media.jsonl (atomically) and says what the manifest records of it. */
export async function writeMediaIndex(outDir: string, entries: readonly MediaEntry[]): Promise<MediaIndexRef> {
  const text = entries.map((e) => `${JSON.stringify({ file: e.file, bytes: e.bytes, sha256: e.sha256 })}\n`).join('');
  const path = join(outDir, MEDIA_INDEX);
  await writeFileAtomic(path, text);
  return {
    index: MEDIA_INDEX,
    files: entries.length,
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
    sha256: sha256(text),
  };
}

/** Marks that media may outlive the index until pruneMedia has run (a crash in between leaves the mark). */
export async function markMediaSweep(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, SWEEP_MARKER), '');
}

/**
 * Removes media files the new index does not list: those of the previous index, or, after a publish
 * that did not get this far (the sweep mark is there), every file under OUT/media. Folders left empty
 * go too. Version folders keep their own links, so older versions stay whole.
 */
export async function pruneMedia(outDir: string, keep: readonly MediaEntry[], previous: ReadonlyMap<string, MediaEntry>, sweepAll: boolean): Promise<number> {
  const wanted = new Set(keep.map((e) => e.file));
  const candidates = sweepAll ? await listMedia(outDir) : [...previous.keys()];
  let removed = 0;
  const folders = new Set<string>();
  for (const file of candidates) {
    if (wanted.has(file)) continue;
    await rm(join(outDir, file), { force: true });
    removed++;
    folders.add(dirname(file));
  }
  // Deepest first, so a parent is tried after its children.
  for (const folder of [...folders].sort((a, b) => b.length - a.length)) {
    for (let dir = folder; dir.startsWith(`${MEDIA_DIR}/`); dir = dirname(dir)) {
      try {
        await rmdir(join(outDir, dir));
      } catch {
        break;
      }
    }
  }
  await rm(join(outDir, SWEEP_MARKER), { force: true });
  return removed;
}

/** True when an earlier publish stopped between placing media and pruning it. */
export async function mediaSweepPending(outDir: string): Promise<boolean> {
  return stat(join(outDir, SWEEP_MARKER)).then(
    () => true,
    () => false,
  );
}

async function listMedia(outDir: string): Promise<string[]> {
  const root = join(outDir, MEDIA_DIR);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries.filter((e) => e.isFile()).map((e) => relative(outDir, join(e.parentPath, e.name)).split(sep).join('/'));
}
