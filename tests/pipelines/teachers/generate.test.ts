import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Segment } from '../../../schemas/records.ts';
import { isDrop, type SegmentStage, type StageContext, type WorkKind } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { createTeacherRegistry } from '../../../pipelines/teachers/registry.ts';
import type { Teacher, TeacherRegistry } from '../../../pipelines/teachers/teacher.ts';
import { describeStage } from '../../../stages/describe.ts';
import { labelsStage } from '../../../stages/labels.ts';
import { qaStage } from '../../../stages/qa.ts';
import { rationaleStage } from '../../../stages/rationale.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

function segment(seed: string, cues: Segment['cues'], text?: string): Segment {
  const clipId = hex(`clip:${seed}`);
  return Segment.parse({
    id: hex(`segment:${seed}`),
    clipId,
    clip: {
      id: clipId,
      uri: `clips/${seed}.mp4`,
      name: seed,
      bytes: 98_304,
      probe: {
        duration: 2.9,
        formatName: 'mov,mp4',
        hasVideo: true,
        hasAudio: true,
        videoCodec: 'h264',
        audioCodec: 'aac',
        width: 320,
        height: 240,
        fps: 25,
        sampleRate: 16000,
        channels: 1,
      },
      manifest: { label: seed, speaker: 'flite-kal' },
      partition: 3,
    },
    index: 0,
    start: 0,
    end: 2.9,
    audio: { key: `media/${hex(seed).slice(0, 2)}/${hex(seed)}.wav`, bytes: 92_844 },
    ...(text !== undefined ? { transcript: { text, language: 'en', engine: 'pocketsphinx' } } : {}),
    ...(cues ? { cues } : {}),
  });
}

const happy = segment(
  'happy',
  {
    acoustic: {
      duration: 2.9,
      f0MeanHz: 249.6,
      f0SdHz: 38.2,
      f0MinHz: 188.4,
      f0MaxHz: 317.1,
      voicedRatio: 0.72,
      rmsDb: -15.2,
      rmsSdDb: 5.5,
      pauseRatio: 0.08,
      speechRate: 3.4,
      speechRateSource: 'transcript',
    },
    lexical: {
      score: 0.71,
      sentiment: 'positive',
      positiveWords: ['wonderful', 'love'],
      negativeWords: [],
      emotionWords: [{ word: 'wonderful', emotion: 'happy' }],
    },
  },
  'This is wonderful, I love it!',
);
const sad = segment(
  'sad',
  {
    acoustic: {
      duration: 2.9,
      f0MeanHz: 91.3,
      f0SdHz: 6.4,
      f0MinHz: 82.2,
      f0MaxHz: 104.9,
      voicedRatio: 0.55,
      rmsDb: -27.8,
      rmsSdDb: 2.1,
      pauseRatio: 0.31,
      speechRate: 1.7,
      speechRateSource: 'transcript',
    },
    lexical: { score: -0.48, sentiment: 'negative', positiveWords: [], negativeWords: ['alone'], emotionWords: [{ word: 'alone', emotion: 'sad' }] },
  },
  'I feel so alone now.',
);
const silent = segment('silent', undefined);

const STAGES = [describeStage, labelsStage, qaStage, rationaleStage] as SegmentStage<unknown>[];

