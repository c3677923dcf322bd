import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig, sampleClips, stageContext, tempDir } from '../../helpers.ts';
import { buildPlan } from '../../../pipelines/config.ts';
import { readRowsHyparquet } from '../../../pipelines/parquet/index.ts';
import { runPipeline } from '../../../pipelines/runner.ts';
import { isDrop } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { AgreementCues, type AcousticCues, type VisualCues } from '../../../schemas/cues.ts';
import { ConflictTag, type Emotion } from '../../../schemas/emotion.ts';
import { Segment } from '../../../schemas/records.ts';
import { cuesAgreement } from '../../../stages/cues/agreement.ts';
import { closeAcousticWorkers } from '../../../stages/cues/acoustic-worker.ts';
import { lexicalCues } from '../../../stages/cues/lexical.ts';
import { STAGES } from '../../../stages/index.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');

interface Voice {
  f0: number | null;
  /** F0 sd as a share of the mean */
  cv?: number;
  rmsDb: number;
  rate: number;
  lufs?: number | null;
}

function acoustic(voice: Voice): AcousticCues {
  const f0 = voice.f0;
  return {
    duration: 3,
    f0MeanHz: f0,
    f0SdHz: f0 === null ? null : f0 * (voice.cv ?? 0.15),
    f0MinHz: f0 === null ? null : f0 * 0.8,
    f0MaxHz: f0 === null ? null : f0 * 1.25,
    voicedRatio: f0 === null ? 0 : 0.6,
    rmsDb: voice.rmsDb,
    rmsSdDb: 4,
    pauseRatio: 0.1,
    speechRate: voice.rate,
    speechRateSource: 'transcript',
    f0SlopeHzPerS: f0 === null ? null : -5,
    loudnessLufs: voice.lufs === undefined ? null : voice.lufs,
  };
}

function face(emotion: Emotion, probability = 0.8, stability = 1, faceRatio = 1): VisualCues {
  const rest = (1 - probability) / 6;
  return {
    detector: 'ssd',
    frames: [],
    meanExpressions: { happy: rest, sad: rest, angry: rest, neutral: rest, surprised: rest, fearful: rest, disgusted: rest, [emotion]: probability },
    dominant: emotion,
    stability,
    faceRatio,
    crops: [],
  };
}

const NO_FACE: VisualCues = { detector: 'ssd', frames: [], meanExpressions: null, dominant: null, stability: 0, faceRatio: 0, crops: [] };

