// The pure parts of cues.visual: linking detections into tracks, picking the speaker, landmark
// geometry. The real-photo measurements are in visual.test.ts.
import { describe, expect, it } from 'vitest';
import { findSpeaker, pearson, speechEnvelope } from '../../../stages/cues/active-speaker.ts';
import { faceGeometry, summariseGeometry } from '../../../stages/cues/face-geometry.ts';
import { FaceLinker, iou } from '../../../stages/cues/face-tracks.ts';

const box = (x: number, y = 50, size = 60) => ({ x, y, width: size, height: size });
const descriptor = (seed: number) => Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed * 7.3 + i) * 0.1);

describe('FaceLinker', () => {
  it('continues tracks by overlap, re-identifies faces after a cut by descriptor, and starts tracks for new faces', async () => {
    const linker = new FaceLinker({ minIou: 0.3, maxDescriptorDistance: 0.55, maxGapFrames: 2 });
    const people = { a: descriptor(1), b: descriptor(2), c: descriptor(3) };
    const asked: Float32Array[] = [];
    const describe = (list: Float32Array[]) => (i: number) => async () => {
      asked.push(list[i]);
      return list[i];
    };
    const refuse = () => () => Promise.reject(new Error('no descriptor needed'));
    // Two new faces and nothing to compare them with: no descriptor made yet.
    expect(await linker.link(0, [box(10), box(200)], false, describe([people.a, people.b]))).toEqual([0, 1]);
    expect(linker.descriptorsComputed).toBe(0);
    // Moving a little: overlap links them, no descriptor needed (the second would be refused).
    expect(await linker.link(1, [box(205), box(18)], false, refuse)).toEqual([1, 0]);
    // A cut to someone else: compared with a and b (made now, from what frame 0 handed over), a new track.
    expect(await linker.link(2, [box(18)], true, describe([people.c]))).toEqual([2]);
    expect(asked).toEqual([people.c, people.a, people.b]);
    // Cut back: b and a are recognised wherever they stand now.
    expect(await linker.link(3, [box(400), box(100)], true, describe([people.a, people.b]))).toEqual([0, 1]);
    expect(linker.trackCount).toBe(3);
    expect(linker.descriptorsComputed).toBe(5);
    expect(iou(box(0), box(30))).toBeCloseTo(1 / 3, 5);
  });

  it('makes each descriptor once, and the waiting ones of many new faces before they pile up', async () => {
    const linker = new FaceLinker({ minIou: 0.3, maxDescriptorDistance: 0.55, maxGapFrames: 2 });
    let made = 0;
    // One person per axis: every two are sqrt(2) apart, far over the threshold.
    const person = (n: number) => Float32Array.from({ length: 128 }, (_, i) => (i === n ? 1 : 0));
    const describe = (n: number) => () => async () => {
      made++;
      return person(n);
    };
    // Twelve faces, one new face a frame, far apart: each is compared with the tracks before it, so
    // every descriptor is needed once, and never made twice.
    for (let frame = 0; frame < 12; frame++) expect(await linker.link(frame, [box(70 * frame, 50, 40)], true, describe(frame))).toEqual([frame]);
    expect(made).toBe(12);
    expect(linker.descriptorsComputed).toBe(12);
    // Twelve faces in one frame with nothing to compare them with: only those beyond the waiting limit are made.
    const crowd = new FaceLinker({ minIou: 0.3, maxDescriptorDistance: 0.55, maxGapFrames: 2 });
    const boxes = Array.from({ length: 12 }, (_, i) => box(50 * i, 50, 40));
    expect(await crowd.link(0, boxes, false, (i) => describe(20 + i)())).toEqual(boxes.map((_, i) => i));
    expect(crowd.descriptorsComputed).toBe(4);
  });
});

