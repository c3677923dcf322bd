// The landmark and expression nets' lean batched forward pass against face-api's own, on the faces of
// face-api's real group photos (demo/sample1-6.jpg): the same 68 landmarks and the same expressions.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceCropNets, cropRegion, type FaceProcessorNet } from '../../../stages/cues/face-crop-nets.ts';
import { faceModels, loadNet, type FaceModels } from '../../../stages/cues/visual-worker.ts';

const demo = join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
const WIDTH = 640;
const HEIGHT = 360;
const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;

let models: FaceModels;
let nets: FaceCropNets;

/** A photo letterboxed into a 640x360 frame, its pixels and face-api's detections (SSD) on it. */
async function photo(number: number) {
  const { faceapi, tf } = models;
  const { data } = await sharp(join(demo, `sample${number}.jpg`))
    .resize(WIDTH, HEIGHT, { fit: 'contain', background: '#000' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const image = tf.tensor3d(pixels, [HEIGHT, WIDTH, 3], 'int32');
  const detections = await faceapi.detectAllFaces(image as never, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }));
  return { pixels, image, detections };
}

beforeAll(async () => {
  models = await faceModels();
  for (const net of ['ssdMobilenetv1', 'faceLandmark68Net', 'faceLandmark68TinyNet'] as const) await loadNet(models, net);
  nets = new FaceCropNets(models.tf);
}, 60_000);

describe('the landmark and expression nets on crops cut from the frame', () => {
  it('give face-api’s landmarks (tiny and full net) and expressions for every face of the real group photos', async () => {
    const { faceapi } = models;
    let faces = 0;
    for (const number of [1, 2, 3, 4, 5, 6]) {
      const { pixels, image, detections } = await photo(number);
      try {
        const crops = await faceapi.extractFaceTensors(image as never, detections);
        for (const tiny of [true, false]) {
          const net = tiny ? faceapi.nets.faceLandmark68TinyNet : faceapi.nets.faceLandmark68Net;
          const ours = await nets.landmarks(
            net as unknown as FaceProcessorNet,
            tiny,
            pixels,
            WIDTH,
            HEIGHT,
            detections.map((d) => d.box),
          );
          expect(ours).toHaveLength(detections.length);
          for (const [i, crop] of crops.entries()) {
            const theirs = (await net.detectLandmarks(crop)) as InstanceType<typeof faceapi.FaceLandmarks68>;
            const mine = new faceapi.FaceLandmarks68(
              ours[i].points.map((p) => new faceapi.Point(p.x, p.y)),
              { width: ours[i].width, height: ours[i].height },
            );
            expect(ours[i]).toMatchObject({ width: crop.shape[1], height: crop.shape[0] });
            for (const [k, point] of mine.positions.entries()) {
              expect(point.x).toBeCloseTo(theirs.positions[k].x, 2);
              expect(point.y).toBeCloseTo(theirs.positions[k].y, 2);
            }
          }
        }
        const expressions = await nets.expressions(
          faceapi.nets.faceExpressionNet as unknown as FaceProcessorNet,
          pixels,
          WIDTH,
          HEIGHT,
          detections.map((d) => d.box),
        );
        for (const [i, crop] of crops.entries()) {
          const theirs = (await faceapi.nets.faceExpressionNet.predictExpressions(crop)) as unknown as Record<string, number>;
          for (const [k, name] of EXPRESSIONS.entries()) expect(expressions[i][k]).toBeCloseTo(theirs[name], 4);
          expect(expressions[i].reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
        }
        for (const crop of crops) crop.dispose();
        faces += detections.length;
      } finally {
        image.dispose();
      }
    }
    expect(faces).toBeGreaterThanOrEqual(12);
  }, 180_000);

  it('cuts a box crossing the frame edge as face-api does: clipped, whole pixels', () => {
    expect(cropRegion({ x: -10.5, y: 20.7, width: 50, height: 40 }, 640, 360)).toEqual({ x: 0, y: 20, width: 39, height: 40 });
    expect(cropRegion({ x: 620.2, y: 340, width: 50, height: 50 }, 640, 360)).toEqual({ x: 620, y: 340, width: 19, height: 20 });
  });
});
