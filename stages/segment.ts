// segment: cuts a clip into time spans and gives each a 16 kHz mono WAV and N keyframes (JPEG),
// content-addressed in the store: the artefact key is a hash of the clip's bytes (its id), the span
// and the extraction parameters, so an artefact that exists is never made again.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fingerprint } from '../pipelines/fingerprint.ts';
import { extractSegmentMedia, round } from '../pipelines/media/ffmpeg.ts';
import { drop, type ClipStage, type StageContext } from '../pipelines/stage.ts';
import type { ArtefactRef, Clip, Segment } from '../schemas/records.ts';

const Whole = z.object({ strategy: z.literal('whole') }).strict();
const Fixed = z
  .object({
    strategy: z.literal('fixed'),
    /** Window length, seconds. */
    windowSec: z.number().positive().default(5),
    /** Step between window starts, seconds (default: the window, no overlap). */
    hopSec: z.number().positive().optional(),
    /** A trailing window shorter than this is dropped. */
    minSec: z.number().nonnegative().default(1),
  })
  .strict();

const Artefacts = z
  .object({
    /** Keyframes per segment, evenly spaced (0 = none). */
    frames: z.number().int().min(0).max(64).default(4),
    /** Keyframe height in pixels (width follows the aspect ratio). */
    frameHeight: z.number().int().min(32).max(2160).default(360),
    /** JPEG quality, ffmpeg -q:v scale: 2 (best) … 31. */
    jpegQuality: z.number().int().min(2).max(31).default(3),
  })
  .strict();

const SegmentConfig = z.preprocess(
  (value) => (value && typeof value === 'object' && !('strategy' in value) ? { ...value, strategy: 'whole' } : value ?? { strategy: 'whole' }),
  z.union([Whole.merge(Artefacts), Fixed.merge(Artefacts)]),
);
export type SegmentConfig = z.infer<typeof SegmentConfig>;

/** Spans of a clip under a strategy, in seconds, rounded to milliseconds. */
export function spansOf(duration: number, config: SegmentConfig): { start: number; end: number }[] {
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

export const segment: ClipStage<SegmentConfig> = {
  kind: 'clip',
  name: 'segment',
  version: 1,
  configSchema: SegmentConfig as z.ZodType<SegmentConfig>,
  reads: [],
  adds: ['id', 'clipId', 'clip', 'index', 'start', 'end', 'audio', 'frames'],
  cache: true,

  async run(clip, config, ctx) {
    const spans = spansOf(clip.probe.duration, config);
    if (spans.length === 0) return drop('no-segments', `a ${clip.probe.duration}s clip gives no ${config.strategy} segment of at least the minimum length`);
    const segments: Segment[] = [];
    const strategy = config.strategy === 'whole' ? { strategy: 'whole' } : { strategy: 'fixed', windowSec: config.windowSec, hopSec: config.hopSec ?? config.windowSec };
    for (const [index, span] of spans.entries()) {
      const id = fingerprint('segment', clip.id, span.start, span.end, strategy);
      const media = await materialise(clip, span, config, ctx);
      segments.push({ id, clipId: clip.id, clip, index, start: span.start, end: span.end, ...media });
    }
    return segments;
  },
};

async function materialise(
  clip: Clip,
  span: { start: number; end: number },
  config: SegmentConfig,
  ctx: StageContext,
): Promise<{ audio?: ArtefactRef; frames?: ArtefactRef[] }> {
  const wantAudio = clip.probe.hasAudio;
  const frameCount = clip.probe.hasVideo ? config.frames : 0;
  const audioKey = wantAudio ? artefactKey('audio', fingerprint(clip.id, span, { ar: 16000, ac: 1, codec: 'pcm_s16le' }), 'wav') : undefined;
  const framesFp = fingerprint(clip.id, span, { frames: frameCount, height: config.frameHeight, q: config.jpegQuality });
  const frameKeys = Array.from({ length: frameCount }, (_, i) => artefactKey('frames', framesFp, `${String(i).padStart(2, '0')}.jpg`));

  const missingAudio = audioKey !== undefined && !(await ctx.store.exists(audioKey));
  const missingFrames = frameKeys.length > 0 && !(await allExist(ctx, frameKeys));
  if (missingAudio || missingFrames) {
    const dir = await ctx.scratch();
    const source = await ctx.sourcePath(clip);
    ctx.work.add('ffmpeg');
    await extractSegmentMedia({
      input: source,
      start: span.start,
      end: span.end,
      wavPath: missingAudio ? join(dir, 'audio.wav') : undefined,
      frames: missingFrames ? { pattern: join(dir, 'frame-%02d.jpg'), count: frameCount, height: config.frameHeight, quality: config.jpegQuality } : undefined,
      signal: ctx.signal,
    });
    if (missingFrames) {
      const made = (await readdir(dir)).filter((f) => f.startsWith('frame-')).sort();
      // A very short span can yield fewer frames than asked: keep what exists, in order.
      frameKeys.length = Math.min(frameKeys.length, made.length);
      for (const [i, file] of made.slice(0, frameKeys.length).entries()) await ctx.store.putFile(frameKeys[i], join(dir, file));
    }
    if (missingAudio && audioKey) await ctx.store.putFile(audioKey, join(dir, 'audio.wav'));
    await rm(dir, { recursive: true, force: true });
  }
  const ref = async (key: string): Promise<ArtefactRef> => {
    const bytes = await ctx.store.size(key);
    if (bytes === null) throw new Error(`artefact ${key} vanished from the store ${ctx.store.location}`);
    return { key, bytes };
  };
  return {
    audio: audioKey ? await ref(audioKey) : undefined,
    frames: await Promise.all(frameKeys.map(ref)),
  };
}

function artefactKey(kind: 'audio' | 'frames', hash: string, file: string): string {
  return kind === 'audio' ? `media/audio/${hash.slice(0, 2)}/${hash}.${file}` : `media/frames/${hash.slice(0, 2)}/${hash}/${file}`;
}

async function allExist(ctx: StageContext, keys: string[]): Promise<boolean> {
  for (const key of keys) if (!(await ctx.store.exists(key))) return false;
  return true;
}
