// Face detection and expression recognition off the event loop. The main thread calls
// analyseFaces(); a lazily started worker thread (this same file, loaded through tsx) decodes the
// JPEG with sharp and runs face-api on the tfjs WASM backend, whose models load once per worker.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RecordError } from '../../pipelines/errors.ts';
import { WorkerPool, isWorkerFor, serveJobs } from '../../pipelines/worker-thread.ts';
import type { Emotion } from '../../schemas/records.ts';

export type FaceDetector = 'ssd' | 'tiny';

export interface FaceOptions {
  readonly detector: FaceDetector;
  /** Detections scoring below this are ignored. */
  readonly minConfidence: number;
  /** Tiny detector input size in pixels, a multiple of 32. */
  readonly tinyInputSize: number;
}

export interface FaceBoxPixels {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly score: number;
}

export interface FaceFrameAnalysis {
  /** Keyframe size in pixels. */
  readonly width: number;
  readonly height: number;
  readonly faces: number;
  /** The largest face, or null when none was found. */
  readonly box: FaceBoxPixels | null;
  /** Expression probabilities of the largest face (face-api's seven, our Emotion names). */
  readonly expressions: Record<Emotion, number> | null;
  /** Milliseconds in the worker (decoding, inference; the first job also loads the models), for throughput reports. */
  readonly modelMs: number;
}

interface FaceJob {
  /** The keyframe's store key, for messages. */
  readonly key: string;
  readonly jpeg: Uint8Array;
  readonly options: FaceOptions;
}

const WORKER_ROLE = 'emoforge-visual-worker';

/** face-api's labels; the same names as EMOTIONS. */
const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const satisfies readonly Emotion[];

// ---------------------------------------------------------------------------------------------
// Worker side.

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
type TfCore = typeof import('@tensorflow/tfjs-core');
type FaceApiTensor3D = Parameters<FaceApi['extractFaceTensors']>[0];

interface Models {
  readonly faceapi: FaceApi;
  readonly tf: TfCore;
  /** Detector nets load on first use: most runs only ever use one. */
  readonly detectors: Map<FaceDetector, Promise<void>>;
}

let models: Promise<Models> | undefined;

if (isWorkerFor(WORKER_ROLE)) serveJobs<FaceJob, FaceFrameAnalysis>(analyseFrame);

async function analyseFrame(job: FaceJob): Promise<FaceFrameAnalysis> {
  const started = performance.now();
  const { faceapi, tf, detectors } = await (models ??= loadModels());
  let detectorReady = detectors.get(job.options.detector);
  if (!detectorReady) {
    const net = job.options.detector === 'ssd' ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector;
    detectorReady = net.loadFromDisk(modelDir());
    detectors.set(job.options.detector, detectorReady);
  }
  await detectorReady;

  const { pixels, width, height } = await decodeJpeg(job);
  const image = tf.tensor3d(pixels, [height, width, 3], 'int32');
  try {
    const input = image as unknown as FaceApiTensor3D;
    const options =
      job.options.detector === 'ssd'
        ? new faceapi.SsdMobilenetv1Options({ minConfidence: job.options.minConfidence })
        : new faceapi.TinyFaceDetectorOptions({ inputSize: job.options.tinyInputSize, scoreThreshold: job.options.minConfidence });
    const detections = await faceapi.detectAllFaces(input, options);
    if (detections.length === 0) return { width, height, faces: 0, box: null, expressions: null, modelMs: performance.now() - started };
    // Largest by area; the earlier (higher-scoring) detection wins a tie.
    const largest = detections.reduce((best, d) => (d.box.area > best.box.area ? d : best));
    const [face] = await faceapi.extractFaceTensors(input, [largest]);
    try {
      const predicted = await faceapi.nets.faceExpressionNet.predictExpressions(face);
      const scores = Array.isArray(predicted) ? predicted[0] : predicted;
      const expressions = Object.fromEntries(EXPRESSIONS.map((name) => [name, scores[name]])) as Record<Emotion, number>;
      const { x, y, width: w, height: h } = largest.box;
      return { width, height, faces: detections.length, box: { x, y, width: w, height: h, score: largest.score }, expressions, modelMs: performance.now() - started };
    } finally {
      face.dispose();
    }
  } finally {
    image.dispose();
  }
}

