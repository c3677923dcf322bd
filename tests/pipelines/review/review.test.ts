// Human review without a browser: the content hash decisions are keyed by, edits checked as teacher
// answers are, which vote applies, the review log on a local folder and on a real S3-protocol server
// (append-only, two writers at once, a retried decision stored once, foreign objects skipped), the
// review stage on real segments (accept, edit, reject, keep, stale, dry run), the queues and the
// figures the report prints (Wilson intervals, Cohen's kappa).
import { createHash } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditDigest } from '../../../pipelines/audit/digest.ts';
import { reviewDigest } from '../../../pipelines/audit/review-digest.ts';
import { reviewCardLines, reviewSection } from '../../../pipelines/audit/review-sections.ts';
import { reviewHash } from '../../../pipelines/review/content-hash.ts';
import { applyEdits, checkEdits, editedTasks, HUMAN_TEMPLATE } from '../../../pipelines/review/edits.ts';
import { queueOrder, parseQueue, type QueueInput } from '../../../pipelines/review/queues.ts';
import { resolveDecisions } from '../../../pipelines/review/resolve.ts';
import { ReviewLog, type ReviewDecision } from '../../../pipelines/review/review-log.ts';
import type { ReviewSample } from '../../../pipelines/review/review-set.ts';
import { readSnapshot, snapshotKey } from '../../../pipelines/review/snapshots.ts';
import { cohensKappa, wilson } from '../../../pipelines/review/statistics.ts';
import type { StageContext } from '../../../pipelines/stage.ts';
import { LocalStore, S3Store, type Store } from '../../../pipelines/store/index.ts';
import type { Emotion } from '../../../schemas/emotion.ts';
import { Segment } from '../../../schemas/records.ts';
import { ReviewConfig, reviewStage } from '../../../stages/review.ts';
import { rationaleTask } from '../../../stages/rationale.ts';
import { stageContext, tempDir } from '../../helpers.ts';
import { startS3Server, type S3Server } from '../../support/s3-server.ts';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const rules = (template: string) => ({ teacher: 'rules', model: 'rules-v3', template });

function segment(name: string, primary: Emotion = 'happy', transcript = `${name} says we won the prize`): Segment {
  const clipId = hex(`clip ${name}`);
  return Segment.parse({
    id: hex(`segment ${name}`),
    clipId,
    clip: {
      id: clipId,
      uri: `${name}.mp4`,
      name,
      bytes: 1000,
      probe: { duration: 3, formatName: 'mp4', hasVideo: true, hasAudio: true },
      manifest: { label: primary, speaker: 'spk1' },
      partition: 1,
    },
    index: 0,
    start: 0,
    end: 3,
    transcript: { text: transcript, language: 'en', engine: 'manifest' },
    cues: { lexical: { score: 0.6, sentiment: 'positive', positiveWords: ['won'], negativeWords: [], emotionWords: [] } },
    description: { text: `The words are positive. The person is most likely ${primary}.`, provenance: rules('describe.rules@1') },
    labels: { primary, openset: [primary], sentiment: 'positive', valence: 0.6, arousal: 0.4, provenance: rules('labels.rules@1') },
    qa: [
      {
        kind: 'mcq',
        question: 'Which emotion? Choose one of: happy, sad, angry, neutral.',
        options: ['happy', 'sad', 'angry', 'neutral'],
        answer: 'happy',
        provenance: rules('qa.mcq.rules@1'),
      },
      { kind: 'open', question: 'Why?', answer: 'The words are positive.', provenance: rules('qa.mcq.rules@1') },
    ],
    rationale: {
      steps: ['Step 1: The words are positive.', `Step 2: predicted emotion is ${primary}`],
      emotion: primary,
      provenance: rules('rationale.rules@1'),
    },
    judge: { score: 8, reason: 'fine', provenance: rules('judge.rules@1') },
  });
}

let seq = 0;
function decision(s: Segment, fields: Partial<ReviewDecision> & Pick<ReviewDecision, 'reviewer' | 'verdict'>): ReviewDecision {
  seq++;
  return {
    id: `decision${String(seq).padStart(4, '0')}`,
    segmentId: s.id,
    hash: reviewHash(s),
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    ...fields,
  } as ReviewDecision;
}

