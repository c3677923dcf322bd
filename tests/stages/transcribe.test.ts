import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fliteWav, wordErrorRate } from '../support/speech.ts';
import { stageContext } from '../helpers.ts';
import { FatalError, RecordError } from '../../pipelines/errors.ts';
import { sha256 } from '../../pipelines/fingerprint.ts';
import { isDrop } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { Segment, type ManifestFields } from '../../schemas/records.ts';
import { parseDecoderOutput, recognizeWithPocketsphinx } from '../../stages/asr/pocketsphinx.ts';
import { transcribe } from '../../stages/transcribe.ts';

const run = promisify(execFile);
const SENTENCE = 'I am so happy to see you again today, this is wonderful news';
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

let root: string;
let store: LocalStore;
let speechKey: string;
let silenceKey: string;
let longKey: string;

async function putAudio(path: string): Promise<string> {
  const key = `media/${sha256(await readFile(path))}.wav`;
  await store.putFile(key, path);
  return key;
}

function makeSegment(audioKey: string, manifest: ManifestFields = {}, span = { start: 0, end: 4, clipDuration: 4 }): Segment {
  const clipId = sha256(`clip:${audioKey}`);
  return Segment.parse({
    id: sha256(`segment:${audioKey}:${span.start}`),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/speech.mp4',
      name: 'speech',
      bytes: 1000,
      probe: { duration: span.clipDuration, formatName: 'mov,mp4,m4a,3gp,3g2,mj2', hasVideo: true, hasAudio: true },
      manifest,
      partition: 0,
    },
    index: 0,
    start: span.start,
    end: span.end,
    audio: { key: audioKey, bytes: 1 },
  });
}

