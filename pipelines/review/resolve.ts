// Which decision applies to a segment's current content. Each reviewer's latest decision on that
// content is their vote (a reviewer changes their mind by deciding again); across reviewers the
// policy picks one: `strictest` (default: a reject beats an edit beats an accept, so a second
// reviewer's accept never throws away the first one's fix) or `latest` (the most recent vote wins,
// for a lead reviewer who overrides). Decisions on other content of the segment are stale.
import { byRecording, type ReviewDecision } from './review-log.ts';

export const RESOLVE_POLICIES = ['strictest', 'latest'] as const;
export type ResolvePolicy = (typeof RESOLVE_POLICIES)[number];

export interface Resolution {
  /** the decision that applies, if any */
  readonly applied?: ReviewDecision;
  /** each reviewer's latest decision on the current content, in recording order */
  readonly votes: readonly ReviewDecision[];
  /** decisions on other content of this segment */
  readonly stale: number;
}

const STRICTNESS: Record<ReviewDecision['verdict'], number> = { accept: 1, edit: 2, reject: 3 };

/** `decisions`: every decision on the segment (any content), any order. */
export function resolveDecisions(decisions: readonly ReviewDecision[], hash: string, policy: ResolvePolicy): Resolution {
  const current = decisions.filter((d) => d.hash === hash).sort(byRecording);
  const latest = new Map<string, ReviewDecision>();
  for (const d of current) latest.set(d.reviewer, d);
  const votes = [...latest.values()].sort(byRecording);
  const stale = decisions.length - current.length;
  if (votes.length === 0) return { votes, stale };
  const applied = policy === 'latest' ? votes.at(-1)! : votes.reduce((best, v) => (STRICTNESS[v.verdict] >= STRICTNESS[best.verdict] ? v : best));
  return { applied, votes, stale };
}