async function decodeJpeg(job: FaceJob): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  const sharp = (await import('sharp')).default;
  try {
    // toColourspace('srgb') gives grey JPEGs three channels too.
    const { data, info } = await sharp(job.jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (error) {
    throw new RecordError('bad-frame', `cannot decode keyframe ${job.key}: ${(error as Error).message}`, { cause: error });
  }
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
async function loadModels(): Promise<Models> {
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
  return { faceapi, tf, detectors: new Map() };
}

/** Tensor methods that call the op of the same name with the tensor first (tfjs-core/src/public/chained_ops). */
const CHAINED_OPS = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh', 'avgPool',
  'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d', 'conv2dTranspose', 'cos',
  'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'div', 'divNoNan', 'dot', 'elu', 'equal', 'erf',
  'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather', 'greater', 'greaterEqual', 'ifft',
  'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'less', 'lessEqual', 'localResponseNormalization', 'log', 'log1p',
  'logSigmoid', 'logSoftmax', 'logSumExp', 'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool',
  'maximum', 'mean', 'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'oneHot', 'onesLike', 'pad',
  'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu',
  'separableConv2d', 'sigmoid', 'sign', 'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt',
  'square', 'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose',
  'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike',
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
  for (const name of CHAINED_OPS) define(name, function (...args) { return ops[name](this, ...args); });
  const reshape = (t: InstanceType<TfCore['Tensor']>, shape: number[]) => tf.reshape(t, shape);
  define('as1D', function () { return reshape(this, [this.size]); });
  define('as2D', function (...dims) { return reshape(this, dims as number[]); });
  define('as3D', function (...dims) { return reshape(this, dims as number[]); });
  define('as4D', function (...dims) { return reshape(this, dims as number[]); });
  define('as5D', function (...dims) { return reshape(this, dims as number[]); });
  define('asScalar', function () { return reshape(this, []); });
  define('flatten', function () { return reshape(this, [this.size]); });
  define('reshapeAs', function (other) { return reshape(this, (other as InstanceType<TfCore['Tensor']>).shape); });
  define('asType', function (dtype) { return tf.cast(this, dtype as Parameters<TfCore['cast']>[1]); });
  define('toFloat', function () { return tf.cast(this, 'float32'); });
  define('toInt', function () { return tf.cast(this, 'int32'); });
  define('toBool', function () { return tf.cast(this, 'bool'); });
  define('resizeBilinear', function (...args) { return (tf.image.resizeBilinear as (...a: unknown[]) => unknown)(this, ...args); });
  define('resizeNearestNeighbor', function (...args) { return (tf.image.resizeNearestNeighbor as (...a: unknown[]) => unknown)(this, ...args); });
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

/** One worker by default: models load once and the stage's segments queue on it. */
const POOL_SIZE = Number(process.env.EMOFORGE_FACE_WORKERS ?? 1);
let pool: WorkerPool<FaceJob, FaceFrameAnalysis> | undefined;

/**
 * Finds faces in one JPEG keyframe and the expressions of the largest, in a worker thread.
 * Throws RecordError('bad-frame') when the JPEG does not decode, the signal's reason on abort.
 */
export function analyseFaces(key: string, jpeg: Uint8Array, options: FaceOptions, signal: AbortSignal): Promise<FaceFrameAnalysis> {
  pool ??= new WorkerPool({ module: import.meta.url, role: WORKER_ROLE, label: 'face analysis', size: POOL_SIZE });
  const { detector, minConfidence, tinyInputSize } = options;
  return pool.run({ key, jpeg, options: { detector, minConfidence, tinyInputSize } }, signal);
}

/** Stops the face workers (pending analyses are rejected); the next analysis starts a new one. */
export async function closeFaceWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}
