// transcribe with a hosted OpenAI-compatible ASR endpoint (a real local server, the real openai
// package, a real flite WAV), the subtitles engine, and offline language detection.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fliteWav } from '../../support/speech.ts';
import { demoConfig, stageContext, tempDir } from '../../helpers.ts';
import { buildPlan } from '../../../pipelines/config.ts';
import { ConfigError } from '../../../pipelines/errors.ts';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { isDrop } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { Segment, type ManifestFields } from '../../../schemas/records.ts';
import { STAGES } from '../../../stages/index.ts';
import { detectLanguage, transcribe } from '../../../stages/transcribe.ts';
import { faults, OpenAICompatibleServer } from '../../support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_TEST_ASR_KEY';
const ASR = '/v1/audio/transcriptions';
const SENTENCE = 'I am so happy to see you again today, this is wonderful news';

let root: string;
let store: LocalStore;
let server: OpenAICompatibleServer;
const audio: Record<'speech' | 'short' | 'other' | 'third', { key: string; bytes: Buffer }> = {} as never;

async function putAudio(path: string): Promise<{ key: string; bytes: Buffer }> {
  const bytes = await readFile(path);
  const key = `media/${sha256(bytes)}.wav`;
  await store.putFile(key, path);
  return { key, bytes };
}

