import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { isDrop, type StageContext } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import type { LexicalCues } from '../../../schemas/cues.ts';
import { Segment, type Transcript } from '../../../schemas/records.ts';
import { cuesLexical, findEmotionWords } from '../../../stages/cues/lexical.ts';

function makeSegment(transcript: Transcript | undefined, extra: Partial<Segment> = {}): Segment {
  const clipId = sha256('clip');
  return Segment.parse({
    id: sha256('segment'),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/a.mp4',
      name: 'a',
      bytes: 1000,
      probe: { duration: 3, formatName: 'mov,mp4,m4a,3gp,3g2,mj2', hasVideo: true, hasAudio: true },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3,
    transcript,
    ...extra,
  });
}

const ctx: StageContext = {
  store: new LocalStore('/nonexistent-store-unused-by-lexical'),
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  work: {
    add: () => {
      throw new Error('cues.lexical does no expensive work');
    },
  },
  flag: (reason) => {
    throw new Error(`cues.lexical flagged ${reason} unexpectedly`);
  },
  teachers: {
    forRole: () => {
      throw new Error('cues.lexical must not call a teacher');
    },
  },
  scratch: () => Promise.reject(new Error('cues.lexical needs no scratch folder')),
  sourcePath: () => Promise.reject(new Error('cues.lexical reads only the transcript')),
};

const config = cuesLexical.configSchema.parse({});

async function lexical(text: string, language = 'en'): Promise<LexicalCues> {
  const result = await cuesLexical.run(makeSegment({ text, language, engine: 'manifest' }), config, ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
  return result.cues!.lexical!;
}

describe('cues.lexical', () => {
  it('has the documented defaults', () => {
    expect(config).toEqual({ neutralBand: 0.1 });
    expect(() => cuesLexical.configSchema.parse({ neutralBand: 2 })).toThrow();
  });

  it('scores a happy sentence positive and lists the words that drove it', async () => {
    const cues = await lexical('I am so happy to see you again today, this is wonderful news!');
    expect(cues.sentiment).toBe('positive');
    expect(cues.score).toBeGreaterThan(0.5);
    expect(cues.score).toBeLessThanOrEqual(1);
    expect(cues.positiveWords).toEqual(['happy', 'wonderful']);
    expect(cues.negativeWords).toEqual([]);
    expect(cues.emotionWords).toEqual([
      { word: 'happy', emotion: 'happy' },
      { word: 'wonderful', emotion: 'happy' },
    ]);
  });

  it('scores a sad sentence negative and finds sadness in inflected words', async () => {
    const cues = await lexical("I've been so lonely since you left, I miss you and I cried all night.");
    expect(cues.sentiment).toBe('negative');
    expect(cues.score).toBeLessThan(-0.3);
    expect(cues.negativeWords).toEqual(expect.arrayContaining(['lonely', 'miss']));
    expect(cues.emotionWords).toEqual([
      { word: 'lonely', emotion: 'sad' },
      { word: 'miss', emotion: 'sad' },
      { word: 'cried', emotion: 'sad' },
    ]);
  });

  it('follows negation: "not happy" is negative and points to no emotion', async () => {
    const cues = await lexical('I am not happy about this.');
    expect(cues.sentiment).toBe('negative');
    expect(cues.negativeWords).toEqual(['happy']);
    expect(cues.emotionWords).toEqual([]);
    expect(findEmotionWords("Don't worry, I wasn't scared at all")).toEqual([]);
  });

  it('maps each emotion of the lexicon', () => {
    expect(findEmotionWords('Wow, I was terrified, then furious, and the smell was disgusting. Such loneliness. We laughed.')).toEqual([
      { word: 'wow', emotion: 'surprised' },
      { word: 'terrified', emotion: 'fearful' },
      { word: 'furious', emotion: 'angry' },
      { word: 'disgusting', emotion: 'disgusted' },
      { word: 'loneliness', emotion: 'sad' },
      { word: 'laughed', emotion: 'happy' },
    ]);
    expect(findEmotionWords('I am fed up with this, he was scaring me, that is so sad, even sadder')).toEqual([
      { word: 'fed up', emotion: 'angry' },
      { word: 'scaring', emotion: 'fearful' },
      { word: 'sad', emotion: 'sad' },
      { word: 'sadder', emotion: 'sad' },
    ]);
    // Inflection is not prefix matching.
    expect(findEmotionWords('The mission was a madrigal about scarves and a fundraiser')).toEqual([]);
  });

  it('calls plain statements neutral', async () => {
    expect(await lexical('The meeting is at three on Tuesday.')).toEqual({
      score: 0,
      sentiment: 'neutral',
      positiveWords: [],
      negativeWords: [],
      emotionWords: [],
    });
    expect((await lexical('')).sentiment).toBe('neutral');
    // One mild word in a long sentence is barely positive; a wider neutral band calls it neutral.
    const long =
      'We walked to the station and then took the train to the city where we met the others for a nice lunch near the river before the long ride home through the hills in the evening light across the valley';
    const mild = await lexical(long);
    expect(mild.sentiment).toBe('positive');
    expect(mild.score).toBeLessThan(0.2);
    const wide = (await cuesLexical.run(
      makeSegment({ text: long, language: 'en', engine: 'manifest' }),
      cuesLexical.configSchema.parse({ neutralBand: 0.2 }),
      ctx,
    )) as Segment;
    expect(wide.cues!.lexical!.sentiment).toBe('neutral');
  });

  it('keeps the score within [-1, 1] for extreme text', async () => {
    const cues = await lexical('hate hate hate terrible awful horrible disgusting');
    expect(cues.score).toBeGreaterThanOrEqual(-1);
    expect(cues.score).toBeLessThan(-0.95);
  });

  it('keeps the other cues and drops what it cannot score', async () => {
    const acoustic = {
      duration: 3,
      f0MeanHz: 200,
      f0SdHz: 10,
      f0MinHz: 180,
      f0MaxHz: 220,
      voicedRatio: 0.5,
      rmsDb: -20,
      rmsSdDb: 5,
      pauseRatio: 0.1,
      speechRate: 3,
      speechRateSource: 'transcript' as const,
    };
    const result = (await cuesLexical.run(makeSegment({ text: 'great', language: 'en', engine: 'manifest' }, { cues: { acoustic } }), config, ctx)) as Segment;
    expect(result.cues!.acoustic).toEqual(acoustic);
    expect(result.cues!.lexical!.sentiment).toBe('positive');

    expect(await cuesLexical.run(makeSegment(undefined), config, ctx)).toMatchObject({ drop: true, reason: 'no-transcript' });
  });

  it('reads another language through its English translation, and says so when there is none instead of scoring it', async () => {
    const flags: string[] = [];
    const flagging = { ...ctx, flag: (reason: string, detail: string) => void flags.push(`${reason}: ${detail}`) };
    const chinese = makeSegment({ text: '我很高兴', language: 'zh', engine: 'manifest' });
    const untranslated = (await cuesLexical.run(chinese, config, flagging)) as Segment;
    expect(untranslated.cues?.lexical).toBeUndefined();
    expect(flags).toEqual([expect.stringMatching(/^unsupported-language: .*the transcript is 'zh' and has no English translation/)]);
    const translated = (await cuesLexical.run(
      { ...chinese, translation: { status: 'translated', text: 'I am so happy', from: 'zh' } },
      config,
      flagging,
    )) as Segment;
    expect(translated.cues!.lexical).toMatchObject({ sentiment: 'positive', source: 'translation', positiveWords: ['happy'] });
    expect(flags).toHaveLength(1);
  });
});