function makeContext(signal = new AbortController().signal) {
  return stageContext({ store, stage: 'transcribe', signal });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-transcribe-'));
  store = new LocalStore(join(root, 'store'));
  const speech = await fliteWav(root, SENTENCE, 'speech');
  speechKey = await putAudio(speech);
  const silence = join(root, 'silence.wav');
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '1.5', '-c:a', 'pcm_s16le', silence]);
  silenceKey = await putAudio(silence);
  const long = join(root, 'long.wav');
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-stream_loop', '5', '-i', speech, '-c:a', 'pcm_s16le', long]);
  longKey = await putAudio(long);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('transcribe', () => {
  it('recognises a flite sentence with pocketsphinx when the clip has no manifest text (engine auto)', async () => {
    const { ctx, work } = makeContext();
    const config = transcribe.configSchema.parse({});
    expect(config).toEqual({ engine: 'auto', language: 'en', manifestMinCoverage: 0.8 });

    const result = await transcribe.run(makeSegment(speechKey), config, ctx);
    if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
    const transcript = result.transcript!;
    const error = wordErrorRate(SENTENCE, transcript.text);
    console.info(`pocketsphinx on flite slt: WER ${error.toFixed(3)} — "${transcript.text}"`);
    expect(error).toBeLessThan(0.3);
    expect(transcript).toMatchObject({ engine: 'pocketsphinx', language: 'en' });
    expect(work).toEqual({ asr: 1 });

    // Word timings: real words only, in order, inside the audio.
    const words = transcript.words!;
    expect(words.map((w) => w.word).join(' ')).toBe(transcript.text);
    expect(words.some((w) => /^(<s>|<\/s>|<sil>|\[)|\(\d+\)$/.test(w.word))).toBe(false);
    for (const [i, w] of words.entries()) {
      expect(w.end).toBeGreaterThan(w.start);
      if (i > 0) expect(w.start).toBeGreaterThanOrEqual(words[i - 1].end);
    }
    expect(words[words.length - 1].end).toBeLessThan(5);
  });

  it('uses the manifest text, normalised, without running ASR (engine auto)', async () => {
    const { ctx, work } = makeContext();
    const segment = makeSegment(speechKey, { text: '  Oh   no,\n I lost it!  ' });
    const result = await transcribe.run(segment, transcribe.configSchema.parse({}), ctx);
    expect(isDrop(result)).toBe(false);
    expect((result as Segment).transcript).toEqual({ text: 'Oh no, I lost it!', language: 'en', languageSource: 'config', engine: 'manifest' });
    expect(work).toEqual({});
    expect((result as Segment).audio).toEqual(segment.audio);
  });

  it('engine manifest drops a segment whose clip has no manifest text', async () => {
    const { ctx, work } = makeContext();
    const result = await transcribe.run(makeSegment(speechKey), transcribe.configSchema.parse({ engine: 'manifest', language: 'zh' }), ctx);
    expect(result).toMatchObject({ drop: true, reason: 'no-manifest-text' });
    expect(work).toEqual({});
  });

  it("auto recognises a segment cut from a longer clip instead of giving it the whole clip's text", async () => {
    const { ctx, work } = makeContext();
    const segment = makeSegment(speechKey, { text: 'a much longer subtitle for the whole clip' }, { start: 10, end: 14, clipDuration: 30 });
    const result = (await transcribe.run(segment, transcribe.configSchema.parse({}), ctx)) as Segment;
    expect(result.transcript?.engine).toBe('pocketsphinx');
    expect(work).toEqual({ asr: 1 });
  });

  it('gives an empty transcript for silence: no drop, the filter stage decides', async () => {
    const { ctx } = makeContext();
    const result = await transcribe.run(makeSegment(silenceKey), transcribe.configSchema.parse({ engine: 'pocketsphinx' }), ctx);
    expect(isDrop(result)).toBe(false);
    expect((result as Segment).transcript).toEqual({ text: '', language: 'en', languageSource: 'config', engine: 'pocketsphinx', words: [] });
  });

  it('kills pocketsphinx when the run is aborted', async () => {
    const controller = new AbortController();
    const { ctx } = makeContext(controller.signal);
    const started = Date.now();
    const pending = transcribe.run(makeSegment(longKey), transcribe.configSchema.parse({ engine: 'pocketsphinx' }), ctx);
    setTimeout(() => controller.abort(new Error('run cancelled')), 300);
    await expect(pending).rejects.toThrow('run cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
    const { stdout } = await run('ps', ['-eo', 'args']);
    expect(stdout).not.toContain(await store.localPath(longKey));
  });

  it('refuses a non-English language for pocketsphinx in the config', () => {
    expect(() => transcribe.configSchema.parse({ engine: 'pocketsphinx', language: 'zh' })).toThrow(/en-us/);
    expect(() => transcribe.configSchema.parse({ engine: 'whisper' })).toThrow();
    expect(() => transcribe.configSchema.parse({ engin: 'manifest' })).toThrow();
  });

  it("fails the record with the decoder's reason when the audio is not 16 kHz", async () => {
    const narrowband = join(root, 'narrowband.wav');
    await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', await store.localPath(speechKey), '-ar', '8000', '-c:a', 'pcm_s16le', narrowband]);
    const key = await putAudio(narrowband);
    const { ctx } = makeContext();
    const error = await transcribe.run(makeSegment(key), transcribe.configSchema.parse({ engine: 'pocketsphinx' }), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ reason: 'asr-failed' });
    expect((error as Error).message).toMatch(/sample rate \[8000\]/);
  });

  it('stops the run with an install hint when the engine is missing', async () => {
    const wav = await store.localPath(speechKey);
    const error = await recognizeWithPocketsphinx(wav, { signal: new AbortController().signal, binary: 'pocketsphinx_continuous_not_installed' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain('apt-get install -y pocketsphinx pocketsphinx-en-us');
  });

  it('drops fillers and pronunciation variants from the decoder output', () => {
    const output = [
      'i opted to',
      '<s> 0.110 0.200 0.999400',
      'i 0.210 0.420 0.710391',
      '<sil> 0.430 0.500 1.000000',
      '[NOISE] 0.510 0.600 0.5',
      'what(2) 1.790 4.400 1.000000',
      '</s> 4.41 4.50 1.0',
    ].join('\n');
    expect(parseDecoderOutput(output)).toEqual({
      text: 'i what',
      words: [
        { word: 'i', start: 0.21, end: 0.42 },
        { word: 'what', start: 1.79, end: 4.4 },
      ],
    });
  });

  it.skipIf(!existsSync(`${LIBRIVOX}/transcription`))(
    'reads real LibriVox speech (pocketsphinx-testdata)',
    async () => {
      const references = new Map<string, string>();
      for (const line of (await readFile(`${LIBRIVOX}/transcription`, 'utf8')).split('\n')) {
        const match = /^<s> (.*) <\/s> \((.+)\)$/.exec(line.trim());
        if (match) references.set(match[2], match[1]);
      }
      let errors = 0;
      let referenceWords = 0;
      for (const [id, reference] of references) {
        const key = await putAudio(`${LIBRIVOX}/${id}.wav`);
        const { ctx } = makeContext();
        const result = (await transcribe.run(makeSegment(key), transcribe.configSchema.parse({ engine: 'pocketsphinx' }), ctx)) as Segment;
        const count = reference.split(' ').length;
        errors += wordErrorRate(reference, result.transcript!.text) * count;
        referenceWords += count;
        console.info(`${id}: "${result.transcript!.text}"`);
      }
      console.info(`pocketsphinx on ${references.size} LibriVox utterances: WER ${(errors / referenceWords).toFixed(3)} over ${referenceWords} words`);
      expect(errors / referenceWords).toBeLessThan(0.5);
    },
    300_000,
  );
});
