// `emoforge export --reviewed`: only the rows a person accepted or corrected (the human-reviewed
// subset), so a trainer can fine-tune on the checked data alone. Kept apart from the exporters: it is
// a predicate over corpus rows and nothing else.
import type { CorpusRow } from './corpus-rows.ts';

/** A row of the human-reviewed subset: accepted as it was, or edited by a reviewer. */
export function isReviewedRow(row: Pick<CorpusRow, 'review'>): boolean {
  return row.review === 'accepted' || row.review === 'edited';
}
