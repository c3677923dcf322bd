// The segment stage against real ffmpeg: shot cuts from a lavfi video with known cuts, utterances
// from flite speech with known pauses, subtitle sidecars, copy and accurate cuts, keyframe times,
// video-only and audio-only clips, and no ffmpeg at all on a re-run.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDrop } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { Segment, type Clip } from '../../schemas/records.ts';
import { segment } from '../../stages/segment.ts';
import { sceneSpans, speechSpans, subtitleSpans } from '../../stages/segment/spans.ts';
import { hasCueTimings, parseSubtitles } from '../../stages/segment/subtitles.ts';
import { stageContext } from '../helpers.ts';
import { clipOf, durationOf, ffmpeg, fliteSamples, lavfiAv, run, truthOf, writeWav } from './segment-fixtures.ts';

let root: string;
let store: LocalStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-segment-'));
  store = new LocalStore(join(root, 'store'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function context(clipPath: string) {
  return stageContext({ store, stage: 'segment', sourcePath: async () => clipPath });
}

async function segmentsOf(clip: Clip, path: string, config: Record<string, unknown>) {
  const { ctx, work } = context(path);
  const result = await segment.run(clip, segment.configSchema.parse(config), ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason} ${result.detail}`);
  for (const s of result) Segment.parse(s);
  return { segments: result, work };
}

describe('segment: scene strategy', () => {
  let path: string;
  beforeAll(async () => {
    path = join(root, 'shots.mp4');
    // red 2 s | blue 3 s | testsrc 2 s at 25 fps: cuts at 2.00 s and 5.00 s.
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=red:s=320x240:r=25:d=2',
      '-f',
      'lavfi',
      '-i',
      'color=blue:s=320x240:r=25:d=3',
      '-f',
      'lavfi',
      '-i',
      'testsrc=s=320x240:r=25:d=2',
      '-f',
      'lavfi',
      '-i',
      'sine=f=300:r=16000:d=7',
      '-filter_complex',
      '[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]',
      '-map',
      '[v]',
      '-map',
      '3:a',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      path,
    ]);
  });

  it('finds the shot cuts within one frame and cuts the clip there', async () => {
    const clip = await clipOf(path);
    const { segments, work } = await segmentsOf(clip, path, { strategy: 'scene', minSec: 0.5, frames: 2 });
    const spans = segments.map((s) => [s.start, s.end]);
    console.info(`scene spans: ${JSON.stringify(spans)}`);
    expect(segments.length).toBe(3);
    expect(Math.abs(segments[0].end - 2)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(segments[1].start - 2)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(segments[1].end - 5)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(segments[2].end - clip.probe.duration)).toBeLessThanOrEqual(0.05);
    // One analysis pass and one extraction pass for the whole clip; a footage fingerprint per segment.
    expect(work).toEqual({ ffmpeg: 2, dsp: segments.length });
    for (const s of segments) {
      expect(s.frames!.length).toBe(2);
      expect(s.audio!.bytes).toBeGreaterThan(44);
    }

    const again = await segmentsOf(clip, path, { strategy: 'scene', minSec: 0.5, frames: 2 });
    expect(again.work).toEqual({});
    expect(again.segments).toEqual(segments);
  });

  it('takes keyframes at the scene changes when asked, with their times', async () => {
    const clip = await clipOf(path);
    const { segments } = await segmentsOf(clip, path, { strategy: 'whole', keyframes: 'scene', frames: 4 });
    const times = segments[0].frames!.map((f) => f.time!);
    expect(times.length).toBe(2);
    expect(Math.abs(times[0] - 2)).toBeLessThanOrEqual(0.04);
    expect(Math.abs(times[1] - 5)).toBeLessThanOrEqual(0.04);
    // No scene change inside a window: evenly spaced instead.
    const fixed = await segmentsOf(clip, path, { strategy: 'fixed', windowSec: 1, keyframes: 'scene', frames: 2 });
    expect(fixed.segments[0].frames!.map((f) => f.time)).toEqual([0.28, 0.76]);
  });

  it('drops an audio-only clip: no video to find shots in', async () => {
    const wav = join(root, 'tone.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=f=300:r=16000:d=3', wav]);
    const { ctx } = context(wav);
    expect(await segment.run(await clipOf(wav), segment.configSchema.parse({ strategy: 'scene' }), ctx)).toMatchObject({ drop: true, reason: 'no-video' });
  });
});

describe('segment: speech strategy', () => {
  const SENTENCES = ['I can not believe you did that to me.', 'Well, that is wonderful news for all of us.', 'Please leave me alone now.'];

  it('finds each flite utterance within 0.2 s of the truth and pads within its neighbours', async () => {
    const voices = await Promise.all(SENTENCES.map((text, i) => fliteSamples(root, text, `sentence-${i}`)));
    const pieces = [0.6, voices[0], 0.8, voices[1], 0.8, voices[2], 0.5];
    const path = join(root, 'speech.wav');
    await writeWav(path, pieces);
    const truth = truthOf(pieces);
    const clip = await clipOf(path);

    const { segments, work } = await segmentsOf(clip, path, { strategy: 'speech', paddingSec: 0, minSec: 0.5 });
    expect(work).toEqual({ ffmpeg: 2, dsp: segments.length });
    expect(segments.length).toBe(3);
    let worst = 0;
    for (const [i, s] of segments.entries()) {
      worst = Math.max(worst, Math.abs(s.start - truth[i].start), Math.abs(s.end - truth[i].end));
      expect(s.frames).toEqual([]);
      expect(s.video).toBeUndefined();
    }
    console.info(
      `speech: worst utterance boundary error ${worst.toFixed(3)} s; truth ${JSON.stringify(truth.map((t) => [+t.start.toFixed(3), +t.end.toFixed(3)]))}`,
    );
    expect(worst).toBeLessThanOrEqual(0.2);

    const padded = await segmentsOf(clip, path, { strategy: 'speech', paddingSec: 1, minSec: 0.5 });
    expect(padded.work).toEqual({ ffmpeg: 1, dsp: padded.segments.length }); // the analysis is cached; new spans, new fingerprints
    for (const [i, s] of padded.segments.entries()) {
      expect(s.start).toBeLessThanOrEqual(segments[i].start);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(padded.segments[i - 1].end);
    }
    expect(padded.segments[0].start).toBe(0);
    expect(padded.segments[2].end).toBe(clip.probe.duration);
  }, 60_000);

  it('drops silence as no-speech and a video-only clip as no-audio', async () => {
    const silence = join(root, 'silence.wav');
    await writeWav(silence, [3]);
    const { ctx } = context(silence);
    expect(await segment.run(await clipOf(silence), segment.configSchema.parse({ strategy: 'speech' }), ctx)).toMatchObject({
      drop: true,
      reason: 'no-speech',
    });
    const mute = join(root, 'mute.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=2', '-c:v', 'libx264', mute]);
    expect(await segment.run(await clipOf(mute), segment.configSchema.parse({ strategy: 'speech' }), context(mute).ctx)).toMatchObject({
      drop: true,
      reason: 'no-audio',
    });
  });

  it('splits a long utterance at its longest internal pause, else evenly, and merges short ones', () => {
    const silences = [
      { start: 0, end: 1 },
      { start: 4, end: 4.15 },
      { start: 7, end: 7.25 },
      { start: 13, end: 14 },
      { start: 14.4, end: 15 },
    ];
    const spans = speechSpans(15, silences, { minPauseSec: 0.3, minSec: 1, maxSec: 5, paddingSec: 0 });
    // 1..13 is 12 s: split at the 0.25 s pause (7–7.25), then 1..7 at the 0.15 s pause (4–4.15); 14–14.4 is too short and stands alone.
    expect(spans).toEqual(
      [
        { start: 1, end: 4 },
        { start: 4.15, end: 7 },
        { start: 7.25, end: 13 },
      ].flatMap((s) =>
        s.end - s.start > 5
          ? [
              { start: 7.25, end: 10.125 },
              { start: 10.125, end: 13 },
            ]
          : [s],
      ),
    );
    expect(speechSpans(10, [], { minPauseSec: 0.3, minSec: 1, maxSec: 4, paddingSec: 0.2 })).toEqual([
      { start: 0, end: 3.333 },
      { start: 3.333, end: 6.667 },
      { start: 6.667, end: 10 },
    ]);
    // A 0.5 s utterance joins its nearer neighbour.
    expect(
      speechSpans(
        10,
        [
          { start: 0, end: 1 },
          { start: 3, end: 3.4 },
          { start: 3.9, end: 6 },
          { start: 8, end: 10 },
        ],
        { minPauseSec: 0.3, minSec: 1, maxSec: 5, paddingSec: 0 },
      ),
    ).toEqual([
      { start: 1, end: 3.9 },
      { start: 6, end: 8 },
    ]);
  });

  it('merges tiny shots into a neighbour and splits long ones evenly', () => {
    expect(sceneSpans(20, [0.3, 5, 5.2, 8], { minSec: 1, maxSec: 6 })).toEqual([
      { start: 0, end: 5 },
      { start: 5, end: 8 },
      { start: 8, end: 14 },
      { start: 14, end: 20 },
    ]);
  });
});

describe('segment: subtitles strategy', () => {
  let video: string;
  const SRT =
    '\uFEFF1\r\n00:00:01,000 --> 00:00:03,500\r\n<i>Hello</i> there,\r\nmy <b>friend</b>.\r\n\r\n2\r\n00:00:04,250 --> 00:00:07,000 X1:10\r\nWhy &amp; how?\r\n\r\n3\r\n00:00:08,000 --> 00:00:08,000\r\nzero length\r\n';
  const VTT =
    'WEBVTT - test\n\nNOTE a comment\nspanning lines\n\n00:00.500 --> 00:02.125 align:start\n<v Roger>I <c.loud>told</c> you</v>\n\nsecond\n00:03.000 --> 00:09.750\n{\\an8}Again!\n';

  beforeAll(async () => {
    await mkdir(join(root, 'subs'), { recursive: true });
    video = join(root, 'subs', 'talk.mp4');
    await ffmpeg([...lavfiAv(10), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', video]);
  });

  it('parses SRT and VTT: timestamps, multi-line text, tags, entities, BOM, CRLF', () => {
    expect(parseSubtitles(SRT)).toEqual([
      { start: 1, end: 3.5, text: 'Hello there, my friend.' },
      { start: 4.25, end: 7, text: 'Why & how?' },
    ]);
    expect(parseSubtitles(VTT)).toEqual([
      { start: 0.5, end: 2.125, text: 'I told you' },
      { start: 3, end: 9.75, text: 'Again!' },
    ]);
    expect(parseSubtitles('1\n01:02:03.4 --> 01:02:04.45\nshort fractions\n')).toEqual([{ start: 3723.4, end: 3724.45, text: 'short fractions' }]);
    expect(hasCueTimings('just a sentence --> with an arrow')).toBe(false);
    expect(parseSubtitles('garbage\n\n00:00:01,000 --> nonsense\n')).toEqual([]);
  });

  it('cuts exactly on the cues of an SRT sidecar, with the cue text', async () => {
    await writeFile(join(root, 'subs', 'talk.srt'), SRT);
    const { segments } = await segmentsOf(await clipOf(video), video, { strategy: 'subtitles', frames: 1 });
    expect(segments.map((s) => [s.start, s.end, s.subtitle])).toEqual([
      [1, 3.5, 'Hello there, my friend.'],
      [4.25, 7, 'Why & how?'],
    ]);
    await rm(join(root, 'subs', 'talk.srt'));
  });

  it('cuts exactly on the cues of a VTT sidecar; merges cues up to maxSec when asked', async () => {
    await writeFile(join(root, 'subs', 'talk.vtt'), VTT);
    const clip = await clipOf(video);
    const { segments } = await segmentsOf(clip, video, { strategy: 'subtitles', frames: 1 });
    expect(segments.map((s) => [s.start, s.end, s.subtitle])).toEqual([
      [0.5, 2.125, 'I told you'],
      [3, 9.75, 'Again!'],
    ]);
    const merged = await segmentsOf(clip, video, { strategy: 'subtitles', frames: 0, maxSec: 10 });
    expect(merged.segments.map((s) => [s.start, s.end, s.subtitle])).toEqual([[0.5, 9.75, 'I told you Again!']]);
    await rm(join(root, 'subs', 'talk.vtt'));
  });

  it('reads cues from the manifest text, and ignores a sidecar that links outside the clip folder', async () => {
    const clip = await clipOf(video, { text: '1\n00:00:02,000 --> 00:00:04,000\nFrom the manifest\n' });
    const { segments } = await segmentsOf(clip, video, { strategy: 'subtitles', frames: 0 });
    expect(segments.map((s) => [s.start, s.end, s.subtitle])).toEqual([[2, 4, 'From the manifest']]);

    await writeFile(join(root, 'outside.srt'), SRT);
    await symlink(join(root, 'outside.srt'), join(root, 'subs', 'talk.srt'));
    const { ctx } = context(video);
    const result = await segment.run(await clipOf(video), segment.configSchema.parse({ strategy: 'subtitles', source: 'sidecar' }), ctx);
    expect(result).toMatchObject({ drop: true, reason: 'no-subtitles' });
    await rm(join(root, 'subs', 'talk.srt'));
  });

  it('keeps cues inside the clip', () => {
    expect(
      subtitleSpans(
        5,
        [
          { start: 4, end: 9, text: 'late' },
          { start: 6, end: 7, text: 'after' },
        ],
        {},
      ),
    ).toEqual([{ start: 4, end: 5, subtitle: 'late' }]);
  });
});

describe('segment: cutting and media kinds', () => {
  let path: string;
  beforeAll(async () => {
    path = join(root, 'cut-source.mp4');
    await ffmpeg([...lavfiAv(10), '-c:v', 'libx264', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path]);
  });

  it('accurate cuts last the span (±0.05 s); copy cuts are valid files; both are content-addressed', async () => {
    const clip = await clipOf(path);
    const accurate = await segmentsOf(clip, path, { strategy: 'fixed', windowSec: 3.3, cut: 'accurate', frames: 0 });
    expect(accurate.work).toEqual({ ffmpeg: 1, dsp: accurate.segments.length });
    for (const s of accurate.segments) {
      const file = await store.localPath(s.video!.key);
      expect(s.video!.key).toMatch(/^media\/video\/[0-9a-f]{2}\/[0-9a-f]{64}\.mp4$/);
      const video = await durationOf(file, 'v:0');
      expect(Math.abs(video - (s.end - s.start))).toBeLessThanOrEqual(0.05);
      expect(Math.abs((await durationOf(file, 'a:0')) - (s.end - s.start))).toBeLessThanOrEqual(0.05);
    }
    const copy = await segmentsOf(clip, path, { strategy: 'fixed', windowSec: 3.3, cut: 'copy', frames: 0 });
    // The WAVs exist already: only the copy cuts are made, in one process.
    expect(copy.work).toEqual({ ffmpeg: 1 });
    for (const s of copy.segments) {
      const file = await store.localPath(s.video!.key);
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', file]);
      expect(stdout.trim().split('\n').sort()).toEqual(['audio', 'video']);
      await run('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-']);
      expect(await durationOf(file)).toBeGreaterThanOrEqual(s.end - s.start - 0.1);
      expect(s.video!.key).not.toBe(accurate.segments[s.index].video!.key);
      expect(s.audio).toEqual(accurate.segments[s.index].audio);
    }
  });

  it('gives keyframes their times and makes the same bytes on every run', async () => {
    const clip = await clipOf(path);
    const { segments } = await segmentsOf(clip, path, { strategy: 'fixed', windowSec: 4, frames: 4, frameHeight: 120 });
    expect(segments[0].frames!.map((f) => f.time)).toEqual([0.52, 1.52, 2.52, 3.52]);
    const bytes = await readFile(await store.localPath(segments[1].frames![0].key));
    const other = new LocalStore(join(root, 'store-2'));
    const { ctx } = stageContext({ store: other, stage: 'segment', sourcePath: async () => path });
    const second = (await segment.run(clip, segment.configSchema.parse({ strategy: 'fixed', windowSec: 4, frames: 4, frameHeight: 120 }), ctx)) as Segment[];
    expect(await readFile(await other.localPath(second[1].frames![0].key))).toEqual(bytes);
    expect(await readFile(await other.localPath(second[1].audio!.key))).toEqual(await readFile(await store.localPath(segments[1].audio!.key)));
  });

  it('gives a video-only clip frames and no audio, an audio-only clip audio and no frames', async () => {
    const mute = join(root, 'mute-only.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=3', '-c:v', 'libx264', mute]);
    const silent = await segmentsOf(await clipOf(mute), mute, { strategy: 'whole', frames: 3, cut: 'accurate' });
    expect(silent.segments[0].audio).toBeUndefined();
    expect(silent.segments[0].frames!.length).toBe(3);
    expect(silent.segments[0].video).toBeDefined();
    const wav = join(root, 'voice-only.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=f=300:r=16000:d=3', wav]);
    const heard = await segmentsOf(await clipOf(wav), wav, { strategy: 'whole', frames: 3, cut: 'copy' });
    expect(heard.segments[0].audio!.bytes).toBeGreaterThan(90_000);
    expect(heard.segments[0].frames).toEqual([]);
    expect(heard.segments[0].video).toBeUndefined();
    expect(dirname(wav)).toBe(root);
  });

  it('validates the config: unknown strategies and fields, minSec above maxSec', () => {
    expect(segment.configSchema.parse(undefined)).toMatchObject({ strategy: 'whole', frames: 4, keyframes: 'uniform', cut: 'auto', sceneThreshold: 0.3 });
    expect(segment.configSchema.parse({ strategy: 'speech' })).toMatchObject({ noiseDb: -35, minPauseSec: 0.3, minSec: 1, maxSec: 10, paddingSec: 0.2 });
    expect(() => segment.configSchema.parse({ strategy: 'shots' })).toThrow();
    expect(() => segment.configSchema.parse({ strategy: 'speech', minSec: 5, maxSec: 2 })).toThrow();
    expect(() => segment.configSchema.parse({ strategy: 'fixed', cut: 'fast' })).toThrow();
  });
});
