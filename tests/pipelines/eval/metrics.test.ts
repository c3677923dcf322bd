// The scoring pieces of `emoforge eval` on hand-computed cases: the emotion-wheel grouping (synonyms
// through the label normaliser), the mcq option an answer names, AffectGPT's set-level F and the
// sentiment-level score, MME-Emotion's step scores, the rules judge, and the bootstrap intervals.
import { describe, expect, it } from 'vitest';
import { bootstrap, pairedBootstrap, mean } from '../../../pipelines/eval/bootstrap.ts';
import { labelWords, sentimentOfSet, wheelGroupOf, wheelSet } from '../../../pipelines/eval/emotion-wheel.ts';
import { evalJudgeTask, rulesEvalJudgement, segmentOfRow } from '../../../pipelines/eval/judge.ts';
import { answerSteps, chosenOption, mcqOptions, scoreMcq, scoreOvLabels, scoreRationaleSteps, TASK_METRICS } from '../../../pipelines/eval/task-scores.ts';

describe('emotion wheel grouping', () => {
  it('maps wheel words and synonyms the wheel lacks onto the same centre', () => {
    // On the wheel (MERTools wheel1.xlsx level 1).
    expect(wheelGroupOf('furious')).toBe('mad');
    expect(wheelGroupOf('Let Down')).toBe('mad');
    expect(wheelGroupOf('excited')).toBe('surprised');
    expect(wheelGroupOf('worried')).toBe('scared');
    // Not on the wheel: through the label normaliser (emotion-words.ts).
    expect(wheelGroupOf('joy')).toBe('happy');
    expect(wheelGroupOf('afraid')).toBe('scared');
    expect(wheelGroupOf('ang')).toBe('mad');
    expect(wheelGroupOf('irritated')).toBe('mad');
    // Neutral has no centre; unknown words are left out.
    expect(wheelGroupOf('neutral')).toBeNull();
    expect(wheelGroupOf('blue-ish')).toBeNull();
    expect([...wheelSet(['happy', 'joyful', 'glad', 'cheerful'])]).toEqual(['happy']);
  });

  it('reads a comma list or a Python-style list', () => {
    expect(labelWords("['excited', 'joyful', 'happy']")).toEqual(['excited', 'joyful', 'happy']);
    expect(labelWords('Angry, frustrated; annoyed.')).toEqual(['angry', 'frustrated', 'annoyed']);
  });

  it('scores an open set by wheel centres: synonyms count once, neutral targets are left out', () => {
    // target {happy, surprised}; "glad, cheerful" is {happy}: P = 1/1, R = 1/2.
    expect(scoreOvLabels(['happy', 'joyful', 'excited'], 'positive', 'glad, cheerful').scores).toEqual({ precision: 1, recall: 0.5, sentiment: 1 });
    // target {mad}; "furious, scared" is {mad, scared}: P = 1/2, R = 1; sentiment negative = negative.
    expect(scoreOvLabels(['angry'], 'negative', 'furious, scared').scores).toEqual({ precision: 0.5, recall: 1, sentiment: 1 });
    // An empty (or unknown-only) prediction scores 0/0; its sentiment is neutral.
    expect(scoreOvLabels(['sad'], 'negative', 'hmm').scores).toEqual({ precision: 0, recall: 0, sentiment: 0 });
    // Neutral target (empty set): no precision or recall; the sentiment still counts.
    expect(scoreOvLabels([], 'neutral', 'neutral').scores).toEqual({ precision: null, recall: null, sentiment: 1 });
    // F of the means: rows (1, 0.5), (0.5, 1), (0, 0) → P = 0.5, R = 0.5, F = 0.5.
    const rows = [
      { precision: 1, recall: 0.5 },
      { precision: 0.5, recall: 1 },
      { precision: 0, recall: 0 },
      { precision: null, recall: null },
    ];
    expect(TASK_METRICS.ov_labels.f_score(rows)).toBeCloseTo(0.5, 12);
    expect(sentimentOfSet(new Set(['happy', 'sad', 'mad']))).toBe('negative');
    expect(sentimentOfSet(new Set(['surprised']))).toBe('neutral');
  });
});

describe('mcq', () => {
  const question =
    'The subtitle of this video is: <Subtitle>x</Subtitle>. Which emotion does the speaker in this clip most likely feel? Choose one of: sad, happy, angry, neutral.';
  it('finds the options and the one the answer names', () => {
    expect(mcqOptions(question)).toEqual(['sad', 'happy', 'angry', 'neutral']);
    expect(chosenOption('Happy.', ['sad', 'happy', 'angry', 'neutral'])).toBe('happy');
    expect(chosenOption('The answer is: angry', ['sad', 'happy', 'angry', 'neutral'])).toBe('angry');
    expect(chosenOption('The person looks happy, not sad.', ['sad', 'happy', 'angry', 'neutral'])).toBeNull();
    expect(scoreMcq(question, 'happy', 'I think the speaker is happy').scores).toEqual({ correct: 1 });
    expect(scoreMcq(question, 'happy', 'surprised').scores).toEqual({ correct: 0 });
  });
});

