// The human-reviewed subset of a corpus (Omni-Emotion publishes its 3,500 human-reviewed samples as
// their own set): the rows a person accepted or corrected, written again as shards of their own
// under OUT/reviewed/, which the dataset card declares as the `reviewed` config.
import type { Sample } from '../../schemas/sample.ts';

export const REVIEWED_DIR = 'reviewed';

/** A row a person accepted as it is or corrected. */
export function isReviewedSample(row: Pick<Sample, 'review'>): boolean {
  return row.review === 'accepted' || row.review === 'edited';
}
