// The tiny face detector's lean forward pass against face-api's own, on face-api's real group photos
// (demo/sample1-6.jpg, 3–5 people each): the same faces, boxes and scores, at the input sizes the
// stage allows, on frames the shape the stage analyses (letterboxed 640x360) and on a tall frame.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { TinyFaceDetector, letterbox, type TinyFaceDetectorParams } from '../../../stages/cues/tiny-face-detector.ts';
import { faceModels, loadNet, type FaceModels } from '../../../stages/cues/visual-worker.ts';

const demo = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');

async function frame(photo: number, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(join(demo, `sample${photo}.jpg`))
    .resize(width, height, { fit: 'contain', background: '#000' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

let models: FaceModels;
let detector: TinyFaceDetector;

beforeAll(async () => {
  models = await faceModels();
  await loadNet(models, 'tinyFaceDetector');
  detector = new TinyFaceDetector(models.tf, models.faceapi.nets.tinyFaceDetector.params as unknown as TinyFaceDetectorParams);
}, 60_000);

async function faceApiDetections(pixels: Uint8Array, width: number, height: number, inputSize: number) {
  const { faceapi, tf } = models;
  const image = tf.tensor3d(pixels, [height, width, 3], 'int32');
  try {
    const found = await faceapi.detectAllFaces(image as never, new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: 0.5 }));
    return found.map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height, score: d.score }));
  } finally {
    image.dispose();
  }
}

describe('the tiny face detector', () => {
  it('finds the faces face-api finds in the real group photos, with the same boxes and scores', async () => {
    let faces = 0;
    for (const [width, height] of [
      [640, 360],
      [360, 480],
    ]) {
      for (const photo of [1, 2, 3, 4, 5, 6]) {
        const pixels = await frame(photo, width, height);
        for (const inputSize of [224, 320, 416]) {
          const expected = await faceApiDetections(pixels, width, height, inputSize);
          const found = await detector.detect(pixels, width, height, inputSize, 0.5);
          expect(found.length, `sample${photo} ${width}x${height} at ${inputSize}`).toBe(expected.length);
          for (const [i, face] of found.entries()) {
            for (const key of ['x', 'y', 'width', 'height'] as const) expect(face[key]).toBeCloseTo(expected[i][key], 2);
            expect(face.score).toBeCloseTo(expected[i].score, 4);
          }
          faces += found.length;
        }
      }
    }
    // The photos hold 3–5 people each; at 640x360 the small ones are below what the detector finds, but most are found.
    expect(faces).toBeGreaterThanOrEqual(40);
  }, 120_000);

  it('finds the people of sample1.jpg where they are', async () => {
    const pixels = await frame(1, 640, 360);
    const found = await detector.detect(pixels, 640, 360, 320, 0.5);
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const face of found) {
      // Faces, not frame-sized blobs: a plausible size, inside the picture.
      expect(face.width).toBeGreaterThan(20);
      expect(face.width).toBeLessThan(200);
      expect(face.x + face.width / 2).toBeGreaterThan(0);
      expect(face.x + face.width / 2).toBeLessThan(640);
      expect(face.y + face.height / 2).toBeLessThan(360);
    }
  });

  it('letterboxes: black padding below a wide frame, the channel means taken off', () => {
    const white = new Uint8Array(64 * 32 * 3).fill(255);
    const input = letterbox(white, 64, 32, 32);
    // Row 0 is picture (white), the last row is padding (black): (value - mean) / 255.
    expect(input[0]).toBeCloseTo((255 - 117.001) / 255, 5);
    expect(input[(31 * 32 + 5) * 3 + 2]).toBeCloseTo(-97.404 / 255, 5);
  });
});
