// Label consistency (MER-Caption's high-level filter): the generated labels must agree with other
// evidence about the same segment. Each source of evidence is one ConsistencyCheck with its own drop
// reason; the filter config says which run.
//
// A second teacher's labels come from the crosscheck stage (the `crosscheck` role); the `teacher`
// check compares its primary emotion with the labels through `agrees()`. Further sources of
// evidence are one more ConsistencyCheck, a key in ConsistencyConfig and an entry in
// CONSISTENCY_CHECKS; nothing else in the filter changes.
import { z } from 'zod';
import { drop, type DropResult } from '../../pipelines/stage.ts';
import { VOTERS, type Voter } from '../../schemas/cues.ts';
import { Emotion, type ModalityEstimate, type Sentiment } from '../../schemas/emotion.ts';
import type { Labels, Segment } from '../../schemas/records.ts';
import { EMOTION_SENTIMENT, type EmotionVocabulary } from '../../pipelines/affect/emotion-words.ts';

export const ConsistencyConfig = z
  .object({
    /** Compare the labels with the manifest label when the clip has one (label-mismatch-manifest). Default false. */
    manifest: z.boolean().default(false),
    /** Compare with the second teacher's labels written by the crosscheck stage (label-mismatch-teacher). Default false. */
    teacher: z.boolean().default(false),
    /** Compare the primary emotion with the majority of the modality votes in cues.agreement (label-mismatch-cues). Default 'off'. */
    cues: z.enum(['majority', 'off']).default('off'),
    /** Also compare labels.sentiment with the majority sentiment of the modalities (label-mismatch-cues). Default 'off'. */
    sentiment: z.enum(['majority', 'off']).default('off'),
    /**
     * What counts as agreeing: 'openset' (default) = the expected emotion is the primary or named
     * by a word of the open-vocabulary list, as AffectGPT's open-set scoring reads a hit;
     * 'primary' = it must be the primary emotion.
     */
    match: z.enum(['openset', 'primary']).default('openset'),
    /** Label words added to or overriding the default synonym map (joyful → happy, anger → angry, …). */
    synonyms: z.record(z.string().min(1), Emotion).default({}),
    /** Modality votes needed before the cue majority means anything; at least 2. Default 2. */
    minVotes: z.number().int().min(2).default(2),
    /** Modality votes below this confidence (cues.agreement's 0..1) are not counted. Default 0. */
    minVoteConfidence: z.number().min(0).max(1).default(0),
  })
  .strict();
export type ConsistencyConfig = z.infer<typeof ConsistencyConfig>;

export interface ConsistencyCheck {
  /** The config key that turns the check on. */
  readonly name: string;
  readonly enabled: (config: ConsistencyConfig) => boolean;
  /** A drop when the labels disagree with this source of evidence; undefined when they agree or it has nothing to say. */
  readonly check: (segment: Segment, labels: Labels, config: ConsistencyConfig, vocabulary: EmotionVocabulary) => DropResult | undefined;
}

/** Do the generated labels name `expected` (under the configured match)? */
export function agrees(labels: Labels, expected: Emotion, config: ConsistencyConfig, vocabulary: EmotionVocabulary): boolean {
  if (labels.primary === expected) return true;
  return config.match === 'openset' && labels.openset.some((word) => vocabulary.emotionOf(word) === expected);
}

function describeLabels(labels: Labels): string {
  return `labels.primary ${labels.primary}, openset [${labels.openset.join(', ')}]`;
}

const manifestCheck: ConsistencyCheck = {
  name: 'manifest',
  enabled: (config) => config.manifest,
  check(segment, labels, config, vocabulary) {
    const label = segment.clip.manifest.label?.trim();
    if (!label) return undefined;
    const expected = vocabulary.emotionOf(label);
    if (expected) {
      if (agrees(labels, expected, config, vocabulary)) return undefined;
      return drop('label-mismatch-manifest', `manifest label '${label}' (${expected}) vs ${describeLabels(labels)} (match: ${config.match})`);
    }
    // An open-vocabulary manifest label: it agrees when the teacher used the same word.
    if (labels.openset.some((word) => word.trim().toLowerCase() === label.toLowerCase())) return undefined;
    return drop(
      'label-mismatch-manifest',
      `manifest label '${label}' names no known emotion and is not in the openset; ${describeLabels(labels)} (map it with filter.consistency.synonyms)`,
    );
  },
};

