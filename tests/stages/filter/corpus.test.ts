// filter.corpus: length tails over the corpus distribution and per-label caps, each with its reason.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isDrop, type DropResult } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import type { Emotion } from '../../../schemas/emotion.ts';
import { Segment } from '../../../schemas/records.ts';
import { filterCorpus } from '../../../stages/filter/corpus.ts';
import { stageContext, tempDir } from '../../helpers.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
const provenance = { teacher: 'rules', model: 'rules-v3', template: 'x.rules@1' };

function segment(i: number, description: string, label: Emotion = 'happy', answers: string[] = ['happy']): Segment {
  const clipId = hex(`clip:${i}`);
  return Segment.parse({
    id: hex(`segment:${i}`),
    clipId,
    clip: {
      id: clipId,
      uri: `c${i}.mp4`,
      name: `c${i}`,
      bytes: 1,
      partition: 0,
      manifest: {},
      probe: { duration: 3, formatName: 'mp4', hasAudio: true, hasVideo: true },
    },
    index: 0,
    start: 0,
    end: 3,
    transcript: { text: `words of clip ${i}`, language: 'en', engine: 'manifest' },
    description: { text: description, provenance },
    labels: { primary: label, openset: [label], sentiment: 'neutral', valence: 0, arousal: 0, provenance },
    qa: answers.map((answer) => ({ kind: 'open', question: 'Why?', answer, provenance })),
  });
}

/** A description of n words. */
const words = (n: number) => Array.from({ length: n }, (_, k) => `word${k}`).join(' ');

let ctx: ReturnType<typeof stageContext>['ctx'];
beforeAll(async () => {
  ctx = stageContext({ store: new LocalStore(await tempDir('emoforge-filter-corpus-')), stage: 'filter.corpus' }).ctx;
});

const run = (segments: Segment[], config: unknown = {}) => filterCorpus.run(segments, filterCorpus.configSchema.parse(config), ctx);
const reasons = (results: (Segment | DropResult)[]) => results.map((r) => (isDrop(r) ? r.reason : 'kept'));

describe('filter.corpus length tails', () => {
  // 200 descriptions of 30–39 words, one of 5 and one of 80: both tails.
  const corpus = [...Array.from({ length: 200 }, (_, i) => segment(i, words(30 + (i % 10)))), segment(1000, words(5)), segment(1001, words(80))];

  it('length-outlier: drops both tails beyond k sd of the corpus, with the bounds in the detail', async () => {
    const results = await run(corpus);
    expect(
      reasons(results)
        .slice(0, 200)
        .every((r) => r === 'kept'),
    ).toBe(true);
    expect(results[200]).toMatchObject({
      reason: 'length-outlier',
      detail: expect.stringMatching(/^description has 5 words, outside description mean 34\.\d ± 3 sd 4\.\d = \[\d+\.\d, \d+\.\d\] over 202 texts$/),
    });
    expect(results[201]).toMatchObject({ reason: 'length-outlier', detail: expect.stringContaining('description has 80 words') });
    // A wider k keeps the short one; sd 0 turns the rule off.
    expect(reasons(await run(corpus, { lengthTails: { sd: 7 } })).filter((r) => r !== 'kept')).toEqual(['length-outlier']);
    expect(reasons(await run(corpus, { lengthTails: { sd: 0 } })).every((r) => r === 'kept')).toBe(true);
  });

  it('judges answers within their kind, and leaves a distribution with fewer than minTexts texts alone', async () => {
    const answered = corpus.slice(0, 40).map((s, i) => segment(i, s.description!.text, 'happy', [words(10 + (i % 3))]));
    answered.push(segment(200, words(34), 'happy', [words(80)]));
    const results = await run(answered);
    expect(results.at(-1)).toMatchObject({ reason: 'length-outlier', detail: expect.stringContaining('qa[0].answer has 80 words, outside answer:open mean') });
    expect(reasons(await run(answered, { lengthTails: { fields: ['description'] } })).every((r) => r === 'kept')).toBe(true);
    expect(reasons(await run([...corpus.slice(0, 10), ...corpus.slice(-2)], { lengthTails: { minTexts: 20 } })).every((r) => r === 'kept')).toBe(true);
  });
});

describe('filter.corpus label caps', () => {
  const labels: Emotion[] = [...Array<Emotion>(10).fill('happy'), ...Array<Emotion>(3).fill('sad'), ...Array<Emotion>(5).fill('neutral')];
  const corpus = labels.map((label, i) => segment(i, words(30), label));

  it('label-cap: keeps at most the cap per label, chosen by hash of (seed, id) whatever the input order', async () => {
    const results = await run(corpus, { lengthTails: { sd: 0 }, labelCaps: { maxPerLabel: 4 } });
    const keptOf = (label: Emotion, rs: (Segment | DropResult)[], input = corpus) =>
      input
        .filter((s, i) => s.labels!.primary === label && !isDrop(rs[i]))
        .map((s) => s.id)
        .sort();
    expect(keptOf('happy', results)).toHaveLength(4);
    expect(keptOf('neutral', results)).toHaveLength(4);
    expect(keptOf('sad', results)).toHaveLength(3);
    expect(results.find(isDrop)).toMatchObject({
      reason: 'label-cap',
      detail: "10 segments are labelled happy, cap 4; kept the 4 with the lowest hash of (seed 'emoforge', id)",
    });
    const reversed = [...corpus].reverse();
    expect(keptOf('happy', await run(reversed, { labelCaps: { maxPerLabel: 4 } }), reversed)).toEqual(keptOf('happy', results));
    expect(keptOf('happy', await run(corpus, { labelCaps: { maxPerLabel: 4, seed: 'other' } }))).not.toEqual(keptOf('happy', results));
  });

  it('perLabel overrides maxPerLabel for one emotion; no cap, no drop', async () => {
    const results = await run(corpus, { labelCaps: { maxPerLabel: 4, perLabel: { neutral: 1, happy: 20 } } });
    expect(reasons(results).filter((r) => r === 'label-cap')).toHaveLength(4);
    expect(reasons(await run(corpus)).every((r) => r === 'kept')).toBe(true);
    expect(filterCorpus.configSchema.safeParse({ labelCaps: { perLabel: { joyful: 3 } } }).success).toBe(false);
  });
});
