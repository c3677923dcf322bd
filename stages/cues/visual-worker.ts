// Face tracking off the event loop. The main thread calls trackFaces() with a segment's span of a
// video file and its speech samples; a lazily started worker thread (this same file, loaded through
// tsx) decodes the span with ffmpeg at the analysis rate and runs face-api on the tfjs WASM backend
// (detector, 68-landmark net, expression net; the recognition net only for faces that no box
// overlap links; the tiny detector, landmark and expression nets through our own forward passes of
// face-api's weights, tiny-face-detector.ts and face-crop-nets.ts), links detections into tracks (face-tracks.ts), finds the active speaker
// (active-speaker.ts), measures facial geometry (face-geometry.ts) and encodes the face crops and
// the peak frame. Everything that touches pixels stays in the worker.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { FatalError, RecordError } from '../../pipelines/errors.ts';
import { WorkerPool, isWorkerFor, serveJobs } from '../../pipelines/worker-thread.ts';
import type { Emotion } from '../../schemas/emotion.ts';
import { findSpeaker, speechEnvelope, type SpeakerScore, type SpeakerVerdict } from './active-speaker.ts';
import { faceGeometry, type FaceGeometry } from './face-geometry.ts';
import { FaceCropNets, cropRegion, type FaceProcessorNet } from './face-crop-nets.ts';
import { FaceLinker, type Box } from './face-tracks.ts';
import { TinyFaceDetector, type TinyFaceDetectorParams } from './tiny-face-detector.ts';

export type FaceDetector = 'ssd' | 'tiny';
export type LandmarkNet = 'full' | 'tiny';

export interface FaceOptions {
  readonly detector: FaceDetector;
  /** Detections scoring below this are ignored. */
  readonly minConfidence: number;
  /** Tiny detector input size in pixels, a multiple of 32. */
  readonly tinyInputSize: number;
  /** face-api's 68-point landmark net: 'full' (more exact) or 'tiny'. */
  readonly landmarks: LandmarkNet;
  /** Faces narrower than this many pixels of the analysed frame are ignored (their landmarks are noise). */
  readonly minFacePx: number;
  /** The detector runs on every Nth analysed frame (and after a cut); faces are followed by their landmarks in between. */
  readonly detectEvery: number;
  /** The detector's interval once two detections in a row found no face come or go (back to `detectEvery` when one does). Default `detectEvery`. */
  readonly steadyDetectEvery?: number;
  /** 'detection': the expression net runs on the frames the detector runs on, and a followed face keeps its last values in between; 'all': on every frame. */
  readonly expressionFrames: ExpressionFrames;
}

export type ExpressionFrames = 'all' | 'detection';

export interface TrackJob {
  /** What is analysed, for messages (the clip's uri and span). */
  readonly label: string;
  /** A local video file. */
  readonly input: string;
  /** The span of it, seconds. */
  readonly start: number;
  readonly end: number;
  /** Analysed frames per second. */
  readonly fps: number;
  /** Analysed frame size in pixels (the video is scaled to it). */
  readonly width: number;
  readonly height: number;
  readonly faces: FaceOptions;
  readonly tracking: { readonly minIou: number; readonly maxDescriptorDistance: number; readonly maxGapFrames: number; readonly cutThreshold: number };
  readonly speaker: { readonly minConfidence: number; readonly minCoverage: number };
  /** 16 kHz (or any rate) mono speech of the span, or null without audio. */
  readonly speech: { readonly samples: Float32Array; readonly sampleRate: number } | null;
  /** Times (seconds from the span start) at which a crop of the described face is wanted. */
  readonly cropTimes: readonly number[];
  readonly crop: { readonly enabled: boolean; readonly size: number; readonly margin: number; readonly quality: number };
}

