// Benchmark decontamination: `ingest.exclude` names clips that must never reach training (the test
// clips of MER-UniBench, EMER, MME-Emotion a user holds), as fingerprint lists made by `emoforge
// fingerprint DIR -o FILE` or as folders of clips. A clip is kept out (`benchmark-overlap`, naming the
// benchmark and its file) when its bytes are a listed file's, or when its footage contains a listed
// clip's (a re-encode, a mirror, or the benchmark clip cut out of this longer file): audio
// sub-fingerprints slide over the whole clip, keyframes at about one a second.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { FatalError } from '../../pipelines/errors.ts';
import { sha256File } from '../../pipelines/fingerprint.ts';
import {
  compareFootage,
  decodeFootage,
  DEFAULT_THRESHOLDS,
  FOOTAGE_VERSION,
  type DecodedFootage,
  type FootageComparison,
} from '../../pipelines/quality/footage.ts';
import { fingerprintFile } from '../../pipelines/quality/footage-media.ts';
import type { StageContext } from '../../pipelines/stage.ts';
import { FootageFingerprint } from '../../schemas/records.ts';

/** The first line of a fingerprint list. */
export const FingerprintListHeader = z.object({ emoforge: z.literal('fingerprints'), version: z.literal(1), benchmark: z.string().min(1) }).strict();
/** Every other line: one benchmark clip. */
export const FingerprintListEntry = z.object({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), fingerprint: FootageFingerprint }).strict();
export type FingerprintListEntry = z.infer<typeof FingerprintListEntry>;

interface BenchmarkClip {
  readonly benchmark: string;
  readonly name: string;
  readonly sha256: string;
  readonly footage: DecodedFootage;
}

export interface Overlap {
  readonly benchmark: string;
  readonly name: string;
  readonly detail: string;
}

/** Media a folder of benchmark clips is read for (the ingest stage's default extensions). */
export interface ExclusionOptions {
  readonly extensions: readonly string[];
}

/**
 * The clips to keep out, read from fingerprint lists and folders (a folder's clips are fingerprinted
 * once: their fingerprints are cached in the store by content hash).
 */
export class Exclusions {
  private constructor(
    private readonly clips: readonly BenchmarkClip[],
    private readonly bySha: ReadonlyMap<string, BenchmarkClip>,
  ) {}

  get size(): number {
    return this.clips.length;
  }

  static async load(paths: readonly string[], options: ExclusionOptions, ctx: StageContext): Promise<Exclusions> {
    const clips: BenchmarkClip[] = [];
    for (const path of paths) {
      const info = await stat(resolve(path)).catch(() => null);
      if (!info)
        throw new FatalError(
          `ingest.exclude: ${path} does not exist; give a fingerprint list (emoforge fingerprint DIR -o FILE) or a folder of benchmark clips`,
        );
      const entries = info.isDirectory() ? await fingerprintFolder(resolve(path), options, ctx) : await readFingerprintList(resolve(path));
      clips.push(...entries.entries.map((e) => ({ benchmark: entries.benchmark, name: e.name, sha256: e.sha256, footage: decodeFootage(e.fingerprint) })));
    }
    return new Exclusions(clips, new Map(clips.map((c) => [c.sha256, c])));
  }

  /** The benchmark clip this one is (same bytes) or contains (same footage), if any. */
  async overlap(clip: { readonly id: string; readonly uri: string }, sourcePath: string, ctx: StageContext): Promise<Overlap | null> {
    const same = this.bySha.get(clip.id);
    if (same) return { benchmark: same.benchmark, name: same.name, detail: `same bytes as ${same.name} of benchmark ${same.benchmark}` };
    const footage = decodeFootage(await cachedFileFingerprint(sourcePath, clip.id, ctx));
    for (const bench of this.clips) {
      // The benchmark clip may sit anywhere inside ours, but cannot be longer than it.
      if (bench.footage.duration > footage.duration + DEFAULT_THRESHOLDS.maxOffsetSec) continue;
      const match = compareFootage(bench.footage, footage, DEFAULT_THRESHOLDS, { contained: true });
      if (match.duplicate)
        return {
          benchmark: bench.benchmark,
          name: bench.name,
          detail: `footage of ${clip.uri} contains ${bench.name} of benchmark ${bench.benchmark} (${describe(match)})`,
        };
    }
    return null;
  }
}

function describe(match: FootageComparison): string {
  const parts: string[] = [];
  if (match.audioBer !== null) parts.push(`audio bit error rate ${match.audioBer.toFixed(3)} at ${match.offsetSec!.toFixed(2)} s`);
  if (match.frameBits !== null) parts.push(`keyframes ${match.frameBits.toFixed(1)} of 64 bits apart${match.mirrored ? ', mirrored' : ''}`);
  return parts.join('; ');
}

/** A fingerprint list: the header line, then one clip a line. Strict: a bad line names the file and line. */
export async function readFingerprintList(path: string): Promise<{ benchmark: string; entries: FingerprintListEntry[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FatalError(`ingest.exclude: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const lines = text.split('\n');
  const parse = <T>(schema: z.ZodType<T>, line: string, number: number): T => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new FatalError(`${path} line ${number} is not JSON: a fingerprint list is what emoforge fingerprint DIR -o FILE writes`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new FatalError(
        `${path} line ${number}: ${parsed.error.issues[0]?.path.join('.') || 'line'}: ${parsed.error.issues[0]?.message}; make the list again with emoforge fingerprint`,
      );
    return parsed.data;
  };
  const header = parse(FingerprintListHeader, lines[0] ?? '', 1);
  const entries: FingerprintListEntry[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const entry = parse(FingerprintListEntry, line, i + 2);
    if (entry.fingerprint.version !== FOOTAGE_VERSION)
      throw new FatalError(
        `${path} line ${i + 2}: fingerprint version ${entry.fingerprint.version}, this emoforge makes version ${FOOTAGE_VERSION}: make the list again with emoforge fingerprint`,
      );
    entries.push(entry);
  });
  return { benchmark: header.benchmark, entries };
}

/** Fingerprints every media file under a folder (names relative to it, in order). */
export async function fingerprintFolder(
  dir: string,
  options: ExclusionOptions,
  ctx: Pick<StageContext, 'store' | 'signal' | 'work'>,
  onFile?: (done: number, total: number, name: string) => void,
): Promise<{ benchmark: string; entries: FingerprintListEntry[] }> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && options.extensions.includes(extname(e.name).slice(1).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  const entries: FingerprintListEntry[] = [];
  for (const [i, file] of files.entries()) {
    const sha256 = await sha256File(file);
    const name = relative(dir, file).split(sep).join('/');
    entries.push({ name, sha256, fingerprint: await cachedFileFingerprint(file, sha256, ctx) });
    onFile?.(i + 1, files.length, name);
  }
  return { benchmark: basename(dir), entries };
}

/** A whole file's fingerprint, cached in the store by the file's sha256. */
async function cachedFileFingerprint(path: string, sha256: string, ctx: Pick<StageContext, 'store' | 'signal' | 'work'>): Promise<FootageFingerprint> {
  const key = `cache/footage/files/v${FOOTAGE_VERSION}/${sha256.slice(0, 2)}/${sha256}.json`;
  const cached = await ctx.store.get(key);
  if (cached) return JSON.parse(cached.toString('utf8')) as FootageFingerprint;
  ctx.work.add('ffmpeg');
  const { fingerprint } = await fingerprintFile(path, ctx.signal);
  await ctx.store.put(key, JSON.stringify(fingerprint));
  return fingerprint;
}
