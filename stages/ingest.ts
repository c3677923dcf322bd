// ingest: lists the sources (a folder, a glob, or a CSV/JSONL manifest), hashes every file (clip id =
// sha256 of its bytes), validates it with ffprobe and assigns it a partition. Every source that does
// not become a clip leaves with a reason: missing, path-escape, empty-file, not-media, corrupt,
// no-streams, too-long, too-short, duplicate, bad-manifest-row, takedown (listed in the takedown file),
// benchmark-overlap (the clip is, or contains, a clip of a benchmark in ingest.exclude).
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import PQueue from 'p-queue';
import { glob, isDynamicPattern } from 'tinyglobby';
import { z } from 'zod';
import { FatalError, RecordError } from '../pipelines/errors.ts';
import { fingerprint, sha256, sha256File } from '../pipelines/fingerprint.ts';
import { assertFfmpegInstalled, probe } from '../pipelines/media/ffmpeg.ts';
import type { SourceResult, SourceStage, StageContext } from '../pipelines/stage.ts';
import { Probe, type Clip, type Drop, type ManifestFields } from '../schemas/records.ts';
import { ADAPTERS, PRESETS } from './ingest/adapters/index.ts';
import { Exclusions } from './ingest/exclude.ts';
import { readManifest } from './ingest/manifest.ts';

export const DEFAULT_MEDIA_EXTENSIONS = ['mp4', 'mkv', 'webm', 'mov', 'avi', 'm4v', 'mpg', 'mpeg', 'wav', 'mp3', 'm4a', 'flac', 'ogg', 'opus'];

const IngestConfig = z
  .object({
    /** Folder, glob or manifest file; the CLI's --input overrides it. */
    input: z.string().min(1).optional(),
    /** Media file extensions picked up from folders and globs. */
    extensions: z.array(z.string().regex(/^[a-z0-9]+$/)).min(1).default(DEFAULT_MEDIA_EXTENSIONS),
    /** Clips longer than this are rejected as too-long. */
    maxDurationSec: z.number().positive().default(600),
    /** Clips shorter than this are rejected as too-short. */
    minDurationSec: z.number().nonnegative().default(0.2),
    /** Files hashed and probed at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** Takedown list: a text file, one clip name, uri or sha256 clip id a line (# comments); listed clips, and any file with the same bytes, are dropped as takedown. */
    takedown: z.string().min(1).optional(),
    /** Benchmarks to keep out: fingerprint lists (emoforge fingerprint DIR -o FILE) or folders of clips; a clip with the same bytes or containing the same footage is dropped as benchmark-overlap. */
    exclude: z.array(z.string().min(1)).default([]),
    /** A public corpus in its published layout (stages/ingest/adapters): ravdess, cremad, meld, iemocap or mer; `input` is the corpus root. */
    preset: z.enum(PRESETS).optional(),
    /** Options of the preset's adapter, under its name (e.g. `ravdess: { channels: [speech, song] }`). */
    ravdess: z.unknown().optional(),
    cremad: z.unknown().optional(),
    meld: z.unknown().optional(),
    iemocap: z.unknown().optional(),
    mer: z.unknown().optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const name of PRESETS) {
      if (config[name] === undefined) continue;
      if (config.preset !== name) ctx.addIssue({ code: 'custom', path: [name], message: `options for the ${name} adapter need preset: ${name}` });
      const parsed = ADAPTERS.get(name)!.configSchema.safeParse(config[name]);
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: [name, ...issue.path.map(String)], message: issue.message });
    }
  });
export type IngestConfig = z.infer<typeof IngestConfig>;

interface SourceEntry {
  /** absolute path on disk */
  readonly path: string;
  /** path relative to the input root, with forward slashes */
  readonly uri: string;
  readonly name: string;
  readonly manifest: ManifestFields;
  /** an utterance inside the file (corpus adapters) */
  readonly span?: { readonly start: number; readonly end: number };
}

interface Listing {
  readonly root: string;
  readonly entries: SourceEntry[];
  readonly drops: Drop[];
}

