// ingest: lists the sources (a folder, a glob, or a CSV/JSONL manifest; see ingest/listing.ts; or a
// public corpus in its published layout, see ingest/adapters/), hashes every file (clip id = sha256 of
// its bytes, joined with the span for an utterance inside a longer file), validates it with ffprobe
// (or, for the WAV and MP4 files it is sure of, the native reader that gives ffprobe's answer without
// starting a process: pipelines/media/native-probe.ts) and assigns it a partition. Every source seen becomes a clip or leaves with a reason: missing,
// path-escape, symlink-loop, not-a-file, hidden-file, unsupported-uri, bad-manifest-row, duplicate-row,
// empty-file, not-media, corrupt, probe-failed (transient), no-streams, too-long, too-short, bad-span,
// duplicate, takedown, benchmark-overlap (the clip is, or contains, a clip of a benchmark in
// ingest.exclude), and the presets' own (not-in-layout, bad-file-name, preset-excluded,
// not-in-annotations, label-not-mapped).
import type { BigIntStats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import PQueue from 'p-queue';
import { z } from 'zod';
import { FatalError, RecordError } from '../pipelines/errors.ts';
import { fingerprint, sha256, sha256File } from '../pipelines/fingerprint.ts';
import { assertFfmpegInstalled, probe } from '../pipelines/media/ffmpeg.ts';
import { nativeProbe } from '../pipelines/media/native-probe.ts';
import type { SourceResult, SourceStage, StageContext } from '../pipelines/stage.ts';
import { Probe, type Clip, type Drop } from '../schemas/records.ts';
import { ADAPTERS, PRESETS } from './ingest/adapters/index.ts';
import { Exclusions } from './ingest/exclude.ts';
import { IngestFileIndex, type ProbeVerdict } from './ingest/file-index.ts';
import { compare, dropOf, listSources, mapBounded, type Listing, type SourceEntry } from './ingest/listing.ts';

export const DEFAULT_MEDIA_EXTENSIONS = ['mp4', 'mkv', 'webm', 'mov', 'avi', 'm4v', 'mpg', 'mpeg', 'wav', 'mp3', 'm4a', 'flac', 'ogg', 'opus'];

const IngestConfig = z
  .object({
    /** Folder, glob or manifest file; the CLI's --input overrides it. */
    input: z.string().min(1).optional(),
    /** Media file extensions picked up from folders and globs. */
    extensions: z
      .array(z.string().regex(/^[a-z0-9]+$/))
      .min(1)
      .default(DEFAULT_MEDIA_EXTENSIONS),
    /** Clips longer than this are rejected as too-long. */
    maxDurationSec: z.number().positive().default(600),
    /** Clips shorter than this are rejected as too-short. */
    minDurationSec: z.number().nonnegative().default(0.2),
    /** Files hashed and probed at once (default: the cores this process may use, at least 4: an ffprobe spends much of its time starting). */
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(() => Math.max(4, availableParallelism())),
    /**
     * Read WAV and MP4/MOV/M4A headers here instead of starting ffprobe (default true). The answer is
     * ffprobe's to the byte, and any file the reader is not sure of goes to ffprobe; `false` sends
     * every file to ffprobe. Never changes a cache key.
     */
    nativeProbe: z.boolean().default(true),
    /** Hidden entries (a name starting with a dot, e.g. macOS `._clip.mp4`): 'reject' (default) as hidden-file, or 'ingest'. */
    hidden: z.enum(['reject', 'ingest']).default('reject'),
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
      if (!parsed.success)
        for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: [name, ...issue.path.map(String)], message: issue.message });
    }
  });
export type IngestConfig = z.infer<typeof IngestConfig>;