describe('rationale (MME-Emotion)', () => {
  it('recognition is the last step, reasoning the mean of the others, CoT their average', () => {
    expect(scoreRationaleSteps([1, 0, 1, 1])).toEqual({ recognition: 1, reasoning: 2 / 3, cot: (1 + 2 / 3) / 2 });
    expect(scoreRationaleSteps([1, 1, 0])).toEqual({ recognition: 0, reasoning: 1, cot: 0.5 });
    expect(scoreRationaleSteps([1])).toEqual({ recognition: 1, reasoning: 0, cot: 0.5 });
    expect(answerSteps('Step 1: a.\nStep 2: b. Step 3: predicted emotion is sad')).toEqual(['Step 1: a.', 'Step 2: b.', 'Step 3: predicted emotion is sad']);
  });

  const row = {
    id: 'a'.repeat(64),
    segment_id: 'b'.repeat(64),
    clip_id: 'c'.repeat(64),
    start: 0,
    end: 3,
    transcript: 'all is lost and i am so tired',
    language: 'en',
    primary_emotion: 'sad',
    openset: ['sad'],
    sentiment: 'negative',
    valence: -0.6,
    arousal: -0.4,
    teacher: 'rules',
    model: 'rules-v3',
    template: 'rationale.rules@1',
    cues: JSON.stringify({
      acoustic: {
        duration: 3,
        f0MeanHz: 92,
        f0SdHz: 4,
        f0MinHz: 83,
        f0MaxHz: 97,
        f0SlopeHzPerS: -2,
        voicedRatio: 0.6,
        rmsDb: -31,
        rmsSdDb: 3,
        loudnessLufs: -30,
        pauseRatio: 0.3,
        speechRate: 2.1,
        speechRateSource: 'transcript',
      },
    }),
  };

  it('the rules judge checks the verdict against the label and each other step against the record', () => {
    const steps = [
      'Step 1: The mean pitch is 92 Hz, low for adult speech.',
      'Step 2: The mean pitch is 250 Hz.',
      'Step 3: The speaker says "all is lost".',
      'Step 4: predicted emotion is sad',
    ];
    const verdict = rulesEvalJudgement(segmentOfRow(row), { task: 'rationale', question: 'q', answer: steps.join('\n'), reference: '', steps, label: 'sad' });
    expect(verdict.steps).toEqual([1, 0, 1, 1]);
    const wrong = rulesEvalJudgement(segmentOfRow(row), {
      task: 'rationale',
      question: 'q',
      answer: '',
      reference: '',
      steps: ['Step 1: The mean pitch is 92 Hz.', 'Step 2: predicted emotion is happy'],
      label: 'sad',
    });
    expect(wrong.steps).toEqual([1, 0]);
    expect(wrong.reason).toMatch(/does not conclude sad/);
  });

  it('the rules judge scores a free answer by the share of faithful sentences and the label hit', () => {
    const answer = 'The mean pitch is 92 Hz. The voice is at -31 dBFS. The pitch range reaches 400 Hz. The person is sad.';
    const verdict = rulesEvalJudgement(segmentOfRow(row), { task: 'description', question: 'q', answer, reference: '', steps: [], label: 'sad' });
    // 3 of 4 sentences faithful → round(7.5) = 8.
    expect(verdict).toMatchObject({ faithfulness: 8, labelHit: true, steps: [] });
    const asked = { question: 'q', answer: 'a', reference: 'r', label: 'happy' } as const;
    const judged = { faithfulness: 0, labelHit: false, reason: 'r' };
    expect(evalJudgeTask.check!({ ...judged, steps: [1] }, { ...asked, task: 'rationale', steps: ['a', 'b'] })).toHaveLength(1);
    expect(evalJudgeTask.check!({ ...judged, steps: [] }, { ...asked, task: 'description', steps: [] })).toEqual([]);
  });
});