export interface TrackFrame {
  /** analysed-frame index; time = index / fps */
  readonly index: number;
  readonly box: Box & { readonly score: number };
  readonly expressions: Record<Emotion, number>;
  readonly geometry: FaceGeometry;
  /** bounds of the lip landmarks (48–67), in pixels of the analysed frame */
  readonly mouth: Box;
}

export interface FaceTrack {
  /** 'face-1', 'face-2', … in order of first appearance */
  readonly id: string;
  readonly frames: readonly TrackFrame[];
  /** the frame where the non-neutral expression peaks (highest probability of one of the six), and which */
  readonly peak: { readonly index: number; readonly emotion: Emotion; readonly probability: number } | null;
}

export interface FaceTrackAnalysis {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** analysed frames decoded */
  readonly frameCount: number;
  /** faces per analysed frame */
  readonly facesPerFrame: readonly number[];
  /** analysed frames that start a new shot */
  readonly cuts: readonly number[];
  readonly tracks: readonly FaceTrack[];
  readonly speaker: SpeakerVerdict;
  /** the track the cues describe: the speaker's, else the longest; null without faces */
  readonly described: string | null;
  /** crops of the described track at the crop times where it is seen */
  readonly crops: readonly { readonly time: number; readonly jpeg: Uint8Array }[];
  /** the whole analysed frame at the described track's peak, as JPEG */
  readonly peakFrame: { readonly time: number; readonly jpeg: Uint8Array } | null;
  /** worker milliseconds by step, and work counts, for the bench */
  readonly timings: { decode: number; detect: number; landmarks: number; expressions: number; descriptors: number; other: number };
  readonly descriptorsComputed: number;
  readonly detections: number;
  /** analysed frames the detector ran on */
  readonly detectorRuns: number;
}

const WORKER_ROLE = 'emoforge-visual-worker';

/** face-api's labels; the same names as EMOTIONS. */
const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const satisfies readonly Emotion[];
const NON_NEUTRAL = EXPRESSIONS.filter((e) => e !== 'neutral');

// ---------------------------------------------------------------------------------------------
// Worker side.

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
type TfCore = typeof import('@tensorflow/tfjs-core');
type FaceApiTensor3D = Parameters<FaceApi['extractFaceTensors']>[0];
type Tensor = { dispose(): void };

export interface FaceModels {
  readonly faceapi: FaceApi;
  readonly tf: TfCore;
  /** Nets load on first use: most runs only ever use one detector and one landmark net. */
  readonly loaded: Map<string, Promise<void>>;
}

let models: Promise<FaceModels> | undefined;

/** face-api and tfjs on the WASM backend in this thread, loaded once (the worker's own; tests of the nets use it too). */
export function faceModels(): Promise<FaceModels> {
  models ??= loadModels();
  return models;
}

if (isWorkerFor(WORKER_ROLE)) serveJobs<TrackJob, FaceTrackAnalysis>(analyseSpan);

/** Loads one of face-api's nets from its package's weights, once per thread. */
export async function loadNet(
  models: FaceModels,
  name: 'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net' | 'faceLandmark68TinyNet' | 'faceRecognitionNet',
): Promise<void> {
  let loading = models.loaded.get(name);
  if (!loading) {
    loading = models.faceapi.nets[name].loadFromDisk(modelDir());
    models.loaded.set(name, loading);
  }
  await loading;
}

interface Accumulating {
  frames: TrackFrame[];
  peak: { index: number; emotion: Emotion; probability: number } | null;
  peakPixels: Uint8Array | null;
}