describe('findSpeaker', () => {
  const frames = Array.from({ length: 32 }, (_, i) => i);
  // A syllable-like envelope in dBFS with silence at both ends.
  const envelope = frames.map((i) => (i < 3 || i > 28 ? -90 : -20 - 15 * Math.abs(Math.sin(i * 1.3))));
  const talking = frames.map((i) => (envelope[i] + 90) / 300 + 0.01 * Math.cos(i));
  const still = frames.map((i) => 0.05 + 0.002 * Math.sin(i * 2.1));
  const options = { minConfidence: 0.2, minCoverage: 0.25 };

  it('names the face whose mouth moves with the speech, with a confidence over the others', () => {
    const verdict = findSpeaker(
      [
        { id: 'face-1', frames, mouthOpening: still },
        { id: 'face-2', frames, mouthOpening: talking },
      ],
      envelope,
      options,
    );
    expect(verdict.track).toBe('face-2');
    expect(verdict.method).toBe('av-correlation');
    expect(verdict.confidence).toBeGreaterThan(0.8);
    expect(verdict.scores.find((s) => s.track === 'face-2')!.correlation).toBeGreaterThan(0.9);
  });

  it('claims nobody when no mouth moves with it, or when there is no speech; a lone still face is not the speaker', () => {
    expect(findSpeaker([{ id: 'face-1', frames, mouthOpening: still }], envelope, options)).toMatchObject({ track: null, method: 'single-face' });
    // Correlated jitter on a face that barely moves counts for little.
    const jitter = talking.map((v) => 0.05 + v / 50);
    expect(findSpeaker([{ id: 'face-1', frames, mouthOpening: jitter }], envelope, options).track).toBeNull();
    expect(findSpeaker([{ id: 'face-1', frames, mouthOpening: talking }], null, options)).toMatchObject({ track: null, method: 'no-speech' });
    expect(findSpeaker([], envelope, options)).toMatchObject({ track: null, method: 'no-face' });
    // Two mouths moving with one voice: too close to call.
    expect(
      findSpeaker(
        [
          { id: 'face-1', frames, mouthOpening: talking },
          { id: 'face-2', frames, mouthOpening: talking },
        ],
        envelope,
        options,
      ).track,
    ).toBeNull();
  });

  it('measures the envelope of a WAV at frame times and correlates', () => {
    const samples = Float32Array.from({ length: 16000 }, (_, i) => (i >= 8000 ? 0.5 * Math.sin(i / 5) : 0));
    const [quiet, loud] = speechEnvelope(samples, 16000, [0.25, 0.75], 0.125);
    expect(quiet).toBeLessThan(-100);
    expect(loud).toBeCloseTo(20 * Math.log10(0.5 / Math.SQRT2), 0);
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 10);
  });
});

describe('faceGeometry', () => {
  /** A frontal 68-point layout (iBUG order) with the mouth open by `gap` pixels and the corners raised by `lift`. */
  function face(gap: number, lift = 0): number[] {
    const p: [number, number][] = [];
    for (let i = 0; i <= 16; i++) p.push([20 + i * 10, 100 + 60 * Math.sin((i / 16) * Math.PI)]); // jaw 0-16
    for (let i = 0; i < 5; i++) p.push([45 + i * 10, 70]); // right brow 17-21
    for (let i = 0; i < 5; i++) p.push([125 + i * 10, 70]); // left brow 22-26
    for (let i = 0; i < 4; i++) p.push([100, 90 + i * 10]); // nose bridge 27-30
    for (let i = 0; i < 5; i++) p.push([80 + i * 10, 130]); // nostrils 31-35
    const eye = (cx: number) =>
      [
        [cx - 15, 90],
        [cx - 5, 85],
        [cx + 5, 85],
        [cx + 15, 90],
        [cx + 5, 95],
        [cx - 5, 95],
      ] as [number, number][];
    p.push(...eye(60), ...eye(140)); // eyes 36-47
    const y = 160;
    const outer: [number, number][] = [
      [70, y - lift],
      [80, y - 6],
      [90, y - 8],
      [100, y - 7],
      [110, y - 8],
      [120, y - 6],
      [130, y - lift],
      [120, y + 6 + gap],
      [110, y + 8 + gap],
      [100, y + 9 + gap],
      [90, y + 8 + gap],
      [80, y + 6 + gap],
    ];
    const inner: [number, number][] = [
      [75, y - lift],
      [90, y - 2],
      [100, y - 2],
      [110, y - 2],
      [125, y - lift],
      [110, y + 2 + gap],
      [100, y + 2 + gap],
      [90, y + 2 + gap],
    ];
    p.push(...outer, ...inner); // lips 48-67
    return p.flat();
  }

  it('gives unit-free ratios that follow the mouth, the lip corners, and not the face size', () => {
    const closed = faceGeometry(face(0));
    const open = faceGeometry(face(20));
    expect(open.mouthOpening - closed.mouthOpening).toBeCloseTo(20 / 80, 5); // inter-ocular distance 80
    expect(faceGeometry(face(0, 6)).lipCornerRaise).toBeGreaterThan(closed.lipCornerRaise);
    expect(Math.abs(closed.headYaw)).toBeLessThan(1e-9);
    expect(closed.eyeOpenness).toBeCloseTo(10 / 30, 5);
    const doubled = faceGeometry(face(20).map((v) => v * 2));
    for (const key of Object.keys(open) as (keyof typeof open)[]) expect(doubled[key]).toBeCloseTo(open[key], 9);
    const summary = summariseGeometry([closed, open])!;
    expect(summary.range.mouthOpening).toBeCloseTo(0.25, 5);
    expect(summarise([])).toBeNull();
  });
});

const summarise = summariseGeometry;
