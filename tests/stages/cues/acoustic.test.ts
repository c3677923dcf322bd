import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageContext } from '../../helpers.ts';
import { RecordError } from '../../../pipelines/errors.ts';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { isDrop } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import type { AcousticCues } from '../../../schemas/cues.ts';
import { Segment, type Transcript } from '../../../schemas/records.ts';
import { cuesAcoustic } from '../../../stages/cues/acoustic.ts';
import { closeAcousticWorkers, decodeWav } from '../../../stages/cues/acoustic-worker.ts';
import { integratedLoudness, kWeighting, type Biquad } from '../../../stages/cues/loudness.ts';

const run = promisify(execFile);
const SENTENCE = 'I am so happy to see you again today, this is wonderful news';
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

let root: string;
let store: LocalStore;
const keys: Record<string, string> = {};

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
}

/** flite speech at a target mean pitch, converted by ffmpeg to 16 kHz mono s16le. */
async function fliteWav(name: string, f0: number): Promise<string> {
  const raw = join(root, `${name}.raw.wav`);
  const wav = join(root, `${name}.wav`);
  await run('flite', ['-voice', 'slt', '--setf', `int_f0_target_mean=${f0}`, '-t', SENTENCE, '-o', raw]);
  await ffmpeg(['-i', raw, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-fflags', '+bitexact', wav]);
  return wav;
}

/** ffmpeg's own EBU R 128 meter (the ebur128 filter) on a file: integrated loudness, LUFS. */
async function ffmpegLoudness(path: string): Promise<number> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-af', 'ebur128', '-f', 'null', '-']);
  const match = /Integrated loudness:\s*I:\s*(-?[\d.]+) LUFS/.exec(stderr);
  if (!match) throw new Error(`no integrated loudness in ffmpeg's output:\n${stderr}`);
  return Number(match[1]);
}

/** Gain in dB of a biquad cascade at `hz`, from its transfer function on the unit circle. */
function gainDb(stages: readonly Biquad[], hz: number, sampleRate: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  let power = 1;
  for (const { b, a } of stages) {
    const re = (c: readonly number[]) => c.reduce((sum, coef, k) => sum + coef * Math.cos(k * w), 0);
    const im = (c: readonly number[]) => c.reduce((sum, coef, k) => sum - coef * Math.sin(k * w), 0);
    const den = [1, ...a];
    power *= (re(b) ** 2 + im(b) ** 2) / (re(den) ** 2 + im(den) ** 2);
  }
  return 10 * Math.log10(power);
}

async function putAudio(path: string): Promise<string> {
  const key = `media/${sha256(await readFile(path))}.wav`;
  await store.putFile(key, path);
  return key;
}

function makeSegment(audioKey: string | undefined, extra: Partial<Segment> = {}): Segment {
  const clipId = sha256(`clip:${audioKey}`);
  return Segment.parse({
    id: sha256(`segment:${audioKey}`),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/speech.wav',
      name: 'speech',
      bytes: 1000,
      probe: { duration: 4, formatName: 'wav', hasVideo: false, hasAudio: true, sampleRate: 16000, channels: 1 },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 4,
    audio: audioKey ? { key: audioKey, bytes: 1 } : undefined,
    ...extra,
  });
}

function makeContext(signal = new AbortController().signal) {
  return stageContext({ store, stage: 'cues.acoustic', signal });
}

const defaults = cuesAcoustic.configSchema.parse({});

async function acousticCues(key: string, extra: Partial<Segment> = {}): Promise<AcousticCues> {
  const { ctx, work } = makeContext();
  const result = await cuesAcoustic.run(makeSegment(key, extra), defaults, ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
  expect(work).toEqual({ dsp: 1 });
  return result.cues!.acoustic!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-acoustic-'));
  store = new LocalStore(join(root, 'store'));
  const sine = join(root, 'sine.wav');
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=16000:duration=3', '-c:a', 'pcm_s16le', sine]);
  const silence = join(root, 'silence.wav');
  await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '2', '-c:a', 'pcm_s16le', silence]);
  const low = await fliteWav('low', 100);
  const high = await fliteWav('high', 220);
  const long = join(root, 'long.wav');
  await ffmpeg(['-stream_loop', '14', '-i', high, '-c:a', 'pcm_s16le', long]);
  // Without +bitexact ffmpeg writes a LIST chunk before the data: the header is not 44 bytes.
  const tagged = join(root, 'tagged.wav');
  await ffmpeg(['-i', high, '-metadata', 'title=a clip with a LIST chunk', '-c:a', 'pcm_s16le', tagged]);
  const notAudio = join(root, 'not-audio.wav');
  await writeFile(notAudio, 'this is not a wav file');
  // Glides at 50 Hz/s: the phase 2π(f0·t ± 25·t²) has instantaneous frequency f0 ± 50·t.
  const rising = join(root, 'rising.wav');
  await ffmpeg(['-f', 'lavfi', '-i', "aevalsrc='0.3*sin(2*PI*(150*t+25*t*t))':s=16000:d=2", '-c:a', 'pcm_s16le', rising]);
  const falling = join(root, 'falling.wav');
  await ffmpeg(['-f', 'lavfi', '-i', "aevalsrc='0.3*sin(2*PI*(250*t-25*t*t))':s=16000:d=2", '-c:a', 'pcm_s16le', falling]);
  for (const [name, path] of Object.entries({ sine, silence, low, high, long, tagged, notAudio, rising, falling })) keys[name] = await putAudio(path);
});