export const ingest: SourceStage<IngestConfig> = {
  kind: 'source',
  name: 'ingest',
  version: 1,
  configSchema: IngestConfig,

  async run(config, options, ctx): Promise<SourceResult> {
    const input = options.input ?? config.input;
    if (!input) {
      throw new FatalError('no input given: pass --input PATH (a folder, a glob or a manifest .csv/.jsonl) or set stages[ingest].input in the config');
    }
    await assertFfmpegInstalled();
    const listing = config.preset ? await listPreset(input, config) : await listSources(input, config);
    const entries = options.limit === undefined ? listing.entries : listing.entries.slice(0, options.limit);
    const drops = [...listing.drops];
    const takedown = config.takedown === undefined ? undefined : await readTakedown(config.takedown);
    const takenDown = new Set<string>();
    const candidates: { entry: SourceEntry; id: string; fileSha: string; bytes: number; probe: Probe }[] = [];

    const queue = new PQueue({ concurrency: config.concurrency });
    let done = 0;
    await Promise.all(
      entries.map((entry) =>
        queue.add(async () => {
          const outcome = await admit(entry, config, ctx);
          const id = 'drop' in outcome ? outcome.drop.clipId : outcome.id;
          const fileSha = 'drop' in outcome ? null : outcome.fileSha;
          if (takedown && (takedown.has(entry.name) || takedown.has(entry.uri) || (id !== null && takedown.has(id)) || (fileSha !== null && takedown.has(fileSha)))) {
            if (id !== null) takenDown.add(id);
            drops.push(dropOf(entry, id, 'takedown', `${entry.uri} is on the takedown list ${config.takedown}`));
          } else if ('drop' in outcome) drops.push(outcome.drop);
          else candidates.push({ entry, ...outcome });
          options.onProgress?.(++done, entries.length);
        }),
      ),
    );

    // Exact duplicates collapse onto one copy: a copy the manifest describes wins, then uri order.
    const described = (c: (typeof candidates)[number]) => (Object.keys(c.entry.manifest).length > 0 ? 0 : 1);
    candidates.sort((a, b) => described(a) - described(b) || compare(a.entry.uri, b.entry.uri));
    const kept = new Map<string, (typeof candidates)[number]>();
    const clips: Clip[] = [];
    for (const candidate of candidates) {
      if (takenDown.has(candidate.id)) {
        drops.push(dropOf(candidate.entry, candidate.id, 'takedown', `same bytes as a clip on the takedown list ${config.takedown}`));
        continue;
      }
      const first = kept.get(candidate.id);
      if (first) {
        drops.push(dropOf(candidate.entry, candidate.id, 'duplicate', `same bytes as ${first.entry.uri}`));
        continue;
      }
      kept.set(candidate.id, candidate);
      clips.push({
        id: candidate.id,
        uri: candidate.entry.uri,
        name: candidate.entry.name,
        bytes: candidate.bytes,
        probe: candidate.probe,
        manifest: candidate.entry.manifest,
        partition: partitionOf(candidate.id, options.partitions),
        ...(candidate.entry.span ? { span: candidate.entry.span } : {}),
      });
    }
    const admitted = config.exclude.length > 0 ? await withoutBenchmarks(clips, kept, config, ctx, drops) : clips;
    return { clips: admitted, drops: drops.sort((a, b) => compare(a.uri, b.uri) || compare(a.reason, b.reason)), seen: entries.length + listing.drops.length, root: listing.root };
  },
};

