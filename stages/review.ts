// review (global, after the last generating stage and before filter): applies the decisions people
// made on the review page (`emoforge review OUT`), read from the review log in the store. For each
// segment, the decisions on its current content (pipelines/review/content-hash.ts) apply: an accept
// marks it `accepted`, an edit replaces the teacher's text with the reviewer's (provenance teacher
// `human`, model = the reviewer's name; checked again with the teachers' schemas), a reject drops it
// `human-rejected` (or, with `reject: keep`, keeps it marked `rejected`). Decisions on older content
// are stale: the segment goes back to the review queue, and the count is flagged `review-stale`.
// It also keeps a snapshot of what each segment looked like before review, for the review page.
// A global stage because the log changes without the config changing: it runs on every run (cheap:
// one listing of the log), and the stages after it see the decisions as part of their input.
import { z } from 'zod';
import { REVIEW_KEYS, reviewHash, withoutReview } from '../pipelines/review/content-hash.ts';
import { applyEdits, checkEdits, editedTasks, taskTeachers } from '../pipelines/review/edits.ts';
import { resolveDecisions, RESOLVE_POLICIES } from '../pipelines/review/resolve.ts';
import { DEFAULT_LOG, LOG_NAME, ReviewLog, type ReviewDecision } from '../pipelines/review/review-log.ts';
import { saveSnapshot } from '../pipelines/review/snapshots.ts';
import { runGlobalInMemory, type DropResult, type GlobalStage } from '../pipelines/stage.ts';
import type { ReviewState, ReviewVote, Segment } from '../schemas/records.ts';

export const ReviewConfig = z
  .object({
    /** Which review log in the store holds the decisions; default `default` (`emoforge review --log` names the same). */
    log: z.string().regex(LOG_NAME, 'a log name is 1-64 letters, digits, dot, dash or underscore').default(DEFAULT_LOG),
    /** What a reject does: drop (default: the segment leaves with reason human-rejected) or keep (rows carry review = rejected). */
    reject: z.enum(['drop', 'keep']).default('drop'),
    /** Which vote applies when reviewers differ: strictest (default: reject > edit > accept) or latest. */
    resolve: z.enum(RESOLVE_POLICIES).default('strictest'),
    /**
     * What a decision must match to apply: content (default: the clip, its media, transcript, cues and
     * every generated text) or text (the transcript and the generated text; cues may shift). Changing
     * it makes every earlier decision stale.
     */
    keyOn: z.enum(REVIEW_KEYS).default('content'),
  })
  .strict();
export type ReviewConfig = z.infer<typeof ReviewConfig>;

export const reviewStage: GlobalStage<ReviewConfig, string> = {
  kind: 'global',
  name: 'review',
  version: 1,
  configSchema: ReviewConfig,
  reads: ['labels'],
  adds: ['review'],
  cache: false,

  // The view is the segment's id; what a decision applies to is judged on the full segment, as it streams past.
  async project(segment, config, ctx) {
    // Stand-in text of a dry run is never shown to anyone: no snapshot of it. Content-addressed, so
    // a snapshot the store holds is never written again.
    if (!ctx.standIn) {
      const judged = withoutReview(segment);
      await saveSnapshot(ctx.store, judged, reviewHash(judged, config.keyOn));
    }
    return segment.id;
  },

  async decide(views, config, ctx) {
    const log = new ReviewLog(ctx.store, config.log);
    const decisions = await log.read();
    for (const problem of log.problems()) ctx.log.warn({ key: problem.key, error: problem.error }, 'review log object skipped');
    const bySegment = new Map<string, ReviewDecision[]>();
    for (const d of decisions) bySegment.set(d.segmentId, [...(bySegment.get(d.segmentId) ?? []), d]);
    ctx.log.info({ log: config.log, decisions: decisions.length, segments: views.length }, 'review log read');
    return {
      apply(input: Segment, flag: (reason: string, detail: string) => void) {
        const segment = withoutReview(input);
        return review(segment, reviewHash(segment, config.keyOn), bySegment.get(segment.id) ?? [], config, flag);
      },
    };
  },

  run(segments, config, ctx) {
    return runGlobalInMemory(reviewStage, segments, config, ctx);
  },
};

function review(
  segment: Segment,
  hash: string,
  decisions: readonly ReviewDecision[],
  config: ReviewConfig,
  flag: (reason: string, detail: string) => void,
): Segment | DropResult {
  const { applied, votes, stale } = resolveDecisions(decisions, hash, config.resolve);
  const teachers = taskTeachers(segment);
  const state = (status: ReviewState['status'], edited: string[] = []): ReviewState => ({
    hash,
    status,
    ...(applied && status !== 'none' ? { by: applied.reviewer } : {}),
    edited,
    votes: votes.map((v) => voteOf(segment, v)),
    stale,
    teachers,
  });
  if (!applied) {
    if (stale > 0) flag('review-stale', `segment ${segment.id}: ${stale} decision(s) judged earlier content; back in the review queue`);
    return { ...segment, review: state('none') };
  }
  const who = `${applied.reviewer} at ${applied.at}`;
  if (applied.verdict === 'accept') {
    flag('human-accepted', `segment ${segment.id}: accepted by ${who}`);
    return { ...segment, review: state('accepted') };
  }
  if (applied.verdict === 'edit') {
    const checked = checkEdits(segment, applied.edits);
    if (!checked.ok) {
      flag('review-invalid-edit', `segment ${segment.id}: the edit by ${who} is not applied: ${checked.error}`);
      return { ...segment, review: state('none') };
    }
    flag('human-edited', `segment ${segment.id}: edited by ${who}`);
    return { ...applyEdits(segment, checked.edits, applied.reviewer), review: state('edited', editedTasks(segment, checked.edits)) };
  }
  const detail = `rejected by ${applied.reviewer} (${applied.reason})${applied.note ? `: ${applied.note}` : ''} [content ${hash.slice(0, 12)}, ${applied.at}]`;
  const rejected = { ...segment, review: state('rejected') };
  if (config.reject === 'keep') {
    flag('human-rejected', `segment ${segment.id}: ${detail}`);
    return rejected;
  }
  return { drop: true, reason: 'human-rejected', detail, segment: rejected };
}

function voteOf(segment: Segment, d: ReviewDecision): ReviewVote {
  const edits = d.verdict === 'edit' ? checkEdits(segment, d.edits) : undefined;
  const primary = edits?.ok && edits.edits.labels ? edits.edits.labels.primary : segment.labels?.primary;
  return {
    reviewer: d.reviewer,
    verdict: d.verdict,
    at: d.at,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(edits?.ok ? { edited: editedTasks(segment, edits.edits) } : {}),
    ...(primary ? { primary } : {}),
    ...(d.queue ? { queue: d.queue } : {}),
  };
}