async function analyseSpan(job: TrackJob): Promise<FaceTrackAnalysis> {
  const loaded = await faceModels();
  const { faceapi, tf } = loaded;
  await loadNet(loaded, job.faces.detector === 'ssd' ? 'ssdMobilenetv1' : 'tinyFaceDetector');
  await loadNet(loaded, job.faces.landmarks === 'full' ? 'faceLandmark68Net' : 'faceLandmark68TinyNet');
  await loadNet(loaded, 'faceRecognitionNet');
  const landmarkNet = (job.faces.landmarks === 'full' ? faceapi.nets.faceLandmark68Net : faceapi.nets.faceLandmark68TinyNet) as unknown as FaceProcessorNet;
  const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: job.faces.minConfidence });
  const tinyDetector =
    job.faces.detector === 'tiny' ? new TinyFaceDetector(tf, faceapi.nets.tinyFaceDetector.params as unknown as TinyFaceDetectorParams) : null;
  /** The detector on the whole frame, as face-api detections. */
  const detect = async (pixels: Uint8Array) => {
    if (!tinyDetector) return detectFaces(faceapi, tf, pixels, job, ssdOptions);
    const faces = await tinyDetector.detect(pixels, job.width, job.height, { inputSize: job.faces.tinyInputSize, scoreThreshold: job.faces.minConfidence });
    return faces.map(
      (f) =>
        new faceapi.FaceDetection(f.score, new faceapi.Rect(f.x / job.width, f.y / job.height, f.width / job.width, f.height / job.height), {
          width: job.width,
          height: job.height,
        }),
    );
  };
  const cropNets = new FaceCropNets(tf);
  const timings = { decode: 0, detect: 0, landmarks: 0, expressions: 0, descriptors: 0, other: 0 };
  const linker = new FaceLinker(job.tracking);
  const tracks: Accumulating[] = [];
  const facesPerFrame: number[] = [];
  const cuts: number[] = [];
  const cropIndices = new Set(job.cropTimes.map((t) => Math.round(t * job.fps)));
  /** pixels and per-track boxes of the frames crops may be cut from */
  const kept = new Map<number, Uint8Array>();
  let previousThumb: Float32Array | null = null;
  /** the faces of the last analysed frame, followed into the next when the detector does not run */
  let previous: Carried[] = [];
  let lastDetection: number | null = null;
  let detectorRuns = 0;
  /** detection frames in a row that found exactly the faces followed into them (none came, none went) */
  let steadyDetections = 0;
  let detections = 0;
  let index = 0;

  const frameBytes = job.width * job.height * 3;
  let clock = performance.now();
  const lap = (step: keyof typeof timings) => {
    const now = performance.now();
    timings[step] += now - clock;
    clock = now;
  };
  for await (const pixels of decodeFrames(job, frameBytes)) {
    lap('decode');
    const thumb = thumbnail(pixels, job.width, job.height);
    const cut = previousThumb !== null && meanAbsDiff(thumb, previousThumb) > job.tracking.cutThreshold;
    if (cut) cuts.push(index);
    previousThumb = thumb;
    lap('other');
    // The detector runs every `detectEvery` frames (every `steadyDetectEvery` once two detections in
    // a row found just the faces already followed) and after a cut; in between, each face of the
    // previous frame is followed by running the landmark net on its box moved with its landmarks.
    const interval = steadyDetections >= 2 ? (job.faces.steadyDetectEvery ?? job.faces.detectEvery) : job.faces.detectEvery;
    const detectNow = cut || lastDetection === null || index - lastDetection >= interval;
    if (detectNow) {
      lastDetection = index;
      detectorRuns++;
    }
    const carried = detectNow ? [] : previous.filter((p) => insideFrame(p.box, job.width, job.height));
    const found = detectNow
      ? (await detect(pixels)).filter((d) => d.box.width >= job.faces.minFacePx)
      : carried.map(
          (p) =>
            new faceapi.FaceDetection(
              p.score,
              new faceapi.Rect(p.box.x / job.width, p.box.y / job.height, p.box.width / job.width, p.box.height / job.height),
              { width: job.width, height: job.height },
            ),
        );
    if (detectNow) lap('detect');
    const nextPrevious: Carried[] = [];
    facesPerFrame.push(found.length);
    detections += found.length;
    if (found.length > 0) {
      type Landmarks = InstanceType<FaceApi['FaceLandmarks68']>;
      const cropMarks = await cropNets.landmarks(
        landmarkNet,
        job.faces.landmarks === 'tiny',
        pixels,
        job.width,
        job.height,
        found.map((d) => d.box),
      );
      const marks = cropMarks.map(
        (m) =>
          new faceapi.FaceLandmarks68(
            m.points.map((p) => new faceapi.Point(p.x, p.y)),
            { width: m.width, height: m.height },
          ) as Landmarks,
      );
      const withMarks = found.map((detection, i) => faceapi.extendWithFaceLandmarks(faceapi.extendWithFaceDetection({}, detection), marks[i]));
      lap('landmarks');
      // Aligned boxes feed the expression net and, on detection frames, the recognition net.
      const expressionsNow = detectNow || job.faces.expressionFrames === 'all';
      const alignedBoxes = withMarks.map((w) => w.alignedRect.box);
      const expressions: Record<Emotion, number>[] = expressionsNow
        ? (await cropNets.expressions(faceapi.nets.faceExpressionNet as unknown as FaceProcessorNet, pixels, job.width, job.height, alignedBoxes)).map(
            (scores) => Object.fromEntries(EXPRESSIONS.map((name, i) => [name, scores[i]])) as Record<Emotion, number>,
          )
        : carried.map((p) => p.expressions);
      lap('expressions');
      const boxes = found.map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }));
      const assigned = detectNow
        ? await linker.link(index, boxes, cut, (i) => {
            // The face's pixels are copied now: the linker may ask for the descriptor frames later.
            const face = facePixels(pixels, job.width, job.height, alignedBoxes[i]);
            return async () => {
              lap('other');
              const aligned = tf.tensor3d(face.values, face.shape, 'int32') as unknown as FaceApiTensor3D;
              let descriptor: Float32Array;
              try {
                descriptor = (await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(aligned)) as Float32Array;
              } finally {
                (aligned as unknown as Tensor).dispose();
              }
              lap('descriptors');
              return descriptor;
            };
          })
        : carried.map((p, i) => {
            linker.carry(index, p.track, boxes[i]);
            return p.track;
          });
      for (const [i, trackIndex] of assigned.entries()) {
        const track = (tracks[trackIndex] ??= { frames: [], peak: null, peakPixels: null });
        const points = withMarks[i].landmarks.positions.flatMap((p: { x: number; y: number }) => [p.x, p.y]);
        const centre = centroid(points);
        const before = previous.find((p) => p.track === trackIndex);
        // Next frame's box: this one moved as far as the landmarks moved since the last frame.
        const shift = before ? { x: centre.x - before.centre.x, y: centre.y - before.centre.y } : { x: 0, y: 0 };
        nextPrevious.push({
          track: trackIndex,
          box: { ...boxes[i], x: boxes[i].x + shift.x, y: boxes[i].y + shift.y },
          centre,
          score: found[i].score,
          expressions: expressions[i],
        });
        track.frames.push({
          index,
          box: { ...boxes[i], score: found[i].score },
          expressions: expressions[i],
          geometry: faceGeometry(points),
          mouth: lipBounds(points),
        });
        const emotion = NON_NEUTRAL.reduce((best, e) => (expressions[i][e] > expressions[i][best] ? e : best));
        if (!track.peak || expressions[i][emotion] > track.peak.probability) {
          track.peak = { index, emotion, probability: expressions[i][emotion] };
          track.peakPixels = pixels; // each decoded frame is a buffer of its own
        }
      }
      if (cropIndices.has(index)) kept.set(index, pixels);
    }
    if (detectNow) {
      const followed = new Set(previous.map((p) => p.track));
      const steady = !cut && nextPrevious.length === followed.size && nextPrevious.every((p) => followed.has(p.track));
      steadyDetections = steady ? steadyDetections + 1 : 0;
    }
    previous = nextPrevious;
    lap('other');
    index++;
  }

  const faceTracks: FaceTrack[] = tracks.map((track, i) => ({ id: `face-${i + 1}`, frames: track.frames, peak: track.peak }));
  const frameTimes = Array.from({ length: index }, (_, i) => i / job.fps);
  const envelope = job.speech ? speechEnvelope(job.speech.samples, job.speech.sampleRate, frameTimes, 1 / job.fps) : null;
  const mouths = faceTracks.map((t) => ({ id: t.id, frames: t.frames.map((f) => f.index), mouthOpening: t.frames.map((f) => f.geometry.mouthOpening) }));
  const speaker = findSpeaker(mouths, envelope, job.speaker);
  const described = speaker.track ?? longestTrack(faceTracks);
  const chosen = described === null ? null : tracks[faceTracks.findIndex((t) => t.id === described)];
  const chosenTrack = described === null ? null : faceTracks.find((t) => t.id === described)!;

  const sharp = (await import('sharp')).default;
  const raw = { raw: { width: job.width, height: job.height, channels: 3 as const } };
  const crops: { time: number; jpeg: Uint8Array }[] = [];
  if (job.crop.enabled && chosenTrack) {
    for (const time of job.cropTimes) {
      const at = Math.round(time * job.fps);
      const frame = chosenTrack.frames.find((f) => f.index === at);
      const pixels = kept.get(at);
      if (!frame || !pixels) continue;
      const region = squareAround(frame.box, job.crop.margin, job.width, job.height);
      const jpeg = await sharp(pixels, raw)
        .extract(region)
        .resize(job.crop.size, job.crop.size, { fit: 'fill' })
        .jpeg({ quality: job.crop.quality })
        .toBuffer();
      crops.push({ time: round(time, 3), jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength) });
    }
  }
  let peakFrame: FaceTrackAnalysis['peakFrame'] = null;
  if (chosen?.peak && chosen.peakPixels) {
    const jpeg = await sharp(chosen.peakPixels, raw).jpeg({ quality: job.crop.quality }).toBuffer();
    peakFrame = { time: round(chosen.peak.index / job.fps, 3), jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength) };
  }
  lap('other');
  return {
    width: job.width,
    height: job.height,
    fps: job.fps,
    frameCount: index,
    facesPerFrame,
    cuts,
    tracks: faceTracks,
    speaker,
    described,
    crops,
    peakFrame,
    timings,
    descriptorsComputed: linker.descriptorsComputed,
    detections,
    detectorRuns,
  };
}