/** Clips that are, or contain, a benchmark clip of ingest.exclude leave as benchmark-overlap. */
async function withoutBenchmarks(clips: readonly Clip[], sources: ReadonlyMap<string, { entry: SourceEntry; fileSha: string }>, config: IngestConfig, ctx: StageContext, drops: Drop[]): Promise<Clip[]> {
  const exclusions = await Exclusions.load(config.exclude, { extensions: config.extensions }, ctx);
  const queue = new PQueue({ concurrency: config.concurrency });
  const keep = new Set<string>();
  await Promise.all(
    clips.map((clip) =>
      queue.add(async () => {
        const source = sources.get(clip.id)!;
        const overlap = await exclusions.overlap({ id: source.fileSha, uri: clip.uri }, source.entry.path, ctx);
        if (overlap) drops.push(dropOf(clip, clip.id, 'benchmark-overlap', overlap.detail));
        else keep.add(clip.id);
      }),
    ),
  );
  ctx.log.info({ benchmarkClips: exclusions.size, clips: clips.length, excluded: clips.length - keep.size }, 'benchmark decontamination');
  return clips.filter((clip) => keep.has(clip.id));
}

/** The takedown file's entries: one a line, trimmed; blank lines and # comments skipped. */
async function readTakedown(path: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(resolve(path), 'utf8');
  } catch (error) {
    throw new FatalError(`takedown list ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); fix stages[ingest].takedown or create the file`);
  }
  return new Set(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
}

export function partitionOf(clipId: string, partitions: number): number {
  return parseInt(clipId.slice(0, 8), 16) % partitions;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dropOf(entry: { uri: string }, clipId: string | null, reason: string, detail: string): Drop {
  return { id: clipId ?? sha256(`uri:${entry.uri}`), clipId, uri: entry.uri, stage: 'ingest', reason, detail };
}

/** `id` is the clip id: the file's sha256 (`fileSha`), joined with the span for an utterance inside a file. */
type Admission = { drop: Drop } | { id: string; fileSha: string; bytes: number; probe: Probe };

/** Hashes and probes one file (probe results are cached by content hash, so a re-run runs no ffprobe). */
async function admit(entry: SourceEntry, config: IngestConfig, ctx: StageContext): Promise<Admission> {
  let size: number;
  try {
    const info = await stat(entry.path);
    if (!info.isFile()) return { drop: dropOf(entry, null, 'not-a-file', `${entry.uri} is not a regular file`) };
    size = info.size;
  } catch {
    return { drop: dropOf(entry, null, 'missing', `${entry.uri} does not exist`) };
  }
  if (size === 0) return { drop: dropOf(entry, null, 'empty-file', `${entry.uri} has 0 bytes`) };
  let id = await sha256File(entry.path);
  const cacheKey = `cache/probe/${id.slice(0, 2)}/${id}.json`;
  const cached = await ctx.store.get(cacheKey);
  let result: { probe: Probe } | { error: { reason: string; detail: string } };
  if (cached) result = JSON.parse(cached.toString('utf8'));
  else {
    ctx.work.add('ffprobe');
    try {
      result = { probe: Probe.parse(await probe(entry.path)) };
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      // A file that starts like a media container but cannot be read is corrupt; anything else is
      // not media at all (a text file renamed .mp4, say).
      const reason = (await looksLikeMedia(entry.path)) ? 'corrupt' : 'not-media';
      result = { error: { reason, detail: error.message } };
    }
    await ctx.store.put(cacheKey, JSON.stringify(result));
  }
  if ('error' in result) return { drop: dropOf(entry, id, result.error.reason, result.error.detail) };
  const { probe: p } = result;
  if (!p.hasAudio && !p.hasVideo) return { drop: dropOf(entry, id, 'no-streams', `${entry.uri} has neither an audio nor a video stream`) };
  // An utterance inside a longer file is a clip of its own, judged by its own length, inside the file.
  const fileSha = id;
  if (entry.span) id = fingerprint('span', fileSha, entry.span.start, entry.span.end);
  if (entry.span && entry.span.end > p.duration + 0.05) {
    return { drop: dropOf(entry, id, 'bad-span', `span ${entry.span.start}–${entry.span.end}s of ${entry.name} ends after the file (${p.duration}s)`) };
  }
  const length = entry.span ? Math.round((entry.span.end - entry.span.start) * 1000) / 1000 : p.duration;
  if (length > config.maxDurationSec) {
    return { drop: dropOf(entry, id, 'too-long', `${length}s is over maxDurationSec ${config.maxDurationSec}`) };
  }
  if (length < config.minDurationSec) {
    return { drop: dropOf(entry, id, 'too-short', `${length}s is under minDurationSec ${config.minDurationSec}`) };
  }
  return { id, fileSha, bytes: size, probe: p };
}

/** Magic numbers of the containers ffmpeg users feed us. */
async function looksLikeMedia(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    const b = head.subarray(0, bytesRead);
    const ascii = b.toString('latin1');
    return (
      ascii.slice(4, 8) === 'ftyp' || ascii.slice(4, 8) === 'moov' || ascii.slice(4, 8) === 'mdat' || ascii.slice(4, 8) === 'wide' ||
      ascii.startsWith('RIFF') || ascii.startsWith('OggS') || ascii.startsWith('fLaC') || ascii.startsWith('ID3') ||
      (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) || // Matroska / WebM
      (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0x01 && (b[3] === 0xba || b[3] === 0xb3)) || // MPEG-PS
      (b[0] === 0x47 && bytesRead >= 1) || // MPEG-TS sync byte
      (b[0] === 0xff && (b[1] & 0xe0) === 0xe0) // MPEG audio frame sync
    );
  } finally {
    await handle.close();
  }
}