describe('bootstrap intervals', () => {
  it('a mean of 100 coin flips (p = 0.5) has a 95% interval about ±1.96·0.05 wide', () => {
    const flips = Array.from({ length: 100 }, (_, i) => i % 2);
    const interval = bootstrap(flips, mean, 'coin');
    expect(interval.value).toBe(0.5);
    expect(interval.n).toBe(100);
    // Normal approximation: 2 × 1.96 × sqrt(0.25/100) = 0.196.
    expect(interval.high! - interval.low!).toBeGreaterThan(0.17);
    expect(interval.high! - interval.low!).toBeLessThan(0.22);
    expect(interval.low!).toBeLessThan(0.5);
    expect(interval.high!).toBeGreaterThan(0.5);
    // Seeded: the same rows and seed give the same interval; another seed another one.
    expect(bootstrap(flips, mean, 'coin')).toEqual(interval);
    expect(bootstrap(flips, mean, 'other seed')).not.toEqual(interval);
  });

  it('constant scores have a zero-width interval; a paired difference of a model with itself is [0, 0]', () => {
    expect(bootstrap([1, 1, 1, 1], mean, 's')).toEqual({ value: 1, low: 1, high: 1, n: 4 });
    const pairs = [0, 1, 1, 0, 1].map((v) => [v, v] as const);
    expect(pairedBootstrap(pairs, mean, 's')).toEqual({ value: 0, low: 0, high: 0, n: 5 });
    expect(bootstrap([], mean, 's')).toEqual({ value: null, low: null, high: null, n: 0 });
  });
});

describe('the example model config', () => {
  it('configs/eval/vllm.yaml loads, with the rules judge by default', async () => {
    const { loadEvalModelConfig, modelName } = await import('../../../pipelines/eval/model-config.ts');
    const config = await loadEvalModelConfig(new URL('../../../configs/eval/vllm.yaml', import.meta.url).pathname);
    expect(modelName(config)).toBe('emo-ft');
    expect(config.media).toEqual({ frames: 8, imageDetail: 'low', audio: true, video: false });
    expect(config.teachers).toBeUndefined();
  });
});

describe('the eval-judge role', () => {
  it('stays out of a run config fingerprint: choosing a judge never invalidates or republishes a corpus', async () => {
    const { buildPlan } = await import('../../../pipelines/config.ts');
    const { STAGES } = await import('../../../stages/index.ts');
    const { demoConfig } = await import('../../helpers.ts');
    const judge = { kind: 'openai', endpoint: { baseURL: 'http://127.0.0.1:9/v1', model: 'grader' } };
    const plain = buildPlan('a.yaml', demoConfig({}, { teachers: { teachers: { grader: judge } } }), STAGES);
    const judged = buildPlan('a.yaml', demoConfig({}, { teachers: { teachers: { grader: judge }, roles: { 'eval-judge': 'grader' } } }), STAGES);
    expect(judged.fingerprint).toBe(plain.fingerprint);
    // A pipeline role does change it.
    const described = buildPlan('a.yaml', demoConfig({}, { teachers: { teachers: { grader: judge }, roles: { describe: 'grader' } } }), STAGES);
    expect(described.fingerprint).not.toBe(plain.fingerprint);
  });
});

describe('--tasks', () => {
  it('takes a comma list of the scored tasks, in their order, and names what it cannot score', async () => {
    const { parseTasks, EvalOptionError } = await import('../../../scripts/commands/eval.ts');
    expect(parseTasks('ov_labels, mcq')).toEqual(['mcq', 'ov_labels']);
    expect(parseTasks(undefined)).toBeUndefined();
    expect(() => parseTasks('mcq,attribute_qa')).toThrow(EvalOptionError);
    expect(() => parseTasks('mcq,attribute_qa')).toThrow(
      '--tasks takes a comma list of mcq, ov_labels, rationale, description, open_qa; ["attribute_qa"] is not scored by eval',
    );
  });
});

describe('summaries', () => {
  it('per task and label: values, intervals and n of the rows that define each metric', async () => {
    const { summarise } = await import('../../../pipelines/eval/evaluate.ts');
    const row = (id: string, label: string, scores: object) => ({
      id,
      segment_id: id,
      task: 'ov_labels' as const,
      label,
      question: '',
      target: '',
      answer: '',
      score: null,
      scores: JSON.stringify(scores),
      judge_reason: null,
      judge: null,
    });
    const tasks = summarise(
      [
        row('1', 'happy', { precision: 1, recall: 0.5, sentiment: 1 }),
        row('2', 'happy', { precision: 0.5, recall: 1, sentiment: 0 }),
        row('3', 'neutral', { precision: null, recall: null, sentiment: 1 }),
      ],
      'unit',
    );
    const ov = tasks.ov_labels!;
    expect(ov.n).toBe(3);
    // P = R = 0.75 over the two rows that have them; F = 0.75; sentiment 2/3 over all three.
    expect(ov.metrics.f_score).toMatchObject({ value: 0.75, n: 2 });
    expect(ov.metrics.precision).toMatchObject({ value: 0.75, n: 2 });
    expect(ov.metrics.sentiment_accuracy).toMatchObject({ value: 0.666667, n: 3 });
    expect(ov.labels.neutral.metrics.precision).toEqual({ value: null, low: null, high: null, n: 0 });
    expect(ov.labels.happy.metrics.sentiment_accuracy).toMatchObject({ value: 0.5, n: 2 });
  });
});
