import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig, readJson, runInProcess, sampleClips, stageContext, tempDir } from '../helpers.ts';
import { buildPlan } from '../../pipelines/config.ts';
import { ConfigError } from '../../pipelines/errors.ts';
import { readRowsHyparquet } from '../../pipelines/parquet/index.ts';
import { isDrop, type DropResult } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { Segment } from '../../schemas/records.ts';
import { closeAcousticWorkers } from '../../stages/cues/acoustic-worker.ts';
import { dedup, type DedupConfig } from '../../stages/dedup.ts';
import { STAGES } from '../../stages/index.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
const PROVENANCE = { teacher: 'rules', model: 'rules-v3', template: 'describe.rules@1' };

interface Texts {
  description: string;
  answer?: string;
  transcript?: string;
}

/** A segment whose id is hex(`segment:${seed}`), with a description, one QA item and a transcript; one speaker unless said. */
function segment(seed: string, texts: Texts, speaker = 'spk01'): Segment {
  const clipId = hex(`clip:${seed}`);
  return Segment.parse({
    id: hex(`segment:${seed}`),
    clipId,
    clip: {
      id: clipId,
      uri: `clips/${seed}.mp4`,
      name: seed,
      bytes: 1000,
      probe: { duration: 3, formatName: 'mov,mp4', hasVideo: true, hasAudio: true },
      manifest: { speaker },
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 3,
    transcript: { text: texts.transcript ?? `transcript of ${seed}`, language: 'en', engine: 'manifest' },
    description: { text: texts.description, provenance: PROVENANCE },
    qa: [
      {
        kind: 'open',
        question: 'Why does the person most likely feel this way?',
        answer: texts.answer ?? `Because of what happened in ${seed}.`,
        provenance: PROVENANCE,
      },
    ],
  });
}

const FACES = [
  'smiles broadly',
  'frowns deeply',
  'stares wide-eyed',
  'looks down at the floor',
  'grimaces',
  'raises one eyebrow',
  'clenches the jaw',
  'bites the lower lip',
];
const VOICES = ['high and quick', 'low and slow', 'flat and steady', 'shaky and soft', 'loud and sharp', 'breathy and hesitant'];
const SAID = [
  'we won the prize this is wonderful news',
  'all is lost and i am so tired',
  'you broke it again i am so angry with you',
  'the meeting starts at nine in the morning',
  'wait what did you just say to me',
  'please do not leave me here alone tonight',
  'i cannot believe how good this tastes',
  'that smell is making me feel sick',
];

/** Distinct descriptions in the rules teacher's spirit: shared phrasing, different cues. */
function description(i: number): string {
  return `The person ${FACES[i % 8]} in most keyframes. The voice is ${VOICES[i % 6]}, with a mean pitch of ${110 + i * 7} Hz and ${(1.5 + i * 0.13).toFixed(1)} words per second. They say "${SAID[(i * 3) % 8]}". Taken together, the cues point to ${['joy', 'sadness', 'anger', 'calm', 'surprise', 'fear', 'delight', 'disgust'][i % 8]}.`;
}

const defaults = dedup.configSchema.parse({});
/** Text dedup on (it is off by default), footage off (these segments have no media). */
const textOnly = (text: Record<string, unknown> = {}) => dedup.configSchema.parse({ footage: { enabled: false }, text: { enabled: true, ...text } });

async function run(segments: readonly Segment[], config: DedupConfig = defaults): Promise<(Segment | DropResult)[]> {
  const { ctx } = stageContext({ store: new LocalStore(join(root, 'store')), stage: 'dedup' });
  const results = await dedup.run(segments, config, ctx);
  expect(results).toHaveLength(segments.length);
  results.forEach((result, i) => {
    if (!isDrop(result)) expect(result).toBe(segments[i]);
  });
  return results;
}

/** id → 'kept' or the drop's reason and detail. */
async function outcomes(segments: readonly Segment[], config?: DedupConfig): Promise<Map<string, string>> {
  const results = await run(segments, config);
  return new Map(segments.map((s, i) => [s.id, isDrop(results[i]) ? `${results[i].reason}: ${results[i].detail}` : 'kept']));
}

let root: string;
beforeAll(async () => {
  root = await tempDir('emoforge-dedup-');
});
afterAll(async () => {
  await closeAcousticWorkers();
  await rm(root, { recursive: true, force: true });
});

describe('dedup', () => {
  const distinct = Array.from({ length: 24 }, (_, i) => segment(`distinct-${i}`, { description: description(i) }));

  it('is a global stage with documented defaults that rejects bad options by name', () => {
    expect(dedup).toMatchObject({ kind: 'global', name: 'dedup', reads: ['fingerprint'], adds: [], cache: false });
    expect(defaults).toEqual({
      footage: { enabled: true, maxFrameBits: 10, maxAudioBer: 0.22, maxOffsetSec: 1, minOverlapSec: 1, maxDurationDiffSec: 1 },
      text: { enabled: false, fields: ['description', 'qa'], shingle: 3, permutations: 128, bands: 16, threshold: 0.8 },
    });
    expect(dedup.readsFor!(defaults)).toEqual(['fingerprint']);
    expect(dedup.readsFor!(textOnly({ fields: ['rationale'] }))).toEqual(['rationale']);
    // A config written before footage dedup (text options at the top) asked for text dedup.
    expect(dedup.configSchema.parse({ fields: ['description'], threshold: 0.9 })).toEqual({
      ...defaults,
      text: { ...defaults.text, enabled: true, fields: ['description'], threshold: 0.9 },
    });
    const parse = (config: unknown) => dedup.configSchema.parse({ text: config });
    expect(() => parse({ bands: 12 })).toThrow('bands (12) must divide permutations (128)');
    expect(() => parse({ permutations: 100 })).toThrow('bands (16) must divide permutations (100)');
    expect(parse({ permutations: 100, bands: 20 }).text).toMatchObject({ permutations: 100, bands: 20 });
    expect(() => parse({ fields: [] })).toThrow('fields needs at least one of description, qa, rationale, transcript');
    expect(() => parse({ fields: ['labels'] })).toThrow();
    expect(() => parse({ threshold: 0 })).toThrow('threshold must be above 0');
    expect(() => parse({ threshold: 1.2 })).toThrow('threshold must be at most 1');
    expect(() => parse({ shingle: 0 })).toThrow();
    expect(() => parse({ treshold: 0.8 })).toThrow();
    expect(() => dedup.configSchema.parse({ footage: { maxAudioBer: 2 } })).toThrow();
    expect(() => dedup.configSchema.parse({ fotage: {} })).toThrow();
    // The order fields are written in changes nothing.
    expect(parse({ fields: ['transcript', 'description'] }).text.fields).toEqual(['description', 'transcript']);
  });

  it('keeps distinct segments and drops a planted near and exact duplicate, naming the kept segment', async () => {
    const nearText = description(5).replace('most keyframes', 'nearly all keyframes');
    const near = segment('near-of-5', { description: nearText, answer: 'Because of what happened in distinct-5.' });
    const exact = segment('exact-of-9', { description: `  ${description(9).toUpperCase()}`, answer: 'because   of what happened in DISTINCT-9.' });
    const all = [...distinct, near, exact];
    const result = await outcomes(all, textOnly());
    const keptNear = [near.id, distinct[5].id].sort()[0];
    const droppedNear = keptNear === near.id ? distinct[5] : near;
    const keptExact = [exact.id, distinct[9].id].sort()[0];
    const droppedExact = keptExact === exact.id ? distinct[9] : exact;
    expect(result.get(droppedNear.id)).toMatch(
      new RegExp(
        `^near-duplicate: estimated description\\+qa Jaccard 0\\.(8|9)\\d with kept segment ${keptNear} \\(clips/[a-z0-9-]+\\.mp4\\) of the same speaker or source$`,
      ),
    );
    expect(result.get(droppedExact.id)).toBe(
      `exact-duplicate: same description+qa text (lower-cased, whitespace collapsed) as kept segment ${keptExact} (${all.find((s) => s.id === keptExact)!.clip.uri}) of the same speaker or source`,
    );
    expect([...result.values()].filter((v) => v === 'kept')).toHaveLength(24);
  });

  it('keeps the same segment whatever order the corpus arrives in', async () => {
    const copies = [3, 7, 11].map((i) => segment(`copy-of-${i}`, { description: description(i), answer: `Because of what happened in distinct-${i}.` }));
    const all = [...distinct, ...copies];
    const forward = await outcomes(all, textOnly());
    expect([...forward.values()].filter((v) => v !== 'kept')).toHaveLength(3);
    expect(await outcomes([...all].reverse(), textOnly())).toEqual(forward);
    expect(await outcomes([...all.slice(13), ...all.slice(0, 13)], textOnly())).toEqual(forward);
  });

  it('compares text only within a speaker or a source: the same words from two speakers of two clips are two samples', async () => {
    const a = segment('actor-a', { description: description(2), answer: 'Because of the prize.' }, 'actor-01');
    const b = segment('actor-b', { description: description(2), answer: 'Because of the prize.' }, 'actor-02');
    expect([...(await outcomes([a, b], textOnly())).values()]).toEqual(['kept', 'kept']);
    const sameSpeaker = segment('actor-c', { description: description(2), answer: 'Because of the prize.' }, 'actor-01');
    expect([...(await outcomes([a, sameSpeaker], textOnly())).values()].filter((v) => v.startsWith('exact-duplicate'))).toHaveLength(1);
  });

  it('compares only the configured fields', async () => {
    const a = segment('same-description-a', { description: description(1), transcript: 'i will send you the report this afternoon' });
    const b = segment('same-description-b', { description: description(1), transcript: 'nobody came to the party and i feel so sad' });
    const both = [a, b];
    const onTranscript = await outcomes(both, textOnly({ fields: ['transcript'] }));
    expect([...onTranscript.values()]).toEqual(['kept', 'kept']);
    const onDescription = await outcomes(both, textOnly({ fields: ['description'] }));
    const [kept, dropped] = [a.id, b.id].sort();
    expect(onDescription.get(kept)).toBe('kept');
    expect(onDescription.get(dropped)).toMatch(new RegExp(`^exact-duplicate: same description text .* as kept segment ${kept} `));
    // The default fields include the QA answers, which differ here: still near-identical.
    expect((await outcomes(both, textOnly())).get(dropped)).toMatch(/^near-duplicate: estimated description\+qa Jaccard 0\.\d\d/);
    // Without fingerprints (no media) footage dedup has nothing to compare: both kept.
    expect([...(await outcomes(both)).values()]).toEqual(['kept', 'kept']);
  });

  it('checks at config time that the fields it compares are made before it', () => {
    const stages = (demoConfig().stages as Record<string, unknown>[]).slice();
    const withDedup = (at: number, config: Record<string, unknown>) => ({
      ...demoConfig(),
      stages: [...stages.slice(0, at), { dedup: config }, ...stages.slice(at)],
    });
    const filterAt = stages.findIndex((s) => 'filter' in s);
    const plan = buildPlan('c.yaml', withDedup(filterAt + 1, {}), STAGES);
    expect(plan.phases.map((p) => (p.kind === 'global' ? p.stage.stage.name : 'records'))).toEqual(['records', 'cues.agreement', 'records', 'dedup']);
    const describeAt = stages.findIndex((s) => 'describe' in s);
    const rationaleText = { text: { enabled: true, fields: ['description', 'rationale'] } };
    expect(() => buildPlan('c.yaml', withDedup(describeAt + 1, rationaleText), STAGES)).toThrow(ConfigError);
    try {
      buildPlan('c.yaml', withDedup(describeAt + 1, rationaleText), STAGES);
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        expect.stringContaining('"dedup" reads "rationale", which no earlier stage adds; put the stage that adds it (rationale)'),
      ]);
    }
    expect(() => buildPlan('c.yaml', withDedup(describeAt + 1, { text: { enabled: true, fields: ['description', 'transcript'] } }), STAGES)).not.toThrow();
    // Footage dedup reads the fingerprint segment makes: fine anywhere after it.
    expect(() => buildPlan('c.yaml', withDedup(2, {}), STAGES)).not.toThrow();
  });
});