function segment(seed: string, options: { speaker?: string; label?: string; voice?: Voice; text?: string; visual?: VisualCues }): Segment {
  const clipId = hex(`clip:${seed}`);
  const cues: Segment['cues'] = {};
  if (options.voice) cues.acoustic = acoustic(options.voice);
  if (options.text !== undefined) cues.lexical = lexicalCues(options.text, { neutralBand: 0.1 });
  if (options.visual) cues.visual = options.visual;
  return Segment.parse({
    id: hex(`segment:${seed}`),
    clipId,
    clip: {
      id: clipId,
      uri: `clips/${seed}.mp4`,
      name: seed,
      bytes: 98_304,
      probe: { duration: 3, formatName: 'mov,mp4', hasVideo: true, hasAudio: true, sampleRate: 16000, channels: 1 },
      manifest: { ...(options.label !== undefined ? { label: options.label } : {}), ...(options.speaker !== undefined ? { speaker: options.speaker } : {}) },
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3,
    ...(options.text !== undefined ? { transcript: { text: options.text, language: 'en', engine: 'manifest' } } : {}),
    cues,
  });
}

const defaults = cuesAgreement.configSchema.parse({});

async function agree(segments: readonly Segment[], config = defaults): Promise<AgreementCues[]> {
  const { ctx } = stageContext({ store: new LocalStore(join(root, 'store')), stage: 'cues.agreement' });
  const results = await cuesAgreement.run(segments, config, ctx);
  expect(results).toHaveLength(segments.length);
  return results.map((result, i) => {
    if (isDrop(result)) throw new Error(`dropped ${result.reason}`);
    expect(result.id).toBe(segments[i].id);
    // Only cues.agreement is added; everything else passes through.
    const { agreement, ...cues } = result.cues!;
    expect({ ...result, cues }).toEqual(segments[i]);
    return AgreementCues.parse(agreement);
  });
}

// Voices. Under the absolute reference: HIGH_BRIGHT reads happy (280 Hz, lively, loud-ish),
// SAD_VOICE sad (low, flat, quiet, slow), LOUD_FAST angry.
const HIGH_BRIGHT: Voice = { f0: 280, cv: 0.25, rmsDb: -16, rate: 3.2 };
const SAD_VOICE: Voice = { f0: 95, cv: 0.07, rmsDb: -29, rate: 1.7 };
const LOUD_FAST: Voice = { f0: 200, cv: 0.2, rmsDb: -10, rate: 4.2 };
const HAPPY_WORDS = 'i am so happy today, everything is great!';
const SAD_WORDS = 'nobody came, and i feel so sad.';
const PLAIN_WORDS = 'the meeting starts at nine in the morning.';

let root: string;
beforeAll(async () => {
  root = await tempDir('emoforge-agreement-');
});
afterAll(async () => {
  await closeAcousticWorkers();
  await rm(root, { recursive: true, force: true });
});

describe('cues.agreement', () => {
  it('is a global stage with documented defaults that rejects bad options by name', () => {
    expect(cuesAgreement).toMatchObject({
      kind: 'global',
      name: 'cues.agreement',
      reads: ['cues.acoustic', 'cues.lexical'],
      adds: ['cues.agreement'],
      cache: false,
    });
    expect(defaults).toEqual({ minSpeakerSegments: 3 });
    expect(() => cuesAgreement.configSchema.parse({ minSpeakerSegments: 1 })).toThrow(/minSpeakerSegments|>=2/);
    expect(() => cuesAgreement.configSchema.parse({ minSpeakerSegment: 3 })).toThrow();
  });

  it("reads a voice against the speaker's own baseline: a naturally high voice is not happy for being high", async () => {
    const highSpeaker = [278, 280, 285, 276].map((f0, i) =>
      segment(`high-${i}`, { speaker: 'high-voice', voice: { ...HIGH_BRIGHT, f0, rmsDb: -16 + i * 0.3 } }),
    );
    const lowSpeaker = [104, 108, 110].map((f0, i) => segment(`low-${i}`, { speaker: 'low-voice', voice: { f0, cv: 0.12, rmsDb: -24, rate: 2.6 } }));
    // The same speaker, really downcast this time: lower, flatter, quieter and slower than usual, though
    // at 230 Hz still "high" by absolute standards.
    const downcast = segment('high-downcast', { speaker: 'high-voice', voice: { f0: 230, cv: 0.09, rmsDb: -25, rate: 2.2 } });
    const all = [...highSpeaker, ...lowSpeaker, downcast];
    const agreements = await agree(all);
    for (const a of agreements) expect(a.acousticBaseline).toBe('speaker');
    for (const a of agreements.slice(0, 7)) expect(a.acoustic!.emotion).toBe('neutral');
    expect(agreements[7].acoustic!.emotion).toBe('sad');

    // Alone, the same high segment meets only absolute reference values, and reads happy.
    const [alone] = await agree([highSpeaker[0]]);
    expect(alone.acousticBaseline).toBe('absolute');
    expect(alone.acoustic!.emotion).toBe('happy');
  });

  it('falls back to the corpus baseline when a speaker has too few segments, and to absolute values below that', async () => {
    const calm = (seed: string, speaker?: string) => segment(seed, { speaker, voice: { f0: 200, cv: 0.15, rmsDb: -22, rate: 2.8 } });
    const shouting = segment('corpus-shouting', { speaker: 'c', voice: { f0: 230, cv: 0.15, rmsDb: -12, rate: 4.5 } });
    const corpus = await agree([calm('corpus-a', 'a'), calm('corpus-b'), shouting]);
    expect(corpus.map((a) => a.acousticBaseline)).toEqual(['corpus', 'corpus', 'corpus']);
    expect(corpus.map((a) => a.acoustic!.emotion)).toEqual(['neutral', 'neutral', 'angry']);

    // Two voiced segments (and one without a voice) are too few for any baseline.
    const unvoiced = segment('corpus-unvoiced', { speaker: 'c', voice: { f0: null, rmsDb: -60, rate: 0 } });
    const absolute = await agree([segment('abs-sad', { voice: SAD_VOICE }), segment('abs-happy', { speaker: 'c', voice: HIGH_BRIGHT }), unvoiced]);
    expect(absolute.map((a) => a.acousticBaseline)).toEqual(['absolute', 'absolute', 'absolute']);
    expect(absolute.map((a) => a.acoustic?.emotion ?? null)).toEqual(['sad', 'happy', null]);
    // minSpeakerSegments also sets how many the corpus needs.
    const two = await agree([segment('abs-sad', { voice: SAD_VOICE }), segment('abs-happy', { voice: HIGH_BRIGHT })], { minSpeakerSegments: 2 });
    expect(two.map((a) => a.acousticBaseline)).toEqual(['corpus', 'corpus']);
  });

  it('uses integrated loudness for a baseline only when every member has it', async () => {
    // rmsDb says all four are equally loud; LUFS says the last is much louder.
    const withLufs = [-24, -23.5, -24.5].map((lufs, i) => segment(`lufs-${i}`, { speaker: 's', voice: { f0: 180, cv: 0.15, rmsDb: -20, rate: 2.8, lufs } }));
    const loud = segment('lufs-loud', { speaker: 's', voice: { f0: 190, cv: 0.15, rmsDb: -20, rate: 4, lufs: -10 } });
    const measured = await agree([...withLufs, loud]);
    expect(measured[3].acoustic!.emotion).toBe('angry');
    const mixed = await agree([...withLufs, segment('lufs-loud', { speaker: 's', voice: { f0: 190, cv: 0.15, rmsDb: -20, rate: 4, lufs: null } })]);
    expect(mixed[3].acoustic!.emotion).not.toBe('angry');
  });

  it('tags each CA-MER case from constructed segments (each alone: absolute acoustic reference)', async () => {
    const cases: [string, Parameters<typeof segment>[1], ConflictTag, AgreementCues['reference']][] = [
      ['consistent', { label: 'joyful', visual: face('happy'), voice: HIGH_BRIGHT, text: HAPPY_WORDS }, 'consistent', { source: 'label', emotion: 'happy' }],
      ['video', { label: 'sad', visual: face('sad'), voice: HIGH_BRIGHT, text: HAPPY_WORDS }, 'video-aligned', { source: 'label', emotion: 'sad' }],
      ['audio', { label: 'anger', visual: face('neutral'), voice: LOUD_FAST, text: HAPPY_WORDS }, 'audio-aligned', { source: 'label', emotion: 'angry' }],
      ['text', { label: 'Sadness', visual: face('happy'), voice: HIGH_BRIGHT, text: SAD_WORDS }, 'text-aligned', { source: 'label', emotion: 'sad' }],
      ['none-match', { label: 'afraid', visual: face('happy'), voice: HIGH_BRIGHT, text: SAD_WORDS }, 'ambiguous', { source: 'label', emotion: 'fearful' }],
      ['two-of-three', { label: 'happy', visual: face('happy'), voice: SAD_VOICE, text: HAPPY_WORDS }, 'ambiguous', { source: 'label', emotion: 'happy' }],
      ['two-modalities', { label: 'mad', voice: LOUD_FAST, text: HAPPY_WORDS }, 'audio-aligned', { source: 'label', emotion: 'angry' }],
      ['majority-all', { visual: face('happy'), voice: HIGH_BRIGHT, text: HAPPY_WORDS }, 'consistent', { source: 'majority', emotion: 'happy' }],
      ['majority-two', { visual: face('sad'), voice: SAD_VOICE, text: HAPPY_WORDS }, 'ambiguous', { source: 'majority', emotion: 'sad' }],
      ['majority-tie', { voice: SAD_VOICE, text: HAPPY_WORDS }, 'ambiguous', { source: 'none', emotion: null }],
      [
        'unknown-label',
        { label: 'bewildered', visual: face('happy'), voice: HIGH_BRIGHT, text: HAPPY_WORDS },
        'consistent',
        { source: 'majority', emotion: 'happy' },
      ],
      [
        'calm',
        { label: 'calm', visual: face('neutral'), voice: { f0: 165, cv: 0.165, rmsDb: -23, rate: 2.8 }, text: PLAIN_WORDS },
        'consistent',
        { source: 'label', emotion: 'neutral' },
      ],
    ];
    for (const [seed, options, tag, reference] of cases) {
      const [agreement] = await agree([segment(`tag-${seed}`, options)]);
      expect({ seed, tag: agreement.tag, reference: agreement.reference }).toEqual({ seed, tag, reference });
    }
  });

  it('gives each modality an emotion and a confidence in [0, 1]', async () => {
    const [a] = await agree([segment('confidence', { label: 'happy', visual: face('happy', 0.8, 0.75, 0.5), voice: HIGH_BRIGHT, text: HAPPY_WORDS })]);
    // Face: dominant probability × stability × faceRatio.
    expect(a.visual).toEqual({ emotion: 'happy', confidence: 0.3 });
    expect(a.lexical!.emotion).toBe('happy');
    expect(a.acoustic!.emotion).toBe('happy');
    for (const estimate of [a.visual!, a.acoustic!, a.lexical!]) {
      expect(estimate.confidence).toBeGreaterThanOrEqual(0);
      expect(estimate.confidence).toBeLessThanOrEqual(1);
    }
    expect(a.acoustic!.confidence).toBeGreaterThan(0.5);
    expect(a.lexical!.confidence).toBeGreaterThan(0.5);
  });

  it('reports missing or empty modalities as null, and tags them ambiguous', async () => {
    const empty = await agree([
      segment('empty-all', { label: 'happy', visual: NO_FACE, voice: { f0: null, rmsDb: -100, rate: 0 }, text: '' }),
      segment('no-cues', {}),
      segment('one-modality', { label: 'sad', voice: SAD_VOICE }),
    ]);
    expect(empty[0]).toEqual({
      visual: null,
      acoustic: null,
      lexical: null,
      reference: { source: 'label', emotion: 'happy' },
      acousticBaseline: 'absolute',
      tag: 'ambiguous',
    });
    expect(empty[1]).toMatchObject({ visual: null, acoustic: null, lexical: null, reference: { source: 'none', emotion: null }, tag: 'ambiguous' });
    // A single modality agreeing with the label is no agreement between modalities.
    expect(empty[2]).toMatchObject({ visual: null, lexical: null, acoustic: { emotion: 'sad' }, tag: 'ambiguous' });
  });

  it('reads manifest labels through the one label normaliser (synonyms and dataset codes) and treats unknown labels as absent', async () => {
    const expected: Record<string, Emotion> = {
      joyful: 'happy',
      joy: 'happy',
      happiness: 'happy',
      anger: 'angry',
      mad: 'angry',
      fear: 'fearful',
      afraid: 'fearful',
      scared: 'fearful',
      surprise: 'surprised',
      sadness: 'sad',
      calm: 'neutral',
      none: 'neutral',
      disgust: 'disgusted',
      ' Happy ': 'happy',
      SAD: 'sad',
      // IEMOCAP / CREMA-D codes, which the filter always knew and cues.agreement used to read as no label.
      hap: 'happy',
      exc: 'happy',
      ang: 'angry',
      fru: 'angry',
      neu: 'neutral',
      sur: 'surprised',
      dis: 'disgusted',
      fea: 'fearful',
    };
    const labels = [...Object.keys(expected), 'bewildered'];
    const read = await agree(labels.map((label, i) => segment(`label-${i}`, { label, voice: SAD_VOICE, text: SAD_WORDS })));
    labels.forEach((label, i) => {
      const emotion = expected[label];
      // An unknown label is no label: the modalities decide, and here they tie (the voice is the
      // corpus baseline itself, so neutral; the words are sad).
      expect(read[i].reference, label).toEqual(emotion ? { source: 'label', emotion } : { source: 'none', emotion: null });
    });
  });

  it('gives the same result for the same segments in any order', async () => {
    const segments = [
      ...[278, 280, 285, 276].map((f0, i) =>
        segment(`order-high-${i}`, { speaker: 'high', label: 'happy', voice: { ...HIGH_BRIGHT, f0 }, text: HAPPY_WORDS, visual: face('happy') }),
      ),
      segment('order-down', { speaker: 'high', voice: { f0: 230, cv: 0.09, rmsDb: -25, rate: 2.2 }, text: SAD_WORDS }),
      segment('order-a', { speaker: 'a', voice: { f0: 200, cv: 0.15, rmsDb: -22, rate: 2.8 }, text: PLAIN_WORDS }),
      segment('order-b', { voice: LOUD_FAST, label: 'angry', text: PLAIN_WORDS, visual: face('angry') }),
      segment('order-c', { voice: SAD_VOICE, text: SAD_WORDS }),
    ];
    const byId = (list: readonly Segment[], results: readonly AgreementCues[]) => Object.fromEntries(list.map((s, i) => [s.id, results[i]]));
    const forward = byId(segments, await agree(segments));
    const reversed = [...segments].reverse();
    const shuffled = [3, 7, 0, 5, 1, 6, 2, 4].map((i) => segments[i]);
    expect(byId(reversed, await agree(reversed))).toEqual(forward);
    expect(byId(shuffled, await agree(shuffled))).toEqual(forward);
    expect(JSON.stringify(byId(shuffled, await agree(shuffled)))).toBe(JSON.stringify(byId(shuffled, await agree(shuffled))));
  });

  it('runs in the pipeline after cues.lexical: every row carries an agreement with a valid tag', async () => {
    const input = await sampleClips(6);
    const work = await tempDir();
    const out = join(work, 'out');
    await mkdir(out, { recursive: true });
    const config = demoConfig({ transcribe: { engine: 'manifest' } });
    const plan = buildPlan('test.yaml', config, STAGES);
    expect(plan.phases.map((p) => p.kind)).toEqual(['records', 'global', 'records']);
    const summary = await runPipeline(plan, {
      store: new LocalStore(join(work, 'store')),
      outDir: out,
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      input,
    });
    expect(summary.stats['cues.agreement']).toMatchObject({ in: 6, out: 6 });

    const shards = (await readdir(join(out, 'shards'))).filter((f) => f.endsWith('.parquet'));
    const rows = (await Promise.all(shards.map((f) => readRowsHyparquet(join(out, 'shards', f))))).flat();
    expect(rows.length).toBeGreaterThan(0);
    const bySegment = new Map<string, AgreementCues>();
    for (const row of rows) {
      const cues = JSON.parse(String(row.cues));
      const agreement = AgreementCues.parse(cues.agreement);
      expect(ConflictTag.options).toContain(agreement.tag);
      expect(row.conflict).toBe(agreement.tag);
      bySegment.set(String(row.segment_id), agreement);
    }
    expect(bySegment.size).toBe(6);
    expect([...bySegment.values()].every((a) => a.reference.source === 'label')).toBe(true);
    const summaryLine = [...bySegment.values()].map(
      (a) => `${a.reference.emotion}:${a.tag}/${a.acousticBaseline}(a=${a.acoustic?.emotion},t=${a.lexical?.emotion})`,
    );
    console.info(`agreement on 6 demo clips: ${summaryLine.join(' ')}`);
    await rm(work, { recursive: true, force: true });
    await rm(input, { recursive: true, force: true });
  });
});
