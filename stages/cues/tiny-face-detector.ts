// face-api's Tiny Face Detector (a Tiny YOLO v2 with depthwise separable convolutions), run with its
// own loaded weights but a leaner forward pass: face-api pads the frame to a square with tf.concat
// and subtracts the channel means with another concat, and on the WASM backend those two copies
// cost a third of a call (~28 of ~90 ms at 320 px); each layer's bias add and leaky ReLU are four
// more full-size element-wise ops. Here the letterboxed, resized, normalised input is built in one
// pass over the frame's pixels, and each convolution carries its bias and leaky ReLU (tf.fused).
// Same weights, same arithmetic in another order: the network's output matches face-api's to float
// rounding and the detections are the same (tests/stages/cues/tiny-face-detector.test.ts). The
// boxes are decoded and non-max suppressed as face-api does (tinyYolov2/TinyYolov2Base.ts).
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';

import { squareInput } from './net-input.ts';

type TfCore = typeof import('@tensorflow/tfjs-core');

/** face-api's loaded parameters of the tiny face detector (`nets.tinyFaceDetector.params`). */
export interface TinyFaceDetectorParams {
  readonly conv0: { readonly filters: Tensor4D; readonly bias: Tensor1D };
  readonly conv1: SeparableConv;
  readonly conv2: SeparableConv;
  readonly conv3: SeparableConv;
  readonly conv4: SeparableConv;
  readonly conv5: SeparableConv;
  readonly conv6?: SeparableConv;
  readonly conv7?: SeparableConv;
  readonly conv8: { readonly filters: Tensor4D; readonly bias: Tensor1D };
}

interface SeparableConv {
  readonly depthwise_filter: Tensor4D;
  readonly pointwise_filter: Tensor4D;
  readonly bias: Tensor1D;
}

/** A face in frame pixels, with its score (0–1). */
export interface TinyFaceDetection {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly score: number;
}

/** face-api's tinyFaceDetector/const.ts: channel means, anchor box sizes in grid cells, NMS overlap. */
const MEAN_RGB: [number, number, number] = [117.001, 114.697, 97.404];
const ANCHORS = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
] as const;
const IOU_THRESHOLD = 0.4;
/** input pixels per output cell (five stride-2 pools) */
const STRIDE = 32;
/** x, y, w, h, score per anchor (one class: no class scores) */
const BOX_ENCODING = 5;
/** face-api's leaky ReLU slope, as float32 */
const LEAKY_ALPHA = 0.10000000149011612;

export class TinyFaceDetector {
  constructor(
    private readonly tf: TfCore,
    private readonly params: TinyFaceDetectorParams,
  ) {}

  /**
   * Faces in an RGB frame (`width`×`height`×3 bytes) scoring above `scoreThreshold`, the frame scaled
   * so its longer side is `inputSize` px (a multiple of 32). face-api pads the scaled frame to an
   * `inputSize` square; here (unless `square`) the input stops at the picture rounded up to a multiple
   * of 32, the network's stride: a 640x360 frame at 320 is a 320x192 input, 60% of the square's
   * convolutions. The cells that see picture see the same pixels; near the bottom edge they see the
   * convolutions' zero padding sooner than in the square, so scores there move a little.
   */
  async detect(
    pixels: Uint8Array,
    width: number,
    height: number,
    options: { readonly inputSize: number; readonly scoreThreshold: number; readonly square?: boolean },
  ): Promise<TinyFaceDetection[]> {
    const { tf } = this;
    const { inputSize, scoreThreshold } = options;
    const { picture, input: shape } = inputShape(width, height, inputSize, options.square ?? false);
    const values = new Float32Array(shape.width * shape.height * 3);
    squareInput(pixels, width, { x: 0, y: 0, width, height }, 0, inputSize, MEAN_RGB, values, 0, shape);
    const input = tf.tensor4d(values, [1, shape.height, shape.width, 3], 'float32');
    let output: Tensor4D;
    try {
      output = this.forward(input);
    } finally {
      input.dispose();
    }
    try {
      const [, rows, columns] = output.shape;
      return decode((await output.data()) as Float32Array, rows, columns, picture, width, height, inputSize, scoreThreshold);
    } finally {
      output.dispose();
    }
  }

