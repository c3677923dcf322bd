// segment: cuts a clip into time spans — the whole clip, fixed windows, shots (scene cuts),
// utterances (silences) or subtitle cues — and gives each a 16 kHz mono WAV, N keyframes (JPEG, with
// their times) and optionally its own cut media file. Everything is content-addressed in the store
// (the key hashes the clip's bytes, the span and the parameters), so an artefact that exists is never
// made again, and the clip's analysis (scene scores, silences) is cached the same way.
// ffmpeg runs as few times as possible: at most one analysis pass (scene and silence detection in
// one filter graph) and one extraction pass per group of up to 16 segments.
import { readdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { fingerprint } from '../pipelines/fingerprint.ts';
import { analyseMedia, extractClipMedia, round, type MediaAnalysis, type SegmentOutputs } from '../pipelines/media/ffmpeg.ts';
import { drop, type ClipStage, type StageContext } from '../pipelines/stage.ts';
import { FOOTAGE_VERSION } from '../pipelines/quality/footage.ts';
import { footageFingerprint } from '../pipelines/quality/footage-media.ts';
import type { ArtefactRef } from '../schemas/artefact.ts';
import type { Clip, FootageFingerprint, Segment } from '../schemas/records.ts';
import { ms, sceneSpans, speechSpans, subtitleSpans, type Span } from './segment/spans.ts';
import { hasCueTimings, parseSubtitles, readSidecar, type Cue } from './segment/subtitles.ts';

const Whole = z.object({ strategy: z.literal('whole') }).strict();
const Fixed = z
  .object({
    strategy: z.literal('fixed'),
    /** Window length, seconds. Default 5. */
    windowSec: z.number().positive().default(5),
    /** Step between window starts, seconds (default: the window, no overlap). */
    hopSec: z.number().positive().optional(),
    /** A trailing window shorter than this is dropped. Default 1. */
    minSec: z.number().nonnegative().default(1),
  })
  .strict();
const Scene = z
  .object({
    strategy: z.literal('scene'),
    /** A shot shorter than this joins a neighbour. Default 1. */
    minSec: z.number().nonnegative().default(1),
    /** A shot longer than this is split evenly. Default 10. */
    maxSec: z.number().positive().default(10),
  })
  .strict();
const Speech = z
  .object({
    strategy: z.literal('speech'),
    /** Audio below this level counts as silence (silencedetect noise), dBFS. Default -35. */
    noiseDb: z.number().max(0).default(-35),
    /** The shortest pause that separates two utterances, seconds. Default 0.3. */
    minPauseSec: z.number().positive().default(0.3),
    /** Shorter utterances join a neighbour (or are left out when none fits). Default 1. */
    minSec: z.number().nonnegative().default(1),
    /** Longer utterances are split at their longest internal pause, else evenly. Default 10. */
    maxSec: z.number().positive().default(10),
    /** Margin added before and after each utterance, clamped to the clip and its neighbours. Default 0.2. */
    paddingSec: z.number().nonnegative().default(0.2),
  })
  .strict();
const Subtitles = z
  .object({
    strategy: z.literal('subtitles'),
    /** Where cues come from: a sidecar clip.srt / clip.vtt, the manifest text (when it holds SRT/VTT timings), or auto (sidecar first). Default auto. */
    source: z.enum(['auto', 'sidecar', 'manifest']).default('auto'),
    /** Merge adjacent cues while the merged span fits this many seconds (default: one segment per cue). */
    maxSec: z.number().positive().optional(),
  })
  .strict();

const Artefacts = z
  .object({
    /** Keyframes per segment (0 = none). Default 4. */
    frames: z.number().int().min(0).max(64).default(4),
    /** 'uniform' spaces keyframes evenly; 'scene' takes them at scene changes inside the segment (up to `frames`), else evenly. Default uniform. */
    keyframes: z.enum(['uniform', 'scene']).default('uniform'),
    /** Scene-change score (0..1) for strategy scene and keyframes scene. Default 0.3. */
    sceneThreshold: z.number().min(0).max(1).default(0.3),
    /** Keyframe height in pixels (width follows the aspect ratio). Default 360. */
    frameHeight: z.number().int().min(32).max(2160).default(360),
    /** JPEG quality, ffmpeg -q:v scale: 2 (best) … 31. Default 3. */
    jpegQuality: z.number().int().min(2).max(31).default(3),
    /**
     * The segment's own video file, which rows name and trainers read: 'auto' (the source file itself
     * when the segment is the whole clip, else an accurate cut), 'accurate' (re-encoded H.264/AAC MP4,
     * exact span), 'copy' (stream copy, fast, but starts at the keyframe before the span) or 'none'
     * (rows get no video). Default auto.
     */
    cut: z.enum(['auto', 'none', 'copy', 'accurate']).default('auto'),
  })
  .strict();

const minNotAboveMax = (c: { minSec?: number; maxSec?: number }) => c.minSec === undefined || c.maxSec === undefined || c.minSec <= c.maxSec;
const MIN_MAX = { message: 'minSec must not be above maxSec', path: ['minSec'] };

const SegmentConfig = z.preprocess(
  (value) => (value && typeof value === 'object' && !('strategy' in value) ? { ...value, strategy: 'whole' } : (value ?? { strategy: 'whole' })),
  z.union([
    Whole.merge(Artefacts),
    Fixed.merge(Artefacts),
    Scene.merge(Artefacts).refine(minNotAboveMax, MIN_MAX),
    Speech.merge(Artefacts).refine(minNotAboveMax, MIN_MAX),
    Subtitles.merge(Artefacts),
  ]),
);
export type SegmentConfig = z.infer<typeof SegmentConfig>;

/** Spans of the whole and fixed strategies, in seconds, rounded to milliseconds. */
export function spansOf(duration: number, config: Extract<SegmentConfig, { strategy: 'whole' | 'fixed' }>): { start: number; end: number }[] {
  if (config.strategy === 'whole') return [{ start: 0, end: round(duration, 3) }];
  const hop = config.hopSec ?? config.windowSec;
  const spans: { start: number; end: number }[] = [];
  for (let start = 0; start < duration; start = round(start + hop, 3)) {
    const end = round(Math.min(duration, start + config.windowSec), 3);
    if (end - start >= config.minSec || (spans.length === 0 && end > start)) spans.push({ start: round(start, 3), end });
    if (end >= duration) break;
  }
  return spans;
}

/** The segmenter parameters that join a segment's id (whole and fixed keep their original ids). */
function strategyParams(config: SegmentConfig): Record<string, unknown> {
  switch (config.strategy) {
    case 'whole':
      return { strategy: 'whole' };
    case 'fixed':
      return { strategy: 'fixed', windowSec: config.windowSec, hopSec: config.hopSec ?? config.windowSec };
    case 'scene':
      return { strategy: 'scene', threshold: config.sceneThreshold, minSec: config.minSec, maxSec: config.maxSec };
    case 'speech':
      return {
        strategy: 'speech',
        noiseDb: config.noiseDb,
        minPauseSec: config.minPauseSec,
        minSec: config.minSec,
        maxSec: config.maxSec,
        paddingSec: config.paddingSec,
      };
    case 'subtitles':
      return { strategy: 'subtitles', source: config.source, maxSec: config.maxSec };
  }
}

/** Segments whose media one ffmpeg process makes, and the longest window it decodes. */
const GROUP_SEGMENTS = 16;
const GROUP_WINDOW_SEC = 1800;

export const segment: ClipStage<SegmentConfig> = {
  kind: 'clip',
  name: 'segment',
  version: 4,
  configSchema: SegmentConfig as z.ZodType<SegmentConfig>,
  reads: [],
  adds: ['id', 'clipId', 'clip', 'index', 'start', 'end', 'video', 'audio', 'frames', 'subtitle', 'fingerprint'],
  cache: true,

  async run(clip, config, ctx) {
    const { duration, hasAudio, hasVideo } = clip.probe;
    if (config.strategy === 'scene' && !hasVideo) return drop('no-video', `strategy scene needs a video stream; ${clip.uri} has none`);
    if (config.strategy === 'speech' && !hasAudio) return drop('no-audio', `strategy speech needs an audio stream; ${clip.uri} has none`);

    let cues: Cue[] | undefined;
    if (config.strategy === 'subtitles') {
      cues = await subtitleCues(clip, config.source, ctx);
      if (!cues)
        return drop(
          'no-subtitles',
          `no ${config.source === 'manifest' ? 'SRT/VTT timings in the manifest text' : config.source === 'sidecar' ? 'sidecar .srt/.vtt' : 'sidecar .srt/.vtt nor SRT/VTT timings in the manifest text'} for ${clip.uri}`,
        );
    }
    const wantSceneKeyframes = config.keyframes === 'scene' && hasVideo && config.frames > 0;
    const analysis = await analyse(clip, config, ctx, {
      scene: config.strategy === 'scene' || wantSceneKeyframes,
      silence: config.strategy === 'speech',
    });

    // A clip that is an utterance inside a longer file (corpus adapters) is segmented within its span.
    const window = clip.span ?? { start: 0, end: duration };
    let spans: Span[];
    switch (config.strategy) {
      case 'whole':
      case 'fixed':
        spans = spansOf(round(window.end - window.start, 3), config).map((s) => ({
          start: round(s.start + window.start, 3),
          end: round(s.end + window.start, 3),
        }));
        break;
      case 'scene':
        spans = sceneSpans(
          duration,
          analysis.scenes.map((s) => s.time),
          config,
        );
        break;
      case 'speech': {
        const silences = analysis.silences.map((s) => ({ start: s.start, end: s.end ?? duration }));
        spans = speechSpans(duration, silences, config);
        if (spans.length === 0) return drop('no-speech', `no utterance of at least ${config.minSec}s above ${config.noiseDb} dB in ${clip.uri}`);
        break;
      }
      case 'subtitles':
        spans = subtitleSpans(duration, cues!, config);
        break;
    }
    if (clip.span && config.strategy !== 'whole' && config.strategy !== 'fixed') spans = withinWindow(spans, window);
    if (spans.length === 0) return drop('no-segments', `a ${duration}s clip gives no ${config.strategy} segment of at least the minimum length`);

    const params = strategyParams(config);
    const plans = spans.map((span, index) => planSegment(clip, span, index, config, analysis));
    await materialise(clip, plans, { height: config.frameHeight, quality: config.jpegQuality }, ctx);
    const segments: Segment[] = [];
    for (const plan of plans) {
      const { span } = plan;
      const frames = plan.framesIndexKey ? await frameRefs(ctx, plan.framesIndexKey) : [];
      segments.push({
        id: fingerprint('segment', clip.id, span.start, span.end, params),
        clipId: clip.id,
        clip,
        index: plan.index,
        start: span.start,
        end: span.end,
        ...(plan.videoKey ? { video: await ref(ctx, plan.videoKey) } : {}),
        ...(plan.audioKey ? { audio: await ref(ctx, plan.audioKey) } : {}),
        frames,
        ...(span.subtitle !== undefined ? { subtitle: span.subtitle } : {}),
        fingerprint: await spanFingerprint(plan, frames, ctx),
      });
    }
    return segments;
  },
};

async function subtitleCues(clip: Clip, source: 'auto' | 'sidecar' | 'manifest', ctx: StageContext): Promise<Cue[] | undefined> {
  if (source !== 'manifest') {
    const sidecar = await readSidecar(await ctx.sourcePath(clip));
    if (sidecar) return parseSubtitles(sidecar.text);
  }
  if (source !== 'sidecar') {
    const text = clip.manifest.text;
    if (text && hasCueTimings(text)) return parseSubtitles(text);
  }
  return undefined;
}

/** Scene scores and silences of the clip, from the store when an earlier run measured them. */
async function analyse(clip: Clip, config: SegmentConfig, ctx: StageContext, wanted: { scene: boolean; silence: boolean }): Promise<MediaAnalysis> {
  if (!wanted.scene && !wanted.silence) return { scenes: [], silences: [] };
  const scene = wanted.scene ? { threshold: config.sceneThreshold } : undefined;
  // Pauses shorter than minPauseSec are found too: they are where a long utterance is split.
  const silence = wanted.silence && config.strategy === 'speech' ? { noiseDb: config.noiseDb, minSec: Math.min(config.minPauseSec, 0.1) } : undefined;
  const hash = fingerprint('analysis', clip.id, { scene, silence });
  const key = `cache/analysis/${hash.slice(0, 2)}/${hash}.json`;
  const cached = await ctx.store.get(key);
  if (cached) return JSON.parse(cached.toString('utf8')) as MediaAnalysis;
  const workDir = await ctx.scratch();
  try {
    ctx.work.add('ffmpeg');
    const analysis = await analyseMedia({ input: await ctx.sourcePath(clip), scene, silence, workDir, signal: ctx.signal });
    await ctx.store.put(key, JSON.stringify(analysis));
    return analysis;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

interface SegmentPlan {
  readonly index: number;
  readonly span: Span;
  readonly audioKey?: string;
  /** keyframe targets, seconds from the segment start */
  readonly targets: number[];
  readonly framesIndexKey?: string;
  readonly videoKey?: string;
  /** 'source': the segment is the whole clip and its video is the source file as it is */
  readonly cut: 'copy' | 'accurate' | 'source' | 'none';
}

function planSegment(clip: Clip, span: Span, index: number, config: SegmentConfig, analysis: MediaAnalysis): SegmentPlan {
  const at = { start: span.start, end: span.end };
  const length = span.end - span.start;
  const frameCount = clip.probe.hasVideo ? config.frames : 0;
  let targets = Array.from({ length: frameCount }, (_, i) => ms(((i + 0.5) * length) / frameCount));
  if (config.keyframes === 'scene' && frameCount > 0) {
    const inside = analysis.scenes.filter((s) => s.time >= span.start && s.time < span.end);
    if (inside.length > 0) {
      targets = [...inside]
        .sort((a, b) => b.score - a.score || a.time - b.time)
        .slice(0, frameCount)
        .map((s) => ms(s.time - span.start))
        .sort((a, b) => a - b);
    }
  }
  const framesHash = fingerprint(clip.id, at, { targets, height: config.frameHeight, q: config.jpegQuality });
  const cut = !clip.probe.hasVideo ? 'none' : config.cut === 'auto' ? (isWholeClip(span, clip) ? 'source' : 'accurate') : config.cut;
  let videoKey: string | undefined;
  if (cut === 'source') {
    // The clip id is the sha256 of its bytes: the key names the content itself.
    videoKey = `media/video/${clip.id.slice(0, 2)}/${clip.id}.${sourceExtension(clip)}`;
  } else if (cut !== 'none') {
    const extension = cut === 'accurate' || /mp4|mov/.test(clip.probe.formatName) ? 'mp4' : 'mkv';
    const hash = fingerprint(clip.id, at, cut === 'copy' ? { cut } : { cut, video: 'libx264/veryfast/crf20/yuv420p', audio: 'aac/128k' });
    videoKey = `media/video/${hash.slice(0, 2)}/${hash}.${extension}`;
  }
  return {
    index,
    span,
    audioKey: clip.probe.hasAudio ? audioKeyOf(clip, at) : undefined,
    targets,
    framesIndexKey: targets.length > 0 ? `media/frames/${framesHash.slice(0, 2)}/${framesHash}/frames.json` : undefined,
    videoKey,
    cut,
  };
}

/** A span from the file's start to its end (within a millisecond): the source file is that segment's video. */
function isWholeClip(span: Span, clip: Clip): boolean {
  return span.start <= 0.001 && span.end >= clip.probe.duration - 0.001;
}

/** Spans found over the whole file, cut to the clip's window (an utterance span); slivers under 0.1 s go. */
function withinWindow(spans: readonly Span[], window: { start: number; end: number }): Span[] {
  return spans
    .map((s) => ({ ...s, start: round(Math.max(s.start, window.start), 3), end: round(Math.min(s.end, window.end), 3) }))
    .filter((s) => s.end - s.start >= 0.1);
}

/** The source file's extension as a safe lower-case suffix (`mp4`, `mkv`, `avi`, `flv`, …), else one from the container ffprobe named. */
function sourceExtension(clip: Clip): string {
  const extension = extname(clip.uri).slice(1).toLowerCase();
  if (/^[a-z0-9]{1,5}$/.test(extension)) return extension;
  const format = clip.probe.formatName.split(',')[0].toLowerCase();
  return /^[a-z0-9]{1,5}$/.test(format) ? (format === 'mov' ? 'mp4' : format) : 'bin';
}

function audioKeyOf(clip: Clip, span: { start: number; end: number }): string {
  const hash = fingerprint(clip.id, span, { ar: 16000, ac: 1, codec: 'pcm_s16le' });
  return `media/audio/${hash.slice(0, 2)}/${hash}.wav`;
}

/** Makes every missing artefact of the plans, in as few ffmpeg processes as the groups allow. */
async function materialise(clip: Clip, plans: readonly SegmentPlan[], jpeg: { height: number; quality: number }, ctx: StageContext): Promise<void> {
  const work: { plan: SegmentPlan; audio: boolean; frames: boolean; video: boolean }[] = [];
  for (const plan of plans) {
    const audio = plan.audioKey !== undefined && !(await ctx.store.exists(plan.audioKey));
    const frames = plan.framesIndexKey !== undefined && !(await ctx.store.exists(plan.framesIndexKey));
    const video = plan.videoKey !== undefined && !(await ctx.store.exists(plan.videoKey));
    if (audio || frames || video) work.push({ plan, audio, frames, video });
  }
  // A whole clip's video is the source file: stored as it is, no ffmpeg.
  const source = await ctx.sourcePath(clip);
  for (const item of work) {
    if (!item.video || item.plan.cut !== 'source') continue;
    await ctx.store.putFile(item.plan.videoKey!, source);
    item.video = false;
  }
  const pending = work.filter(({ audio, frames, video }) => audio || frames || video);
  if (pending.length === 0) return;
  pending.sort((a, b) => a.plan.span.start - b.plan.span.start || a.plan.index - b.plan.index);
  const groups: (typeof work)[] = [];
  for (const item of pending) {
    const group = groups[groups.length - 1];
    if (group && group.length < GROUP_SEGMENTS && item.plan.span.end - group[0].plan.span.start <= GROUP_WINDOW_SEC) group.push(item);
    else groups.push([item]);
  }
  const { height, quality } = jpeg;
  for (const group of groups) {
    const dir = await ctx.scratch();
    try {
      const outputs: SegmentOutputs[] = group.map(({ plan, audio, frames, video }, i) => ({
        start: plan.span.start,
        end: plan.span.end,
        wavPath: audio ? join(dir, `s${i}.wav`) : undefined,
        frames: frames ? { pattern: join(dir, `s${i}-%02d.jpg`), targets: plan.targets, height, quality } : undefined,
        accurateCutPath: video && plan.cut === 'accurate' ? join(dir, `s${i}.cut${extname(plan.videoKey!)}`) : undefined,
        copyCutPath: video && plan.cut === 'copy' ? join(dir, `s${i}.cut${extname(plan.videoKey!)}`) : undefined,
      }));
      const { frameTimes, processes } = await extractClipMedia({
        input: source,
        hasAudio: clip.probe.hasAudio,
        hasVideo: clip.probe.hasVideo,
        segments: outputs,
        workDir: dir,
        signal: ctx.signal,
      });
      ctx.work.add('ffmpeg', processes);
      const files = await readdir(dir);
      for (const [i, { plan, audio, frames, video }] of group.entries()) {
        if (audio) await ctx.store.putFile(plan.audioKey!, outputs[i].wavPath!, { move: true });
        if (video) await ctx.store.putFile(plan.videoKey!, (outputs[i].accurateCutPath ?? outputs[i].copyCutPath)!, { move: true });
        if (frames) {
          const made = files.filter((f) => f.startsWith(`s${i}-`) && f.endsWith('.jpg')).sort();
          // A very short span can yield fewer frames than asked (two targets between the same two frames): keep what exists.
          const count = Math.min(made.length, frameTimes[i].length);
          const folder = plan.framesIndexKey!.slice(0, plan.framesIndexKey!.lastIndexOf('/'));
          const index: { file: string; time: number }[] = [];
          for (let k = 0; k < count; k++) {
            const file = `${String(k).padStart(2, '0')}.jpg`;
            await ctx.store.putFile(`${folder}/${file}`, join(dir, made[k]), { move: true });
            index.push({ file, time: frameTimes[i][k] });
          }
          // The index is written last: its existence means every frame before it is complete.
          await ctx.store.put(plan.framesIndexKey!, JSON.stringify({ frames: index }));
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** A segment's audio fingerprint covers its first 30 s: enough to tell recordings apart, cheap for 10-minute windows. */
const SEGMENT_AUDIO_FINGERPRINT_SEC = 30;

/** The span's footage fingerprint, from its keyframes and WAV; cached in the store under what it was made from. */
async function spanFingerprint(plan: SegmentPlan, frames: readonly ArtefactRef[], ctx: StageContext): Promise<FootageFingerprint> {
  const hash = fingerprint(
    'footage',
    FOOTAGE_VERSION,
    plan.audioKey ?? null,
    plan.framesIndexKey ?? null,
    ms(plan.span.end - plan.span.start),
    SEGMENT_AUDIO_FINGERPRINT_SEC,
  );
  const key = `cache/footage/${hash.slice(0, 2)}/${hash}.json`;
  const cached = await ctx.store.get(key);
  if (cached) return JSON.parse(cached.toString('utf8')) as FootageFingerprint;
  const jpegs: Buffer[] = [];
  for (const frame of frames) {
    const bytes = await ctx.store.get(frame.key);
    if (!bytes) throw new Error(`artefact ${frame.key} vanished from the store ${ctx.store.location}`);
    jpegs.push(bytes);
  }
  ctx.work.add('dsp');
  const made = await footageFingerprint(
    {
      duration: ms(plan.span.end - plan.span.start),
      frames: jpegs,
      wavPath: plan.audioKey ? await ctx.store.localPath(plan.audioKey) : null,
      maxAudioSec: SEGMENT_AUDIO_FINGERPRINT_SEC,
    },
    ctx.signal,
  );
  await ctx.store.put(key, JSON.stringify(made));
  return made;
}

async function ref(ctx: StageContext, key: string, time?: number): Promise<ArtefactRef> {
  const bytes = await ctx.store.size(key);
  if (bytes === null) throw new Error(`artefact ${key} vanished from the store ${ctx.store.location}`);
  return time === undefined ? { key, bytes } : { key, bytes, time };
}

async function frameRefs(ctx: StageContext, indexKey: string): Promise<ArtefactRef[]> {
  const index = await ctx.store.get(indexKey);
  if (!index) throw new Error(`artefact ${indexKey} vanished from the store ${ctx.store.location}`);
  const folder = indexKey.slice(0, indexKey.lastIndexOf('/'));
  const { frames } = JSON.parse(index.toString('utf8')) as { frames: { file: string; time: number }[] };
  return Promise.all(frames.map((f) => ref(ctx, `${folder}/${f.file}`, f.time)));
}