afterAll(async () => {
  await closeAcousticWorkers();
  await rm(root, { recursive: true, force: true });
});

describe('cues.acoustic', () => {
  it('has the documented config defaults and rejects bad options by name', () => {
    expect(defaults).toEqual({ f0MinHz: 60, f0MaxHz: 500, frameMs: 40, hopMs: 10, yinThreshold: 0.15, silenceDb: -35, noiseFloorDb: -60 });
    expect(() => cuesAcoustic.configSchema.parse({ f0MinHz: 400, f0MaxHz: 300 })).toThrow(/f0MinHz/);
    expect(() => cuesAcoustic.configSchema.parse({ frameMs: 10 })).toThrow(/frameMs/);
    expect(() => cuesAcoustic.configSchema.parse({ yinThresold: 0.2 })).toThrow();
  });

  it('measures a 220 Hz sine within 2% in the worker', async () => {
    const cues = await acousticCues(keys.sine);
    expect(cues.f0MeanHz!).toBeGreaterThan(220 * 0.98);
    expect(cues.f0MeanHz!).toBeLessThan(220 * 1.02);
    expect(cues.voicedRatio).toBeGreaterThan(0.95);
    expect(cues.pauseRatio).toBe(0);
    expect(cues.duration).toBe(3);
    // A sine at amplitude 1/8 is -18 dBFS peak, -21 dBFS RMS.
    expect(cues.rmsDb).toBeCloseTo(-21.07, 1);
  });

  it('hears a high-pitched voice as clearly higher than a low-pitched one', async () => {
    const low = await acousticCues(keys.low);
    const high = await acousticCues(keys.high);
    console.info(`flite slt: F0 mean ${low.f0MeanHz} Hz at target 100, ${high.f0MeanHz} Hz at target 220`);
    expect(high.f0MeanHz! / low.f0MeanHz!).toBeGreaterThan(1.6);
    expect(low.f0MeanHz!).toBeGreaterThan(80);
    expect(low.f0MeanHz!).toBeLessThan(125);
    expect(high.f0MeanHz!).toBeGreaterThan(190);
    expect(high.f0MeanHz!).toBeLessThan(250);
    for (const cues of [low, high]) {
      expect(cues.f0MinHz!).toBeLessThanOrEqual(cues.f0MeanHz!);
      expect(cues.f0MaxHz!).toBeGreaterThanOrEqual(cues.f0MeanHz!);
      expect(cues.voicedRatio).toBeGreaterThan(0.3);
      expect(cues.pauseRatio).toBeGreaterThan(0.02);
      expect(cues.pauseRatio).toBeLessThan(0.5);
      expect(cues.speechRateSource).toBe('syllable-nuclei');
      // 18 syllables in about 3.8 s of speech.
      expect(cues.speechRate).toBeGreaterThan(2);
      expect(cues.speechRate).toBeLessThan(6);
    }
  });

  it('finds no pitch in silence', async () => {
    const cues = await acousticCues(keys.silence);
    expect(cues).toMatchObject({ f0MeanHz: null, f0SdHz: null, f0MinHz: null, f0MaxHz: null, voicedRatio: 0, pauseRatio: 1, speechRate: 0, rmsDb: -100 });
    // Every block sits under the -70 LUFS absolute gate, and no voiced frame makes a contour.
    expect(cues).toMatchObject({ f0SlopeHzPerS: null, loudnessLufs: null });
  });

  it('measures the F0 slope of rising and falling glides in Hz/s, and none for a steady tone', async () => {
    const rising = await acousticCues(keys.rising);
    const falling = await acousticCues(keys.falling);
    const steady = await acousticCues(keys.sine);
    console.info(`F0 slope: rising ${rising.f0SlopeHzPerS} Hz/s, falling ${falling.f0SlopeHzPerS} Hz/s (both ±50), steady ${steady.f0SlopeHzPerS} Hz/s`);
    expect(rising.f0SlopeHzPerS!).toBeGreaterThan(48);
    expect(rising.f0SlopeHzPerS!).toBeLessThan(52);
    expect(falling.f0SlopeHzPerS!).toBeGreaterThan(-52);
    expect(falling.f0SlopeHzPerS!).toBeLessThan(-48);
    expect(Math.abs(steady.f0SlopeHzPerS!)).toBeLessThan(0.5);
    // Rounded to 0.1 Hz/s, never -0.
    for (const cues of [rising, falling, steady]) expect(Math.round(cues.f0SlopeHzPerS! * 10) / 10).toBe(cues.f0SlopeHzPerS);
    expect(Object.is(steady.f0SlopeHzPerS, -0)).toBe(false);
  });

  it('computes the BS.1770 K-weighting for the actual sample rate', () => {
    // ITU-R BS.1770-4, tables 1 and 2 (48 kHz).
    const [shelf, highPass] = kWeighting(48_000);
    const expected = [
      [shelf.b, [1.53512485958697, -2.69169618940638, 1.19839281085285]],
      [shelf.a, [-1.69065929318241, 0.73248077421585]],
      [highPass.b, [1, -2, 1]],
      [highPass.a, [-1.99004745483398, 0.99007225036621]],
    ] as const;
    for (const [actual, table] of expected) actual.forEach((coef, i) => expect(Math.abs(coef - table[i])).toBeLessThan(1e-8));
    // The -0.691 dB offset exists to cancel the filter's gain at 997 Hz; at 16 kHz the pre-warped
    // design keeps that gain (and the +4 dB shelf above 2 kHz) within a few hundredths of a dB.
    expect(gainDb(kWeighting(48_000), 997, 48_000)).toBeCloseTo(0.691, 2);
    expect(Math.abs(gainDb(kWeighting(16_000), 997, 16_000) - 0.691)).toBeLessThan(0.05);
    expect(gainDb(kWeighting(16_000), 4000, 16_000)).toBeGreaterThan(3.5);
    expect(gainDb(kWeighting(16_000), 20, 16_000)).toBeLessThan(-3);
  });

  it('measures integrated loudness: a 997 Hz sine at -20 dBFS peak reads -23 LUFS, as ffmpeg ebur128 does', async () => {
    // Mono sine of peak A: mean square A²/2, so L = -0.691 + 10·log10(A²/2) + G_K(997 Hz), and G_K
    // is +0.691 dB by design: A = 0.1 (-20 dBFS peak, -23 dBFS RMS) reads 10·log10(0.005) = -23.01 LUFS.
    const results: string[] = [];
    for (const sampleRate of [16_000, 48_000]) {
      const path = join(root, `sine-997-${sampleRate}.wav`);
      await ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='0.1*sin(2*PI*997*t)':s=${sampleRate}:d=5`, '-c:a', 'pcm_f32le', path]);
      const wav = decodeWav(await readFile(path));
      const expected = -0.691 + 10 * Math.log10(0.1 ** 2 / 2) + gainDb(kWeighting(sampleRate), 997, sampleRate);
      const measured = integratedLoudness(wav.samples, wav.sampleRate)!;
      const reference = await ffmpegLoudness(path);
      results.push(`${sampleRate} Hz: ${measured.toFixed(2)} LUFS (expected ${expected.toFixed(2)}, ffmpeg ${reference})`);
      expect(Math.abs(measured - expected)).toBeLessThan(0.02);
      expect(Math.abs(measured - -23)).toBeLessThan(0.1);
      expect(Math.abs(measured - reference)).toBeLessThan(0.5);
    }
    console.info(`loudness of a -20 dBFS 997 Hz sine: ${results.join('; ')}`);
    // Through the stage, rounded to 0.1 LU.
    const cues = await acousticCues(await putAudio(join(root, 'sine-997-16000.wav')));
    expect(cues.loudnessLufs).toBe(-23);
  });

  it('gates quiet passages out of integrated loudness, agreeing with ffmpeg ebur128 on speech and tones', async () => {
    // 2 s at -20 dBFS then 2 s at -45 dBFS then silence: silence falls under the absolute gate and
    // the quiet tone under the relative gate, so the result stays near -23 (ungated: about -26).
    const gated = join(root, 'gated.wav');
    await ffmpeg(['-f', 'lavfi', '-i', "aevalsrc='if(lt(t,2),0.1,if(lt(t,4),0.005623,0))*sin(2*PI*997*t)':s=16000:d=5", '-c:a', 'pcm_s16le', gated]);
    const comparisons: string[] = [];
    for (const [name, path] of [
      ['gated tone', gated],
      ['flite low', await store.localPath(keys.low)],
      ['flite high', await store.localPath(keys.high)],
      ['tone', await store.localPath(keys.sine)],
    ] as const) {
      const wav = decodeWav(await readFile(path));
      const measured = integratedLoudness(wav.samples, wav.sampleRate)!;
      const reference = await ffmpegLoudness(path);
      comparisons.push(`${name} ${measured.toFixed(2)} vs ffmpeg ${reference}`);
      expect(Math.abs(measured - reference)).toBeLessThan(0.5);
      if (name === 'gated tone') {
        expect(measured).toBeGreaterThan(-23.6);
        expect(measured).toBeLessThan(-23);
      }
    }
    console.info(`integrated loudness, LUFS: ${comparisons.join('; ')}`);
    expect(integratedLoudness(new Float32Array(1000), 16_000)).toBeNull(); // shorter than one 400 ms block
  });

  it('takes the speech rate from word timings, else from transcript words, and keeps other cues', async () => {
    const timed: Transcript = {
      text: 'one two three four',
      language: 'en',
      engine: 'pocketsphinx',
      words: [
        { word: 'one', start: 0.5, end: 0.9 },
        { word: 'two', start: 1.0, end: 1.4 },
        { word: 'three', start: 1.5, end: 2.0 },
        { word: 'four', start: 2.1, end: 2.5 },
      ],
    };
    const lexical = { score: 0, sentiment: 'neutral' as const, positiveWords: [], negativeWords: [], emotionWords: [] };
    const { ctx } = makeContext();
    const result = (await cuesAcoustic.run(makeSegment(keys.high, { transcript: timed, cues: { lexical } }), defaults, ctx)) as Segment;
    expect(result.cues!.acoustic).toMatchObject({ speechRate: 2, speechRateSource: 'transcript' });
    expect(result.cues!.lexical).toEqual(lexical);
    expect(result.transcript).toEqual(timed);

    const untimed = await acousticCues(keys.high, { transcript: { text: SENTENCE, language: 'en', engine: 'manifest' } });
    expect(untimed.speechRateSource).toBe('transcript');
    // 13 words over the speech span of about 3.8 s.
    expect(untimed.speechRate).toBeGreaterThan(2.8);
    expect(untimed.speechRate).toBeLessThan(4.2);
  });

  it('reads WAVs whose data does not start at byte 44', async () => {
    const plain = decodeWav(await readFile(await store.localPath(keys.high)));
    const taggedBytes = await readFile(await store.localPath(keys.tagged));
    expect(taggedBytes.indexOf('data')).toBeGreaterThan(40);
    expect(taggedBytes.indexOf('LIST')).toBeGreaterThan(0);
    const tagged = decodeWav(taggedBytes);
    expect(tagged.samples).toEqual(plain.samples);
    expect(await acousticCues(keys.tagged)).toEqual(await acousticCues(keys.high));
  });

  it('rejects a file that is not a WAV with reason bad-audio', async () => {
    const { ctx } = makeContext();
    const error = await cuesAcoustic.run(makeSegment(keys.notAudio), defaults, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ reason: 'bad-audio' });
  });

  it('drops a segment without audio', async () => {
    const { ctx, work } = makeContext();
    expect(await cuesAcoustic.run(makeSegment(undefined), defaults, ctx)).toMatchObject({ drop: true, reason: 'no-audio' });
    expect(work).toEqual({});
  });

  it('keeps the event loop free while analysing a minute of speech', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const cues = await acousticCues(keys.long);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    console.info(
      `cues.acoustic: ${cues.duration} s of speech in ${seconds.toFixed(2)} s (${(cues.duration / seconds).toFixed(0)}x realtime), ${ticks} timer ticks meanwhile`,
    );
    expect(cues.duration).toBeGreaterThan(55);
    // A blocked loop would tick about once; a free one about every 5 ms (less on a busy machine).
    expect(ticks).toBeGreaterThan((seconds * 1000) / 5 / 10);
  });

  it('rejects with the abort reason when the run is aborted', async () => {
    const controller = new AbortController();
    const { ctx } = makeContext(controller.signal);
    const pending = cuesAcoustic.run(makeSegment(keys.long), defaults, ctx);
    controller.abort(new Error('run cancelled'));
    await expect(pending).rejects.toThrow('run cancelled');
    // The pool still serves the next call.
    expect((await acousticCues(keys.sine)).f0MeanHz).toBeGreaterThan(215);
  });

  it('works under plain node --import tsx, and the idle worker lets the process exit', async () => {
    const script = join(root, 'standalone.mts');
    const stage = new URL('../../../stages/cues/acoustic-worker.ts', import.meta.url).href;
    await writeFile(
      script,
      `import { analyseProsody } from ${JSON.stringify(stage)};
const options = { f0MinHz: 60, f0MaxHz: 500, frameMs: 40, hopMs: 10, yinThreshold: 0.15, silenceDb: -35, noiseFloorDb: -60 };
const analysis = await analyseProsody(${JSON.stringify(await store.localPath(keys.sine))}, options, new AbortController().signal);
console.log(JSON.stringify(analysis));
`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: REPO, timeout: 30_000 });
    expect(JSON.parse(stdout).f0MeanHz).toBeCloseTo(220, 0);
  });
});
