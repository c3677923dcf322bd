import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageContext, tempDir } from '../../helpers.ts';
import { fliteWav } from '../../support/speech.ts';
import {
  CLIP_HEIGHT,
  CLIP_WIDTH,
  faceInClip,
  photoFaces,
  planClips,
  recordedPhoto,
  shotAt,
  talkingClip,
  type Photo,
  type TalkingClip,
} from '../../support/talking-faces.ts';
import { RecordError } from '../../../pipelines/errors.ts';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { isDrop } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import type { ArtefactRef } from '../../../schemas/artefact.ts';
import { VisualCues } from '../../../schemas/cues.ts';
import { Segment } from '../../../schemas/records.ts';
import { findFaceImage } from '../../../scripts/face-image.ts';
import { cuesVisual, trackSettings, type VisualConfig } from '../../../stages/cues/visual.ts';
import { closeFaceWorkers, trackFaces } from '../../../stages/cues/visual-worker.ts';

const run = promisify(execFile);

let root: string;
let store: LocalStore;
/** Clips of the astronaut portrait (640x360, 2 s, flite speech), a grey clip, and a file that is not a video. */
const clips: Record<'portrait' | 'grey' | 'broken', { path: string; audio: ArtefactRef }> = {} as never;

async function putFile(kind: string, path: string): Promise<ArtefactRef> {
  const bytes = await readFile(path);
  const hash = sha256(bytes);
  const key = `media/${kind}/${hash.slice(0, 2)}/${hash}/${kind === 'audio' ? 'a.wav' : 'f.jpg'}`;
  await store.put(key, bytes);
  return { key, bytes: bytes.byteLength };
}

