// cues.visual: facial expressions per keyframe (face-api: a face detector, then the expression net
// on the largest face) summarised per segment, plus a JPEG crop of that face per keyframe, the input
// AffectGPT-style trainers take. The models run in a worker thread (visual-worker.ts).
import sharp from 'sharp';
import { z } from 'zod';
import { fingerprint } from '../../pipelines/fingerprint.ts';
import type { SegmentStage, StageContext } from '../../pipelines/stage.ts';
import { EMOTIONS, VisualCues, type ArtefactRef, type Emotion, type Segment } from '../../schemas/records.ts';
import { analyseFaces, type FaceBoxPixels, type FaceFrameAnalysis } from './visual-worker.ts';

const CropConfig = z
  .object({
    /** Store a crop of the largest face per keyframe. Default true. */
    enabled: z.boolean().default(true),
    /** Side of the square crop in pixels. Default 224 (what AffectGPT's vision encoder takes). */
    size: z.number().int().min(32).max(1024).default(224),
    /** Context added around the face box on each side, as a share of the box's longer side. Default 0.25. */
    margin: z.number().min(0).max(2).default(0.25),
  })
  .strict();

const VisualConfig = z
  .object({
    /** 'ssd' (SSD MobileNet v1: ~330 ms a frame, finds more faces) or 'tiny' (~80 ms, misses small and turned faces). Default 'ssd'. */
    detector: z.enum(['ssd', 'tiny']).default('ssd'),
    /** Detections scoring below this are not faces. Default 0.5. */
    minConfidence: z.number().gt(0).lt(1).default(0.5),
    /** Input size of the tiny detector, a multiple of 32: larger finds smaller faces, slower. Default 416. */
    tinyInputSize: z.number().int().min(128).max(1024).multipleOf(32).default(416),
    crop: CropConfig.default({ enabled: true, size: 224, margin: 0.25 }),
  })
  .strict();
export type VisualConfig = z.infer<typeof VisualConfig>;

/** JPEG quality of face crops. Part of the crop key, so a change makes new crops. */
const CROP_QUALITY = 90;

export const cuesVisual: SegmentStage<VisualConfig> = {
  kind: 'segment',
  name: 'cues.visual',
  version: 1,
  configSchema: VisualConfig,
  reads: ['frames'],
  adds: ['cues.visual'],
  cache: true,

  async run(segment, config, ctx): Promise<Segment> {
    const refs = segment.frames ?? [];
    const times = frameTimes(refs, segment);
    const frames: VisualCues['frames'] = [];
    const crops: ArtefactRef[] = [];
    if (refs.length > 0) ctx.work.add('dsp');
    for (const [index, ref] of refs.entries()) {
      const jpeg = await ctx.store.get(ref.key);
      if (jpeg === null) throw new Error(`keyframe ${ref.key} is missing from the store ${ctx.store.location}`);
      const analysis = await analyseFaces(ref.key, jpeg, config, ctx.signal);
      frames.push({
        time: times[index],
        faces: analysis.faces,
        box: analysis.box && roundBox(analysis.box),
        expressions: analysis.expressions && roundExpressions(analysis.expressions),
      });
      if (config.crop.enabled && analysis.box) crops.push(await storeCrop(ref.key, index, jpeg, analysis, config.crop, times[index], ctx));
    }
    const visual = VisualCues.parse({ detector: config.detector, ...summarise(frames), frames, crops });
    return { ...segment, cues: { ...segment.cues, visual } };
  },
};

/** Seconds from the segment start: the ref's own time, else the centres of N equal slices of the span (how segment samples). */
function frameTimes(refs: readonly ArtefactRef[], segment: Segment): number[] {
  const duration = Math.max(0, segment.end - segment.start);
  return refs.map((ref, i) => ref.time ?? round(((i + 0.5) * duration) / refs.length, 3));
}

/** Mean over face frames, its top expression, how often frames agree with it, and the face ratio. */
function summarise(frames: VisualCues['frames']): Pick<VisualCues, 'meanExpressions' | 'dominant' | 'stability' | 'faceRatio'> {
  const withFace = frames.filter((frame) => frame.expressions !== null);
  const faceRatio = frames.length === 0 ? 0 : round(withFace.length / frames.length, 4);
  if (withFace.length === 0) return { meanExpressions: null, dominant: null, stability: 0, faceRatio };
  const meanExpressions = Object.fromEntries(
    EMOTIONS.map((emotion) => [emotion, round(withFace.reduce((sum, frame) => sum + frame.expressions![emotion], 0) / withFace.length, 4)]),
  ) as Record<Emotion, number>;
  const dominant = topExpression(meanExpressions);
  const agreeing = withFace.filter((frame) => topExpression(frame.expressions as Record<Emotion, number>) === dominant).length;
  return { meanExpressions, dominant, stability: round(agreeing / withFace.length, 4), faceRatio };
}

/** The most probable expression; ties go to the earlier name in EMOTIONS, so the answer is stable. */
function topExpression(probabilities: Record<Emotion, number>): Emotion {
  return EMOTIONS.reduce((best, emotion) => (probabilities[emotion] > probabilities[best] ? emotion : best));
}

/**
 * Crops a square around the face (the box's longer side plus `margin` of it on each side, shrunk to
 * fit and shifted inside the frame), resizes it to `size` and stores it under a key made of the
 * keyframe, the box and the crop settings, so an existing crop is never made again.
 */
async function storeCrop(
  frameKey: string,
  index: number,
  jpeg: Buffer,
  analysis: FaceFrameAnalysis,
  crop: VisualConfig['crop'],
  time: number,
  ctx: StageContext,
): Promise<ArtefactRef> {
  const box = roundBox(analysis.box!);
  const hash = fingerprint(frameKey, box, { size: crop.size, margin: crop.margin, quality: CROP_QUALITY });
  const key = `media/faces/${hash.slice(0, 2)}/${hash}/${String(index).padStart(2, '0')}.jpg`;
  let bytes = await ctx.store.size(key);
  if (bytes === null) {
    const region = squareAround(box, crop.margin, analysis.width, analysis.height);
    const cropped = await sharp(jpeg).extract(region).resize(crop.size, crop.size, { fit: 'fill' }).jpeg({ quality: CROP_QUALITY }).toBuffer();
    await ctx.store.put(key, cropped);
    bytes = cropped.byteLength;
  }
  return { key, bytes, time };
}

function squareAround(box: FaceBoxPixels, margin: number, frameWidth: number, frameHeight: number): { left: number; top: number; width: number; height: number } {
  const side = Math.max(1, Math.min(Math.round(Math.max(box.width, box.height) * (1 + 2 * margin)), frameWidth, frameHeight));
  const clamp = (start: number, limit: number) => Math.min(Math.max(0, Math.round(start)), limit - side);
  return {
    left: clamp(box.x + box.width / 2 - side / 2, frameWidth),
    top: clamp(box.y + box.height / 2 - side / 2, frameHeight),
    width: side,
    height: side,
  };
}

function roundBox(box: FaceBoxPixels): FaceBoxPixels {
  return { x: round(box.x, 4), y: round(box.y, 4), width: round(box.width, 4), height: round(box.height, 4), score: round(box.score, 4) };
}

function roundExpressions(expressions: Record<Emotion, number>): Record<Emotion, number> {
  return Object.fromEntries(EMOTIONS.map((emotion) => [emotion, round(expressions[emotion], 4)])) as Record<Emotion, number>;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