/** A corpus root read by its adapter: every sample an entry, everything it cannot use a drop naming the file and line. */
async function listPreset(input: string, config: IngestConfig): Promise<Listing> {
  const root = resolve(input);
  if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new FatalError(`ingest.preset ${config.preset}: ${input} is not a folder; give the corpus root (${ADAPTERS.get(config.preset!)!.layout})`);
  const adapter = ADAPTERS.get(config.preset!)!;
  const listing = await adapter.list(root, adapter.configSchema.parse(config[config.preset!] ?? {}));
  const drops = listing.rejects.map((r) => ({ id: sha256(`${config.preset}:${r.uri}:${r.detail}`), clipId: null, uri: r.uri, stage: 'ingest', reason: r.reason, detail: r.detail }));
  return { root, entries: listing.entries.map((e) => ({ path: e.path, uri: e.uri, name: e.name, manifest: e.manifest, ...(e.span ? { span: e.span } : {}) })), drops };
}

const MANIFEST_NAMES = ['manifest.csv', 'manifest.jsonl'];

async function listSources(input: string, config: IngestConfig): Promise<Listing> {
  const absolute = resolve(input);
  const info = await stat(absolute).catch(() => undefined);
  if (info?.isFile()) {
    if (!/\.(csv|jsonl)$/i.test(absolute)) {
      throw new FatalError(`--input ${input} is a file but not a manifest (.csv or .jsonl); pass its folder or a glob instead`);
    }
    return fromManifest(absolute, config, false);
  }
  if (info?.isDirectory()) {
    for (const name of MANIFEST_NAMES) {
      const manifestPath = join(absolute, name);
      if (await stat(manifestPath).then((s) => s.isFile(), () => false)) return fromManifest(manifestPath, config, true);
    }
    return { root: absolute, entries: await listFolder(absolute, absolute, config), drops: [] };
  }
  if (isDynamicPattern(input)) {
    const root = resolve(staticPrefix(input));
    const files = await glob(input, { absolute: true, onlyFiles: true, dot: false });
    const wanted = new Set(config.extensions);
    const entries = files
      .filter((file) => wanted.has(extname(file).slice(1).toLowerCase()))
      .map((file) => entryFor(file, root, {}));
    return { root, entries: entries.sort((a, b) => compare(a.uri, b.uri)), drops: [] };
  }
  throw new FatalError(`--input ${input} does not exist (expected a folder, a glob such as "clips/**/*.mp4", or a manifest .csv/.jsonl)`);
}

function staticPrefix(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '.';
}

function entryFor(path: string, root: string, manifest: ManifestFields, name?: string): SourceEntry {
  const uri = relative(root, path).split(sep).join('/');
  return { path, uri, name: name ?? basename(path, extname(path)), manifest };
}

