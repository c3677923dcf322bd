// The clues stage on the offline rules teacher: the visual clue walks the keyframes in temporal
// order from the face cues, the audio clue reads the prosody, and too few keyframes skip the visual clue.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { createTeacherRegistry } from '../../pipelines/teachers/registry.ts';
import { Segment } from '../../schemas/records.ts';
import { cluesStage, CluesConfig } from '../../stages/clues.ts';
import { stageContext, tempDir } from '../helpers.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
let root: string;
let store: LocalStore;

beforeAll(async () => {
  root = await tempDir('emoforge-clues-stage-');
  store = new LocalStore(join(root, 'store'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const probs = (top: string, p: number) =>
  Object.fromEntries(['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'].map((e) => [e, e === top ? p : (1 - p) / 6]));

async function segmentWithFrames(frameCount: number): Promise<Segment> {
  const frames = [];
  // Stored out of order: the stage must sort by time.
  for (const i of [...Array(frameCount).keys()].reverse()) {
    const key = `media/test/frame-${frameCount}-${i}.jpg`;
    await store.put(key, Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    frames.push({ key, bytes: 4, time: i * 0.5 });
  }
  await store.put('media/test/a.wav', Buffer.from('RIFF0000WAVE'));
  return Segment.parse({
    id: hex(`seg${frameCount}`),
    clipId: hex('clip'),
    clip: {
      id: hex('clip'),
      uri: 'a.mp4',
      name: 'a',
      bytes: 1,
      probe: { duration: 3, formatName: 'mp4', hasVideo: true, hasAudio: true },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3,
    frames,
    audio: { key: 'media/test/a.wav', bytes: 12 },
    cues: {
      visual: {
        detector: 'ssd',
        faceRatio: 0.75,
        dominant: 'sad',
        stability: 0.67,
        crops: [],
        meanExpressions: probs('sad', 0.6),
        frames: [...Array(frameCount).keys()].map((i) => ({
          time: i * 0.5,
          faces: i === 1 ? 0 : 1,
          box: null,
          expressions: i === 1 ? null : probs(i === 3 ? 'neutral' : 'sad', 0.7),
        })),
      },
      acoustic: {
        duration: 3,
        f0MeanHz: 95.2,
        f0SdHz: 8.1,
        f0MinHz: 80,
        f0MaxHz: 120,
        voicedRatio: 0.5,
        rmsDb: -31.5,
        rmsSdDb: 2.2,
        pauseRatio: 0.42,
        speechRate: 1.6,
        speechRateSource: 'transcript',
        f0SlopeHzPerS: -14,
      },
    },
  });
}

describe('clues stage on rules', () => {
  it('writes a temporal visual clue and a prosody clue with provenance', async () => {
    const { ctx } = stageContext({ store, stage: 'clues', teachers: createTeacherRegistry() });
    const out = await cluesStage.run(await segmentWithFrames(4), CluesConfig.parse({}), ctx);
    if ('drop' in out) throw new Error(out.detail);
    expect(out.clues?.visual?.frames).toEqual([0, 0.5, 1, 1.5]);
    expect(out.clues?.visual?.text).toMatch(
      /^Keyframe 1 \(0\.0 s\): the face looks sad \(0\.70\); keyframe 2 \(0\.5 s\): no face is visible; keyframe 3 .* keyframe 4 \(1\.5 s\): the face looks neutral/,
    );
    expect(out.clues?.visual?.provenance).toEqual({ teacher: 'rules', model: expect.stringMatching(/^rules-v/), template: 'vision.rules@1' });
    expect(out.clues?.acoustic?.text).toMatch(
      /averages 95 Hz ranging from 80 to 120 Hz, with a flat intonation \(sd 8 Hz\), falling over the utterance\. The voice is quiet \(-31\.5 dBFS\).*long pauses break the rhythm \(42% silence\)/,
    );
  });

  it('skips the visual clue below minFrames and writes only the modalities asked for', async () => {
    const { ctx } = stageContext({ store, stage: 'clues', teachers: createTeacherRegistry() });
    const few = await cluesStage.run(await segmentWithFrames(2), CluesConfig.parse({}), ctx);
    if ('drop' in few) throw new Error(few.detail);
    expect(few.clues?.visual).toBeUndefined();
    expect(few.clues?.acoustic?.text).toBeTruthy();
    const videoOnly = await cluesStage.run(await segmentWithFrames(4), CluesConfig.parse({ modalities: ['video'] }), ctx);
    if ('drop' in videoOnly) throw new Error(videoOnly.detail);
    expect(videoOnly.clues?.acoustic).toBeUndefined();
    expect(() => CluesConfig.parse({ minFrames: 9, maxFrames: 8 })).toThrow(/minFrames must not exceed maxFrames/);
  });
});
