// Review queues: which samples a reviewer sees, in which order. Every queue is a filter and an order
// over the same samples, computed from the samples and the log, so two reviewers of one log see the
// same order and a second reviewer can be pointed at exactly what a first one decided.
//   random        every sample in an order fixed by the log name: review from the top for an unbiased
//                 estimate of the corpus's quality (the page shows it with its 95% interval)
//   judge         lowest judge score first (unjudged last)
//   conflict      modalities disagree (CA-MER tag other than consistent)
//   disagreement  the crosscheck teacher names another emotion than the labels teacher
//   flagged       the rationale cites something the record does not hold (the filter's grounding check)
//   label:X       one primary emotion
//   unreviewed    nobody has decided on the current content
//   second        decided by someone else, not by you: the overlap that measures agreement
//   rejected      rejected by a reviewer (in the corpus until the next run, or already dropped)
import { EMOTIONS } from '../../schemas/emotion.ts';
import { fingerprint } from '../fingerprint.ts';
import { resolveDecisions, type Resolution, type ResolvePolicy } from './resolve.ts';
import type { ReviewDecision } from './review-log.ts';
import type { ReviewSample } from './review-set.ts';

export const QUEUES = ['random', 'judge', 'conflict', 'disagreement', 'flagged', 'unreviewed', 'second', 'rejected'] as const;
export type QueueName = (typeof QUEUES)[number] | `label:${string}`;

export const QUEUE_TITLES: Record<(typeof QUEUES)[number], string> = {
  random: 'random sample (quality estimate)',
  judge: 'lowest judge score first',
  conflict: 'modality conflicts',
  disagreement: 'teacher disagreements (crosscheck)',
  flagged: 'flagged (ungrounded rationale)',
  unreviewed: 'unreviewed only',
  second: 'second review (decided by others, not you)',
  rejected: 'rejected',
};

/** A queue name as given on the command line or by the page; undefined when it is none. */
export function parseQueue(name: string): QueueName | undefined {
  if ((QUEUES as readonly string[]).includes(name)) return name as QueueName;
  const label = /^label:([a-z]+)$/.exec(name)?.[1];
  return label && (EMOTIONS as readonly string[]).includes(label) ? (`label:${label}` as QueueName) : undefined;
}

export interface QueueInput {
  readonly samples: readonly ReviewSample[];
  /** every decision of the log */
  readonly decisions: readonly ReviewDecision[];
  readonly log: string;
  readonly policy: ResolvePolicy;
}

/** Decisions resolved per sample (against the content the sample shows). */
export function resolutions(input: QueueInput): Resolution[] {
  const bySegment = new Map<string, ReviewDecision[]>();
  for (const d of input.decisions) bySegment.set(d.segmentId, [...(bySegment.get(d.segmentId) ?? []), d]);
  return input.samples.map((s) => resolveDecisions(bySegment.get(s.segmentId) ?? [], s.hash, input.policy));
}

/** The random order's rank of each sample: a hash of the log name and the segment id (computed once per sample set and log). */
const ranks = new WeakMap<readonly ReviewSample[], Map<string, Map<number, string>>>();
function rankOf(samples: readonly ReviewSample[], log: string): Map<number, string> {
  const byLog = ranks.get(samples) ?? new Map<string, Map<number, string>>();
  ranks.set(samples, byLog);
  let rank = byLog.get(log);
  if (!rank) {
    rank = new Map(samples.map((s) => [s.index, fingerprint('review-queue', log, s.segmentId)]));
    byLog.set(log, rank);
  }
  return rank;
}

/** Sample indexes of a queue, in order. */
export function queueOrder(queue: QueueName, input: QueueInput, reviewer: string, resolved: readonly Resolution[] = resolutions(input)): number[] {
  const rank = rankOf(input.samples, input.log);
  const random = (a: ReviewSample, b: ReviewSample) => (rank.get(a.index)! < rank.get(b.index)! ? -1 : rank.get(a.index)! > rank.get(b.index)! ? 1 : 0);
  const votes = (s: ReviewSample) => resolved[s.index].votes;
  const corpus = input.samples.filter((s) => s.inCorpus);
  let chosen: ReviewSample[];
  switch (queue) {
    case 'random':
      chosen = [...corpus].sort(random);
      break;
    case 'judge': {
      const score = (s: ReviewSample) => s.snapshot.judge?.score ?? Number.POSITIVE_INFINITY;
      chosen = [...corpus].sort((a, b) => score(a) - score(b) || random(a, b));
      break;
    }
    case 'conflict':
      chosen = corpus.filter((s) => s.snapshot.cues?.agreement && s.snapshot.cues.agreement.tag !== 'consistent').sort(random);
      break;
    case 'disagreement':
      chosen = corpus.filter((s) => s.disagreement).sort(random);
      break;
    case 'flagged':
      chosen = corpus.filter((s) => s.flags.length > 0).sort(random);
      break;
    case 'unreviewed':
      chosen = corpus.filter((s) => votes(s).length === 0).sort(random);
      break;
    case 'second':
      chosen = corpus.filter((s) => votes(s).length > 0 && !votes(s).some((v) => v.reviewer === reviewer)).sort(random);
      break;
    case 'rejected':
      chosen = input.samples.filter((s) => !s.inCorpus || resolved[s.index].applied?.verdict === 'reject').sort(random);
      break;
    default: {
      const label = queue.slice('label:'.length);
      chosen = corpus.filter((s) => s.snapshot.labels?.primary === label).sort(random);
    }
  }
  return chosen.map((s) => s.index);
}