describe('the content a decision judged', () => {
  const base = segment('clip-a');
  it('changes with the transcript, the cues and every generated text, and not with where the clip lives', () => {
    const hash = reviewHash(base);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(reviewHash({ ...base, clip: { ...base.clip, uri: 'moved/clip-a.mp4', partition: 7, name: 'renamed' } })).toBe(hash);
    expect(reviewHash({ ...base, review: { hash, status: 'accepted', edited: [], votes: [], stale: 0, teachers: {} } })).toBe(hash);
    expect(reviewHash({ ...base, transcript: { ...base.transcript!, text: 'another sentence' } })).not.toBe(hash);
    expect(reviewHash({ ...base, cues: { lexical: { ...base.cues!.lexical!, score: 0.1 } } })).not.toBe(hash);
    expect(reviewHash({ ...base, description: { ...base.description!, text: 'Other words.' } })).not.toBe(hash);
    expect(reviewHash({ ...base, judge: { ...base.judge!, score: 3 } })).not.toBe(hash);
    expect(reviewHash({ ...base, labels: { ...base.labels!, provenance: rules('labels.llm@2') } })).not.toBe(hash);
  });

  it('keyed on text only, shifted cues keep a decision and new words do not', () => {
    const text = reviewHash(base, 'text');
    expect(text).not.toBe(reviewHash(base));
    expect(reviewHash({ ...base, cues: { lexical: { ...base.cues!.lexical!, score: 0.1 } } }, 'text')).toBe(text);
    expect(reviewHash({ ...base, transcript: { ...base.transcript!, text: 'another sentence' } }, 'text')).not.toBe(text);
    expect(reviewHash({ ...base, rationale: { ...base.rationale!, steps: ['Step 1: predicted emotion is happy'] } }, 'text')).not.toBe(text);
  });
});

describe('edits are checked as teacher answers are', () => {
  const s = segment('clip-b');
  it('accepts a changed description and marks only it as human text', () => {
    const check = checkEdits(s, { description: { text: 'A broad smile and a bright voice: she is happy about the prize.' } });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const edited = applyEdits(s, check.edits, 'Ada Lovelace');
    expect(edited.description).toEqual({
      text: 'A broad smile and a bright voice: she is happy about the prize.',
      provenance: { teacher: 'human', model: 'Ada Lovelace', template: HUMAN_TEMPLATE },
    });
    expect(edited.labels).toEqual(s.labels);
    expect(editedTasks(s, check.edits)).toEqual(['description']);
  });

  it('refuses what a teacher answer would be refused for, with the same words', () => {
    const steps = { steps: ['The words are positive.', 'predicted emotion is sad'], emotion: 'happy' as const };
    const check = checkEdits(s, { rationale: steps });
    expect(check.ok).toBe(false);
    for (const problem of rationaleTask.check!(steps, {})) expect(!check.ok && check.error).toContain(problem);
    expect(checkEdits(s, { labels: { ...s.labels!, primary: 'elated' } })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^labels\.primary: Invalid option/),
    });
    const items = s.qa!.map(({ provenance: _p, ...item }) => item);
    expect(checkEdits(s, { qa: { items: [{ ...items[0], options: ['happy', 'sad', 'angry', 'jolly'] }, items[1]] } })).toMatchObject({
      ok: false,
      error: expect.stringContaining('["jolly"] are not in the label set'),
    });
    expect(checkEdits(s, { qa: { items: [items[0]] } })).toMatchObject({ ok: false, error: expect.stringContaining('give all 2 items') });
    expect(checkEdits(s, { description: { text: s.description!.text } })).toMatchObject({
      ok: false,
      error: 'the edit changes nothing: accept the sample instead',
    });
    expect(checkEdits(s, {})).toMatchObject({ ok: false });
  });

  it('an edited QA item gets human provenance, the others keep their teacher', () => {
    const items = s.qa!.map(({ provenance: _p, ...item }) => item);
    const check = checkEdits(s, { qa: { items: [items[0], { ...items[1], answer: 'Because she says they won the prize.' }] } });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const edited = applyEdits(s, check.edits, 'bob');
    expect(edited.qa![0]).toEqual(s.qa![0]);
    expect(edited.qa![1].provenance.teacher).toBe('human');
    expect(editedTasks(s, check.edits)).toEqual(['open_qa']);
  });
});