export const ingest: SourceStage<IngestConfig> = {
  kind: 'source',
  name: 'ingest',
  version: 1,
  configSchema: IngestConfig,
  // Throughput never shapes the clips: a machine with more cores keys its cache like any other.
  cacheConfig: ({ concurrency: _, nativeProbe: __, ...shaping }) => shaping,

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

    const index = await IngestFileIndex.load(ctx.store, listing.root, { rehash: options.rehash });
    const probes = new Map<string, Promise<ProbeOutcome>>();
    const probed: ProbeTally = { native: 0, ffprobe: 0 };
    const queue = new PQueue({ concurrency: config.concurrency });
    let done = 0;
    const settle = (entry: SourceEntry, outcome: Admission) => {
      const id = 'drop' in outcome ? outcome.drop.clipId : outcome.id;
      const fileSha = 'drop' in outcome ? null : outcome.fileSha;
      if (
        takedown &&
        (takedown.has(entry.name) || takedown.has(entry.uri) || (id !== null && takedown.has(id)) || (fileSha !== null && takedown.has(fileSha)))
      ) {
        if (id !== null) takenDown.add(id);
        drops.push(dropOf(entry, id, 'takedown', `${entry.uri} is on the takedown list ${config.takedown}`));
      } else if ('drop' in outcome) drops.push(outcome.drop);
      else candidates.push({ entry, ...outcome });
      options.onProgress?.(++done, entries.length);
    };
    // Every file is stat'ed, STAT_CONCURRENCY at a time; one the index knows unchanged, with its probe
    // verdict, is judged at once, and only the others wait in the queue to be hashed and probed
    // `config.concurrency` at a time.
    await mapBounded(entries, STAT_CONCURRENCY, async (entry) => {
      const info = await statOf(entry);
      if ('drop' in info) return settle(entry, info);
      settle(entry, admitUnchanged(entry, info, config, index) ?? (await queue.add(() => admit(entry, info, config, ctx, index, probes, probed))));
    });
    await index.save(ctx.store);
    ctx.log.info(
      {
        files: index.hashed + index.reused,
        hashed: index.hashed,
        unchanged: index.reused,
        rehash: options.rehash === true,
        probedNatively: probed.native,
        ffprobed: probed.ffprobe,
      },
      'ingest file index',
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
    const refused: Drop[] = (options.refused ?? []).map((r) => dropOf({ uri: r.uri }, null, 'path-escape', r.detail));
    drops.push(...refused);
    const seen = entries.length + listing.drops.length + refused.length;
    // Every source seen is a clip or a reject: a listing bug must not lose inputs silently.
    if (admitted.length + drops.length !== seen)
      throw new FatalError(
        `ingest lost track of sources: ${seen} seen, ${admitted.length} clips + ${drops.length} rejects; please report this with the input listing`,
      );
    return { clips: admitted, drops: drops.sort((a, b) => compare(a.uri, b.uri) || compare(a.reason, b.reason)), seen, root: listing.root };
  },
};

/** Clips that are, or contain, a benchmark clip of ingest.exclude leave as benchmark-overlap. */
async function withoutBenchmarks(
  clips: readonly Clip[],
  sources: ReadonlyMap<string, { entry: SourceEntry; fileSha: string }>,
  config: IngestConfig,
  ctx: StageContext,
  drops: Drop[],
): Promise<Clip[]> {
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
    throw new FatalError(
      `takedown list ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); fix stages[ingest].takedown or create the file`,
    );
  }
  return new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

export function partitionOf(clipId: string, partitions: number): number {
  return parseInt(clipId.slice(0, 8), 16) % partitions;
}

/** `id` is the clip id: the file's sha256 (`fileSha`), joined with the span for an utterance inside a file. */
type Admission = { drop: Drop } | { id: string; fileSha: string; bytes: number; probe: Probe };

/**
 * Files stat'ed at once. A stat waits on libuv's thread pool (4 threads), not on a core: with only
 * `ingest.concurrency` of them in flight a re-run spends most of its time waiting for the next round
 * trip, and with many in flight the answers come back in batches.
 */
const STAT_CONCURRENCY = 64;

/** What is on disk at the entry's path, or why it is no source. */
async function statOf(entry: SourceEntry): Promise<BigIntStats | { drop: Drop }> {
  try {
    const info = await stat(entry.path, { bigint: true });
    if (!info.isFile()) return { drop: dropOf(entry, null, 'not-a-file', `${entry.uri} is not a regular file`) };
    return info;
  } catch {
    return { drop: dropOf(entry, null, 'missing', `${entry.uri} does not exist`) };
  }
}

/**
 * A file the index knows unchanged and whose probe verdict it holds, judged without reading it; undefined
 * for any other file (admit hashes and probes it). The same admission as admit's for that file.
 */
function admitUnchanged(entry: SourceEntry, info: BigIntStats, config: IngestConfig, index: IngestFileIndex): Admission | undefined {
  if (info.size === 0n) return undefined;
  const sha = index.unchanged(entry.path, info);
  const verdict = sha === undefined ? undefined : index.probeOf(sha);
  if (verdict === undefined) return undefined;
  index.reuse(entry.path, info);
  index.noteProbe(sha!, verdict);
  return judge(entry, sha!, Number(info.size), verdict, config);
}

/** Hashes and probes one file (probe results are cached by content hash, so a re-run runs no ffprobe). */
async function admit(
  entry: SourceEntry,
  info: BigIntStats,
  config: IngestConfig,
  ctx: StageContext,
  index: IngestFileIndex,
  probes: Map<string, Promise<ProbeOutcome>>,
  probed: ProbeTally,
): Promise<Admission> {
  const size = Number(info.size);
  if (size === 0) return { drop: dropOf(entry, null, 'empty-file', `${entry.uri} has 0 bytes`) };
  const id = await index.sha256Of(entry.path, info, () => {
    ctx.work.add('hash');
    return sha256File(entry.path);
  });
  // Files with the same bytes (a link and its target, a copy) are probed once, even when they are admitted at the same time.
  let probing = probes.get(id);
  if (!probing) probes.set(id, (probing = Promise.resolve(index.probeOf(id) ?? probeCached(id, entry.path, config, ctx, probed))));
  const result = await probing;
  if ('transient' in result)
    return { drop: { ...dropOf(entry, id, 'probe-failed', result.transient.message), transient: result.transient.service ?? 'ffprobe' } };
  index.noteProbe(id, result);
  return judge(entry, id, size, result, config);
}

