// cues.visual: face tracks per segment and the one that speaks. The segment's span of the source video
// is decoded at an analysis rate in a worker thread (visual-worker.ts), faces are detected and linked
// into tracks (box overlap, then face-api's descriptor across cuts), the active speaker is the track
// whose mouth opening follows the WAV's speech envelope, and the cues describe that track (else the
// longest one): expressions per keyframe and overall, facial geometry, face crops, the peak frame.
import { z } from 'zod';
import { videoEvidence } from '../../pipelines/affect/evidence.ts';
import { fingerprint, sha256 } from '../../pipelines/fingerprint.ts';
import { decodeWav, WavFormatError } from '../../pipelines/media/wav.ts';
import type { SegmentStage, StageContext } from '../../pipelines/stage.ts';
import type { ArtefactRef } from '../../schemas/artefact.ts';
import { VisualCues, type FaceTrackCues, type GeometrySummary } from '../../schemas/cues.ts';
import { EMOTIONS, type Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { summariseGeometry, type FaceGeometry } from './face-geometry.ts';
import { trackFaces, type FaceTrack, type FaceTrackAnalysis, type TrackJob } from './visual-worker.ts';
import type { CueDescriptor } from './cues.ts';

const CropConfig = z
  .object({
    /** Store a crop of the described face per keyframe. Default true. */
    enabled: z.boolean().default(true),
    /** Side of the square crop in pixels. Default 224 (what AffectGPT's vision encoder takes). */
    size: z.number().int().min(32).max(1024).default(224),
    /** Context added around the face box on each side, as a share of the box's longer side. Default 0.25. */
    margin: z.number().min(0).max(2).default(0.25),
  })
  .strict();

const TrackingConfig = z
  .object({
    /** Least box overlap (IoU) that continues a track to the next analysed frame. Default 0.3. */
    minIou: z.number().gt(0).lt(1).default(0.3),
    /** Largest descriptor distance that re-identifies a face after a cut or gap (face-api's matcher: 0.6). Default 0.55. */
    maxDescriptorDistance: z.number().gt(0).max(2).default(0.55),
    /** Seconds a face may go unseen and still continue its track by overlap. Default 0.5. */
    maxGapSec: z.number().nonnegative().default(0.5),
    /** Mean absolute difference (0–255) of 32x18 grey thumbnails above which two analysed frames are a cut. Default 30. */
    cutThreshold: z.number().positive().max(255).default(30),
  })
  .strict();

const SpeakerConfig = z
  .object({
    /** Below this confidence (0–1) no track is named the speaker. Default 0.2. */
    minConfidence: z.number().min(0).max(1).default(0.2),
    /** A track seen in less than this share of the speech frames cannot be the speaker. Default 0.25. */
    minCoverage: z.number().min(0).max(1).default(0.25),
  })
  .strict();

const VisualConfig = z
  .object({
    /** 'ssd' (SSD MobileNet v1: finds more, smaller and turned faces; slower) or 'tiny' (Tiny Face Detector). Default 'tiny' (scripts/bench/faces.ts). */
    detector: z.enum(['ssd', 'tiny']).default('tiny'),
    /** Detections scoring below this are not faces. Default 0.5. */
    minConfidence: z.number().gt(0).lt(1).default(0.5),
    /**
     * Input size of the tiny detector, a multiple of 32: larger finds smaller faces, slower. Default 320
     * (tests/stages/cues/visual.test.ts: 288 and 256 cost ~20% and ~35% of the detector's time but lose
     * faces across cuts, and 224 misses the large frontal portrait).
     */
    tinyInputSize: z.number().int().min(128).max(1024).multipleOf(32).default(320),
    /**
     * 68-point landmark net: 'full' or 'tiny' (a third cheaper a face, coarser mouth). Default 'tiny': the
     * real-photo test's figures are the same with either (tests/stages/cues/visual.test.ts).
     */
    landmarks: z.enum(['full', 'tiny']).default('tiny'),
    /** Analysed frames per second: mouth motion needs ~8 to follow syllables. Default 8. */
    analysisFps: z.number().positive().max(30).default(8),
    /** Analysed frame height in pixels (never above the video's own). Default 360. */
    analysisHeight: z.number().int().min(64).max(2160).default(360),
    /** Faces narrower than this many pixels of the analysed frame are ignored. Default 20. */
    minFacePx: z.number().int().min(8).default(20),
    /**
     * Run the detector on every Nth analysed frame (and after a cut); in between, faces are followed by
     * their landmarks. Default 3 (the real-photo test's figures are those of 2; at 4 a speaker is missed).
     */
    detectEvery: z.number().int().min(1).max(30).default(3),
    /**
     * The detector's interval once two detections in a row found just the faces already followed (none
     * came, none went); back to `detectEvery` at the first detection that finds a change, and after a
     * cut. A face entering a steady scene is found up to this many frames late. Default 6.
     */
    steadyDetectEvery: z.number().int().min(1).max(30).default(6),
    /**
     * Frames the expression net runs on: 'detection' (those the detector runs on; a followed face keeps
     * its last expressions in between) or 'all'. Default 'detection' (a third of the expression cost at
     * detectEvery 3; scripts/bench/faces.ts).
     */
    expressionFrames: z.enum(['all', 'detection']).default('detection'),
    tracking: TrackingConfig.prefault({}),
    speaker: SpeakerConfig.prefault({}),
    crop: CropConfig.prefault({}),
  })
  .strict();
export type VisualConfig = z.infer<typeof VisualConfig>;

/** JPEG quality of face crops and peak frames. Part of their bytes, so of their keys. */
const JPEG_QUALITY = 90;

export const cuesVisual: SegmentStage<VisualConfig> = {
  kind: 'segment',
  name: 'cues.visual',
  // 2: face tracks over the analysed video (not the largest face per keyframe), the active speaker, geometry, the peak frame.
  // 3: the expression net on detection frames only (a followed face keeps its last expressions), the
  // detector every 3rd analysed frame (was 2), the tiny landmark net (was full).
  // 4: the nets' lean forward passes (tiny-face-detector.ts, face-crop-nets.ts); the tiny detector's
  // input stops at the picture (not the padded square), which moves scores near the bottom edge.
  version: 4,
  configSchema: VisualConfig,
  reads: ['frames', 'audio'],
  adds: ['cues.visual'],
  cache: true,

  async run(segment, config, ctx): Promise<Segment> {
    const keyframeTimes = frameTimes(segment.frames ?? [], segment);
    // The cues are a function of the media alone: a segment whose other fields changed (a manifest's
    // licence or transcript, a speaker name) finds them here instead of tracking its faces again.
    const memoKey = contentKey(segment, keyframeTimes, config);
    const memo = await ctx.store.get(memoKey);
    if (memo) {
      const visual = VisualCues.parse(JSON.parse(memo.toString('utf8')));
      if (await artefactsPresent(visual, ctx)) return { ...segment, cues: { ...segment.cues, visual } };
    }
    const visual = await computeCues(segment, keyframeTimes, config, ctx);
    await ctx.store.put(memoKey, JSON.stringify(visual));
    return { ...segment, cues: { ...segment.cues, visual } };
  },
};

/**
 * Store key of a segment's cues by what they are computed from: the clip's bytes (its id), the span,
 * the frame size the probe gives, the segment's WAV (its key hashes the clip's bytes, the span and
 * the extraction settings), the keyframe times and the stage's settings.
 */
function contentKey(segment: Segment, keyframeTimes: readonly number[], config: VisualConfig): string {
  const { probe } = segment.clip;
  const hash = fingerprint('cues.visual', cuesVisual.version, segment.clip.id, segment.start, segment.end, {
    hasVideo: probe.hasVideo,
    width: probe.width ?? null,
    height: probe.height ?? null,
    audio: segment.audio?.key ?? null,
    keyframeTimes,
    config,
  });
  return `cache/visual/${hash.slice(0, 2)}/${hash}.json`;
}

/** Whether every crop and peak frame the cues name is still in the store (a store can lose media). */
async function artefactsPresent(visual: VisualCues, ctx: StageContext): Promise<boolean> {
  const keys = [...visual.crops.map((crop) => crop.key), ...(visual.peak ? [visual.peak.frame.key] : [])];
  for (const key of keys) if ((await ctx.store.size(key)) === null) return false;
  return true;
}

/** Tracks the faces of the segment's span and makes its cues (crops and the peak frame stored). */
async function computeCues(segment: Segment, keyframeTimes: readonly number[], config: VisualConfig, ctx: StageContext): Promise<VisualCues> {
  const { probe } = segment.clip;
  let analysis: FaceTrackAnalysis | null = null;
  if (probe.hasVideo && segment.end > segment.start) {
    const sourceHeight = probe.height ?? config.analysisHeight;
    const height = even(Math.min(config.analysisHeight, sourceHeight));
    const width = even(((probe.width ?? (height * 16) / 9) * height) / sourceHeight);
    ctx.work.add('dsp');
    const job: TrackJob = {
      label: `${segment.clip.uri} ${segment.start}-${segment.end}s`,
      input: await ctx.sourcePath(segment.clip),
      start: segment.start,
      end: segment.end,
      width,
      height,
      ...trackSettings(config),
      speech: await speechOf(segment, ctx),
      cropTimes: keyframeTimes,
      crop: { ...config.crop, quality: JPEG_QUALITY },
    };
    analysis = await trackFaces(job, ctx.signal);
  }
  return VisualCues.parse(await visualCues(analysis, keyframeTimes, config, ctx));
}

/** What the tracker takes from the stage's settings (the bench runs the tracker with them too). */
export function trackSettings(config: VisualConfig): Pick<TrackJob, 'fps' | 'faces' | 'tracking' | 'speaker'> {
  return {
    fps: config.analysisFps,
    faces: {
      detector: config.detector,
      minConfidence: config.minConfidence,
      tinyInputSize: config.tinyInputSize,
      landmarks: config.landmarks,
      minFacePx: config.minFacePx,
      detectEvery: config.detectEvery,
      steadyDetectEvery: config.steadyDetectEvery,
      expressionFrames: config.expressionFrames,
    },
    tracking: { ...config.tracking, maxGapFrames: Math.round(config.tracking.maxGapSec * config.analysisFps) },
    speaker: config.speaker,
  };
}

/** The segment's WAV as mono samples, or null when it has none. */
async function speechOf(segment: Segment, ctx: StageContext): Promise<TrackJob['speech']> {
  if (!segment.audio) return null;
  const bytes = await ctx.store.get(segment.audio.key);
  if (bytes === null) throw new Error(`audio ${segment.audio.key} is missing from the store ${ctx.store.location}`);
  try {
    const wav = decodeWav(bytes);
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  } catch (error) {
    if (error instanceof WavFormatError) return null;
    throw error;
  }
}

async function visualCues(analysis: FaceTrackAnalysis | null, keyframeTimes: readonly number[], config: VisualConfig, ctx: StageContext): Promise<VisualCues> {
  const tracks = (analysis?.tracks ?? []).map((track) => trackCues(track, analysis!.fps));
  const described = analysis?.described ?? null;
  const track = analysis?.tracks.find((t) => t.id === described) ?? null;
  const fps = analysis?.fps ?? config.analysisFps;
  // Per keyframe: the described face at the nearest analysed frame.
  const frames: VisualCues['frames'] = keyframeTimes.map((time) => {
    const index = Math.round(time * fps);
    const frame = track?.frames.find((f) => f.index === index);
    return {
      time,
      faces: analysis?.facesPerFrame[Math.min(index, analysis.facesPerFrame.length - 1)] ?? 0,
      box: frame ? roundBox(frame.box) : null,
      expressions: frame ? roundExpressions(frame.expressions) : null,
    };
  });
  const crops: ArtefactRef[] = [];
  for (const [i, crop] of (analysis?.crops ?? []).entries()) crops.push(await storeJpeg('faces', i, crop.jpeg, crop.time, ctx));
  const peakTrack = track?.peak ?? null;
  const peak =
    peakTrack && analysis?.peakFrame
      ? {
          time: analysis.peakFrame.time,
          emotion: peakTrack.emotion,
          probability: round(peakTrack.probability, 4),
          frame: await storeJpeg('frames', 0, analysis.peakFrame.jpeg, analysis.peakFrame.time, ctx, 'peak'),
        }
      : null;
  const speaker = analysis?.speaker ?? { track: null, confidence: 0, method: 'no-face' as const, scores: [] };
  return {
    detector: config.detector,
    ...summarise(track, analysis?.frameCount ?? 0),
    frames,
    crops,
    analysis: { fps, width: analysis?.width ?? 1, height: analysis?.height ?? 1, frames: analysis?.frameCount ?? 0, cuts: analysis?.cuts.length ?? 0 },
    tracks,
    speaker: {
      track: speaker.track,
      confidence: round(Math.min(1, speaker.confidence), 4),
      method: speaker.method,
      scores: speaker.scores.map((s) => ({ ...s })),
    },
    described,
    otherFaces: Math.max(0, tracks.length - (described ? 1 : 0)),
    geometry: track ? roundGeometrySummary(summariseGeometry(track.frames.map((f) => f.geometry))!) : null,
    peak,
  };
}

function trackCues(track: FaceTrack, fps: number): FaceTrackCues {
  const expressions = track.frames.map((f) => roundExpressions(f.expressions));
  return {
    id: track.id,
    times: track.frames.map((f) => round(f.index / fps, 3)),
    boxes: track.frames.map((f) => roundBox(f.box)),
    expressions,
    meanExpressions: meanOf(track.frames.map((f) => f.expressions)),
    mouthOpening: track.frames.map((f) => round(f.geometry.mouthOpening, 4)),
    geometry: roundGeometrySummary(summariseGeometry(track.frames.map((f) => f.geometry))!),
  };
}

/** Seconds from the segment start: the ref's own time, else the centres of N equal slices of the span (how segment samples). */
function frameTimes(refs: readonly ArtefactRef[], segment: Segment): number[] {
  const duration = Math.max(0, segment.end - segment.start);
  return refs.map((ref, i) => ref.time ?? round(((i + 0.5) * duration) / refs.length, 3));
}

/** Over the described track's analysed frames: mean expressions, the top one, how often frames agree, and its share of the span. */
function summarise(track: FaceTrack | null, frameCount: number): Pick<VisualCues, 'meanExpressions' | 'dominant' | 'stability' | 'faceRatio'> {
  if (!track || track.frames.length === 0) return { meanExpressions: null, dominant: null, stability: 0, faceRatio: 0 };
  const meanExpressions = meanOf(track.frames.map((f) => f.expressions));
  const dominant = topExpression(meanExpressions);
  const agreeing = track.frames.filter((frame) => topExpression(frame.expressions) === dominant).length;
  return {
    meanExpressions,
    dominant,
    stability: round(agreeing / track.frames.length, 4),
    faceRatio: round(Math.min(1, track.frames.length / Math.max(1, frameCount)), 4),
  };
}

function meanOf(expressions: readonly Record<Emotion, number>[]): Record<Emotion, number> {
  return Object.fromEntries(
    EMOTIONS.map((emotion) => [emotion, round(expressions.reduce((sum, e) => sum + e[emotion], 0) / Math.max(1, expressions.length), 4)]),
  ) as Record<Emotion, number>;
}

/** The most probable expression; ties go to the earlier name in EMOTIONS, so the answer is stable. */
function topExpression(probabilities: Record<Emotion, number>): Emotion {
  return EMOTIONS.reduce((best, emotion) => (probabilities[emotion] > probabilities[best] ? emotion : best));
}

/** Stores a JPEG under a key of its own hash, so the same pixels never make a second file. */
async function storeJpeg(
  kind: 'faces' | 'frames',
  index: number,
  jpeg: Uint8Array,
  time: number,
  ctx: StageContext,
  name = String(index).padStart(2, '0'),
): Promise<ArtefactRef> {
  const hash = sha256(Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
  const key = `media/${kind}/${hash.slice(0, 2)}/${hash}/${name}.jpg`;
  if ((await ctx.store.size(key)) === null) await ctx.store.put(key, Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength));
  return { key, bytes: jpeg.byteLength, time };
}

function even(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}

function roundBox(box: { x: number; y: number; width: number; height: number; score: number }): {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
} {
  return { x: round(box.x, 2), y: round(box.y, 2), width: round(box.width, 2), height: round(box.height, 2), score: round(box.score, 4) };
}

function roundExpressions(expressions: Record<Emotion, number>): Record<Emotion, number> {
  return Object.fromEntries(EMOTIONS.map((emotion) => [emotion, round(expressions[emotion], 4)])) as Record<Emotion, number>;
}

function roundGeometry(geometry: FaceGeometry): FaceGeometry {
  return Object.fromEntries(Object.entries(geometry).map(([k, v]) => [k, round(v, 4)])) as unknown as FaceGeometry;
}

function roundGeometrySummary(summary: GeometrySummary): GeometrySummary {
  return {
    mean: roundGeometry(summary.mean),
    range: roundGeometry(summary.range),
    browRaise: round(summary.browRaise, 4),
    browLowering: round(summary.browLowering, 4),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Which person the visual cues are about, in words (the prompt's `person` placeholder and its video.person). */
export function personOf(segment: Segment): string {
  const visual = segment.cues?.visual;
  if (!visual) return 'no face analysis was run';
  const tracks = visual.tracks;
  if (!tracks) return 'the largest face in each keyframe (no face tracking)';
  if (tracks.length === 0) return 'no face was found in the video';
  const others = visual.otherFaces ?? tracks.length - 1;
  const rest = others === 0 ? 'no other face is in the video' : `${others} other face${others === 1 ? ' is' : 's are'} in the video and not described`;
  const speaker = visual.speaker;
  if (speaker?.track && speaker.track === visual.described) {
    return `the speaking person: face track ${speaker.track}, whose mouth moves with the speech (confidence ${speaker.confidence.toFixed(2)}); ${rest}`;
  }
  const why = speaker?.method === 'no-speech' ? 'there is no speech to match' : 'no face moves its mouth with the speech';
  return `face track ${visual.described}, the face seen longest; the speaker was not identified (${why}), so this may not be the person speaking; ${rest}`;
}

export const visualCue: CueDescriptor<'visual', typeof VisualCues> = {
  key: 'visual',
  stage: cuesVisual,
  schema: VisualCues,
  modality: 'video',
  // Rows keep a summary of each track; the segment record keeps its per-frame data (stages/write.ts).
  column: 'visual with each face track summarised',
  prompt: {
    key: 'video',
    view: (visual, segment) =>
      visual
        ? {
            person: personOf(segment),
            faceTracks: visual.tracks?.length,
            otherFaces: visual.otherFaces,
            speaker: visual.speaker ? { track: visual.speaker.track, confidence: visual.speaker.confidence, method: visual.speaker.method } : undefined,
            keyframes: visual.frames.length,
            faceRatio: visual.faceRatio,
            dominantExpression: visual.dominant,
            stability: visual.stability,
            meanExpressions: visual.meanExpressions,
            // Geometric ratios of the 68 landmarks over the inter-ocular distance, not FACS action units.
            geometry: visual.geometry
              ? {
                  mean: visual.geometry.mean,
                  mouthOpeningRange: visual.geometry.range.mouthOpening,
                  browRaise: visual.geometry.browRaise,
                  browLowering: visual.geometry.browLowering,
                }
              : undefined,
            peak: visual.peak ? { timeSec: visual.peak.time, emotion: visual.peak.emotion, probability: visual.peak.probability } : undefined,
          }
        : null,
  },
  citable(visual) {
    const withFace = visual.frames.filter((f) => f.faces > 0).length;
    const geometry = visual.geometry;
    return [
      { unit: 'none', values: [visual.frames.length, withFace, ...visual.frames.map((f) => f.faces)] },
      { unit: 'seconds', values: [...visual.frames.map((f) => f.time), visual.peak?.time] },
      {
        unit: 'ratio',
        values: [
          visual.stability,
          visual.faceRatio,
          ...Object.values(visual.meanExpressions ?? {}),
          visual.frames.length > 0 ? withFace / visual.frames.length : null,
        ],
      },
      // Face tracks (cues.visual 2): their count and numbers, the speaker's confidence and scores, the geometry ratios, the peak.
      { unit: 'none', values: [visual.tracks?.length, visual.otherFaces, ...(visual.tracks ?? []).map((t) => Number(/\d+$/.exec(t.id)?.[0]))] },
      {
        unit: 'ratio',
        values: visual.speaker ? [visual.speaker.confidence, ...visual.speaker.scores.flatMap((t) => [t.correlation, t.coverage, t.mouthMotion])] : [],
      },
      { unit: 'none', values: geometry ? [...Object.values(geometry.mean), ...Object.values(geometry.range), geometry.browRaise, geometry.browLowering] : [] },
      { unit: 'ratio', values: [visual.peak?.probability] },
    ];
  },
  evidence: (visual) => videoEvidence(visual),
};