describe('which decision applies', () => {
  const s = segment('clip-c');
  it("takes each reviewer's latest vote, then the strictest (or the latest) of them; other content is stale", () => {
    const old = { ...decision(s, { reviewer: 'alice', verdict: 'accept' }), hash: hex('older content') };
    const a1 = decision(s, { reviewer: 'alice', verdict: 'reject', reason: 'wrong-emotion' });
    const a2 = decision(s, { reviewer: 'alice', verdict: 'accept' });
    const b1 = decision(s, { reviewer: 'bob', verdict: 'edit', edits: { description: { text: 'Edited by bob.' } } });
    const c1 = decision(s, { reviewer: 'carol', verdict: 'accept' });
    const all = [c1, old, a2, b1, a1];
    const strictest = resolveDecisions(all, reviewHash(s), 'strictest');
    expect(strictest.votes.map((v) => `${v.reviewer}:${v.verdict}`)).toEqual(['alice:accept', 'bob:edit', 'carol:accept']);
    expect(strictest.applied?.reviewer).toBe('bob');
    expect(strictest.stale).toBe(1);
    expect(resolveDecisions(all, reviewHash(s), 'latest').applied?.reviewer).toBe('carol');
    expect(resolveDecisions([old], reviewHash(s), 'strictest')).toEqual({ votes: [], stale: 1 });
  });
});

describe('figures', () => {
  it("Wilson intervals and Cohen's kappa", () => {
    const half = wilson(5, 10);
    expect(half.rate).toBe(0.5);
    expect(half.low).toBeCloseTo(0.2366, 4);
    expect(half.high).toBeCloseTo(0.7634, 4);
    expect(wilson(0, 0)).toEqual({ successes: 0, total: 0, rate: null, low: null, high: null });
    expect(wilson(3, 3).high).toBe(1);
    expect(() => wilson(4, 3)).toThrow(RangeError);
    // alice keep, reject, keep, keep; bob keep, reject, keep, reject: po 0.75, pe 0.5.
    const k = cohensKappa([
      ['keep', 'keep'],
      ['reject', 'reject'],
      ['keep', 'keep'],
      ['keep', 'reject'],
    ]);
    expect(k).toEqual({ items: 4, observed: 0.75, expected: 0.5, kappa: 0.5 });
    expect(
      cohensKappa([
        ['keep', 'keep'],
        ['keep', 'keep'],
      ]).kappa,
    ).toBeNull();
  });
});

function logSuite(name: string, makeStore: () => Promise<Store>) {
  describe(`the review log on ${name}`, () => {
    it('keeps every decision of two reviewers writing at once, stores a retried decision once, skips foreign objects', async () => {
      const store = await makeStore();
      const log = new ReviewLog(store, 'team-a');
      const samples = ['x1', 'x2', 'x3', 'x4', 'x5'].map((n) => segment(n));
      const made = samples.flatMap((s) => [
        decision(s, { reviewer: 'alice', verdict: 'accept' }),
        decision(s, { reviewer: 'bob', verdict: 'reject', reason: 'bad-media', note: '<script>x</script>' }),
      ]);
      await Promise.all(made.map((d) => log.append(d)));
      await log.append({ ...made[0], at: '2030-01-01T00:00:00.000Z' });
      const reader = new ReviewLog(store, 'team-a');
      expect((await reader.read()).map((d) => d.id)).toEqual(made.map((d) => d.id));
      expect(reader.decisions()[0].at).toBe(made[0].at);
      // Another log in the same store is another set of decisions.
      expect(await new ReviewLog(store, 'team-b').read()).toEqual([]);
      // Objects that are not decisions, or filed under another segment, do not count.
      await store.put(`review/logs/team-a/${samples[0].id}/${reviewHash(samples[0])}/garbage01.json`, '{not json');
      const misfiled = { ...made[2], id: 'misfiled01' };
      await store.put(`review/logs/team-a/${samples[0].id}/${reviewHash(samples[0])}/misfiled01.json`, JSON.stringify(misfiled));
      expect((await reader.read()).length).toBe(made.length);
      expect(reader.problems().map((p) => p.error)).toEqual([
        expect.stringMatching(/^not JSON/),
        'the decision names another segment, hash or id than its key',
      ]);
      await expect(log.append({ ...made[0], id: 'x' })).rejects.toThrow(/decision id/);
      await expect(log.append({ ...made[0], id: 'noreason01', verdict: 'reject' })).rejects.toThrow(/a reject needs a reason/);
      expect(() => new ReviewLog(store, '../up')).toThrow(/review log name/);
    });
  });
}

