// The hash a review decision is keyed by: everything a reviewer judged about a segment. The clip's
// bytes (through its id and the segment id), the span and its media, the transcript, the cues and
// clues, and every generated field (description, labels, crosscheck, QA, rationale, judge). When any
// of them changes, decisions made on the old content no longer match and the segment is reviewed
// again. Where the clip lives (uri, partition) and how it is named are left out: moving the input
// folder or changing `partitions:` must not throw a review away.
import { fingerprint } from '../fingerprint.ts';
import type { Segment } from '../../schemas/records.ts';

/** Bump when the hashed content changes shape: every decision then needs a new look. */
const CONTENT_VERSION = 1;

export function reviewHash(segment: Segment): string {
  const { review: _review, clip, ...content } = segment;
  return fingerprint('review-content', CONTENT_VERSION, { ...content, clip: { id: clip.id, label: clip.manifest.label, text: clip.manifest.text } });
}

/** The segment as it was before the review stage touched it: what a snapshot keeps and a hash covers. */
export function withoutReview(segment: Segment): Segment {
  const { review: _review, ...rest } = segment;
  return rest;
}