describe('dedup in a run', () => {
  let input: string;
  let work: string;

  beforeAll(async () => {
    // Two clips that are the same content as another: a remux (same streams, new container
    // metadata) and one with its audio re-encoded. Different bytes, so ingest keeps them.
    input = await sampleClips(4);
    const ffmpeg = promisify(execFile);
    await ffmpeg('ffmpeg', ['-v', 'error', '-i', join(input, 'sample_0001.mp4'), '-c', 'copy', '-metadata', 'title=remux', join(input, 'remux_0001.mp4')]);
    await ffmpeg('ffmpeg', [
      '-v',
      'error',
      '-i',
      join(input, 'sample_0002.mp4'),
      '-c:v',
      'copy',
      '-c:a',
      'aac',
      '-b:a',
      '96k',
      join(input, 'reencode_0002.mp4'),
    ]);
    await appendFile(
      join(input, 'manifest.csv'),
      'remux_0001,happy,spk05,"we won the prize, this is wonderful news!"\nreencode_0002,sad,spk06,"all is lost and i am so tired."\n',
    );
    work = await tempDir('emoforge-dedup-run-');
  }, 300_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(input, { recursive: true, force: true });
  });

  /** The demo pipeline with manifest transcripts and no face cues (fast), dedup after filter. */
  function config(dedupConfig: Record<string, unknown>) {
    const stages = (demoConfig({ transcribe: { engine: 'manifest' } }).stages as Record<string, unknown>[]).filter((s) => !('cues.visual' in s));
    stages.splice(stages.length - 1, 0, { dedup: dedupConfig });
    return { ...demoConfig(), stages };
  }

  it('drops the copies as duplicate footage with their reason in stats.json and rejects.parquet, and writes rows for the rest', async () => {
    const paths = { input, store: join(work, 'store'), out: join(work, 'out') };
    const first = await runInProcess(config({}), paths);
    expect(first.summary.stats.dedup).toMatchObject({ in: 6, out: 4, dropped: { 'duplicate-footage': 2 } });
    const stats = await readJson(join(paths.out, 'stats.json'));
    expect(stats.stages.dedup.dropped).toEqual({ 'duplicate-footage': 2 });
    const rejects = await readRowsHyparquet(join(paths.out, 'rejects.parquet'));
    const rows: Record<string, unknown>[] = [];
    const manifest = await readJson(join(paths.out, 'manifest.json'));
    for (const shard of manifest.shards) rows.push(...(await readRowsHyparquet(join(paths.out, shard.file))));
    const keptIds = new Set(rows.map((r) => r.segment_id));
    expect(keptIds.size).toBe(4);
    const pairs = [
      ['sample_0001.mp4', 'remux_0001.mp4'],
      ['sample_0002.mp4', 'reencode_0002.mp4'],
    ];
    for (const pair of pairs) {
      // One of each pair is rejected, the other is in the shards and named as kept.
      const rejected = rejects.filter((r) => pair.includes(r.uri as string));
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({ stage: 'dedup', reason: 'duplicate-footage' });
      expect(rejected[0].detail).toMatch(/keyframes \d+\.\d of 64 bits apart, audio bit error rate 0\.\d{3} at offset -?\d+\.\d\d s$/);
      const keptUri = pair.find((uri) => uri !== rejected[0].uri)!;
      const [, keptId] = (rejected[0].detail as string).match(/as kept segment ([0-9a-f]{64}) \(([^)]+)\)/)!;
      expect(rejected[0].detail).toContain(`(${keptUri})`);
      expect(keptIds.has(keptId)).toBe(true);
      expect(rows.some((r) => r.segment_id === rejected[0].id)).toBe(false);
    }

    // Text dedup alone compares only segments of one speaker or source: the copies have speakers and
    // sources of their own, so their identical descriptions are not compared. Only dedup and write run again.
    const second = await runInProcess(config({ footage: { enabled: false }, text: { enabled: true, fields: ['description'] } }), {
      ...paths,
      out: join(work, 'out-description'),
    });
    expect(second.summary.partitions.cached).toBe(second.summary.partitions.total);
    expect(second.summary.stats.dedup).toMatchObject({ in: 6, out: 6, dropped: {} });
  }, 300_000);
});
