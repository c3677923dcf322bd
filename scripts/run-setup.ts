// What `run`, `finalize`, `schedule` and `worker` set up around the pipeline, in one place: the out
// folder (an s3:// one mirrored locally under its remote lock) and its refresh lock, the input mirror,
// the store, the JSON log, and the stop signals. The commands differ only in which parts they take.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { assertWritableFolder } from '../pipelines/fs-errors.ts';
import { acquireLock, type Lock } from '../pipelines/publish/lock.ts';
import { acquireRemoteLock } from '../pipelines/publish/remote-lock.ts';
import { mirrorFolder, publishFolder, pullFolder, type PublishResult } from '../pipelines/publish/store-mirror.ts';
import { isS3Location, openStore, type S3Store, type Store } from '../pipelines/store/index.ts';

/** Never logged: endpoint keys and auth headers that teacher and store configs carry. */
const REDACT = ['*.apiKey', '*.authorization', '*.headers.authorization'];

/** The JSON log of one run or schedule, OUT/logs/<kind>-<time>.jsonl (EMOFORGE_LOG_LEVEL, default info). */
export async function openRunLog(outDir: string, kind: 'run' | 'schedule'): Promise<{ readonly log: Logger; readonly file: string }> {
  const dir = join(outDir, 'logs');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const log = pino(
    { level: process.env.EMOFORGE_LOG_LEVEL ?? 'info', base: { pid: process.pid }, redact: REDACT },
    pino.destination({ dest: file, sync: true, mkdir: true }),
  );
  return { log, file };
}

/** A queue worker has no out folder: it logs to stderr (EMOFORGE_LOG_LEVEL, default warn). */
export function workerLog(): Logger {
  return pino({ level: process.env.EMOFORGE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, pino.destination(2));
}

/**
 * SIGINT/SIGTERM call `stop` once (finish or interrupt the work in progress); a second signal quits
 * at once with exit code 130. Returns the function that removes the handlers.
 */
export function onStopSignals(stop: () => void): () => void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130);
    stopping = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** An abort signal for the run that the first SIGINT/SIGTERM aborts with `reason` (after `notice`). */
export function interruptibleRun(reason: () => Error, notice: () => void = () => {}): { readonly signal: AbortSignal; readonly dispose: () => void } {
  const controller = new AbortController();
  const dispose = onStopSignals(() => {
    notice();
    controller.abort(reason());
  });
  return { signal: controller.signal, dispose };
}

/** The store a command works in: --store, else the config's; a local one must be a writable folder. */
export async function openRunStore(flag: string | undefined, configured: string): Promise<Store> {
  const store = openStore(flag ?? configured);
  if (!isS3Location(store.location)) await assertWritableFolder(store.location, '--store');
  return store;
}

/** A --store flag as the location workers pass on: s3:// as given, a local folder absolute. */
export function storeLocation(flag: string): string {
  return isS3Location(flag) ? flag : resolve(flag);
}

export interface OutFolder {
  /** the local folder the run publishes into (for an s3:// out folder, its mirror) */
  readonly dir: string;
  /** the store an s3:// out folder lives in */
  readonly store?: S3Store;
  /** Uploads the mirror of an s3:// out folder (manifest.json last); undefined for a local out folder. */
  publish(): Promise<PublishResult | undefined>;
  /** Releases the locks (idempotent). */
  release(): Promise<void>;
}

export interface OutFolderOptions {
  /** `--out` or the config's `out`: a folder or s3://bucket/prefix */
  readonly location: string;
  /** what the lock names as its holder, e.g. `emoforge run configs/demo.yaml` */
  readonly command: string;
  /** False for dry runs and static-shard workers: they publish nothing, so they take no lock and pull no mirror. */
  readonly publishes: boolean;
}

/**
 * Opens the out folder: for an s3:// one, its lock object is taken (conditional PUT) before its
 * mirror is pulled; then, when the command publishes, the folder must be writable and its refresh
 * lock is taken (one refresh per out folder; a dead holder's lock is taken over).
 */
export async function openOutFolder(options: OutFolderOptions): Promise<OutFolder> {
  const store = isS3Location(options.location) ? (openStore(options.location) as S3Store) : undefined;
  const dir = store ? mirrorFolder('out', store.location) : resolve(options.location);
  const locks: Lock[] = [];
  const release = async () => {
    for (const lock of locks.splice(0).reverse()) await lock.release();
  };
  try {
    if (store && options.publishes) {
      locks.push(await acquireRemoteLock(store, options.command));
      await pullFolder(store, dir);
    }
    if (options.publishes) {
      // Before any work: a folder that is a file or cannot be written is said now, not as a stack trace later.
      await assertWritableFolder(dir, '--out');
      locks.push(await acquireLock(dir, options.command));
    }
  } catch (error) {
    await release();
    throw error;
  }
  return {
    dir,
    ...(store ? { store } : {}),
    publish: async () => (store ? publishFolder(dir, store) : undefined),
    release,
  };
}

/** An s3:// input folder pulled into its local mirror (files gone from the store leave the mirror too). */
export interface InputMirror {
  readonly dir: string;
  /** keys that would land outside the mirror, refused as inputs */
  readonly refused: readonly { readonly uri: string; readonly detail: string }[];
  /** one line for the user: what was downloaded and removed */
  readonly line: string;
}

export async function pullInputMirror(location: string): Promise<InputMirror> {
  const store = openStore(location);
  const dir = mirrorFolder('input', store.location);
  const pulled = await pullFolder(store, dir, { prune: true });
  return {
    dir,
    refused: pulled.escaped.map((key) => ({
      uri: key,
      detail: `the key ${JSON.stringify(key)} of ${store.location} would land outside the local mirror ${dir}; it was not downloaded`,
    })),
    line: `input ${store.location}: ${pulled.downloaded} files downloaded, ${pulled.removed} removed from the local mirror ${dir}\n`,
  };
}