let root: string;
let work: Record<string, number>;
let context: (teachers?: TeacherRegistry) => StageContext;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-generation-'));
  const store = new LocalStore(join(root, 'store'));
  const log = pino({ level: 'silent' });
  context = (teachers = createTeacherRegistry()) => {
    work = {};
    return {
      store,
      log,
      teachers,
      signal: new AbortController().signal,
      work: {
        add: (kind: WorkKind, amount = 1) => {
          work[kind] = (work[kind] ?? 0) + amount;
        },
      },
      flag: (reason) => {
        throw new Error(`the generation stages flagged ${reason}`);
      },
      scratch: () => mkdtemp(join(root, 'scratch-')),
      sourcePath: async (clip) => join(root, 'input', clip.uri),
    };
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function generate(seg: Segment, ctx: StageContext, configs: Record<string, unknown> = {}): Promise<Segment> {
  let current = seg;
  for (const stage of STAGES) {
    const result = await stage.run(current, stage.configSchema.parse(configs[stage.name] ?? {}), ctx);
    if (isDrop(result)) throw new Error(`${stage.name} dropped ${result.reason}`);
    current = result;
  }
  return current;
}

describe('generation stages with the rules teacher', () => {
  it('turn a happy segment into a happy description, labels, MCQ and rationale', async () => {
    const ctx = context();
    const out = await generate(happy, ctx);
    expect(() => Segment.parse(out)).not.toThrow();
    expect(out.description!.text).toContain('250 Hz');
    expect(out.description!.text).toMatch(/most likely feels happy\.$/);
    expect(out.labels).toMatchObject({ primary: 'happy', sentiment: 'positive' });
    expect(out.qa!.map((item) => [item.kind, item.question])).toEqual([
      ['mcq', expect.stringMatching(/^Which emotion does the speaker in this clip most likely feel\? Choose one of: /)],
      ['open', 'Why does the person most likely feel happy?'],
      ['open', 'Which cue points most strongly to the emotion?'],
      ['attribute', 'How would you describe the tone of voice?'],
      ['attribute', 'What does the person say?'],
    ]);
    expect(out.qa![0]).toMatchObject({ kind: 'mcq', answer: 'happy' });
    expect(out.qa![1].answer).toContain('250 Hz');
    expect(out.qa![4].answer).toBe('This is wonderful, I love it!');
    expect(out.rationale!.steps.at(-1)).toMatch(/predicted emotion is happy$/);
    expect(work).toEqual({ teacher: 4 });
  });

  it('turn a sad segment into sad outputs', async () => {
    const out = await generate(sad, context());
    expect(out.labels!.primary).toBe('sad');
    expect(out.labels!.valence).toBeLessThan(0);
    expect(out.rationale!.emotion).toBe('sad');
    expect(out.description!.text).toContain("'alone'");
  });

  it('stamp provenance with the teacher, model and default template ids', async () => {
    const out = await generate(happy, context());
    expect(out.description!.provenance).toEqual({ teacher: 'rules', model: 'rules-v3', template: 'describe.rules@1' });
    expect(out.labels!.provenance.template).toBe('labels.rules@1');
    expect(out.qa!.map((item) => item.provenance)).toEqual(out.qa!.map(() => ({ teacher: 'rules', model: 'rules-v3', template: 'qa.mcq.rules@1' })));
    expect(out.rationale!.provenance.template).toBe('rationale.rules@1');
  });

  it('handle a segment with no transcript and no cues', async () => {
    const out = await generate(silent, context());
    expect(() => Segment.parse(out)).not.toThrow();
    expect(out.description!.text).not.toMatch(/Hz|dBFS|words\/s|sentiment/);
    expect(out.labels).toMatchObject({ primary: 'neutral', openset: [] });
    expect(out.rationale!.steps.at(-1)).toMatch(/predicted emotion is neutral$/);
    // no face, voice or words: no attribute question, and no "which cue" question
    expect(out.qa!.map((item) => item.kind)).toEqual(['mcq', 'open']);
    expect(out.qa![1].answer).not.toMatch(/Hz|dBFS|words\/s|sentiment|'/);
    const attributesOnly = await qaStage.run(silent, qaStage.configSchema.parse({ kinds: ['attribute'] }), context());
    expect(isDrop(attributesOnly) ? null : attributesOnly.qa).toEqual([]);
  });

  it('are deterministic: a second run gives identical records', async () => {
    expect(await generate(happy, context())).toEqual(await generate(structuredClone(happy), context()));
  });

  it('draw MCQ options from a configured label set and replace their own items on re-run', async () => {
    const labelSet = ['happy', 'calm', 'bored', 'tense', 'proud', 'sad'];
    const ctx = context();
    const once = await generate(happy, ctx, { qa: { labelSet } });
    const options = once.qa![0].options!;
    expect(new Set(options).size).toBe(4);
    for (const option of options) expect(labelSet).toContain(option);
    const twice = await qaStage.run(once, qaStage.configSchema.parse({ labelSet }), ctx);
    expect(isDrop(twice) ? [] : twice.qa).toEqual(once.qa);
  });

  it('keep items from other QA templates and replace only their own on re-run', async () => {
    const ctx = context();
    const attributes = await qaStage.run(happy, qaStage.configSchema.parse({ template: 'qa.attributes.rules@1', kinds: ['attribute'] }), ctx);
    if (isDrop(attributes)) throw new Error('dropped');
    const both = await qaStage.run(attributes, qaStage.configSchema.parse({ kinds: ['mcq'] }), ctx);
    if (isDrop(both)) throw new Error('dropped');
    expect(both.qa!.map((item) => `${item.provenance.template} ${item.kind}`)).toEqual([
      'qa.attributes.rules@1 attribute',
      'qa.attributes.rules@1 attribute',
      'qa.mcq.rules@1 mcq',
    ]);
    const again = await qaStage.run(both, qaStage.configSchema.parse({ kinds: ['mcq', 'open'] }), ctx);
    expect(isDrop(again) ? [] : again.qa!.map((item) => `${item.provenance.template} ${item.kind}`)).toEqual([
      'qa.attributes.rules@1 attribute',
      'qa.attributes.rules@1 attribute',
      'qa.mcq.rules@1 mcq',
      'qa.mcq.rules@1 open',
      'qa.mcq.rules@1 open',
    ]);
  });

  it('pass the configured kinds and label set to the teacher', async () => {
    const requests: unknown[] = [];
    const rules = createTeacherRegistry().forRole('qa');
    const recording: Teacher = {
      name: 'recording',
      model: 'recording-1',
      fingerprint: {},
      generate: async (request, signal) => {
        requests.push(request.options);
        return rules.generate(request, signal);
      },
    };
    const labelSet = ['happy', 'calm', 'bored', 'tense'];
    const out = await qaStage.run(happy, qaStage.configSchema.parse({ labelSet, kinds: ['attribute', 'mcq'] }), context({ forRole: () => recording }));
    expect(requests).toEqual([{ labelSet, kinds: ['mcq', 'attribute'] }]);
    expect(isDrop(out) ? [] : out.qa!.map((item) => item.kind)).toEqual(['mcq', 'attribute', 'attribute']);
  });

  it('validate their configs and name the bad option', () => {
    expect(qaStage.configSchema.parse({})).toEqual({
      template: 'qa.mcq.rules@1',
      labelSet: ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful'],
      kinds: ['mcq', 'open', 'attribute'],
    });
    // the order written in the config does not matter (nor change the cache key): kinds are kept in canonical order
    expect(qaStage.configSchema.parse({ kinds: ['attribute', 'open', 'attribute'] }).kinds).toEqual(['open', 'attribute']);
    expect(() => qaStage.configSchema.parse({ kinds: [] })).toThrow(/kinds needs at least one of mcq, open, attribute/);
    expect(() => qaStage.configSchema.parse({ kinds: ['essay'] })).toThrow();
    expect(() => qaStage.configSchema.parse({ labelSet: ['happy', 'sad', 'angry'] })).toThrow(/labelSet needs at least 4 labels/);
    expect(() => describeStage.configSchema.parse({ template: 'Describe v1' })).toThrow();
  });

  it('declare the fields they read and add and the teacher role they call', () => {
    expect(STAGES.map((s) => [s.name, s.reads, s.adds, s.teacherRoles])).toEqual([
      ['describe', ['transcript', 'cues.acoustic', 'cues.lexical'], ['description'], ['describe']],
      ['labels', ['description'], ['labels'], ['labels']],
      ['qa', ['labels'], ['qa'], ['qa']],
      ['rationale', ['labels'], ['rationale'], ['rationale']],
    ]);
  });

  it('count teacher work only for responses that were not cached', async () => {
    const rules = createTeacherRegistry().forRole('describe');
    const cachedTeacher: Teacher = {
      name: 'replay',
      model: 'replay-1',
      fingerprint: {},
      generate: async (request, signal) => ({ ...(await rules.generate(request, signal)), cached: true, teacher: 'replay', model: 'replay-1' }),
    };
    const ctx = context({ forRole: () => cachedTeacher });
    const out = await generate(happy, ctx);
    expect(work).toEqual({});
    expect(out.labels!.provenance).toEqual({ teacher: 'replay', model: 'replay-1', template: 'labels.rules@1' });
  });

  it('use the teacher the registry assigns to each role', async () => {
    const ctx = context(createTeacherRegistry({ teachers: { strict: { kind: 'rules', model: 'rules-v3' } }, roles: { rationale: 'strict' } }));
    const out = await generate(sad, ctx);
    expect(out.rationale!.provenance).toMatchObject({ teacher: 'strict', model: 'rules-v3' });
    expect(out.description!.provenance).toMatchObject({ teacher: 'rules', model: 'rules-v3' });
  });
});
