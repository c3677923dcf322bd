// face-api's 68-point landmark nets (full and tiny) and its expression net, run with their own loaded
// weights but a leaner forward pass, all faces of a frame in one batch. face-api builds each face's
// input with tensor ops (a crop tensor, then pad to a square and subtract the channel means with
// tf.concat: on the WASM backend more than the small nets' convolutions) and runs one face a call
// with each separable convolution's bias added apart. Here the inputs come straight from the frame's
// bytes (net-input.ts) and the pointwise convolutions carry their bias and ReLU (tf.fused). Same
// weights: the landmarks match face-api's to float rounding, the expressions to ~1e-5
// (tests/stages/cues/face-crop-nets.test.ts).
import type { Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { Box } from './face-tracks.ts';
import { squareInput, type PixelRegion } from './net-input.ts';

type TfCore = typeof import('@tensorflow/tfjs-core');

interface ConvParams {
  readonly filters: Tensor4D;
  readonly bias: Tensor1D;
}

interface SeparableConvParams {
  readonly depthwise_filter: Tensor4D;
  readonly pointwise_filter: Tensor4D;
  readonly bias: Tensor1D;
}

interface DenseBlockParams {
  readonly conv0: ConvParams | SeparableConvParams;
  readonly conv1: SeparableConvParams;
  readonly conv2: SeparableConvParams;
  readonly conv3?: SeparableConvParams;
}

/** What this needs of one of face-api's loaded face-processor nets (landmarks or expressions). */
export interface FaceProcessorNet {
  readonly params: { readonly fc: { readonly weights: Tensor2D; readonly bias: Tensor1D } } | undefined;
  readonly faceFeatureExtractor: { readonly params: Record<string, DenseBlockParams> | undefined };
}

/** A face's 68 landmarks relative to its crop (0–1), and the crop's size in pixels: what face-api's FaceLandmarks68 takes. */
export interface CropLandmarks {
  readonly points: readonly { readonly x: number; readonly y: number }[];
  readonly width: number;
  readonly height: number;
}

/** Side of the nets' input, and the face feature extractors' channel means (face-api's faceFeatureExtractor). */
const INPUT_SIZE = 112;
const MEAN_RGB: [number, number, number] = [122.782, 117.001, 104.298];
const INPUT_VALUES = INPUT_SIZE * INPUT_SIZE * 3;

export class FaceCropNets {
  constructor(private readonly tf: TfCore) {}

  /**
   * The 68 landmarks of each face box of an RGB frame, relative to the box's crop. `tiny`: the tiny
   * net (three dense blocks of three convolutions), else the full one (four blocks of four).
   */
  async landmarks(net: FaceProcessorNet, tiny: boolean, pixels: Uint8Array, width: number, height: number, boxes: readonly Box[]): Promise<CropLandmarks[]> {
    if (boxes.length === 0) return [];
    const regions = boxes.map((box) => cropRegion(box, width, height));
    const values = await this.run(net, tiny ? 3 : 4, tiny ? 14 : 7, pixels, width, regions, (_tf, logits) => logits);
    return regions.map((region, face) => {
      // As face-api's FaceLandmark68NetBase.postProcess: undo the padding of the square, per axis.
      const scale = INPUT_SIZE / Math.max(region.width, region.height);
      const scaledWidth = region.width * scale;
      const scaledHeight = region.height * scale;
      const padX = scaledWidth < scaledHeight ? Math.abs(scaledWidth - scaledHeight) / 2 : 0;
      const padY = scaledHeight < scaledWidth ? Math.abs(scaledWidth - scaledHeight) / 2 : 0;
      const points: { x: number; y: number }[] = [];
      for (let i = 0; i < 68; i++) {
        const at = face * 136 + 2 * i;
        points.push({ x: (values[at] * INPUT_SIZE - padX) / scaledWidth, y: (values[at + 1] * INPUT_SIZE - padY) / scaledHeight });
      }
      return { points, width: region.width, height: region.height };
    });
  }

  /** The seven expression probabilities of each face box (face-api's order: neutral, happy, sad, angry, fearful, disgusted, surprised). */
  async expressions(net: FaceProcessorNet, pixels: Uint8Array, width: number, height: number, boxes: readonly Box[]): Promise<Float32Array[]> {
    if (boxes.length === 0) return [];
    const values = await this.run(
      net,
      4,
      7,
      pixels,
      width,
      boxes.map((box) => cropRegion(box, width, height)),
      (tf, logits) => tf.softmax(logits),
    );
    return boxes.map((_, face) => values.slice(face * 7, face * 7 + 7));
  }

  /** The feature extractor (as many dense blocks as each has convolutions), its average pool, the classifier, then `head` on the logits; all regions in one batch. */
  private async run(
    net: FaceProcessorNet,
    convsPerBlock: 3 | 4,
    pool: number,
    pixels: Uint8Array,
    width: number,
    regions: readonly PixelRegion[],
    head: (tf: TfCore, logits: Tensor2D) => Tensor2D,
  ): Promise<Float32Array> {
    const { tf } = this;
    const extractor = net.faceFeatureExtractor.params;
    if (!extractor || !net.params) throw new Error('face-api net used before its weights loaded');
    const { fc } = net.params;
    const input = new Float32Array(regions.length * INPUT_VALUES);
    for (const [i, region] of regions.entries()) {
      // face-api pads a crop to a square centred: half the difference (rounded) after, the rest before.
      const difference = Math.abs(region.width - region.height);
      squareInput(pixels, width, region, difference - Math.round(difference / 2), INPUT_SIZE, MEAN_RGB, input, i * INPUT_VALUES);
    }
    const batch = tf.tensor4d(input, [regions.length, INPUT_SIZE, INPUT_SIZE, 3], 'float32');
    let output: Tensor2D;
    try {
      output = tf.tidy(() => {
        let out: Tensor4D = batch;
        for (const name of ['dense0', 'dense1', 'dense2', 'dense3'].slice(0, convsPerBlock)) out = denseBlock(tf, out, extractor[name], convsPerBlock);
        out = tf.avgPool(out, pool, 2, 'valid');
        return head(tf, tf.add(tf.matMul(tf.reshape(out, [regions.length, -1]), fc.weights), fc.bias));
      });
    } finally {
      batch.dispose();
    }
    try {
      return (await output.data()) as Float32Array;
    } finally {
      output.dispose();
    }
  }
}

/**
 * face-api's dense block (faceFeatureExtractor/denseBlock.ts): a stride-2 convolution, then 2 or 3
 * separable ones, each fed the ReLU of the sum of those before it; the output is the ReLU of the sum
 * of all. Sums in face-api's order, so the floats match.
 */
function denseBlock(tf: TfCore, x: Tensor4D, params: DenseBlockParams, convs: 3 | 4): Tensor4D {
  const conv0 = params.conv0;
  const out1 =
    'filters' in conv0
      ? tf.fused.conv2d({ x, filter: conv0.filters, bias: conv0.bias, strides: 2, pad: 'same', activation: 'relu' })
      : separable(tf, x, conv0, 2, 'relu');
  const out2 = separable(tf, out1, params.conv1, 1, 'linear');
  const add = (a: Tensor4D, b: Tensor4D) => tf.add<Tensor4D>(a, b);
  const out3 = separable(tf, tf.relu(add(out1, out2)), params.conv2, 1, 'linear');
  if (convs === 3) return tf.relu(add(out1, add(out2, out3)));
  const out4 = separable(tf, tf.relu(add(out1, add(out2, out3))), params.conv3!, 1, 'linear');
  return tf.relu(add(out1, add(out2, add(out3, out4))));
}

function separable(tf: TfCore, x: Tensor4D, params: SeparableConvParams, stride: 1 | 2, activation: 'relu' | 'linear'): Tensor4D {
  const depthwise = tf.depthwiseConv2d(x, params.depthwise_filter, stride, 'same');
  return tf.fused.conv2d({ x: depthwise, filter: params.pointwise_filter, bias: params.bias, strides: 1, pad: 'valid', activation });
}

/** The whole pixels of a box inside the frame, as face-api's extractFaceTensors cuts them (clipped, floored). */
export function cropRegion(box: Box, width: number, height: number): PixelRegion {
  const x = Math.floor(Math.max(box.x, 0));
  const y = Math.floor(Math.max(box.y, 0));
  const w = Math.max(1, Math.floor(Math.min(box.x + box.width - Math.max(box.x, 0), width - Math.max(box.x, 0))));
  const h = Math.max(1, Math.floor(Math.min(box.y + box.height - Math.max(box.y, 0), height - Math.max(box.y, 0))));
  return { x, y, width: w, height: h };
}
