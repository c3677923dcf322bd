// What the report and the card say about human review: how much was reviewed and what people
// decided, the acceptance rate with its 95% interval per task and per teacher (a task of a reviewed
// segment is accepted when the applied decision kept its text as the teacher wrote it), the most
// common reject reasons, samples that went back to the queue because their content changed, the
// quality estimate from the random queue, and agreement between reviewers who saw the same content
// (Cohen's kappa on keep vs reject, and how often they settled on the same primary emotion).
import type { Drop, ReviewState, Segment } from '../../schemas/records.ts';
import type { StatsTable } from '../stats.ts';
import { cohensKappa, wilson, type Kappa, type Proportion } from '../review/statistics.ts';

export interface ReviewRate extends Proportion {
  readonly key: string;
}

export interface ReviewerPair {
  readonly a: string;
  readonly b: string;
  /** keep (accept or edit) vs reject, on the samples both decided */
  readonly kappa: Kappa;
  /** of the samples both kept: how many got the same primary emotion from both */
  readonly labels: Proportion;
}

export interface ReviewDigest {
  /** segments with a decision that applies (accepted, edited, rejected) */
  readonly reviewed: number;
  readonly accepted: number;
  readonly edited: number;
  readonly rejected: number;
  /** segments whose decisions all judged earlier content: back in the queue */
  readonly stale: number;
  /** edits not applied because they no longer pass the teachers' checks */
  readonly invalidEdits: number;
  /** the reviewed config: rows per split */
  readonly subset: readonly { readonly split: string; readonly rows: number; readonly file: string }[];
  /** accepted as the teacher wrote it, among reviewed segments */
  readonly overall: Proportion;
  readonly tasks: readonly ReviewRate[];
  readonly teachers: readonly ReviewRate[];
  readonly reasons: readonly { readonly reason: string; readonly count: number }[];
  /** decisions made from the random queue: an unbiased estimate of the share accepted as it is */
  readonly random: Proportion;
  readonly reviewers: readonly { readonly name: string; readonly decisions: number }[];
  readonly pairs: readonly ReviewerPair[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Undefined when no segment of the run passed a review stage. */
export function reviewDigest(
  kept: readonly Segment[],
  drops: readonly Drop[],
  stats: StatsTable,
  subset: readonly { readonly file: string; readonly split: string; readonly rows: number }[],
): ReviewDigest | undefined {
  const states = new Map<string, ReviewState>();
  for (const s of kept) if (s.review) states.set(s.id, s.review);
  for (const d of drops) if (d.segment?.review) states.set(d.id, d.segment.review);
  if (states.size === 0 && !stats.review) return undefined;
  const decided = [...states.values()].filter((s) => s.status !== 'none');

  const tasks = new Map<string, [number, number]>();
  const teachers = new Map<string, [number, number]>();
  const tally = (table: Map<string, [number, number]>, key: string, accepted: boolean) => {
    const entry = table.get(key) ?? [0, 0];
    table.set(key, [entry[0] + (accepted ? 1 : 0), entry[1] + 1]);
  };
  let acceptedSegments = 0;
  for (const state of decided) {
    if (state.status === 'accepted') acceptedSegments++;
    for (const [task, teacher] of Object.entries(state.teachers)) {
      const accepted = state.status === 'accepted' || (state.status === 'edited' && !state.edited.includes(task));
      tally(tasks, task, accepted);
      tally(teachers, teacher, accepted);
    }
  }
  const rates = (table: Map<string, [number, number]>): ReviewRate[] =>
    [...table].sort((a, b) => byText(a[0], b[0])).map(([key, [yes, n]]) => ({ key, ...wilson(yes, n) }));

  const reasons = new Map<string, number>();
  for (const state of decided) {
    if (state.status !== 'rejected') continue;
    const reason = state.votes.find((v) => v.reviewer === state.by)?.reason ?? 'other';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }

  // The quality estimate: per segment, the first vote made from the random queue.
  let randomAccepted = 0;
  let randomTotal = 0;
  for (const state of states.values()) {
    const vote = state.votes.find((v) => v.queue === 'random');
    if (!vote) continue;
    randomTotal++;
    if (vote.verdict === 'accept') randomAccepted++;
  }

  const perReviewer = new Map<string, number>();
  for (const state of states.values()) for (const v of state.votes) perReviewer.set(v.reviewer, (perReviewer.get(v.reviewer) ?? 0) + 1);
  const names = [...perReviewer.keys()].sort(byText);
  const pairs: ReviewerPair[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const ratings: [string, string][] = [];
      let sameLabel = 0;
      let bothKept = 0;
      for (const state of states.values()) {
        const a = state.votes.find((v) => v.reviewer === names[i]);
        const b = state.votes.find((v) => v.reviewer === names[j]);
        if (!a || !b) continue;
        const keep = (verdict: string) => (verdict === 'reject' ? 'reject' : 'keep');
        ratings.push([keep(a.verdict), keep(b.verdict)]);
        if (a.verdict !== 'reject' && b.verdict !== 'reject' && a.primary && b.primary) {
          bothKept++;
          if (a.primary === b.primary) sameLabel++;
        }
      }
      if (ratings.length) pairs.push({ a: names[i], b: names[j], kappa: cohensKappa(ratings), labels: wilson(sameLabel, bothKept) });
    }
  }
  pairs.sort((x, y) => y.kappa.items - x.kappa.items || byText(x.a, y.a) || byText(x.b, y.b));

  const flagged = stats.review?.flagged ?? {};
  return {
    reviewed: decided.length,
    accepted: decided.filter((s) => s.status === 'accepted').length,
    edited: decided.filter((s) => s.status === 'edited').length,
    rejected: decided.filter((s) => s.status === 'rejected').length,
    stale: flagged['review-stale'] ?? 0,
    invalidEdits: flagged['review-invalid-edit'] ?? 0,
    subset: [...subset].map((s) => ({ split: s.split, rows: s.rows, file: s.file })),
    overall: wilson(acceptedSegments, decided.length),
    tasks: rates(tasks),
    teachers: rates(teachers),
    reasons: [...reasons].sort((a, b) => b[1] - a[1] || byText(a[0], b[0])).map(([reason, count]) => ({ reason, count })),
    random: wilson(randomAccepted, randomTotal),
    reviewers: names.map((name) => ({ name, decisions: perReviewer.get(name)! })),
    pairs,
  };
}