function makeSegment(audioKey: string | undefined, extra: { manifest?: ManifestFields; subtitle?: string } = {}): Segment {
  const clipId = sha256(`clip:${audioKey}`);
  return Segment.parse({
    id: sha256(`segment:${audioKey}`),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/speech.mp4',
      name: 'speech',
      bytes: 1000,
      probe: { duration: 4, formatName: 'mov,mp4,m4a,3gp,3g2,mj2', hasVideo: true, hasAudio: true },
      manifest: extra.manifest ?? {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 4,
    ...(audioKey ? { audio: { key: audioKey, bytes: 1 } } : {}),
    ...(extra.subtitle !== undefined ? { subtitle: extra.subtitle } : {}),
  });
}

function openaiConfig(extra: Record<string, unknown> = {}) {
  return transcribe.configSchema.parse({
    engine: 'openai',
    language: 'auto',
    endpoint: { baseURL: server.baseURL, apiKeyEnv: KEY_ENV, model: 'whisper-1', initialBackoffMs: 10, maxRetries: 2 },
    ...extra,
  });
}

/** A fresh context is a fresh run: a new signal, so a new endpoint client with its own counters. */
const makeContext = (signal = new AbortController().signal) => stageContext({ store, stage: 'transcribe', signal });

beforeAll(async () => {
  root = await tempDir('emoforge-transcribe-openai-');
  store = new LocalStore(join(root, 'store'));
  server = await OpenAICompatibleServer.start();
  process.env[KEY_ENV] = server.apiKey;
  audio.speech = await putAudio(await fliteWav(root, SENTENCE, 'speech'));
  audio.short = await putAudio(await fliteWav(root, 'Oh no.', 'short'));
  audio.other = await putAudio(await fliteWav(root, 'The train leaves at nine.', 'other'));
  audio.third = await putAudio(await fliteWav(root, 'Please close the door.', 'third'));
});

afterAll(async () => {
  delete process.env[KEY_ENV];
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  server.reset();
  server.latencyMs = 0;
  server.transcription = { text: SENTENCE };
});

describe('transcribe engine openai', () => {
  it('stores text, spans, words and the reported language, and a second run pays nothing', async () => {
    server.failNext(faults.status(503), 1, ASR);
    const { ctx, work } = makeContext();
    const result = await transcribe.run(makeSegment(audio.speech.key), openaiConfig(), ctx);
    if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
    const transcript = result.transcript!;
    expect(transcript).toMatchObject({ text: SENTENCE, language: 'en', languageSource: 'detected', engine: 'openai:whisper-1' });
    expect(transcript.words!.map((w) => w.word).join(' ')).toBe(SENTENCE);
    expect(transcript.spans!.map((s) => s.text).join(' ')).toBe(SENTENCE);
    const duration = (audio.speech.bytes.length - 44) / 32_000;
    expect(transcript.words!.at(-1)!.end).toBeCloseTo(duration, 2);
    expect(work).toEqual({ asr: 1 });

    // The 503 was retried with the whole WAV uploaded again, and the request asked for timings.
    const requests = server.requestsTo(ASR);
    expect(requests.map((r) => r.outcome)).toEqual(['status:503', 'ok']);
    for (const request of requests) {
      expect(request.file).toMatchObject({ bytes: audio.speech.bytes.length, sha256: sha256(audio.speech.bytes) });
      expect(request.fields).toMatchObject({ model: ['whisper-1'], response_format: ['verbose_json'], 'timestamp_granularities[]': ['word', 'segment'] });
      expect(request.fields!.language).toBeUndefined();
      expect(request.apiKey).toBe(server.apiKey);
    }

    server.reset();
    const second = makeContext();
    const again = (await transcribe.run(
      makeSegment(audio.speech.key),
      openaiConfig({ endpoint: { ...openaiConfig().endpoint!, limits: { concurrency: 1 } } }),
      second.ctx,
    )) as Segment;
    expect(again.transcript).toEqual(transcript);
    expect(server.requests).toHaveLength(0);
    expect(second.work).toEqual({});
  });

  it('sends a configured language and records it as configured', async () => {
    server.transcription = { text: 'Ich bin so froh, dich heute wiederzusehen, das sind wunderbare Neuigkeiten' };
    const { ctx } = makeContext();
    const result = (await transcribe.run(makeSegment(audio.other.key), openaiConfig({ language: 'de-DE' }), ctx)) as Segment;
    expect(result.transcript).toMatchObject({ language: 'de-DE', languageSource: 'config' });
    expect(server.requestsTo(ASR)[0].fields!.language).toEqual(['de']);
  });

  it('steps down to plain verbose_json, then json, when the server refuses timings', async () => {
    server.transcription = { text: SENTENCE, supportsTimestampGranularities: false };
    const { ctx } = makeContext();
    const first = (await transcribe.run(makeSegment(audio.short.key), openaiConfig(), ctx)) as Segment;
    expect(server.requestsTo(ASR).map((r) => r.outcome)).toEqual(['unsupported', 'ok']);
    expect(first.transcript!.spans).toHaveLength(2);
    expect(first.transcript!.words).toBeUndefined();

    // The same run remembers what this endpoint accepts: one request for the next segment.
    server.reset();
    await transcribe.run(makeSegment(audio.third.key), openaiConfig({ language: 'en' }), ctx);
    expect(server.requestsTo(ASR).map((r) => r.outcome)).toEqual(['ok']);

    // A server that only speaks json (gpt-4o-transcribe style): text only, language detected offline.
    server.reset();
    server.transcription = { text: SENTENCE, supportsVerboseJson: false };
    const plain = makeContext();
    const result = (await transcribe.run(makeSegment(audio.other.key), openaiConfig(), plain.ctx)) as Segment;
    expect(server.requestsTo(ASR).map((r) => r.fields!.response_format[0])).toEqual(['verbose_json', 'verbose_json', 'json']);
    expect(result.transcript).toEqual({ text: SENTENCE, language: 'en', languageSource: 'detected', engine: 'openai:whisper-1' });
  });

  it('stops an upload when the run is aborted', async () => {
    server.failNext(faults.hang(), 1, ASR);
    const controller = new AbortController();
    const { ctx } = makeContext(controller.signal);
    const started = performance.now();
    const pending = transcribe.run(makeSegment(audio.third.key), openaiConfig({ language: 'fr' }), ctx);
    setTimeout(() => controller.abort(new Error('run cancelled')), 200);
    await expect(pending).rejects.toThrow('run cancelled');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('needs an endpoint, and says where in the YAML', () => {
    const error = (() => {
      try {
        buildPlan('openai.yaml', demoConfig({ transcribe: { engine: 'openai' } }), STAGES);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/stages\[2\]\.transcribe\.endpoint.*engine 'openai' needs an endpoint/);
    expect(() => transcribe.configSchema.parse({ engine: 'manifest', endpoint: { baseURL: 'http://localhost:1/v1', model: 'm' } })).toThrow(
      /only used by engine 'openai'/,
    );
    expect(() => transcribe.configSchema.parse({ engine: 'openai', endpoint: { baseURL: 'localhost', model: 'm' } })).toThrow(/http\(s\) URL/);
  });
});

describe('transcribe engine subtitles', () => {
  it('uses the subtitle cue text, and auto prefers it over manifest text and ASR', async () => {
    const { ctx, work } = makeContext();
    const segment = makeSegment(audio.speech.key, { subtitle: '  Where were\n you last night? ', manifest: { text: 'the whole clip' } });
    const explicit = (await transcribe.run(segment, transcribe.configSchema.parse({ engine: 'subtitles' }), ctx)) as Segment;
    expect(explicit.transcript).toEqual({ text: 'Where were you last night?', language: 'en', languageSource: 'config', engine: 'subtitles' });
    const auto = (await transcribe.run(segment, transcribe.configSchema.parse({}), ctx)) as Segment;
    expect(auto.transcript?.engine).toBe('subtitles');
    expect(work).toEqual({});
  });

  it('drops a segment without subtitle text', async () => {
    const { ctx } = makeContext();
    expect(await transcribe.run(makeSegment(audio.speech.key), transcribe.configSchema.parse({ engine: 'subtitles' }), ctx)).toMatchObject({
      drop: true,
      reason: 'no-subtitle',
    });
    expect(await transcribe.run(makeSegment(undefined, { subtitle: '   ' }), transcribe.configSchema.parse({ engine: 'subtitles' }), ctx)).toMatchObject({
      drop: true,
      reason: 'no-subtitle',
    });
  });

  it('detects the language of subtitle text when the config says auto', async () => {
    const { ctx } = makeContext();
    const segment = makeSegment(undefined, { subtitle: "Je suis tellement heureux de te revoir aujourd'hui, c'est une merveilleuse nouvelle" });
    const result = (await transcribe.run(segment, transcribe.configSchema.parse({ engine: 'subtitles', language: 'auto' }), ctx)) as Segment;
    expect(result.transcript).toMatchObject({ language: 'fr', languageSource: 'detected' });
  });
});

describe('detectLanguage', () => {
  it('tells English, German, French, Spanish and Chinese apart offline', () => {
    expect(detectLanguage(SENTENCE)).toBe('en');
    expect(detectLanguage('i am so happy to see you again today this is wonderful news')).toBe('en');
    expect(detectLanguage('Ich bin so froh, dich heute wiederzusehen, das sind wunderbare Neuigkeiten')).toBe('de');
    expect(detectLanguage("Je suis tellement heureux de te revoir aujourd'hui, c'est une merveilleuse nouvelle")).toBe('fr');
    expect(detectLanguage('Estoy muy feliz de verte otra vez, son noticias maravillosas para todos')).toBe('es');
    expect(detectLanguage('我今天很高兴见到你')).toBe('zh');
  });

  it("answers 'und' for text too short to tell", () => {
    for (const text of ['', 'hi', 'Oh no, I lost it!', 'what a day', '12345 !!!', '好']) expect(detectLanguage(text)).toBe('und');
  });
});