/** face-api's SSD detector on the whole frame; the frame's tensor lives only for the call (frames without detection need none). */
async function detectFaces(faceapi: FaceApi, tf: TfCore, pixels: Uint8Array, job: TrackJob, options: Parameters<FaceApi['detectAllFaces']>[1]) {
  const image = tf.tensor3d(pixels, [job.height, job.width, 3], 'int32');
  try {
    return await faceapi.detectAllFaces(image as unknown as FaceApiTensor3D, options);
  } finally {
    image.dispose();
  }
}

/**
 * The pixels of a face box as int32 values (for a [h, w, 3] tensor), copied row by row from the
 * frame: the same values as face-api's extractFaceTensors (box clipped at the borders and floored,
 * then tf.slice of the frame tensor), without a tensor of the whole frame. For the recognition net,
 * which still takes a tensor.
 */
function facePixels(pixels: Uint8Array, width: number, height: number, box: Box): { values: Int32Array; shape: [number, number, 3] } {
  const { x, y, width: w, height: h } = cropRegion(box, width, height);
  const values = new Int32Array(w * h * 3);
  for (let row = 0; row < h; row++) {
    const from = ((y + row) * width + x) * 3;
    values.set(pixels.subarray(from, from + w * 3), row * w * 3);
  }
  return { values, shape: [h, w, 3] };
}