/** The modality votes that count: cues.agreement's estimates (or the face's dominant expression without it). */
function votes(segment: Segment, config: ConsistencyConfig): { modality: Voter; estimate: ModalityEstimate }[] {
  const agreement = segment.cues?.agreement;
  const estimates: Partial<Record<Voter, ModalityEstimate | null>> = agreement
    ? agreement
    : { visual: segment.cues?.visual?.dominant ? { emotion: segment.cues.visual.dominant, confidence: 1 } : null };
  return VOTERS.flatMap((modality) => {
    const estimate = estimates[modality];
    return estimate && estimate.confidence >= config.minVoteConfidence ? [{ modality, estimate }] : [];
  });
}

/** The value more than half of the votes give, or null (too few votes, or no majority). */
function majority<T>(values: readonly T[], minVotes: number): T | null {
  if (values.length < minVotes) return null;
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  for (const [value, count] of counts) if (count * 2 > values.length) return value;
  return null;
}

const cuesCheck: ConsistencyCheck = {
  name: 'cues',
  enabled: (config) => config.cues === 'majority' || config.sentiment === 'majority',
  check(segment, labels, config, vocabulary) {
    const cast = votes(segment, config);
    const shown = cast.map(({ modality, estimate }) => `${modality} ${estimate.emotion} ${estimate.confidence.toFixed(2)}`).join(', ');
    if (config.cues === 'majority') {
      const expected = majority(
        cast.map((v) => v.estimate.emotion),
        config.minVotes,
      );
      if (expected && !agrees(labels, expected, config, vocabulary)) {
        return drop('label-mismatch-cues', `cue majority ${expected} (${shown}) vs ${describeLabels(labels)} (match: ${config.match})`);
      }
    }
    if (config.sentiment === 'majority') {
      const sentimentVotes: { source: string; sentiment: Sentiment }[] = cast.flatMap(({ modality, estimate }) => {
        // The words vote with their own sentiment score rather than through an emotion.
        if (modality === 'lexical') return [];
        const sentiment = EMOTION_SENTIMENT[estimate.emotion];
        return sentiment ? [{ source: `${modality} ${estimate.emotion}`, sentiment }] : [];
      });
      const lexical = segment.cues?.lexical;
      if (lexical && segment.transcript?.text.trim())
        sentimentVotes.push({ source: `lexical score ${lexical.score.toFixed(2)}`, sentiment: lexical.sentiment });
      const expected = majority(
        sentimentVotes.map((v) => v.sentiment),
        config.minVotes,
      );
      if (expected && expected !== labels.sentiment) {
        return drop(
          'label-mismatch-cues',
          `cue majority sentiment ${expected} (${sentimentVotes.map((v) => `${v.source} → ${v.sentiment}`).join(', ')}) vs labels.sentiment ${labels.sentiment}`,
        );
      }
    }
    return undefined;
  },
};

const teacherCheck: ConsistencyCheck = {
  name: 'teacher',
  enabled: (config) => config.teacher,
  check(segment, labels, config, vocabulary) {
    const second = segment.crosscheck;
    if (!second) {
      return drop('label-mismatch-teacher', 'consistency.teacher is on but the segment has no second teacher labels: put the crosscheck stage after labels');
    }
    // Either teacher naming the other's primary emotion is agreement (open-set reading, as AffectGPT scores).
    if (agrees(labels, second.primary, config, vocabulary) || agrees(second, labels.primary, config, vocabulary)) return undefined;
    return drop(
      'label-mismatch-teacher',
      `${labels.provenance.teacher} (${labels.provenance.model}): ${describeLabels(labels)} vs second teacher ${second.provenance.teacher} (${second.provenance.model}): ${describeLabels(second)} (match: ${config.match})`,
    );
  },
};

/** Every check, in the order they run. */
export const CONSISTENCY_CHECKS: readonly ConsistencyCheck[] = [manifestCheck, cuesCheck, teacherCheck];

/** The first disagreement between the labels and the enabled sources of evidence. */
export function checkConsistency(segment: Segment, config: ConsistencyConfig, vocabulary: EmotionVocabulary): DropResult | undefined {
  const labels = segment.labels;
  if (!labels) return undefined;
  for (const check of CONSISTENCY_CHECKS) {
    if (!check.enabled(config)) continue;
    const verdict = check.check(segment, labels, config, vocabulary);
    if (verdict) return verdict;
  }
  return undefined;
}
