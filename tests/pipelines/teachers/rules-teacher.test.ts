import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AcousticCues, LexicalCues } from '../../../schemas/cues.ts';
import { QAItem, Segment } from '../../../schemas/records.ts';
import { ConfigError, RecordError } from '../../../pipelines/errors.ts';
import { RULES_MODEL, RulesTeacher, estimateSegment } from '../../../pipelines/teachers/rules-teacher.ts';
import { createTeacherRegistry } from '../../../pipelines/teachers/registry.ts';
import { teacherRequest } from '../../../pipelines/teachers/task.ts';
import type { TeacherTask } from '../../../pipelines/teachers/teacher.ts';
import { describeTask } from '../../../stages/describe.ts';
import { labelsTask } from '../../../stages/labels.ts';
import { qaTask } from '../../../stages/qa.ts';
import { rationaleTask } from '../../../stages/rationale.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

function segment(seed: string, parts: { text?: string; acoustic?: z.input<typeof AcousticCues>; lexical?: z.input<typeof LexicalCues> }): Segment {
  const clipId = hex(`clip:${seed}`);
  return Segment.parse({
    id: hex(`segment:${seed}`),
    clipId,
    clip: {
      id: clipId,
      uri: `clips/${seed}.mp4`,
      name: seed,
      bytes: 120_000,
      probe: { duration: 3.2, formatName: 'mov,mp4', hasVideo: true, hasAudio: true, sampleRate: 16000, channels: 1 },
      manifest: { speaker: 'spk1' },
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3.2,
    ...(parts.text !== undefined ? { transcript: { text: parts.text, language: 'en', engine: 'pocketsphinx' } } : {}),
    cues: { ...(parts.acoustic ? { acoustic: parts.acoustic } : {}), ...(parts.lexical ? { lexical: parts.lexical } : {}) },
  });
}

const happy = segment('happy', {
  text: 'We won the final, I am so happy!',
  acoustic: {
    duration: 3.2,
    f0MeanHz: 252.4,
    f0SdHz: 44,
    f0MinHz: 181,
    f0MaxHz: 329.6,
    voicedRatio: 0.7,
    rmsDb: -13.6,
    rmsSdDb: 6,
    pauseRatio: 0.1,
    speechRate: 3.12,
    speechRateSource: 'transcript',
  },
  lexical: { score: 0.62, sentiment: 'positive', positiveWords: ['won', 'happy'], negativeWords: [], emotionWords: [{ word: 'happy', emotion: 'happy' }] },
});
const sad = segment('sad', {
  text: 'I lost everything and I miss her so much.',
  acoustic: {
    duration: 3.2,
    f0MeanHz: 88.2,
    f0SdHz: 5.1,
    f0MinHz: 80,
    f0MaxHz: 99,
    voicedRatio: 0.6,
    rmsDb: -31.2,
    rmsSdDb: 3,
    pauseRatio: 0.46,
    speechRate: 1.6,
    speechRateSource: 'transcript',
  },
  lexical: { score: -0.55, sentiment: 'negative', positiveWords: [], negativeWords: ['lost', 'miss'], emotionWords: [] },
});
const neutral = segment('neutral', {
  text: 'The meeting is at three in the afternoon.',
  acoustic: {
    duration: 3.2,
    f0MeanHz: 131,
    f0SdHz: 19,
    f0MinHz: 104,
    f0MaxHz: 171,
    voicedRatio: 0.65,
    rmsDb: -21,
    rmsSdDb: 4,
    pauseRatio: 0.15,
    speechRate: 2.8,
    speechRateSource: 'transcript',
  },
  lexical: { score: 0, sentiment: 'neutral', positiveWords: [], negativeWords: [], emotionWords: [] },
});
const bare = segment('bare', {});
const voiceOnlyUnvoiced = segment('unvoiced', {
  acoustic: {
    duration: 2,
    f0MeanHz: null,
    f0SdHz: null,
    f0MinHz: null,
    f0MaxHz: null,
    voicedRatio: 0.02,
    rmsDb: -24.4,
    rmsSdDb: 2,
    pauseRatio: 0.2,
    speechRate: 4.1,
    speechRateSource: 'syllable-nuclei',
  },
});

const teacher = new RulesTeacher();
const signal = new AbortController().signal;

async function ask<T, O>(task: TeacherTask<T, O>, seg: Segment, options?: Record<string, unknown>): Promise<T> {
  const response = await teacher.generate(teacherRequest(task, { template: `${task.role}.rules@1`, segment: seg, options }), signal);
  expect(response).toMatchObject({ cached: false, teacher: 'rules', model: 'rules-v3', usage: { inputTokens: 0, outputTokens: 0 } });
  return response.value;
}

describe('estimateSegment', () => {
  it('reads a high-pitched loud positive segment as happy and a low slow negative one as sad', () => {
    expect(estimateSegment(happy)).toMatchObject({ primary: 'happy', sentiment: 'positive' });
    expect(estimateSegment(sad)).toMatchObject({ primary: 'sad', sentiment: 'negative' });
    expect(estimateSegment(neutral).primary).toBe('neutral');
    expect(estimateSegment(bare)).toMatchObject({ primary: 'neutral', evidence: [] });
  });

  it('recognises the demo prosody without any words', () => {
    const voice = (f0: number, rmsDb: number, rate: number) =>
      segment(`voice-${f0}-${rmsDb}-${rate}`, {
        text: '',
        acoustic: {
          duration: 3,
          f0MeanHz: f0,
          f0SdHz: f0 * 0.15,
          f0MinHz: f0 * 0.8,
          f0MaxHz: f0 * 1.3,
          voicedRatio: 0.6,
          rmsDb,
          rmsSdDb: 4,
          pauseRatio: 0.2,
          speechRate: rate,
          speechRateSource: 'transcript',
        },
      });
    expect(estimateSegment(voice(250, -20, 3.0)).primary).toBe('happy');
    expect(estimateSegment(voice(90, -21, 1.8)).primary).toBe('sad');
    expect(estimateSegment(voice(290, -20, 3.0)).primary).toBe('fearful');
    expect(estimateSegment(voice(140, -12, 4.2)).primary).toBe('angry');
    expect(estimateSegment(voice(120, -20, 3.0)).primary).toBe('neutral');
  });

  it('is a pure function of the record', () => {
    expect(estimateSegment(happy)).toEqual(estimateSegment(structuredClone(happy)));
  });
});

describe('RulesTeacher describe', () => {
  it('cites the numbers in the record, video then audio then text then inference', async () => {
    const { text } = await ask(describeTask, happy);
    expect(text.startsWith('Facial cues were not analysed.')).toBe(true);
    for (const cited of ['252 Hz', '181–330 Hz', '3.1 words/s', '-14 dBFS', "'won'", "'happy'", '+0.62']) expect(text).toContain(cited);
    expect(text.indexOf('Hz')).toBeLessThan(text.indexOf('+0.62'));
    expect(text).toMatch(/Taken together, the speaker most likely feels happy\.$/);
  });

  it('never mentions cues that are missing', async () => {
    const { text } = await ask(describeTask, bare);
    for (const absent of ['Hz', 'dBFS', 'words/s', 'sentiment', "'"]) expect(text).not.toContain(absent);
    expect(text).toContain('Facial cues were not analysed.');

    const unvoiced = (await ask(describeTask, voiceOnlyUnvoiced)).text;
    expect(unvoiced).not.toMatch(/F0|\d Hz/);
    expect(unvoiced).toContain('4.1 syllables/s');
    expect(unvoiced).toContain('No pitch could be measured');
    expect(unvoiced).not.toContain('sentiment');
  });

  it('mentions keyframes honestly when they exist, without describing a face', async () => {
    const withFrames = Segment.parse({
      ...happy,
      frames: [
        { key: 'media/ab/a.jpg', bytes: 10 },
        { key: 'media/ab/b.jpg', bytes: 10 },
      ],
    });
    const { text } = await ask(describeTask, withFrames);
    expect(text.startsWith('2 keyframes were extracted, but facial cues were not analysed.')).toBe(true);
    expect(text).not.toMatch(/smil|frown|eyebrow/i);
  });

  it('cites the face expression first when face cues exist, and says so when no face was found', async () => {
    const frame = (time: number, happyP: number) => ({
      time,
      faces: 1,
      box: { x: 200, y: 60, width: 120, height: 140, score: 0.98 },
      expressions: { happy: happyP, neutral: 1 - happyP, sad: 0, angry: 0, fearful: 0, disgusted: 0, surprised: 0 },
    });
    const visual = {
      detector: 'ssd' as const,
      frames: [frame(0.4, 0.9), frame(1.2, 0.94), frame(2, 0.2)],
      meanExpressions: { happy: 0.68, neutral: 0.32, sad: 0, angry: 0, fearful: 0, disgusted: 0, surprised: 0 },
      dominant: 'happy' as const,
      stability: 0.67,
      faceRatio: 1,
      crops: [],
    };
    const withFace = Segment.parse({ ...neutral, cues: { ...neutral.cues, visual } });
    const { text } = await ask(describeTask, withFace);
    expect(text.startsWith('The face reads as happy (mean probability 0.68) in 3 of 3 keyframes, stable in 67% of them.')).toBe(true);
    const { steps } = await ask(rationaleTask, withFace);
    expect(steps[0]).toMatch(/^Step 1: The face reads as happy/);
    expect(estimateSegment(withFace).byModality.video).toBe('happy');

    const noFace = Segment.parse({
      ...neutral,
      cues: {
        ...neutral.cues,
        visual: {
          ...visual,
          frames: visual.frames.map((f) => ({ ...f, faces: 0, box: null, expressions: null })),
          meanExpressions: null,
          dominant: null,
          stability: 0,
          faceRatio: 0,
        },
      },
    });
    expect((await ask(describeTask, noFace)).text.startsWith('No face was found in 3 keyframes.')).toBe(true);
    expect(estimateSegment(noFace).byModality.video).toBeNull();
  });

  it('names a conflict between voice and words', async () => {
    const mixed = segment('mixed', {
      ...{ text: 'I am so happy today' },
      acoustic: sad.cues!.acoustic,
      lexical: { score: 0.3, sentiment: 'positive', positiveWords: ['happy'], negativeWords: [], emotionWords: [{ word: 'happy', emotion: 'happy' }] },
    });
    const { text } = await ask(describeTask, mixed);
    expect(text).toMatch(/The voice points to sad while the words point to happy/);
  });
});

describe('RulesTeacher labels', () => {
  it('gives openset words, sentiment, valence and arousal that agree with the evidence', async () => {
    const h = await ask(labelsTask, happy);
    expect(h.primary).toBe('happy');
    expect(h.openset).toEqual(expect.arrayContaining(['happy', 'joyful']));
    expect(h.openset.length).toBeGreaterThanOrEqual(2);
    expect(h.openset.length).toBeLessThanOrEqual(4);
    expect(h.valence).toBeGreaterThan(0.3);
    expect(h.arousal).toBeGreaterThan(0.2);

    const s = await ask(labelsTask, sad);
    expect(s).toMatchObject({ primary: 'sad', sentiment: 'negative' });
    expect(s.valence).toBeLessThan(-0.3);
    expect(s.arousal).toBeLessThan(0);
  });

  it('gives neutral an empty openset, as AffectGPT reads it', async () => {
    expect(await ask(labelsTask, neutral)).toMatchObject({ primary: 'neutral', openset: [], sentiment: 'neutral' });
    expect((await ask(labelsTask, bare)).openset).toEqual([]);
  });
});

const faceFrame = (time: number, happyP: number) => ({
  time,
  faces: 1,
  box: { x: 200, y: 60, width: 120, height: 140, score: 0.98 },
  expressions: { happy: happyP, neutral: 1 - happyP, sad: 0, angry: 0, fearful: 0, disgusted: 0, surprised: 0 },
});
/** Visual cues of three keyframes with a face whose mean 'happy' probability is `happyP`. */
function faceCues(happyP: number) {
  return {
    detector: 'ssd' as const,
    frames: [faceFrame(0.4, happyP), faceFrame(1.2, happyP), faceFrame(2, happyP)],
    meanExpressions: { happy: happyP, neutral: 1 - happyP, sad: 0, angry: 0, fearful: 0, disgusted: 0, surprised: 0 },
    dominant: (happyP >= 0.5 ? 'happy' : 'neutral') as 'happy' | 'neutral',
    stability: 0.67,
    faceRatio: 1,
    crops: [],
  };
}
const noFaceCues = {
  detector: 'ssd' as const,
  frames: [0.4, 1.2, 2].map((time) => ({ time, faces: 0, box: null, expressions: null })),
  meanExpressions: null,
  dominant: null,
  stability: 0,
  faceRatio: 0,
  crops: [],
};
const withVisual = (seg: Segment, visual: unknown) => Segment.parse({ ...seg, cues: { ...seg.cues, visual } });

const questions = (items: { kind: string; question: string }[]) => items.map((item) => `${item.kind}: ${item.question}`);
const WHY_HAPPY = 'open: Why does the person most likely feel happy?';
const STRONGEST = 'open: Which cue points most strongly to the emotion?';
const FACE = 'attribute: What facial expression does the person show?';
const TONE = 'attribute: How would you describe the tone of voice?';
const SAID = 'attribute: What does the person say?';

describe('RulesTeacher qa', () => {
  it('asks every kind by default, in the order mcq, open, attribute, skipping the face question without face cues', async () => {
    const { items } = await ask(qaTask, happy);
    expect(questions(items)).toEqual([expect.stringMatching(/^mcq: Which emotion/), WHY_HAPPY, STRONGEST, TONE, SAID]);
    expect(items.filter((item) => item.kind !== 'mcq').every((item) => item.options === undefined)).toBe(true);

    const face = (await ask(qaTask, withVisual(happy, faceCues(0.68)))).items;
    expect(questions(face)).toEqual([expect.stringMatching(/^mcq: /), WHY_HAPPY, STRONGEST, FACE, TONE, SAID]);
  });

  it('asks only the requested kinds, in canonical order whatever order they are requested in', async () => {
    expect(questions((await ask(qaTask, happy, { kinds: ['mcq'] })).items)).toEqual([expect.stringMatching(/^mcq: /)]);
    expect(questions((await ask(qaTask, happy, { kinds: ['open'] })).items)).toEqual([WHY_HAPPY, STRONGEST]);
    expect(questions((await ask(qaTask, happy, { kinds: ['attribute', 'mcq'] })).items)).toEqual([expect.stringMatching(/^mcq: /), TONE, SAID]);
    for (const kinds of [['essay'], [], 'mcq']) {
      await expect(ask(qaTask, happy, { kinds })).rejects.toSatisfy(
        (error: unknown) => error instanceof RecordError && error.reason === 'teacher-bad-options' && /options\.kinds/.test(error.message),
      );
    }
  });

  it('asks a multiple-choice question with 4 distinct options containing the answer', async () => {
    const [item] = (await ask(qaTask, happy, { kinds: ['mcq'] })).items;
    expect(item.kind).toBe('mcq');
    expect(item.answer).toBe('happy');
    expect(new Set(item.options)).toHaveProperty('size', 4);
    expect(item.options).toContain('happy');
    for (const option of item.options!) expect(item.question).toContain(option);
  });

  it('keeps the same items on every run and varies the option order across segments', async () => {
    const first = await ask(qaTask, withVisual(happy, faceCues(0.68)));
    const again = await new RulesTeacher().generate(
      teacherRequest(qaTask, { template: 'qa.rules@1', segment: structuredClone(withVisual(happy, faceCues(0.68))) }),
      signal,
    );
    expect(again.value).toEqual(first);

    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const seg = Segment.parse({ ...happy, id: hex(`other-${i}`) });
      orders.add((await ask(qaTask, seg)).items[0].options!.join(','));
    }
    expect(orders.size).toBeGreaterThan(3);
  });

  it('draws distractors from the requested label set, which only MCQ needs', async () => {
    const labelSet = ['happy', 'calm', 'bored', 'tense', 'proud'];
    const { items } = await ask(qaTask, happy, { labelSet });
    for (const option of items[0].options!) expect(labelSet).toContain(option);
    await expect(ask(qaTask, happy, { labelSet: ['happy', 'sad', 'angry'] })).rejects.toThrow(/at least 3 labels other than the answer/);
    await expect(ask(qaTask, happy, { labelSet: ['happy', 'sad', 'angry'], kinds: ['open', 'attribute'] })).resolves.toBeDefined();
  });

  it('answers "why" with exactly the findings that support the predicted emotion', async () => {
    const estimate = estimateSegment(happy);
    const supporting = estimate.evidence.filter((e) => (e.weights.happy ?? 0) > 0).map((e) => `${e.finding}.`);
    const [why] = (await ask(qaTask, happy, { kinds: ['open'] })).items;
    expect(why.answer).toBe([...supporting, 'Together these cues point to happy.'].join(' '));
    for (const cited of ['252 Hz', '-14 dBFS', "'happy'", '+0.62']) expect(why.answer).toContain(cited);
    for (const quoted of why.answer.match(/'[^']+'/g) ?? []) expect(happy.transcript!.text.toLowerCase()).toContain(quoted.slice(1, -1));

    const sadWhy = (await ask(qaTask, sad, { kinds: ['open'] })).items[0];
    expect(sadWhy.question).toBe('Why does the person most likely feel sad?');
    for (const cited of ['88 Hz', '-31 dBFS', '1.6 words/s', '46%', "'lost'", '-0.55']) expect(sadWhy.answer).toContain(cited);
  });

  it('names the single cue that adds most to the emotion', async () => {
    const [, strongest] = (await ask(qaTask, happy, { kinds: ['open'] })).items;
    // the emotion word 'happy' (weight 1.0) outweighs the high pitch (0.8) and the positive wording (0.74)
    expect(strongest.answer).toBe(
      "The emotion words: the transcript contains the word 'happy', which expresses happiness. Of the measured cues, it points most strongly to happy.",
    );
    const faceOnly = withVisual(bare, { ...faceCues(0.9), stability: 1 });
    expect(estimateSegment(faceOnly).primary).toBe('happy');
    const face = (await ask(qaTask, faceOnly, { kinds: ['open'] })).items;
    expect(face[0].answer).toBe('The face reads as happy (mean probability 0.90) in 3 of 3 keyframes, stable in 100% of them. This cue points to happy.');
    expect(face[1].answer).toBe(
      'The facial expression: the face reads as happy (mean probability 0.90) in 3 of 3 keyframes, stable in 100% of them. Of the measured cues, it points most strongly to happy.',
    );
  });

  it('says no cue was measured instead of inventing one, and then asks no "which cue" question', async () => {
    const { items } = await ask(qaTask, bare, { kinds: ['open', 'attribute'] });
    expect(items).toEqual([
      {
        kind: 'open',
        question: 'Why does the person most likely feel neutral?',
        answer: 'No facial, acoustic or textual cue was measured that points to an emotion, so the reading stays neutral.',
      },
    ]);
    expect((await ask(qaTask, bare, { kinds: ['attribute'] })).items).toEqual([]);
  });

  it('says when the measured cues are too weak to beat a neutral reading', async () => {
    const fastOnly = segment('fast-only', {
      acoustic: {
        duration: 2,
        f0MeanHz: null,
        f0SdHz: null,
        f0MinHz: null,
        f0MaxHz: null,
        voicedRatio: 0.05,
        rmsDb: -20,
        rmsSdDb: 2,
        pauseRatio: 0.1,
        speechRate: 4,
        speechRateSource: 'transcript',
      },
    });
    expect(estimateSegment(fastOnly)).toMatchObject({ primary: 'neutral', evidence: [{ cue: 'speech-rate' }] });
    expect((await ask(qaTask, fastOnly, { kinds: ['open'] })).items).toEqual([
      {
        kind: 'open',
        question: 'Why does the person most likely feel neutral?',
        answer: 'No measured cue is strong enough to point to an emotion: the speech is fast, at 4.0 words/s. So the reading stays neutral.',
      },
    ]);
  });

  it('describes the face only when one was found, and says when its expression is unclear', async () => {
    const face = (await ask(qaTask, withVisual(neutral, faceCues(0.68)), { kinds: ['attribute'] })).items[0];
    expect(face).toEqual({
      kind: 'attribute',
      question: 'What facial expression does the person show?',
      answer:
        'The person shows a happy facial expression (mean probability 0.68) in 3 of 3 keyframes, stable in 67% of them. The next most likely reading is neutral (0.32).',
    });
    const unclear = withVisual(neutral, {
      ...faceCues(0.3),
      dominant: 'happy',
      meanExpressions: { happy: 0.3, neutral: 0.28, sad: 0.2, angry: 0.12, fearful: 0.1, disgusted: 0, surprised: 0 },
    });
    expect((await ask(qaTask, unclear, { kinds: ['attribute'] })).items[0].answer).toBe(
      'A face is visible in 3 of 3 keyframes, but its expression is unclear: the most likely reading is happy, at a mean probability of only 0.30.',
    );
    // an unclear face is not evidence: neither "why" nor the rationale cites it
    expect((await ask(qaTask, unclear, { kinds: ['open'] })).items.map((i) => i.answer).join(' ')).not.toMatch(/face/i);
    expect((await ask(rationaleTask, unclear)).steps.join(' ')).not.toMatch(/face/i);

    const noFace = await ask(qaTask, withVisual(neutral, noFaceCues), { kinds: ['attribute'] });
    expect(questions(noFace.items)).toEqual([TONE, SAID]);
  });

  it('describes the tone of voice with pitch level, loudness and pace, and only from acoustic cues', async () => {
    const tone = (await ask(qaTask, sad, { kinds: ['attribute'] })).items.find((i) => i.question.includes('tone'))!;
    expect(tone.answer).toBe(
      'The pitch is low (mean 88 Hz, range 80–99 Hz), the intonation is flat (pitch SD 5 Hz), the voice is quiet (-31 dBFS), the pace is slow (1.6 words/s) and pauses fill 46% of the segment.',
    );

    const unvoiced = (await ask(qaTask, voiceOnlyUnvoiced, { kinds: ['attribute'] })).items;
    expect(unvoiced).toEqual([
      {
        kind: 'attribute',
        question: 'How would you describe the tone of voice?',
        answer: 'No pitch could be measured (2% of frames voiced), the voice is at a moderate level (-24 dBFS) and the pace is ordinary (4.1 syllables/s).',
      },
    ]);

    const wordsOnly = segment('words-only', { text: 'Fine, see you then.' });
    expect(questions((await ask(qaTask, wordsOnly, { kinds: ['attribute'] })).items)).toEqual([SAID]);
  });

  it('quotes what was said only when the transcript has words', async () => {
    const said = (await ask(qaTask, happy, { kinds: ['attribute'] })).items.at(-1)!;
    expect(said).toEqual({ kind: 'attribute', question: 'What does the person say?', answer: 'We won the final, I am so happy!' });
    const silentWords = segment('silent-words', { text: '   ', acoustic: sad.cues!.acoustic });
    expect(questions((await ask(qaTask, silentWords, { kinds: ['attribute'] })).items)).toEqual([TONE]);
  });

  it('writes items the QA schema accepts', async () => {
    for (const seg of [happy, sad, neutral, bare, voiceOnlyUnvoiced, withVisual(happy, faceCues(0.68)), withVisual(sad, noFaceCues)]) {
      const { items } = await ask(qaTask, seg);
      for (const item of items)
        expect(() => QAItem.parse({ ...item, provenance: { teacher: 'rules', model: RULES_MODEL, template: 'qa.rules@1' } })).not.toThrow();
    }
  });
});

describe('RulesTeacher rationale', () => {
  it('cites only cues present in the record and ends with the predicted emotion', async () => {
    const { steps, emotion } = await ask(rationaleTask, happy);
    expect(emotion).toBe('happy');
    steps.forEach((step, i) => expect(step.startsWith(`Step ${i + 1}: `)).toBe(true));
    expect(steps.at(-1)).toBe(`Step ${steps.length}: predicted emotion is happy`);
    for (const step of steps.slice(0, -1)) {
      const cites = step.match(/-?\d+(\.\d+)?|'[^']+'/g) ?? [];
      expect(cites.length).toBeGreaterThan(1); // the step number and at least one cue
      for (const quoted of step.match(/'[^']+'/g) ?? []) expect(happy.transcript!.text.toLowerCase()).toContain(quoted.slice(1, -1));
    }
    expect(steps.join(' ')).toContain('252 Hz');
    expect(steps.join(' ')).toContain('+0.62');
  });

  it('cites the face first when one was read, and always ends with exactly "Step N: predicted emotion is X"', async () => {
    const face = await ask(rationaleTask, withVisual(sad, faceCues(0.68)));
    expect(face.steps[0]).toBe('Step 1: The face reads as happy (mean probability 0.68) in 3 of 3 keyframes, stable in 67% of them; this points to happy.');
    for (const seg of [happy, sad, neutral, bare, voiceOnlyUnvoiced, withVisual(sad, faceCues(0.68)), withVisual(happy, noFaceCues)]) {
      const { steps, emotion } = await ask(rationaleTask, seg);
      expect(emotion).toBe(estimateSegment(seg).primary);
      expect(steps.at(-1)).toBe(`Step ${steps.length}: predicted emotion is ${emotion}`);
      expect(steps.slice(0, -1).filter((step) => /predicted emotion/.test(step))).toEqual([]);
    }
  });

  it('does not cite what was not measured', async () => {
    const { steps } = await ask(rationaleTask, bare);
    expect(steps.at(-1)).toMatch(/predicted emotion is neutral$/);
    expect(steps.join(' ')).not.toMatch(/Hz|dBFS|sentiment score|'/);

    const { steps: voiceOnly } = await ask(rationaleTask, voiceOnlyUnvoiced);
    expect(voiceOnly.join(' ')).not.toMatch(/Hz|sentiment|transcript/);
  });
});

describe('RulesTeacher contract', () => {
  it('validates its output with the request schema', async () => {
    const tooShort = z.object({ text: z.string().max(10) });
    await expect(
      teacher.generate(teacherRequest({ ...describeTask, output: tooShort }, { template: 'describe.rules@1', segment: happy }), signal),
    ).rejects.toSatisfy((error: unknown) => error instanceof RecordError && error.reason === 'teacher-invalid-output' && /describe/.test(error.message));
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    await expect(teacher.generate(teacherRequest(labelsTask, { template: 'labels.rules@1', segment: happy }), controller.signal)).rejects.toThrow(
      'run cancelled',
    );
  });
});

describe('createTeacherRegistry', () => {
  it('maps every role to the offline rules teacher by default', () => {
    const registry = createTeacherRegistry();
    for (const role of ['describe', 'labels', 'qa', 'rationale'] as const) {
      expect(registry.forRole(role)).toMatchObject({ name: 'rules', model: 'rules-v3' });
    }
    expect(registry.forRole('qa')).toBe(registry.forRole('describe'));
  });

  it('routes a role to a named teacher', () => {
    const registry = createTeacherRegistry({ teachers: { strict: { kind: 'rules', model: 'rules-v3' } }, roles: { qa: 'strict' } });
    expect(registry.forRole('qa')).toMatchObject({ name: 'strict', model: 'rules-v3' });
    expect(registry.forRole('describe').name).toBe('rules');
  });

  it('names the role and the missing teacher in its errors', () => {
    expect(() => createTeacherRegistry({ roles: { rationale: 'gpt4o' } })).toThrow(ConfigError);
    expect(() => createTeacherRegistry({ roles: { rationale: 'gpt4o' } })).toThrow(
      /roles\.rationale: role 'rationale' uses teacher 'gpt4o', which is not defined under teachers \(defined: rules\)/,
    );
    expect(() => createTeacherRegistry({ teachers: { x: { kind: 'vllm' } } } as never)).toThrow(/teachers\.x/);
    expect(() => createTeacherRegistry({ roles: { caption: 'rules' } } as never)).toThrow(/caption/);
  });
});