async function listFolder(dir: string, root: string, config: IngestConfig): Promise<SourceEntry[]> {
  const pattern = `**/*.{${config.extensions.join(',')}}`;
  const files = await glob(pattern, { cwd: dir, absolute: true, onlyFiles: true, dot: false, caseSensitiveMatch: false });
  return files.map((file) => entryFor(file, root, {})).sort((a, b) => compare(a.uri, b.uri));
}

/** True when `path` lies inside `root` (after resolving symlinks of both). */
async function inside(root: string, path: string): Promise<boolean> {
  const realRoot = await realpath(root);
  const realPath = await realpath(path).catch(() => resolve(path));
  const rel = relative(realRoot, realPath);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

async function fromManifest(manifestPath: string, config: IngestConfig, withFolder: boolean): Promise<Listing> {
  const root = dirname(manifestPath);
  const manifestName = basename(manifestPath);
  const parsed = await readManifest(manifestPath);
  const drops: Drop[] = parsed.errors.map(({ line, detail }) => ({
    id: sha256(`manifest:${manifestName}:${line}`),
    clipId: null,
    uri: `${manifestName}#L${line}`,
    stage: 'ingest',
    reason: 'bad-manifest-row',
    detail,
  }));
  const entries = new Map<string, SourceEntry>();
  for (const row of parsed.rows) {
    const rowUri = `${manifestName}#L${row.line}`;
    if (!row.locator) {
      drops.push({ id: sha256(`manifest:${manifestName}:${row.line}`), clipId: null, uri: rowUri, stage: 'ingest', reason: 'bad-manifest-row', detail: `line ${row.line} has no name/path/uri column value` });
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(row.locator)) {
      drops.push({ id: sha256(`uri:${row.locator}`), clipId: null, uri: row.locator, stage: 'ingest', reason: 'unsupported-uri', detail: `line ${row.line}: only local paths are supported by this store (got ${row.locator})` });
      continue;
    }
    const candidate = resolve(root, row.locator);
    const uri = relative(root, candidate).split(sep).join('/');
    if (uri === '' || uri === '..' || uri.startsWith('../') || isAbsolute(uri)) {
      drops.push({ id: sha256(`uri:${row.locator}`), clipId: null, uri: row.locator, stage: 'ingest', reason: 'path-escape', detail: `line ${row.line}: ${JSON.stringify(row.locator)} points outside the manifest's folder ${root}` });
      continue;
    }
    const found = await locate(candidate, row.byName, config);
    if (!found) {
      drops.push({ id: sha256(`uri:${uri}`), clipId: null, uri, stage: 'ingest', reason: 'missing', detail: `line ${row.line}: ${row.locator} is listed in ${manifestName} but no such file exists` });
      continue;
    }
    if (!(await inside(root, found))) {
      drops.push({ id: sha256(`uri:${uri}`), clipId: null, uri, stage: 'ingest', reason: 'path-escape', detail: `line ${row.line}: ${row.locator} resolves (through a link) outside ${root}` });
      continue;
    }
    const name = row.byName ? basename(row.locator, extname(found) === extname(row.locator) ? extname(row.locator) : '') : undefined;
    const entry = entryFor(found, root, row.fields, name);
    if (!entries.has(entry.uri)) entries.set(entry.uri, entry);
  }
  if (withFolder) {
    // Media in the folder that the manifest does not list are ingested unlabelled.
    for (const entry of await listFolder(root, root, config)) if (!entries.has(entry.uri)) entries.set(entry.uri, entry);
  }
  return { root, entries: [...entries.values()].sort((a, b) => compare(a.uri, b.uri)), drops };
}

/** A manifest `name` may omit the extension (MER label files do): try each media extension. */
async function locate(candidate: string, byName: boolean, config: IngestConfig): Promise<string | undefined> {
  if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  if (!byName) return undefined;
  for (const extension of config.extensions) {
    const withExtension = `${candidate}.${extension}`;
    if (await stat(withExtension).then((s) => s.isFile(), () => false)) return withExtension;
  }
  return undefined;
}