/** A file of these bytes (sha256 `fileSha`) and size, by its probe verdict: a clip, or why not. */
function judge(entry: SourceEntry, fileSha: string, size: number, verdict: ProbeVerdict, config: IngestConfig): Admission {
  let id = fileSha;
  if ('error' in verdict) return { drop: dropOf(entry, id, verdict.error.reason, verdict.error.detail) };
  const { probe: p } = verdict;
  if (!p.hasAudio && !p.hasVideo) return { drop: dropOf(entry, id, 'no-streams', `${entry.uri} has neither an audio nor a video stream`) };
  // An utterance inside a longer file is a clip of its own, judged by its own length, inside the file.
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

type ProbeOutcome = ProbeVerdict | { transient: RecordError };

/** Files probed this run by the native reader and by ffprobe (cached verdicts count in neither). */
interface ProbeTally {
  native: number;
  ffprobe: number;
}

/**
 * ffprobe's verdict on the file with sha256 `id`, cached in the store by content (a killed ffprobe is
 * not cached). The native reader gives the same verdict for the files it is sure of, without a process.
 */
async function probeCached(id: string, path: string, config: IngestConfig, ctx: StageContext, probed: ProbeTally): Promise<ProbeOutcome> {
  const cacheKey = `cache/probe/${id.slice(0, 2)}/${id}.json`;
  const cached = await ctx.store.get(cacheKey);
  if (cached) return JSON.parse(cached.toString('utf8'));
  const native = config.nativeProbe ? await nativeProbe(path) : undefined;
  let result: ProbeOutcome;
  // 'probe' counts every file probed, 'ffprobe' the ffprobe processes among them.
  ctx.work.add('probe');
  try {
    if (native) {
      probed.native++;
      result = { probe: Probe.parse(native) };
    } else {
      probed.ffprobe++;
      ctx.work.add('ffprobe');
      result = { probe: Probe.parse(await probe(path)) };
    }
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    // ffprobe was killed: nothing is known of the file yet, so nothing is cached; the next run probes again.
    if (error.transient) return { transient: error };
    // A file that starts like a media container but cannot be read is corrupt; anything else is
    // not media at all (a text file renamed .mp4, say).
    const reason = (await looksLikeMedia(path)) ? 'corrupt' : 'not-media';
    result = { error: { reason, detail: error.message } };
  }
  await ctx.store.put(cacheKey, JSON.stringify(result));
  return result;
}

const TS_PACKET = 188;

/** Magic numbers of the containers ffmpeg users feed us. */
async function looksLikeMedia(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(TS_PACKET * 2 + 1);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const b = head.subarray(0, bytesRead);
    const ascii = b.toString('latin1');
    return (
      ascii.slice(4, 8) === 'ftyp' ||
      ascii.slice(4, 8) === 'moov' ||
      ascii.slice(4, 8) === 'mdat' ||
      ascii.slice(4, 8) === 'wide' ||
      ascii.startsWith('RIFF') ||
      ascii.startsWith('OggS') ||
      ascii.startsWith('fLaC') ||
      ascii.startsWith('ID3') ||
      (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) || // Matroska / WebM
      (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0x01 && (b[3] === 0xba || b[3] === 0xb3)) || // MPEG-PS
      // MPEG-TS: the sync byte starts every 188-byte packet (one "G" alone is any text file).
      (bytesRead > TS_PACKET && b[0] === 0x47 && b[TS_PACKET] === 0x47 && (bytesRead <= 2 * TS_PACKET || b[2 * TS_PACKET] === 0x47)) ||
      (b[0] === 0xff && (b[1] & 0xe0) === 0xe0) // MPEG audio frame sync
    );
  } finally {
    await handle.close();
  }
}

/** A corpus root read by its adapter: every sample an entry, everything it cannot use a drop naming the file and line. */
async function listPreset(input: string, config: IngestConfig): Promise<Listing> {
  const root = resolve(input);
  if (
    !(await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new FatalError(`ingest.preset ${config.preset}: ${input} is not a folder; give the corpus root (${ADAPTERS.get(config.preset!)!.layout})`);
  const adapter = ADAPTERS.get(config.preset!)!;
  const listing = await adapter.list(root, adapter.configSchema.parse(config[config.preset!] ?? {}));
  const drops = listing.rejects.map((r) => ({
    id: sha256(`${config.preset}:${r.uri}:${r.detail}`),
    clipId: null,
    uri: r.uri,
    stage: 'ingest',
    reason: r.reason,
    detail: r.detail,
  }));
  return {
    root,
    entries: listing.entries.map((e) => ({ path: e.path, uri: e.uri, name: e.name, manifest: e.manifest, ...(e.span ? { span: e.span } : {}) })),
    drops,
  };
}
