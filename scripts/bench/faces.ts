// Face analysis benchmark: frames per second per core of cues.visual's worker (face-api on the tfjs
// WASM backend, one thread) with each detector, on N keyframes of the astronaut portrait at the
// segment stage's default size (640x360), framed a little differently each time. Model loading is
// timed apart (the first frame of each detector) so the rates are steady-state.
//
//   npx tsx scripts/bench/faces.ts [--frames 20]
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { analyseFaces, closeFaceWorkers, type FaceDetector } from '../../stages/cues/visual-worker.ts';
import { findFaceImage } from '../face-image.ts';

const DETECTORS: readonly FaceDetector[] = ['ssd', 'tiny'];

interface Measurement {
  readonly detector: FaceDetector;
  readonly firstMs: number;
  readonly msPerFrame: number;
  readonly workerMsPerFrame: number;
  readonly facesFound: number;
  readonly frames: number;
}

async function keyframes(count: number): Promise<Buffer[]> {
  const portrait = await findFaceImage();
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const side = 240 + ((i * 37) % 120); // 240..359 px: the face's size varies a little
    const face = await sharp(portrait).resize(side, side).toBuffer();
    const left = (i * 53) % (640 - side);
    const canvas = sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 30 + i, g: 40, b: 60 } } });
    frames.push(await canvas.composite([{ input: face, left, top: 360 - side }]).jpeg({ quality: 90 }).toBuffer());
  }
  return frames;
}

async function measure(detector: FaceDetector, frames: Buffer[]): Promise<Measurement> {
  const options = { detector, minConfidence: 0.5, tinyInputSize: 416 };
  const signal = new AbortController().signal;
  let started = performance.now();
  await analyseFaces('warm-up', frames[0], options, signal);
  const firstMs = performance.now() - started;
  let facesFound = 0;
  let workerMs = 0;
  started = performance.now();
  for (const [i, jpeg] of frames.entries()) {
    const analysis = await analyseFaces(`frame-${i}`, jpeg, options, signal);
    if (analysis.faces > 0) facesFound++;
    workerMs += analysis.modelMs;
  }
  const elapsed = performance.now() - started;
  return { detector, firstMs, msPerFrame: elapsed / frames.length, workerMsPerFrame: workerMs / frames.length, facesFound, frames: frames.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { frames: { type: 'string', default: '20' } } });
  const count = Number(values.frames);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--frames must be a positive integer, got ${values.frames}`);
  const frames = await keyframes(count);
  const results: Measurement[] = [];
  // Each detector gets a fresh worker, so its first frame includes loading the expression net too.
  for (const detector of DETECTORS) {
    results.push(await measure(detector, frames));
    await closeFaceWorkers();
  }
  const rows: [string, (m: Measurement) => string][] = [
    ['first frame (load), ms', (m) => m.firstMs.toFixed(0)],
    ['ms / frame (round trip)', (m) => m.msPerFrame.toFixed(1)],
    ['ms / frame (in worker)', (m) => m.workerMsPerFrame.toFixed(1)],
    ['frames / s / core', (m) => (1000 / m.msPerFrame).toFixed(2)],
    ['frames with a face', (m) => `${m.facesFound}/${m.frames}`],
  ];
  console.log(`${count} keyframes of 640x360, one worker thread, WASM backend (1 thread)\n`);
  console.log(['', ...results.map((m) => m.detector)].map((cell, i) => (i === 0 ? cell.padEnd(26) : cell.padStart(10))).join(''));
  for (const [label, cell] of rows) console.log([label.padEnd(26), ...results.map((m) => cell(m).padStart(10))].join(''));
}

await main();
