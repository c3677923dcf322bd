// `emoforge fingerprint DIR -o FILE`: the footage fingerprints of every media file under DIR, as the
// list `ingest.exclude` reads (a header line naming the benchmark, then one clip a line), written
// atomically. Fingerprints are cached in --store (by content hash), so a second list is cheap.
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import { FatalError } from '../../pipelines/errors.ts';
import { closeFootageWorkers } from '../../pipelines/quality/footage-worker.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { DEFAULT_MEDIA_EXTENSIONS } from '../../stages/ingest.ts';
import { fingerprintFolder } from '../../stages/ingest/exclude.ts';

export interface FingerprintOptions {
  readonly dir: string;
  readonly output: string;
  /** benchmark name recorded in the list (default: the folder's name) */
  readonly name?: string;
  /** store folder for the fingerprint cache (default: a temporary one) */
  readonly store?: string;
  readonly onFile?: (done: number, total: number, name: string) => void;
}

export async function fingerprintCommand(options: FingerprintOptions): Promise<{ clips: number; text: string }> {
  const dir = resolve(options.dir);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new FatalError(`${options.dir} is not a folder: fingerprint takes a folder of benchmark clips`);
  const scratch = options.store ? undefined : await mkdtemp(join(tmpdir(), 'emoforge-fingerprint-store-'));
  try {
    const store = new LocalStore(resolve(options.store ?? scratch!));
    const ctx = { store, signal: new AbortController().signal, work: { add: () => undefined }, log: pino({ level: 'silent' }) };
    const list = await fingerprintFolder(dir, { extensions: DEFAULT_MEDIA_EXTENSIONS }, ctx, options.onFile);
    if (list.entries.length === 0) throw new FatalError(`${options.dir} holds no media files (${DEFAULT_MEDIA_EXTENSIONS.join(', ')})`);
    const benchmark = options.name ?? list.benchmark;
    const lines = [JSON.stringify({ emoforge: 'fingerprints', version: 1, benchmark }), ...list.entries.map((e) => JSON.stringify(e))];
    const output = resolve(options.output);
    const temp = join(dirname(output), `.${Date.now()}-${process.pid}.tmp`);
    await writeFile(temp, `${lines.join('\n')}\n`);
    await rename(temp, output);
    return {
      clips: list.entries.length,
      text: `fingerprints of ${list.entries.length} clips of benchmark ${benchmark} written to ${output}; add it to ingest.exclude to keep them out of a corpus\n`,
    };
  } finally {
    await closeFootageWorkers();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
