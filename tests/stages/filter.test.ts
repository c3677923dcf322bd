// The filter's rules one by one, on records the real rules teacher wrote text for: each rule is
// shown keeping the untouched record and dropping a record changed to break it, with its reason.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isDrop, type DropResult } from '../../pipelines/stage.ts';
import { RulesTeacher } from '../../pipelines/teachers/rules-teacher.ts';
import { teacherRequest } from '../../pipelines/teachers/task.ts';
import type { TeacherTask } from '../../pipelines/teachers/teacher.ts';
import { Segment } from '../../schemas/records.ts';
import { filter, type FilterConfig } from '../../stages/filter.ts';
import { cuesForPrompt } from '../../pipelines/teachers/prompts.ts';
import { personOf } from '../../stages/cues/visual.ts';
import { visionTask } from '../../stages/clues.ts';
import { describeTask } from '../../stages/describe.ts';
import { labelsTask } from '../../stages/labels.ts';
import { qaTask } from '../../stages/qa.ts';
import { rationaleTask } from '../../stages/rationale.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { stageContext, tempDir } from '../helpers.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

const face = (happy: number, neutral: number) => ({
  happy,
  neutral,
  sad: 0.02,
  angry: 0.01,
  fearful: 0.01,
  disgusted: 0,
  surprised: 1 - happy - neutral - 0.04,
});

