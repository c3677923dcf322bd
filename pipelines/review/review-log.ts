// The review log: every decision a person made, append-only, in the store (a local folder or
// s3://…, through the Store interface only). One object per decision, never rewritten:
//   review/logs/<log>/<segment id>/<content hash>/<decision id>.json
// so two reviewers deciding at the same moment write two objects and neither is lost, and a decision
// sent twice (a page retrying after a lost response) lands on the same key with the same bytes.
// Objects are immutable, so a reader fetches each key once and only lists to find new ones.
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import { SampleEdits } from './edits.ts';

/** Why a sample is rejected: the short list the page offers (plus free text in `note`). */
export const REJECT_REASONS = ['wrong-emotion', 'hallucinated-cue', 'bad-transcript', 'bad-media', 'not-the-speaker', 'unusable-text', 'other'] as const;
export const REVIEW_VERDICTS = ['accept', 'edit', 'reject'] as const;

/** A log's name: one store can hold several (per team, per project). */
export const LOG_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const DEFAULT_LOG = 'default';

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** A reviewer's name as people write it; it becomes the `model` of the text they wrote. No control characters. */
export const ReviewerName = z
  .string()
  .trim()
  .min(1, 'a reviewer needs a name')
  .max(80, 'a reviewer name is at most 80 characters')
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'a reviewer name may not hold control characters');

export const ReviewDecision = z
  .object({
    /** Chosen by the page (a random id), so sending the same decision twice stores it once. */
    id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'a decision id is 8-64 letters, digits, _ or -'),
    segmentId: Hex64,
    /** the content hash (pipelines/review/content-hash.ts) of what the reviewer saw */
    hash: Hex64,
    reviewer: ReviewerName,
    /** set by the server that recorded it, never by the page */
    at: z.iso.datetime(),
    verdict: z.enum(REVIEW_VERDICTS),
    reason: z.enum(REJECT_REASONS).optional(),
    note: z.string().max(2000).optional(),
    edits: SampleEdits.optional(),
    /** the queue it was decided from */
    queue: z
      .string()
      .regex(/^[a-z0-9:_-]{1,64}$/)
      .optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.verdict === 'reject' && !d.reason)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: `a reject needs a reason: one of ${REJECT_REASONS.join(', ')}` });
    if (d.verdict !== 'reject' && d.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'only a reject has a reason' });
    if (d.verdict === 'edit' && !d.edits) ctx.addIssue({ code: 'custom', path: ['edits'], message: 'an edit needs the edited fields' });
    if (d.verdict !== 'edit' && d.edits) ctx.addIssue({ code: 'custom', path: ['edits'], message: 'only an edit carries edited fields' });
  });
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** Objects under the log's prefix that are not decisions (hand-written, truncated by a foreign tool). */
export interface LogProblem {
  readonly key: string;
  readonly error: string;
}

/** How many objects are fetched at once. */
const CONCURRENCY = 16;

export class ReviewLog {
  readonly name: string;
  private readonly store: Store;
  private readonly known = new Map<string, ReviewDecision | null>();
  private readonly problemList: LogProblem[] = [];

  constructor(store: Store, name: string = DEFAULT_LOG) {
    if (!LOG_NAME.test(name)) throw new RangeError(`review log name ${JSON.stringify(name)} is not 1-64 letters, digits, dot, dash or underscore`);
    this.store = store;
    this.name = name;
  }

  get prefix(): string {
    return `review/logs/${this.name}/`;
  }

  keyOf(decision: Pick<ReviewDecision, 'segmentId' | 'hash' | 'id'>): string {
    return `${this.prefix}${decision.segmentId}/${decision.hash}/${decision.id}.json`;
  }

  /** Records a decision (validated again here). A decision with the same id is stored once: the first one stays. */
  async append(decision: ReviewDecision): Promise<ReviewDecision> {
    const checked = ReviewDecision.parse(decision);
    const key = this.keyOf(checked);
    const existing = await this.store.get(key);
    if (existing) {
      const stored = ReviewDecision.safeParse(JSON.parse(existing.toString('utf8')));
      if (stored.success) {
        this.known.set(key, stored.data);
        return stored.data;
      }
    }
    await this.store.put(key, `${JSON.stringify(checked)}\n`);
    this.known.set(key, checked);
    return checked;
  }

  /** Every decision in the log, in recording order (time, then id). Lists the log and fetches only keys not seen before. */
  async read(): Promise<ReviewDecision[]> {
    const fresh: string[] = [];
    for await (const key of this.store.list(this.prefix)) if (key.endsWith('.json') && !this.known.has(key)) fresh.push(key);
    let next = 0;
    const worker = async () => {
      while (next < fresh.length) {
        const key = fresh[next++];
        this.known.set(key, await this.load(key));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, fresh.length) }, worker));
    return this.decisions();
  }

  /** Decisions read so far, without listing the store again. */
  decisions(): ReviewDecision[] {
    return [...this.known.values()].filter((d): d is ReviewDecision => d !== null).sort(byRecording);
  }

  /** Objects under the prefix that are not valid decisions (skipped), by key. */
  problems(): readonly LogProblem[] {
    return [...this.problemList].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async load(key: string): Promise<ReviewDecision | null> {
    const bytes = await this.store.get(key);
    if (!bytes) return null;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      this.problemList.push({ key, error: `not JSON: ${(error as Error).message}` });
      return null;
    }
    const parsed = ReviewDecision.safeParse(json);
    if (!parsed.success) {
      this.problemList.push({ key, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return null;
    }
    // The key is part of what a decision is: one filed under another segment or hash does not count.
    if (this.keyOf(parsed.data) !== key) {
      this.problemList.push({ key, error: 'the decision names another segment, hash or id than its key' });
      return null;
    }
    return parsed.data;
  }
}

export function byRecording(a: ReviewDecision, b: ReviewDecision): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