/** The track seen in most frames; a tie goes to the larger mean box, then the earlier track. */
function longestTrack(tracks: readonly FaceTrack[]): string | null {
  let best: FaceTrack | null = null;
  let bestArea = 0;
  for (const track of tracks) {
    const area = track.frames.reduce((s, f) => s + f.box.width * f.box.height, 0) / track.frames.length;
    if (!best || track.frames.length > best.frames.length || (track.frames.length === best.frames.length && area > bestArea)) {
      best = track;
      bestArea = area;
    }
  }
  return best?.id ?? null;
}

/** Raw RGB frames of the span at the analysis rate and size, from one ffmpeg process. */
async function* decodeFrames(job: TrackJob, frameBytes: number): AsyncGenerator<Uint8Array> {
  // One decoder thread (bit-exact at any count): cheaper in CPU on short spans, and the pipeline
  // runs a worker per core already.
  const args = [
    '-nostdin',
    '-v',
    'error',
    '-threads',
    '1',
    '-ss',
    String(job.start),
    '-t',
    String(Math.max(0.001, job.end - job.start)),
    '-i',
    job.input,
    '-an',
    '-sn',
    '-vf',
    `fps=${job.fps},scale=${job.width}:${job.height}:flags=bilinear`,
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  // Pipe chunks (64 KiB) are copied once into a fresh frame (concatenating each chunk onto the pending
  // bytes copied a 691 KB frame ~6 times over at 640x360).
  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - at);
        frame.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === frameBytes) {
          yield frame;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const code = await exited;
  if (code !== 0) throw new RecordError('bad-video', `ffmpeg could not decode ${job.label} (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
}

interface Carried {
  readonly track: number;
  readonly box: Box;
  readonly centre: { readonly x: number; readonly y: number };
  readonly score: number;
  readonly expressions: Record<Emotion, number>;
}

function centroid(points: readonly number[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (let i = 0; i < points.length; i += 2) {
    x += points[i];
    y += points[i + 1];
  }
  return { x: (2 * x) / points.length, y: (2 * y) / points.length };
}

/** At least half of the box is inside the frame. */
function insideFrame(box: Box, width: number, height: number): boolean {
  const w = Math.max(0, Math.min(box.x + box.width, width) - Math.max(box.x, 0));
  const h = Math.max(0, Math.min(box.y + box.height, height) - Math.max(box.y, 0));
  return w * h >= 0.5 * box.width * box.height;
}

function lipBounds(points: readonly number[]): Box {
  const xs = [];
  const ys = [];
  for (let i = 48; i < 68; i++) {
    xs.push(points[2 * i]);
    ys.push(points[2 * i + 1]);
  }
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** A 32x18 grey thumbnail, to tell a cut from motion. */
function thumbnail(pixels: Uint8Array, width: number, height: number): Float32Array {
  const cols = 32;
  const rows = 18;
  const out = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const y = Math.floor(((r + 0.5) * height) / rows);
      const x = Math.floor(((c + 0.5) * width) / cols);
      const o = (y * width + x) * 3;
      out[r * cols + c] = 0.299 * pixels[o] + 0.587 * pixels[o + 1] + 0.114 * pixels[o + 2];
    }
  }
  return out;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function squareAround(box: Box, margin: number, frameWidth: number, frameHeight: number): { left: number; top: number; width: number; height: number } {
  const side = Math.max(1, Math.min(Math.round(Math.max(box.width, box.height) * (1 + 2 * margin)), frameWidth, frameHeight));
  const clamp = (start: number, limit: number) => Math.min(Math.max(0, Math.round(start)), limit - side);
  return { left: clamp(box.x + box.width / 2 - side / 2, frameWidth), top: clamp(box.y + box.height / 2 - side / 2, frameHeight), width: side, height: side };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function modelDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'model');
}

/**
 * face-api's node-wasm build does `require('@tensorflow/tfjs')`, the umbrella package, which we do
 * not install (it would add layers, data and webgl). The umbrella is tfjs-core + converter +
 * backend-cpu with the chained tensor methods (`t.as3D()`) registered; tfjs-core's own CommonJS
 * bundle leaves those out, so they are added here, and the umbrella name is answered with the
 * pieces while face-api loads. Everything goes through require so face-api,
 * the WASM backend and this file share one tfjs-core instance (an ESM import would load another).
 */
async function loadModels(): Promise<FaceModels> {
  const require = createRequire(import.meta.url);
  const tf = require('@tensorflow/tfjs-core') as TfCore;
  require('@tensorflow/tfjs-backend-cpu');
  const converter = require('@tensorflow/tfjs-converter') as object;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  registerChainedOps(tf);

  const umbrella = { ...tf, ...converter, ...wasm };
  const loader = require('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = loader._load;
  loader._load = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === '@tensorflow/tfjs' ? umbrella : load.call(this, request, ...rest);
  };
  let faceapi: FaceApi;
  try {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  } finally {
    loader._load = load;
  }

  // One WASM thread: the results are then bit-identical run to run (and a worker per core scales).
  wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend did not initialise');
  await tf.ready();
  await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir());
  return { faceapi, tf, loaded: new Map() };
}

/** Tensor methods that call the op of the same name with the tensor first (tfjs-core/src/public/chained_ops). */
const CHAINED_OPS = [
  'abs',
  'acos',
  'acosh',
  'add',
  'all',
  'any',
  'argMax',
  'argMin',
  'asin',
  'asinh',
  'atan',
  'atan2',
  'atanh',
  'avgPool',
  'batchToSpaceND',
  'batchNorm',
  'broadcastTo',
  'cast',
  'ceil',
  'clipByValue',
  'conv1d',
  'conv2d',
  'conv2dTranspose',
  'cos',
  'cosh',
  'cumprod',
  'cumsum',
  'depthToSpace',
  'depthwiseConv2d',
  'dilation2d',
  'div',
  'divNoNan',
  'dot',
  'elu',
  'equal',
  'erf',
  'euclideanNorm',
  'exp',
  'expandDims',
  'expm1',
  'fft',
  'floor',
  'floorDiv',
  'gather',
  'greater',
  'greaterEqual',
  'ifft',
  'irfft',
  'isFinite',
  'isInf',
  'isNaN',
  'leakyRelu',
  'less',
  'lessEqual',
  'localResponseNormalization',
  'log',
  'log1p',
  'logSigmoid',
  'logSoftmax',
  'logSumExp',
  'logicalAnd',
  'logicalNot',
  'logicalOr',
  'logicalXor',
  'matMul',
  'max',
  'maxPool',
  'maximum',
  'mean',
  'min',
  'minimum',
  'mirrorPad',
  'mod',
  'mul',
  'neg',
  'norm',
  'notEqual',
  'oneHot',
  'onesLike',
  'pad',
  'pool',
  'pow',
  'prelu',
  'prod',
  'reciprocal',
  'relu',
  'relu6',
  'reshape',
  'reverse',
  'rfft',
  'round',
  'rsqrt',
  'selu',
  'separableConv2d',
  'sigmoid',
  'sign',
  'sin',
  'sinh',
  'slice',
  'softmax',
  'softplus',
  'spaceToBatchND',
  'split',
  'sqrt',
  'square',
  'squaredDifference',
  'squeeze',
  'step',
  'stridedSlice',
  'sub',
  'sum',
  'tan',
  'tanh',
  'tile',
  'topk',
  'transpose',
  'unique',
  'unsortedSegmentSum',
  'unstack',
  'zerosLike',
] as const;

function registerChainedOps(tf: TfCore): void {
  type Method = (this: InstanceType<TfCore['Tensor']>, ...args: unknown[]) => unknown;
  const proto = tf.Tensor.prototype as unknown as Record<string, Method>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => unknown>;
  const define = (name: string, method: Method) => {
    if (typeof proto[name] === 'function') return;
    proto[name] = function (this: InstanceType<TfCore['Tensor']>, ...args: unknown[]) {
      this.throwIfDisposed();
      return method.apply(this, args);
    };
  };
  for (const name of CHAINED_OPS)
    define(name, function (...args) {
      return ops[name](this, ...args);
    });
  const reshape = (t: InstanceType<TfCore['Tensor']>, shape: number[]) => tf.reshape(t, shape);
  define('as1D', function () {
    return reshape(this, [this.size]);
  });
  define('as2D', function (...dims) {
    return reshape(this, dims as number[]);
  });
  define('as3D', function (...dims) {
    return reshape(this, dims as number[]);
  });
  define('as4D', function (...dims) {
    return reshape(this, dims as number[]);
  });
  define('as5D', function (...dims) {
    return reshape(this, dims as number[]);
  });
  define('asScalar', function () {
    return reshape(this, []);
  });
  define('flatten', function () {
    return reshape(this, [this.size]);
  });
  define('reshapeAs', function (other) {
    return reshape(this, (other as InstanceType<TfCore['Tensor']>).shape);
  });
  define('asType', function (dtype) {
    return tf.cast(this, dtype as Parameters<TfCore['cast']>[1]);
  });
  define('toFloat', function () {
    return tf.cast(this, 'float32');
  });
  define('toInt', function () {
    return tf.cast(this, 'int32');
  });
  define('toBool', function () {
    return tf.cast(this, 'bool');
  });
  define('resizeBilinear', function (...args) {
    return (tf.image.resizeBilinear as (...a: unknown[]) => unknown)(this, ...args);
  });
  define('resizeNearestNeighbor', function (...args) {
    return (tf.image.resizeNearestNeighbor as (...a: unknown[]) => unknown)(this, ...args);
  });
  define('concat', function (others, axis) {
    return tf.concat([this, ...(others instanceof tf.Tensor ? [others] : (others as InstanceType<TfCore['Tensor']>[]))], axis as number);
  });
  define('stack', function (others, axis) {
    return tf.stack([this, ...(others instanceof tf.Tensor ? [others] : (others as InstanceType<TfCore['Tensor']>[]))], axis as number);
  });
  define('where', function (condition, other) {
    return tf.where(condition as InstanceType<TfCore['Tensor']>, this, other as InstanceType<TfCore['Tensor']>);
  });
}

// ---------------------------------------------------------------------------------------------
// Main side.

/**
 * Face workers at most: `EMOFORGE_FACE_WORKERS` when set, else the cores this process may use. A
 * worker starts only while every started one is busy, so a run's `concurrency` (segments in flight)
 * bounds them too: `concurrency: 1` never starts a second one, and a run whose segments arrive one
 * at a time loads the models once.
 */
export function faceWorkerCount(setting: string | undefined, cores: number = availableParallelism()): number {
  if (setting === undefined || setting.trim() === '') return Math.max(1, cores);
  const count = Number(setting);
  if (!Number.isInteger(count) || count < 1) throw new FatalError(`EMOFORGE_FACE_WORKERS must be a positive integer (face worker threads), got "${setting}"`);
  return count;
}

let pool: WorkerPool<TrackJob, FaceTrackAnalysis> | undefined;

/**
 * Tracks the faces of a span of a video in a worker thread and finds the one that speaks.
 * Throws RecordError('bad-video') when ffmpeg cannot decode the span, the signal's reason on abort.
 */
export function trackFaces(job: TrackJob, signal: AbortSignal): Promise<FaceTrackAnalysis> {
  pool ??= new WorkerPool({ module: import.meta.url, role: WORKER_ROLE, label: 'face tracking', size: faceWorkerCount(process.env.EMOFORGE_FACE_WORKERS) });
  return pool.run(job, signal);
}

/** Stops the face workers (pending analyses are rejected); the next analysis starts a new one. */
export async function closeFaceWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

export type { SpeakerScore, SpeakerVerdict };