/** A fully measured record: face, voice, words and the agreement of the three. */
function measured(seed: string, overrides: { text?: string; label?: string } = {}): Segment {
  const clipId = hex(`clip:${seed}`);
  return Segment.parse({
    id: hex(`segment:${seed}`),
    clipId,
    clip: {
      id: clipId,
      uri: `clips/${seed}.mp4`,
      name: seed,
      bytes: 120_000,
      probe: { duration: 3.2, formatName: 'mov,mp4', hasVideo: true, hasAudio: true },
      manifest: { speaker: 'spk1', label: overrides.label ?? 'joyful' },
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3.2,
    transcript: { text: overrides.text ?? 'We won the final, I am so happy!', language: 'en', languageSource: 'config', engine: 'pocketsphinx' },
    cues: {
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
      visual: {
        detector: 'ssd',
        frames: [0.4, 1.2, 2].map((time) => ({ time, faces: 1, box: { x: 200, y: 60, width: 120, height: 140, score: 0.98 }, expressions: face(0.8, 0.1) })),
        meanExpressions: face(0.8, 0.1),
        dominant: 'happy',
        stability: 1,
        faceRatio: 1,
        crops: [],
      },
      agreement: {
        visual: { emotion: 'happy', confidence: 0.8 },
        acoustic: { emotion: 'happy', confidence: 0.66 },
        lexical: { emotion: 'happy', confidence: 0.9 },
        reference: { source: 'label', emotion: 'happy' },
        acousticBaseline: 'absolute',
        tag: 'consistent',
      },
    },
  });
}

const teacher = new RulesTeacher();
const signal = new AbortController().signal;
const provenance = { teacher: 'rules', model: 'rules-v3', template: 'x.rules@1' };

async function ask<T, O>(task: TeacherTask<T, O>, segment: Segment): Promise<T> {
  return (await teacher.generate(teacherRequest(task, { template: `${task.role}.rules@1`, segment }), signal)).value;
}

/** The record with everything the rules teacher writes, as the stages before the filter leave it. */
async function generated(segment: Segment): Promise<Segment> {
  const description = { ...(await ask(describeTask, segment)), provenance };
  const labels = { ...(await ask(labelsTask, { ...segment, description })), provenance };
  const qa = (await ask(qaTask, { ...segment, description, labels })).items.map((item) => ({ ...item, provenance }));
  const rationale = { ...(await ask(rationaleTask, { ...segment, description, labels })), provenance };
  return Segment.parse({ ...segment, description, labels, qa, rationale });
}

const parse = (config: unknown = {}): FilterConfig => filter.configSchema.parse(config);
/** Every check on, grounding at its strictest. */
const STRICT = { consistency: { manifest: true, cues: 'majority', sentiment: 'majority' }, grounding: { mode: 'drop', uncited: 'ungrounded' } };

let ctx: ReturnType<typeof stageContext>['ctx'];
const flags: { reason: string; detail: string }[] = [];
let base: Segment;

beforeAll(async () => {
  const store = new LocalStore(await tempDir('emoforge-filter-'));
  ctx = { ...stageContext({ store, stage: 'filter' }).ctx, flag: (reason, detail) => void flags.push({ reason, detail }) };
  base = await generated(measured('base'));
});

async function run(segment: Segment, config: unknown = {}): Promise<Segment | DropResult> {
  return filter.run(segment, parse(config), ctx);
}

async function dropped(segment: Segment, config: unknown = {}): Promise<DropResult> {
  const result = await run(segment, config);
  if (!isDrop(result)) throw new Error(`expected a drop, the segment was kept (config ${JSON.stringify(config)})`);
  return result;
}

const edit = (segment: Segment, change: (copy: Segment) => void): Segment => {
  const copy = structuredClone(segment);
  change(copy);
  return Segment.parse(copy);
};

describe('filter keeps a sound record', () => {
  it("keeps the rules teacher's record under every check, grounding at its strictest", async () => {
    expect(base.labels!.primary).toBe('happy');
    expect(base.rationale!.steps.length).toBeGreaterThanOrEqual(5);
    expect(await run(base, STRICT)).toEqual(base);
  });

  it("keeps the rules teacher's records for sad, neutral, silent and face-less inputs (their rationales are grounded)", async () => {
    const sad = measured('sad', { text: 'I lost everything and I miss her so much.', label: 'sad' });
    sad.cues!.acoustic = { ...sad.cues!.acoustic!, f0MeanHz: 88.2, f0SdHz: 5.1, f0MinHz: 80, f0MaxHz: 99, rmsDb: -31.2, pauseRatio: 0.46, speechRate: 1.6 };
    sad.cues!.lexical = {
      score: -0.55,
      sentiment: 'negative',
      positiveWords: [],
      negativeWords: ['lost', 'miss'],
      emotionWords: [{ word: 'miss', emotion: 'sad' }],
    };
    const neutral = measured('neutral', { text: 'The meeting is at three in the afternoon.', label: 'neutral' });
    neutral.cues!.acoustic = { ...neutral.cues!.acoustic!, f0MeanHz: 131, f0SdHz: 19, f0MinHz: 104, f0MaxHz: 171, rmsDb: -21, speechRate: 2.8 };
    neutral.cues!.lexical = { score: 0, sentiment: 'neutral', positiveWords: [], negativeWords: [], emotionWords: [] };
    const silent = edit(measured('silent'), (s) => {
      s.transcript!.text = '';
      delete s.cues!.lexical;
    });
    const faceless = edit(measured('faceless'), (s) => void delete s.cues!.visual);
    for (const seg of [sad, neutral, silent, faceless]) {
      const record = await generated(seg);
      const result = await run(record, { requireTranscript: false, grounding: { uncited: 'ungrounded' } });
      expect(isDrop(result) ? `${seg.clip.name}: ${result.reason} ${result.detail}` : 'kept').toBe('kept');
    }
  });
});

describe('low-level rules', () => {
  it('missing-field: names every required field a record lacks; unknown paths are refused with the fields there are', async () => {
    const lacking = edit(base, (s) => {
      delete s.description;
      s.qa = [];
    });
    const verdict = await dropped(lacking, { requiredFields: ['description', 'labels.primary', 'qa.answer'] });
    expect(verdict).toMatchObject({ reason: 'missing-field', detail: 'missing or empty: description, qa.answer' });
    expect(await run(base, { requiredFields: ['description', 'labels.primary', 'qa.answer', 'cues.visual.dominant'] })).toEqual(base);
    const withoutFace = edit(base, (s) => void (s.cues!.visual!.dominant = null));
    expect(await dropped(withoutFace, { requiredFields: ['cues.visual.dominant'] })).toMatchObject({ reason: 'missing-field' });
    const bad = filter.configSchema.safeParse({ requiredFields: ['labels.primay'] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0].message).toMatch(/"labels" has no field "primay" \(fields: primary, openset/);
  });

  it('too-short / too-long: duration bounds', async () => {
    expect(await dropped(edit(base, (s) => void (s.end = 0.3)))).toMatchObject({ reason: 'too-short', detail: '0.30s < minDurationSec 0.5' });
    expect(await dropped(base, { maxDurationSec: 2 })).toMatchObject({ reason: 'too-long', detail: '3.20s > maxDurationSec 2' });
  });

  it('language-not-allowed: the transcript language must be on the allow-list (by primary subtag)', async () => {
    expect(await dropped(base, { languages: ['fr', 'de'] })).toMatchObject({
      reason: 'language-not-allowed',
      detail: "transcript language 'en' (config) is not in languages [fr, de]",
    });
    expect(await run(base, { languages: ['en-GB'] })).toEqual(base);
    const undetermined = edit(base, (s) => void Object.assign(s.transcript!, { language: 'und', languageSource: 'detected' }));
    expect(await dropped(undetermined, { languages: ['en'] })).toMatchObject({ reason: 'language-not-allowed' });
    expect(await run(undetermined, { languages: ['en', 'und'] })).toEqual(undetermined);
    expect(filter.configSchema.safeParse({ languages: ['english!'] }).success).toBe(false);
  });

  it('empty-transcript / transcript-too-short / transcript-too-long', async () => {
    expect(await dropped(edit(base, (s) => void (s.transcript!.text = '  ')))).toMatchObject({ reason: 'empty-transcript' });
    expect(await dropped(base, { minTranscriptWords: 10 })).toMatchObject({ reason: 'transcript-too-short', detail: '8 words < minTranscriptWords 10' });
    expect(await dropped(base, { maxTranscriptChars: 10 })).toMatchObject({ reason: 'transcript-too-long' });
  });

  it('description-too-short / description-too-long', async () => {
    expect(await dropped(edit(base, (s) => void (s.description!.text = 'Happy.')))).toMatchObject({
      reason: 'description-too-short',
      detail: '6 chars < minDescriptionChars 20',
    });
    expect(await dropped(base, { maxDescriptionChars: 100 })).toMatchObject({ reason: 'description-too-long' });
  });

  it('answer-too-short / answer-too-long: every QA answer, by kind and position', async () => {
    expect(await dropped(base, { minAnswerChars: 6 })).toMatchObject({ reason: 'answer-too-short', detail: 'qa[0] (mcq) answer 5 chars < minAnswerChars 6' });
    const long = base.qa!.reduce((n, item) => Math.max(n, item.answer.length), 0);
    expect(await dropped(base, { maxAnswerChars: long - 1 })).toMatchObject({ reason: 'answer-too-long' });
    expect(await run(base, { maxAnswerChars: long })).toEqual(base);
  });

  it('refusal-text: a teacher declining, not a speaker saying "I cannot"', async () => {
    const refused = edit(base, (s) => void (s.description!.text = "I'm sorry, but I can't help with identifying emotions in this video."));
    expect(await dropped(refused)).toMatchObject({ reason: 'refusal-text', detail: expect.stringMatching(/^description says "I can't"/) });
    const inStep = edit(base, (s) => void (s.rationale!.steps[1] = 'Step 2: I am unable to analyse the audio.'));
    expect(await dropped(inStep)).toMatchObject({ reason: 'refusal-text', detail: expect.stringContaining('rationale.steps[1] says "I am unable to"') });
    // The speaker's words, read back by the "what does the person say" answer or quoted, are no refusal.
    const surprised = await generated(measured('surprised', { text: 'oh my goodness, i cannot believe it!' }));
    expect(surprised.qa!.some((item) => item.answer.includes('i cannot believe it'))).toBe(true);
    expect(await run(surprised)).toEqual(surprised);
    const quoting = edit(base, (s) => void (s.description!.text += ' The speaker says "I cannot stay" to a friend.'));
    expect(await run(quoting)).toEqual(quoting);
    // Extra patterns join the defaults.
    const custom = edit(base, (s) => void (s.description!.text = 'Unfortunately this request goes against my guidelines.'));
    expect(await run(custom)).toEqual(custom);
    expect(await dropped(custom, { refusalPatterns: ['against my guidelines'] })).toMatchObject({ reason: 'refusal-text' });
    expect(filter.configSchema.safeParse({ refusalPatterns: ['(unclosed'] }).error?.issues[0]).toMatchObject({
      path: ['refusalPatterns', 0],
      message: 'not a valid regular expression',
    });
  });

  it('teacher-boilerplate: the model talking about itself', async () => {
    const ai = edit(base, (s) => void (s.qa![1].answer = 'As an AI language model, I would say the person seems cheerful.'));
    expect(await dropped(ai)).toMatchObject({ reason: 'teacher-boilerplate', detail: expect.stringMatching(/^qa\[1\]\.answer says "As an AI"/) });
    const preamble = edit(base, (s) => void (s.description!.text = `Sure, here is the description: ${s.description!.text}`));
    expect(await dropped(preamble)).toMatchObject({ reason: 'teacher-boilerplate' });
    const custom = edit(base, (s) => void (s.description!.text += ' Let me know if you need anything else.'));
    expect(await run(custom)).toEqual(custom);
    expect(await dropped(custom, { boilerplatePatterns: ['let me know if'] })).toMatchObject({ reason: 'teacher-boilerplate' });
  });

  it('repetitive-text: a degenerate loop, measured as the share of repeated word n-grams', async () => {
    const looping = edit(base, (s) => void (s.description!.text = `The speaker looks happy. ${'The voice is loud and the speaker is happy. '.repeat(6)}`));
    const verdict = await dropped(looping);
    expect(verdict.reason).toBe('repetitive-text');
    expect(verdict.detail).toMatch(/^description: 0\.\d\d of its \d+ word 3-grams repeat \(maxRatio 0\.5\); most repeated: '.+' ×6$/);
    expect(await run(looping, { repetition: { maxRatio: 1 } })).toEqual(looping);
    // The rules teacher's own formulaic text stays far below the threshold.
    expect(await run(base, { repetition: { maxRatio: 0.2 } })).toEqual(base);
  });
});

describe('speaker visible', () => {
  const withSpeaker = (speaker: { track: string | null; confidence: number; method: 'av-correlation' | 'single-face' | 'no-speech' | 'no-face' }) =>
    edit(base, (s) => {
      const scores = [
        { track: 'face-1', correlation: 0.81, coverage: 1, mouthMotion: 0.07 },
        { track: 'face-2', correlation: 0.12, coverage: 0.9, mouthMotion: 0.01 },
      ];
      s.cues!.visual = { ...s.cues!.visual!, speaker: { ...speaker, scores } };
    });

  it('speaker-not-visible: off by default; on, it keeps a found speaker and drops a segment without one, with the scores', async () => {
    const found = withSpeaker({ track: 'face-1', confidence: 0.69, method: 'av-correlation' });
    const missing = withSpeaker({ track: null, confidence: 0.05, method: 'av-correlation' });
    expect(await run(missing)).toEqual(missing);
    expect(await run(found, { speakerVisible: true })).toEqual(found);
    const verdict = await dropped(missing, { speakerVisible: true });
    expect(verdict.reason).toBe('speaker-not-visible');
    expect(verdict.detail).toContain('no speaking face among 0 face tracks (av-correlation, confidence 0.05; face-1 r=0.81');
    // Its own threshold, above the stage's.
    expect((await dropped(found, { speakerVisible: { minConfidence: 0.8 } })).detail).toBe(
      'speaker face-1 found with confidence 0.69 < speakerVisible.minConfidence 0.8',
    );
    // A record from before speaker analysis (cues.visual 1) cannot show its speaker.
    expect((await dropped(base, { speakerVisible: true })).detail).toMatch(/no speaker analysis/);
    expect(() => parse({ speakerVisible: { minConfidence: 3 } })).toThrow(/minConfidence/);
  });
});

describe('the person the cues are about', () => {
  const expressions = face(0.8, 0.1);
  const geometry = { mouthOpening: 0.18, lipCornerRaise: 0.07, browHeight: 0.62, eyeOpenness: 0.27, headYaw: 0.04, headPitch: 0.45 };
  const tracked = (speaker: string | null) =>
    edit(measured('tracked'), (s) => {
      const track = (id: string) => ({
        id,
        times: [0.5, 1],
        boxes: [0, 1].map(() => ({ x: 200, y: 60, width: 120, height: 140, score: 0.98 })),
        expressions: [expressions, expressions],
        meanExpressions: expressions,
        mouthOpening: [0.1, 0.26],
        geometry: { mean: geometry, range: { ...geometry, mouthOpening: 0.16 }, browRaise: 0.03, browLowering: 0.02 },
      });
      s.cues!.visual = {
        ...s.cues!.visual!,
        tracks: [track('face-1'), track('face-2'), track('face-3')],
        speaker: {
          track: speaker,
          confidence: speaker ? 0.69 : 0.04,
          method: 'av-correlation',
          scores: [{ track: 'face-2', correlation: 0.81, coverage: 1, mouthMotion: 0.07 }],
        },
        described: speaker ?? 'face-1',
        otherFaces: 2,
        geometry: { mean: geometry, range: { ...geometry, mouthOpening: 0.16 }, browRaise: 0.03, browLowering: 0.02 },
        peak: { time: 1, emotion: 'happy', probability: 0.8, frame: { key: 'media/frames/ab/peak.jpg', bytes: 100, time: 1 } },
      };
    });

  it('the prompts and the rules teacher name the speaking track, the other faces, or that the speaker was not found; the rationale stays grounded', async () => {
    const found = tracked('face-2');
    expect(personOf(found)).toBe(
      'the speaking person: face track face-2, whose mouth moves with the speech (confidence 0.69); 2 other faces are in the video and not described',
    );
    expect(cuesForPrompt(found).video).toMatchObject({
      person: personOf(found),
      faceTracks: 3,
      otherFaces: 2,
      speaker: { track: 'face-2', confidence: 0.69 },
      peak: { timeSec: 1, emotion: 'happy' },
    });
    expect(personOf(tracked(null))).toMatch(
      /^face track face-1, the face seen longest; the speaker was not identified \(no face moves its mouth with the speech\)/,
    );

    const written = await generated(found);
    expect(written.description!.text).toContain(
      'The face cues are about the person speaking (face track face-2, whose mouth moves with the speech at confidence 0.69); 2 other faces are not described.',
    );
    expect((await generated(tracked(null))).description!.text).toContain(
      'The speaker could not be identified, so the face cues are about the face seen longest (face track face-1)',
    );
    const vision = await ask(visionTask, found);
    expect(vision.text).toContain(
      'Its expression peaks at 1.00 s (happy, 0.80). Landmark geometry (ratios to the eye spacing, not action units): mouth opening 0.18',
    );
    // Every number the teacher cites (confidence, track number, geometry) is in the record: strict grounding keeps it.
    expect(await run(written, STRICT)).toEqual(written);
    const cited = edit(
      written,
      (s) => void (s.rationale!.steps[0] = `${s.rationale!.steps[0]} The speaker (confidence 0.69) shows a happy peak at 1.0 s, mouth opening 0.18.`),
    );
    expect(await run(cited, STRICT)).toEqual(cited);
    const invented = edit(written, (s) => void (s.rationale!.steps[0] = `${s.rationale!.steps[0]} The expression peaks at 2.9 s.`));
    expect((await dropped(invented, STRICT)).reason).toBe('ungrounded-rationale');
  });
});

describe('label consistency', () => {
  it('label-mismatch-manifest: the manifest label, through the synonym map, must be among the labels', async () => {
    // 'joyful' is happy: the base record agrees.
    expect(await run(base, { consistency: { manifest: true } })).toEqual(base);
    const angry = edit(base, (s) => void (s.clip.manifest.label = 'Anger'));
    expect(await run(angry)).toEqual(angry);
    expect(await dropped(angry, { consistency: { manifest: true } })).toMatchObject({
      reason: 'label-mismatch-manifest',
      detail: "manifest label 'Anger' (angry) vs labels.primary happy, openset [happy, joyful, excited] (match: openset)",
    });
    // A secondary emotion in the openset counts under 'openset', not under 'primary'.
    const secondary = edit(base, (s) => {
      s.clip.manifest.label = 'surprise';
      s.labels!.openset = [...s.labels!.openset, 'astonished'];
    });
    expect(await run(secondary, { consistency: { manifest: true } })).toEqual(secondary);
    expect(await dropped(secondary, { consistency: { manifest: true, match: 'primary' } })).toMatchObject({ reason: 'label-mismatch-manifest' });
    // Unknown words: hinted at, and mapped by config.
    const stoked = edit(base, (s) => void (s.clip.manifest.label = 'stoked'));
    expect(await dropped(stoked, { consistency: { manifest: true } })).toMatchObject({
      detail: expect.stringContaining('map it with filter.consistency.synonyms'),
    });
    expect(await run(stoked, { consistency: { manifest: true, synonyms: { stoked: 'happy' } } })).toEqual(stoked);
    expect(filter.configSchema.safeParse({ consistency: { synonyms: { stoked: 'thrilled' } } }).success).toBe(false);
    // No manifest label: nothing to compare.
    expect(
      await run(
        edit(base, (s) => void delete s.clip.manifest.label),
        { consistency: { manifest: true } },
      ),
    ).toMatchObject({ id: base.id });
  });

  it('label-mismatch-cues: the primary emotion must match the majority of the modality votes', async () => {
    const outvoted = edit(base, (s) =>
      Object.assign(s.cues!.agreement!, { acoustic: { emotion: 'sad', confidence: 0.7 }, lexical: { emotion: 'sad', confidence: 0.6 } }),
    );
    expect(await run(outvoted)).toEqual(outvoted);
    expect(await dropped(outvoted, { consistency: { cues: 'majority' } })).toMatchObject({
      reason: 'label-mismatch-cues',
      detail:
        'cue majority sad (visual happy 0.80, acoustic sad 0.70, lexical sad 0.60) vs labels.primary happy, openset [happy, joyful, excited] (match: openset)',
    });
    // No majority (three different votes), or votes below minVoteConfidence: nothing to compare.
    const split3 = edit(outvoted, (s) => void (s.cues!.agreement!.lexical = { emotion: 'angry', confidence: 0.6 }));
    expect(await run(split3, { consistency: { cues: 'majority' } })).toEqual(split3);
    expect(await run(outvoted, { consistency: { cues: 'majority', minVoteConfidence: 0.65 } })).toEqual(outvoted);
    // Sentiment: the face and voice vote through their emotion, the words with their own score.
    const negative = edit(base, (s) => {
      s.cues!.agreement!.acoustic = { emotion: 'angry', confidence: 0.7 };
      s.cues!.lexical = { ...s.cues!.lexical!, score: -0.4, sentiment: 'negative' };
    });
    expect(await dropped(negative, { consistency: { sentiment: 'majority' } })).toMatchObject({
      reason: 'label-mismatch-cues',
      detail:
        'cue majority sentiment negative (visual happy → positive, acoustic angry → negative, lexical score -0.40 → negative) vs labels.sentiment positive',
    });
  });
});

describe('rationale grounding', () => {
  const steps = () => base.rationale!.steps;
  const withStep = (index: number, text: string) => edit(base, (s) => void (s.rationale!.steps[index] = `Step ${index + 1}: ${text}`));

  it('ungrounded-rationale: a number no stored value of its unit backs', async () => {
    const pitch = steps().findIndex((step) => step.includes('252 Hz'));
    expect(pitch).toBeGreaterThan(0);
    const off = edit(base, (s) => void (s.rationale!.steps[pitch] = s.rationale!.steps[pitch].replace('252 Hz', '410 Hz')));
    expect(await dropped(off)).toMatchObject({
      reason: 'ungrounded-rationale',
      detail: `step ${pitch + 1} states 410 Hz, but no stored value (hz) is within 5%`,
    });
    // Within tolerance (a rounding an LLM might write), and units are told apart.
    expect(await run(withStep(pitch, 'The mean pitch is about 250 Hz, high for adult speech.'))).toMatchObject({ id: base.id });
    expect(await run(withStep(pitch, 'The pitch ranges over 181-330 Hz.'))).toMatchObject({ id: base.id });
    expect(await dropped(withStep(pitch, 'The voice sits at 252 dBFS.'))).toMatchObject({ reason: 'ungrounded-rationale' });
    expect(await run(withStep(pitch, 'The voice is loud at -14 dBFS and fast at 3.1 words/s, pauses fill 10% of it.'))).toMatchObject({ id: base.id });
    expect(await dropped(withStep(pitch, 'The voice is loud at +14 dBFS.'))).toMatchObject({ detail: expect.stringContaining('states 14 dBFS') });
    expect(await dropped(withStep(pitch, 'The mean pitch is about 250 Hz.'), { grounding: { numberTolerance: 0 } })).toMatchObject({
      reason: 'ungrounded-rationale',
    });
    expect(await run(withStep(pitch, 'The mean pitch is 252 Hz.'), { grounding: { numberTolerance: 0 } })).toMatchObject({ id: base.id });
  });

  it('ungrounded-rationale: a quotation the transcript does not contain', async () => {
    expect(await run(withStep(1, "The speaker says 'we won the final', which is good news."))).toMatchObject({ id: base.id });
    expect(await dropped(withStep(1, "The speaker says 'we lost the final', which is bad news."))).toMatchObject({
      reason: 'ungrounded-rationale',
      detail: "step 2 quotes 'we lost the final', which the transcript does not contain",
    });
  });

  it('ungrounded-rationale: a facial expression the face cues do not support; none claimed when there is no face', async () => {
    expect(await run(withStep(0, 'The face is smiling, which fits happiness.'))).toMatchObject({ id: base.id });
    expect(await dropped(withStep(0, 'The facial expression is angry, with lowered brows.'))).toMatchObject({
      reason: 'ungrounded-rationale',
      detail: 'step 1 attributes angry to the face, but the face cues read happy',
    });
    // Neutral is supported only above minExpressionProbability (0.1 here, the default is 0.2).
    expect(await dropped(withStep(0, 'The face looks calm.'))).toMatchObject({ reason: 'ungrounded-rationale' });
    expect(await run(withStep(0, 'The face looks calm.'), { grounding: { minExpressionProbability: 0.1 } })).toMatchObject({ id: base.id });
    expect(await run(withStep(0, 'The face shows no anger at all.'))).toMatchObject({ id: base.id });
    const faceless = edit(base, (s) => void delete s.cues!.visual);
    expect(await dropped(edit(faceless, (s) => void (s.rationale!.steps[0] = 'Step 1: The face reads as happy.')))).toMatchObject({
      detail: 'step 1 attributes happy to the face, but no face was measured',
    });
  });

  it("ungrounded-rationale: a verdict that is not the rationale's emotion; an uncited step only when strict", async () => {
    const last = steps().length - 1;
    expect(await dropped(withStep(last, 'predicted emotion is sad'))).toMatchObject({
      detail: `step ${last + 1} the verdict names 'sad' but rationale.emotion is happy`,
    });
    const vague = withStep(1, 'The person is clearly thinking about their family.');
    expect(await run(vague)).toMatchObject({ id: base.id });
    expect(await dropped(vague, { grounding: { uncited: 'ungrounded' } })).toMatchObject({ detail: 'step 2 cites no cue of the record' });
    const weighing = withStep(1, 'Taken together, the voice and the words outweigh the face.');
    expect(await run(weighing, { grounding: { uncited: 'ungrounded' } })).toMatchObject({ id: base.id });
  });

  it('flag keeps the record and reports it; off skips the check; the string shorthand works', async () => {
    const off = withStep(1, 'The mean pitch is 410 Hz.');
    flags.length = 0;
    expect(await run(off, { grounding: 'flag' })).toEqual(off);
    expect(flags).toEqual([{ reason: 'ungrounded-rationale', detail: `segment ${base.id}: step 2 states 410 Hz, but no stored value (hz) is within 5%` }]);
    expect(await run(off, { grounding: 'off' })).toEqual(off);
    expect(parse({ grounding: 'flag' }).grounding).toMatchObject({ mode: 'flag', numberTolerance: 0.05, uncited: 'allow' });
    expect(filter.configSchema.safeParse({ grounding: 'maybe' }).success).toBe(false);
  });
});
