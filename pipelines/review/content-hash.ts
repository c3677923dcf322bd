// The hash a review decision is keyed by: everything a reviewer judged about a segment. The clip's
// bytes (through its id and the segment id), the span and its media, the transcript, the cues and
// clues, and every generated field (description, labels, crosscheck, QA, rationale, judge). When any
// of them changes, decisions made on the old content no longer match and the segment is reviewed
// again. Where the clip lives (uri, partition) and how it is named are left out: moving the input
// folder or changing `partitions:` must not throw a review away. With `text`, only the transcript and
// the generated text count: measured cues may shift (a corpus-wide baseline moves when clips are
// added) without sending every sample back to the queue.
import { fingerprint } from '../fingerprint.ts';
import type { Segment } from '../../schemas/records.ts';

/** Bump when the hashed content changes shape: every decision then needs a new look. */
const CONTENT_VERSION = 1;

/** What a decision is keyed by: everything the reviewer saw (default), or the transcript and the generated text only. */
export const REVIEW_KEYS = ['content', 'text'] as const;
export type ReviewKey = (typeof REVIEW_KEYS)[number];

export function reviewHash(segment: Segment, key: ReviewKey = 'content'): string {
  const { review: _review, clip, ...content } = segment;
  if (key === 'text') {
    const { id, transcript, clues, description, labels, crosscheck, qa, rationale, judge } = segment;
    return fingerprint('review-text', CONTENT_VERSION, { id, transcript: transcript?.text, clues, description, labels, crosscheck, qa, rationale, judge });
  }
  return fingerprint('review-content', CONTENT_VERSION, { ...content, clip: { id: clip.id, label: clip.manifest.label, text: clip.manifest.text } });
}

/** The segment as it was before the review stage touched it: what a snapshot keeps and a hash covers. */
export function withoutReview(segment: Segment): Segment {
  const { review: _review, ...rest } = segment;
  return rest;
}