let s3: S3Server | undefined;
beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('emoforge-review');
});
afterAll(async () => {
  await s3?.stop();
});

logSuite('a local folder', async () => new LocalStore(await tempDir()));
logSuite('an S3-protocol server', async () => new S3Store(`s3://emoforge-review/run-${++seq}`, { client: s3!.clientConfig, scratchDir: await tempDir() }));

describe('the review stage', () => {
  const config = (over: Record<string, unknown> = {}) => ReviewConfig.parse({ log: 'unit', ...over });
  async function run(store: Store, segments: Segment[], over: Record<string, unknown> = {}, extra: Partial<StageContext> = {}) {
    const flags: Record<string, number> = {};
    const { ctx } = stageContext({ store, stage: 'review' });
    const results = await reviewStage.run(segments, config(over), {
      ...ctx,
      log: pino({ level: 'silent' }),
      flag: (reason) => void (flags[reason] = (flags[reason] ?? 0) + 1),
      ...extra,
    });
    return { results, flags };
  }

  it('applies accepts, edits and rejects that match the content, re-queues stale ones, and keeps snapshots', async () => {
    const store = new LocalStore(await tempDir());
    const [accepted, edited, rejected, changed, untouched] = ['s-acc', 's-edit', 's-rej', 's-changed', 's-none'].map((n) => segment(n));
    const log = new ReviewLog(store, 'unit');
    await log.append(decision(accepted, { reviewer: 'alice', verdict: 'accept', queue: 'random' }));
    await log.append(
      decision(edited, { reviewer: 'alice', verdict: 'edit', edits: { labels: { ...edited.labels!, primary: 'surprised', openset: ['amazed'] } } }),
    );
    await log.append(decision(edited, { reviewer: 'bob', verdict: 'accept' }));
    await log.append(decision(rejected, { reviewer: 'bob', verdict: 'reject', reason: 'hallucinated-cue', note: 'no smile <b>at all</b>' }));
    await log.append(decision(changed, { reviewer: 'alice', verdict: 'accept' }));
    // The teacher's text of `changed` is rewritten after the review.
    const rewritten = { ...changed, description: { ...changed.description!, text: 'A different description.' } };

    const { results, flags } = await run(store, [accepted, edited, rejected, rewritten, untouched]);
    expect(flags).toEqual({ 'human-accepted': 1, 'human-edited': 1, 'review-stale': 1 });
    const [a, e, r, c, n] = results;
    expect('drop' in a ? a : a.review).toMatchObject({
      status: 'accepted',
      by: 'alice',
      votes: [{ reviewer: 'alice', verdict: 'accept', queue: 'random', primary: 'happy' }],
    });
    if ('drop' in e) throw new Error('edited segment dropped');
    expect(e.review).toMatchObject({
      status: 'edited',
      by: 'alice',
      edited: ['ov_labels'],
      votes: [
        { reviewer: 'alice', primary: 'surprised' },
        { reviewer: 'bob', primary: 'happy' },
      ],
    });
    expect(e.labels).toMatchObject({ primary: 'surprised', openset: ['amazed'], provenance: { teacher: 'human', model: 'alice' } });
    expect(e.description).toEqual(edited.description);
    expect(r).toMatchObject({
      drop: true,
      reason: 'human-rejected',
      detail: expect.stringMatching(/^rejected by bob \(hallucinated-cue\): no smile <b>at all<\/b> \[content [0-9a-f]{12}, /),
      segment: { review: { status: 'rejected' } },
    });
    expect('drop' in c ? c : c.review).toMatchObject({ status: 'none', stale: 1, votes: [] });
    expect('drop' in n ? n : n.review).toEqual({
      hash: reviewHash(untouched),
      status: 'none',
      edited: [],
      votes: [],
      stale: 0,
      teachers: {
        description: 'rules (rules-v3)',
        ov_labels: 'rules (rules-v3)',
        mcq: 'rules (rules-v3)',
        open_qa: 'rules (rules-v3)',
        rationale: 'rules (rules-v3)',
      },
    });
    // What each was judged on is in the store, teacher text and all.
    expect(await readSnapshot(store, edited.id, reviewHash(edited))).toEqual(edited);
    expect(await readSnapshot(store, changed.id, reviewHash(rewritten))).toEqual(rewritten);

    const kept = await run(store, [rejected], { reject: 'keep' });
    expect(kept.flags).toEqual({ 'human-rejected': 1 });
    expect('drop' in kept.results[0] ? kept.results[0] : kept.results[0].review?.status).toBe('rejected');
  });

  it('does not apply an edit that no longer passes the checks, and writes no snapshot of stand-in text', async () => {
    const store = new LocalStore(await tempDir());
    const s = segment('s-bad');
    await mkdir(join(store.location, 'review/logs/unit', s.id, reviewHash(s)), { recursive: true });
    const bad = { ...decision(s, { reviewer: 'eve', verdict: 'edit', edits: { description: { text: 'fine' } } }), id: 'handwritten01' };
    await writeFile(
      join(store.location, 'review/logs/unit', s.id, reviewHash(s), 'handwritten01.json'),
      JSON.stringify({ ...bad, edits: { rationale: { steps: ['no'], emotion: 'happy' } } }),
    );
    const { results, flags } = await run(store, [s], {}, { standIn: true });
    expect(flags).toEqual({ 'review-invalid-edit': 1 });
    expect('drop' in results[0] ? results[0] : results[0].rationale).toEqual(s.rationale);
    expect(await store.exists(snapshotKey(s.id, reviewHash(s)))).toBe(false);
  });
});

describe('queues and the report figures', () => {
  const samples: ReviewSample[] = (['happy', 'sad', 'happy', 'angry'] as const).map((primary, index) => {
    const snapshot = segment(`q${index}`, primary);
    return {
      index,
      segmentId: snapshot.id,
      hash: reviewHash(snapshot),
      name: snapshot.clip.name,
      split: 'train',
      published: 'none',
      inCorpus: true,
      snapshot: index === 1 ? { ...snapshot, judge: { ...snapshot.judge!, score: 2 } } : snapshot,
      media: { video: null, audio: null, frames: [], faces: [] },
      flags: index === 3 ? ['rationale step 1 cites 300 Hz'] : [],
      disagreement: index === 2,
    };
  });
  const d = (i: number, reviewer: string, verdict: ReviewDecision['verdict'], extra: Partial<ReviewDecision> = {}) =>
    ({
      ...decision(samples[i].snapshot, { reviewer, verdict, ...(verdict === 'reject' ? { reason: 'wrong-emotion' } : {}), ...extra }),
      hash: samples[i].hash,
    }) as ReviewDecision;
  const decisions = [d(0, 'alice', 'accept', { queue: 'random' }), d(1, 'alice', 'reject', { queue: 'random' }), d(0, 'bob', 'accept'), d(1, 'bob', 'accept')];
  const input: QueueInput = { samples, decisions, log: 'unit', policy: 'strictest' };

  it('orders and filters the same way for everyone', () => {
    const random = queueOrder('random', input, 'alice');
    expect([...random].sort()).toEqual([0, 1, 2, 3]);
    expect(queueOrder('random', input, 'carol')).toEqual(random);
    expect(queueOrder('random', { ...input, log: 'other' }, 'alice')).not.toEqual(random);
    expect(queueOrder('judge', input, 'alice')[0]).toBe(1);
    expect(queueOrder('disagreement', input, 'alice')).toEqual([2]);
    expect(queueOrder('flagged', input, 'alice')).toEqual([3]);
    expect(queueOrder('label:happy', input, 'alice').sort()).toEqual([0, 2]);
    expect(queueOrder('unreviewed', input, 'alice').sort()).toEqual([2, 3]);
    expect(queueOrder('second', input, 'carol').sort()).toEqual([0, 1]);
    expect(queueOrder('second', input, 'bob')).toEqual([]);
    expect(queueOrder('rejected', input, 'alice')).toEqual([1]);
    expect(parseQueue('label:happy')).toBe('label:happy');
    expect(parseQueue('label:jolly')).toBeUndefined();
    expect(parseQueue('../etc')).toBeUndefined();
  });

  it('acceptance per task and teacher with intervals, reject reasons, kappa and label agreement', () => {
    const state = (i: number, status: 'accepted' | 'rejected', votes: { reviewer: string; verdict: 'accept' | 'reject'; queue?: string }[]) => ({
      ...samples[i].snapshot,
      review: {
        hash: samples[i].hash,
        status,
        by: votes[0].reviewer,
        edited: [],
        votes: votes.map((v) => ({
          ...v,
          at: '2026-01-01T00:00:00Z',
          primary: samples[i].snapshot.labels!.primary,
          ...(v.verdict === 'reject' ? { reason: 'wrong-emotion' } : {}),
        })),
        stale: 0,
        teachers: { description: 'rules (rules-v3)', ov_labels: 'gpt (gpt-4o)' },
      },
    });
    const kept = [
      state(0, 'accepted', [
        { reviewer: 'alice', verdict: 'accept', queue: 'random' },
        { reviewer: 'bob', verdict: 'accept' },
      ]),
    ];
    const rejected = state(1, 'rejected', [
      { reviewer: 'alice', verdict: 'reject', queue: 'random' },
      { reviewer: 'bob', verdict: 'accept' },
    ]);
    const digest = reviewDigest(
      kept,
      [
        {
          id: rejected.id,
          clipId: rejected.clipId,
          uri: rejected.clip.uri,
          stage: 'review',
          reason: 'human-rejected',
          detail: '',
          segment: {
            name: 'q1',
            start: 0,
            end: 3,
            speaker: null,
            label: null,
            primaryEmotion: 'sad',
            sentiment: null,
            transcript: null,
            description: null,
            qa: null,
            rationale: null,
            frame: null,
            conflict: null,
            review: rejected.review,
          },
        },
      ],
      { review: { in: 4, out: 3, dropped: { 'human-rejected': 1 }, flagged: { 'review-stale': 2 }, cached: 0, wallMs: 0, work: {} } },
      [],
    )!;
    expect(digest).toMatchObject({ reviewed: 2, accepted: 1, rejected: 1, stale: 2, reasons: [{ reason: 'wrong-emotion', count: 1 }] });
    expect(digest.tasks.map((t) => [t.key, t.successes, t.total])).toEqual([
      ['description', 1, 2],
      ['ov_labels', 1, 2],
    ]);
    expect(digest.teachers.map((t) => t.key)).toEqual(['gpt (gpt-4o)', 'rules (rules-v3)']);
    expect(digest.random).toMatchObject({ successes: 1, total: 2 });
    expect(digest.pairs).toEqual([{ a: 'alice', b: 'bob', kappa: { items: 2, observed: 0.5, expected: 0.5, kappa: 0 }, labels: wilson(1, 1) }]);
    expect(reviewDigest([segment('no-review')], [], {}, [])).toBeUndefined();

    // Reviewer names are hostile input in the report and the card too.
    const hostile = { ...digest, reviewers: [{ name: '<img src=x onerror=alert(1)>', decisions: 1 }], pairs: [{ ...digest.pairs[0], a: '<b>a</b>' }] };
    const html = reviewSection({ review: hostile } as unknown as AuditDigest);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    expect(html).toContain('<td>&lt;b&gt;a&lt;/b&gt; · bob</td><td>2</td><td>0.00</td><td>50.0%</td>');
    expect(reviewCardLines({ review: hostile } as unknown as AuditDigest).join('\n')).toContain('| &lt;b&gt;a&lt;/b&gt; · bob | 2 | 0.00 |');
    expect(reviewSection({ review: undefined } as unknown as AuditDigest)).toContain('No review stage ran');
  });
});