  private forward(x: Tensor4D): Tensor4D {
    const { tf, params } = this;
    return tf.tidy(() => {
      let out = tf.fused.conv2d({
        x,
        filter: params.conv0.filters,
        bias: params.conv0.bias,
        strides: 1,
        pad: 'valid',
        activation: 'leakyrelu',
        leakyreluAlpha: LEAKY_ALPHA,
      });
      out = tf.maxPool(out, 2, 2, 'same');
      // conv1–conv4 halve the grid after them, conv5 keeps it (a 2x2 pool of stride 1), conv6 and conv7 have none.
      const layers: [SeparableConv | undefined, 2 | 1 | 0][] = [
        [params.conv1, 2],
        [params.conv2, 2],
        [params.conv3, 2],
        [params.conv4, 2],
        [params.conv5, 1],
        [params.conv6, 0],
        [params.conv7, 0],
      ];
      for (const [conv, poolStride] of layers) {
        if (!conv) continue;
        // face-api pads by one pixel and convolves 'valid': the same as 'same' for a 3x3 kernel at stride 1.
        out = tf.depthwiseConv2d(out, conv.depthwise_filter, 1, 'same');
        out = tf.fused.conv2d({
          x: out,
          filter: conv.pointwise_filter,
          bias: conv.bias,
          strides: 1,
          pad: 'valid',
          activation: 'leakyrelu',
          leakyreluAlpha: LEAKY_ALPHA,
        });
        if (poolStride > 0) out = tf.maxPool(out, 2, poolStride, 'same');
      }
      return tf.fused.conv2d({ x: out, filter: params.conv8.filters, bias: params.conv8.bias, strides: 1, pad: 'valid' });
    });
  }
}

/** The scaled frame's size (face-api's computeReshapedDimensions) and the network input's: the square, or the picture rounded up to the stride. */
function inputShape(width: number, height: number, inputSize: number, square: boolean) {
  const scale = inputSize / Math.max(width, height);
  const picture = { width: Math.round(width * scale), height: Math.round(height * scale) };
  const stride = (size: number) => Math.min(inputSize, Math.ceil(size / STRIDE) * STRIDE);
  return { picture, input: square ? { width: inputSize, height: inputSize } : { width: stride(picture.width), height: stride(picture.height) } };
}

/**
 * Boxes above the threshold from the [rows, columns, anchors × 5] output, non-max suppressed, in frame
 * pixels. As face-api's TinyYolov2Base.extractBoxes, with the cell size in input pixels (the stride)
 * where face-api divides by the cell count of its square.
 */
export function decode(
  values: Float32Array,
  rows: number,
  columns: number,
  picture: { readonly width: number; readonly height: number },
  width: number,
  height: number,
  inputSize: number,
  scoreThreshold: number,
): TinyFaceDetection[] {
  const found: { left: number; top: number; right: number; bottom: number; score: number }[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < columns; col++) {
      for (let anchor = 0; anchor < ANCHORS.length; anchor++) {
        const at = ((row * columns + col) * ANCHORS.length + anchor) * BOX_ENCODING;
        const score = sigmoid(values[at + 4]);
        if (scoreThreshold && score <= scoreThreshold) continue;
        // Relative to the scaled picture, as face-api's boxes are.
        const centreX = ((col + sigmoid(values[at])) * STRIDE) / picture.width;
        const centreY = ((row + sigmoid(values[at + 1])) * STRIDE) / picture.height;
        const boxWidth = (Math.exp(values[at + 2]) * ANCHORS[anchor][0] * STRIDE) / picture.width;
        const boxHeight = (Math.exp(values[at + 3]) * ANCHORS[anchor][1] * STRIDE) / picture.height;
        const left = centreX - boxWidth / 2;
        const top = centreY - boxHeight / 2;
        found.push({ left, top, right: left + boxWidth, bottom: top + boxHeight, score });
      }
    }
  }
  return suppress(found, inputSize).map((f) => ({
    x: f.left * width,
    y: f.top * height,
    width: (f.right - f.left) * width,
    height: (f.bottom - f.top) * height,
    score: f.score,
  }));
}

/** Greedy non-max suppression, highest score first, at IoU > 0.4 on the boxes scaled to the input size (face-api's order on ties). */
function suppress<T extends { left: number; top: number; right: number; bottom: number; score: number }>(boxes: readonly T[], inputSize: number): T[] {
  const scaled = boxes.map((b) => ({ left: b.left * inputSize, top: b.top * inputSize, right: b.right * inputSize, bottom: b.bottom * inputSize }));
  let order = boxes
    .map((b, i) => ({ score: b.score, i }))
    .sort((p, q) => p.score - q.score)
    .map((p) => p.i);
  const picked: T[] = [];
  while (order.length > 0) {
    const best = order.pop()!;
    picked.push(boxes[best]);
    order = order.filter((i) => iou(scaled[best], scaled[i]) <= IOU_THRESHOLD);
  }
  return picked;
}

function iou(p: { left: number; top: number; right: number; bottom: number }, q: { left: number; top: number; right: number; bottom: number }): number {
  const w = Math.max(0, Math.min(p.right, q.right) - Math.max(p.left, q.left));
  const h = Math.max(0, Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top));
  const overlap = w * h;
  const area = (b: typeof p) => (b.right - b.left) * (b.bottom - b.top);
  return overlap / (area(p) + area(q) - overlap);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