function makeSegment(
  path: string,
  options: { audio?: ArtefactRef; keyframes?: number; width?: number; height?: number; start?: number; end?: number },
): Segment {
  const clipId = sha256(`clip:${path}`);
  const { start = 0, end = 2, keyframes = 4 } = options;
  return Segment.parse({
    id: sha256(`segment:${clipId}:${start}`),
    clipId,
    clip: {
      id: clipId,
      uri: path,
      name: 'clip',
      bytes: 1000,
      probe: {
        duration: end,
        formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
        hasVideo: true,
        hasAudio: !!options.audio,
        width: options.width ?? 640,
        height: options.height ?? 360,
      },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start,
    end,
    ...(options.audio ? { audio: options.audio } : {}),
    // Keyframe refs as segment makes them: only their times matter to this stage.
    frames: Array.from({ length: keyframes }, (_, i) => ({
      key: `media/frames/00/none/${String(i).padStart(2, '0')}.jpg`,
      bytes: 1,
      time: Math.round((((i + 0.5) * (end - start)) / keyframes) * 1000) / 1000,
    })),
  });
}

const config = (overrides: Record<string, unknown> = {}): VisualConfig => cuesVisual.configSchema.parse(overrides);

/** A new store holding only the portrait's WAV: cues computed on it are computed, not found. */
async function storeWithAudio(): Promise<LocalStore> {
  const fresh = new LocalStore(await tempDir('emoforge-visual-store-'));
  await fresh.put(clips.portrait.audio.key, (await store.get(clips.portrait.audio.key))!);
  return fresh;
}

async function visualCues(segment: Segment, settings = config(), on = store, signal?: AbortSignal): Promise<VisualCues> {
  const { ctx, work } = stageContext({ store: on, stage: 'cues.visual', sourcePath: async (clip) => clip.uri, signal });
  const result = await cuesVisual.run(segment, settings, ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
  expect(work).toEqual({ dsp: 1 });
  return VisualCues.parse(result.cues!.visual);
}

beforeAll(async () => {
  root = await tempDir('emoforge-visual-');
  store = new LocalStore(root);
  const portrait = await findFaceImage();
  const speech = await fliteWav(root, 'I am so happy to be back on the ground with all of you.', 'speech');
  const audio = await putFile('audio', speech);
  const make = async (name: string, input: string[]) => {
    const path = join(root, `${name}.mp4`);
    await run('ffmpeg', ['-loglevel', 'error', '-y', ...input, '-t', '2', '-r', '16', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-threads', '1', path]);
    return path;
  };
  clips.portrait = {
    path: await make('portrait', ['-loop', '1', '-i', portrait, '-vf', 'scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2']),
    audio,
  };
  clips.grey = { path: await make('grey', ['-f', 'lavfi', '-i', 'color=c=gray:s=640x360']), audio };
  const broken = join(root, 'broken.mp4');
  await writeFile(broken, Buffer.from('this is not a video, just text with an .mp4 name'));
  clips.broken = { path: broken, audio };
});

afterAll(async () => {
  await closeFaceWorkers();
  await rm(root, { recursive: true, force: true });
});

describe('cues.visual on one face', () => {
  it('tracks the smiling astronaut through the clip, stores 224x224 crops and the peak frame', async () => {
    const visual = await visualCues(makeSegment(clips.portrait.path, { audio: clips.portrait.audio }));
    expect(visual.detector).toBe('tiny');
    expect(visual.analysis).toMatchObject({ fps: 8, width: 640, height: 360, frames: 16, cuts: 0 });
    expect(visual.tracks).toHaveLength(1);
    const [track] = visual.tracks!;
    expect(track.id).toBe('face-1');
    expect(track.times.length).toBeGreaterThanOrEqual(15);
    expect(track.meanExpressions.happy).toBeGreaterThan(0.9);
    expect(visual.described).toBe('face-1');
    expect(visual.otherFaces).toBe(0);
    expect(visual.dominant).toBe('happy');
    expect(visual.faceRatio).toBeGreaterThan(0.9);
    expect(visual.frames.map((f) => f.time)).toEqual([0.25, 0.75, 1.25, 1.75]);
    for (const frame of visual.frames) expect(frame.expressions!.happy).toBeGreaterThan(0.9);
    // A still portrait with speech: one face, but its mouth does not move with the voice.
    expect(visual.speaker).toMatchObject({ track: null, method: 'single-face' });
    expect(visual.speaker!.confidence).toBeLessThan(0.2);
    // Geometry of a smiling, frontal face: lip corners up, eyes open, head near frontal.
    expect(visual.geometry!.mean.lipCornerRaise).toBeGreaterThan(0);
    expect(visual.geometry!.mean.eyeOpenness).toBeGreaterThan(0.15);
    expect(Math.abs(visual.geometry!.mean.headYaw)).toBeLessThan(0.3);

    expect(visual.crops).toHaveLength(4);
    for (const crop of visual.crops) {
      expect(crop.key).toMatch(/^media\/faces\/[0-9a-f]{2}\/[0-9a-f]{64}\/\d{2}\.jpg$/);
      const bytes = (await store.get(crop.key))!;
      expect(bytes.byteLength).toBe(crop.bytes);
      expect(await sharp(bytes).metadata()).toMatchObject({ format: 'jpeg', width: 224, height: 224 });
    }
    expect(visual.peak).toMatchObject({ emotion: 'happy' });
    expect(visual.peak!.frame.key).toMatch(/^media\/frames\/[0-9a-f]{2}\/[0-9a-f]{64}\/peak\.jpg$/);
    expect(await sharp((await store.get(visual.peak!.frame.key))!).metadata()).toMatchObject({ format: 'jpeg', width: 640, height: 360 });
  });

  it('records no face for a plain clip and no speech without audio, without dropping', async () => {
    const grey = await visualCues(makeSegment(clips.grey.path, { audio: clips.grey.audio }));
    expect(grey).toMatchObject({
      tracks: [],
      meanExpressions: null,
      dominant: null,
      faceRatio: 0,
      crops: [],
      peak: null,
      described: null,
      otherFaces: 0,
      geometry: null,
    });
    expect(grey.speaker).toMatchObject({ track: null, method: 'no-face' });
    expect(grey.frames.every((f) => f.faces === 0 && f.box === null)).toBe(true);

    const silent = await visualCues(makeSegment(clips.portrait.path, {}), config({ crop: { enabled: false } }));
    expect(silent.speaker).toMatchObject({ track: null, method: 'no-speech' });
    expect(silent.dominant).toBe('happy');
    expect(silent.crops).toEqual([]);
  });

  it('gives identical cues and crop bytes for the same clip, across fresh workers and stores', async () => {
    const segment = makeSegment(clips.portrait.path, { audio: clips.portrait.audio });
    const oneStore = await storeWithAudio();
    const first = await visualCues(segment, config(), oneStore);
    await closeFaceWorkers();
    const otherStore = await storeWithAudio();
    const second = await visualCues(segment, config(), otherStore);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    for (const crop of first.crops) expect((await otherStore.get(crop.key))!.equals((await oneStore.get(crop.key))!)).toBe(true);
  });

  it('reuses the cues of the same media when only other fields change, and tracks again when the media or a crop differs', async () => {
    const own = await storeWithAudio();
    const segment = makeSegment(clips.portrait.path, { audio: clips.portrait.audio });
    const first = await visualCues(segment, config(), own);
    const run = async (input: Segment) => {
      const { ctx, work } = stageContext({ store: own, stage: 'cues.visual', sourcePath: async (clip) => clip.uri });
      const result = await cuesVisual.run(input, config(), ctx);
      if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
      return { visual: VisualCues.parse(result.cues!.visual), work };
    };
    // Another manifest (licence, transcript, speaker) and a transcript on the segment: no tracking, the same cues.
    const relabelled = Segment.parse({
      ...segment,
      clip: { ...segment.clip, manifest: { licence: 'CC BY 4.0', text: 'something else', speaker: 'B' } },
      transcript: { text: 'something else', language: 'en', engine: 'manifest' },
    });
    const again = await run(relabelled);
    expect(again.work).toEqual({});
    expect(JSON.stringify(again.visual)).toBe(JSON.stringify(first));
    // Other keyframes are other cues: tracked again.
    const moreFrames = await run(makeSegment(clips.portrait.path, { audio: clips.portrait.audio, keyframes: 3 }));
    expect(moreFrames.work).toEqual({ dsp: 1 });
    expect(moreFrames.visual.frames).toHaveLength(3);
    // A crop the cues name is gone from the store: tracked again, and the crop is back.
    await own.delete(first.crops[0].key);
    const restored = await run(relabelled);
    expect(restored.work).toEqual({ dsp: 1 });
    expect(JSON.stringify(restored.visual)).toBe(JSON.stringify(first));
    expect(await own.size(first.crops[0].key)).toBe(first.crops[0].bytes);
  });

  it('works with the SSD detector and the tiny landmark net', async () => {
    const visual = await visualCues(makeSegment(clips.portrait.path, { audio: clips.portrait.audio }), config({ detector: 'ssd', landmarks: 'tiny' }));
    expect(visual.detector).toBe('ssd');
    expect(visual.tracks).toHaveLength(1);
    expect(visual.dominant).toBe('happy');
  });

  it('runs the detector less often once the faces hold steady, and follows the same face', async () => {
    const track = async (steadyDetectEvery: number) =>
      trackFaces(
        {
          label: 'portrait',
          input: clips.portrait.path,
          start: 0,
          end: 2,
          width: 640,
          height: 360,
          ...trackSettings(config({ steadyDetectEvery })),
          speech: null,
          cropTimes: [],
          crop: { enabled: false, size: 224, margin: 0.25, quality: 90 },
        },
        new AbortController().signal,
      );
    const every3 = await track(3);
    const steady = await track(6);
    // 16 analysed frames: at 3 the detector runs on 0, 3, 6, 9, 12, 15; at 6 once 3 and 6 found the
    // one face frame 0 found (two steady detections), on 0, 3, 6, 12.
    expect(every3.detectorRuns).toBe(6);
    expect(steady.detectorRuns).toBe(4);
    for (const analysis of [every3, steady]) {
      expect(analysis.tracks).toHaveLength(1);
      expect(analysis.tracks[0].frames.length).toBeGreaterThanOrEqual(15);
    }
  });

  it('rejects a file ffmpeg cannot decode as a bad video naming the clip', async () => {
    const error = await visualCues(makeSegment(clips.broken.path, { audio: clips.broken.audio })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).reason).toBe('bad-video');
    expect((error as RecordError).message).toContain(clips.broken.path);
  });

  it('stops on abort and stays usable', async () => {
    const controller = new AbortController();
    const running = visualCues(makeSegment(clips.portrait.path, { audio: clips.portrait.audio }), config({ analysisFps: 15 }), store, controller.signal);
    setTimeout(() => controller.abort(new Error('stop now')), 50);
    await expect(running).rejects.toThrow('stop now');
    // A store without this clip's cues, so the worker pool really runs again.
    expect((await visualCues(makeSegment(clips.portrait.path, { audio: clips.portrait.audio }), config(), await storeWithAudio())).dominant).toBe('happy');
  });

  it('names the option and value a bad config gets wrong', () => {
    expect(() => config({ tinyInputSize: 400 })).toThrow(/tinyInputSize|multiple/);
    expect(() => config({ detector: 'mtcnn' })).toThrow(/detector/);
    expect(() => config({ speaker: { minConfidence: 2 } })).toThrow(/minConfidence/);
  });
});

// ---------------------------------------------------------------------------------------------
// Several real people (face-api's group photos), one of them speaking: see tests/support/talking-faces.ts.

/** The measured clips: seed and counts. The figures below are what this seed gives; README quotes them. */
const SEED = 13;
const COUNTS = { speaking: 22, cuts: 4, croppedOut: 5 };

interface Figures {
  speakerFound: number;
  speaking: number;
  stablePairs: number;
  pairs: number;
  falseClaims: number;
  croppedOut: number;
  cutSpeakerFound: number;
  cuts: number;
}

/** The track (if any) whose box holds the centre of `face` of `photo` at analysed time `time`. */
function trackAt(visual: VisualCues, photo: Photo, face: number, clip: TalkingClip, time: number): string | null {
  const shot = shotAt(clip.shots, time);
  if (shot.photo !== photo.number) return null;
  const expected = faceInClip(photo, face, shot, time);
  if (!expected) return null;
  const cx = expected.x + expected.width / 2;
  const cy = expected.y + expected.height / 2;
  for (const track of visual.tracks ?? []) {
    const i = track.times.findIndex((t) => Math.abs(t - time) < 1e-6);
    if (i < 0) continue;
    const box = track.boxes[i];
    if (cx >= box.x && cx <= box.x + box.width && cy >= box.y && cy <= box.y + box.height) return track.id;
  }
  return null;
}

/** Is the claimed speaker the speaking face: its box holds that face's centre in 80% of the frames it is in the speaker's photo? */
function isSpeakerTrack(visual: VisualCues, clip: TalkingClip, photo: Photo): boolean {
  const claimed = visual.tracks?.find((t) => t.id === visual.speaker?.track);
  if (!claimed) return false;
  const times = claimed.times.filter((t) => shotAt(clip.shots, t).photo === photo.number);
  const hits = times.filter((t) => trackAt(visual, photo, clip.speaker.face, clip, t) === claimed.id).length;
  return times.length > 0 && hits / times.length >= 0.8;
}

async function talkingCues(clip: TalkingClip): Promise<VisualCues> {
  const audio = await putFile('audio', clip.wav);
  return visualCues(makeSegment(clip.video, { audio, width: CLIP_WIDTH, height: CLIP_HEIGHT, end: clip.duration }), config({ crop: { enabled: false } }));
}

describe('cues.visual on several real people, one speaking', () => {
  let figures: Figures;

  it('has the faces of the six photos recorded for the installed face-api and its photos', async () => {
    // Else every clip below waits for the nets to find them again; `npx tsx scripts/record-photo-faces.ts` re-records.
    for (const number of [1, 2, 3, 4, 5, 6]) expect(await recordedPhoto(number), `sample${number}.jpg`).not.toBeNull();
  });

  beforeAll(async () => {
    const plans = await planClips(SEED, COUNTS);
    figures = { speakerFound: 0, speaking: 0, stablePairs: 0, pairs: 0, falseClaims: 0, croppedOut: 0, cutSpeakerFound: 0, cuts: 0 };
    for (const plan of plans.speaking) {
      const clip = await talkingClip(plan);
      const visual = await talkingCues(clip);
      figures.speaking++;
      if (isSpeakerTrack(visual, clip, await photoFaces(clip.speaker.photo))) figures.speakerFound++;
    }
    for (const plan of plans.cuts) {
      const clip = await talkingClip(plan);
      const visual = await talkingCues(clip);
      const photo = await photoFaces(clip.speaker.photo);
      figures.cuts++;
      if (isSpeakerTrack(visual, clip, photo)) figures.cutSpeakerFound++;
      // Each face of the first photo seen mid-way through the first shot and through the third (the
      // cut back): the same track id both times?
      const [first, , third] = clip.shots;
      const middle = (s: typeof first) => Math.round(((s.start + s.end) / 2) * 8) / 8;
      for (const face of photo.faces.keys()) {
        const before = trackAt(visual, photo, face, clip, middle(first));
        const after = trackAt(visual, photo, face, clip, middle(third));
        if (before === null && after === null) continue;
        figures.pairs++;
        if (before !== null && before === after) figures.stablePairs++;
      }
    }
    for (const plan of plans.croppedOut) {
      const clip = await talkingClip(plan);
      const visual = await talkingCues(clip);
      figures.croppedOut++;
      if (visual.speaker?.track !== null) figures.falseClaims++;
    }
    console.log(
      `speaker found: ${Math.round((100 * figures.speakerFound) / figures.speaking)}% of ${figures.speaking} clips; ` +
        `after cuts: ${figures.cutSpeakerFound} of ${figures.cuts}; track ids stable across a cut back: ${figures.stablePairs} of ${figures.pairs} faces; ` +
        `speaker claimed with the speaking face cropped out: ${figures.falseClaims} of ${figures.croppedOut} clips`,
    );
  }, 900_000);

  it(`finds the speaking face in at least 90% of ${COUNTS.speaking} panning, zooming clips (speaker chosen at random, seed ${SEED})`, () => {
    expect(figures.speaking).toBe(COUNTS.speaking);
    expect(figures.speakerFound / figures.speaking).toBeGreaterThanOrEqual(0.9);
  });

  it('keeps track ids across a cut to another photo and back', () => {
    expect(figures.pairs).toBeGreaterThanOrEqual(8);
    expect(figures.stablePairs / figures.pairs).toBeGreaterThanOrEqual(0.9);
    expect(figures.cutSpeakerFound).toBeGreaterThanOrEqual(figures.cuts - 1);
  });

  it('claims no speaker when the speaking face is cropped out of the frame', () => {
    expect(figures.croppedOut).toBe(COUNTS.croppedOut);
    expect(figures.falseClaims).toBe(0);
  });
});
