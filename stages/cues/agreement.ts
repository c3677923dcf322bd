// cues.agreement: what each modality says on its own, and whether they agree (CA-MER's
// consistent / video-aligned / audio-aligned subsets, plus text-aligned and ambiguous). A global
// stage because prosody only means something against a baseline (pipelines/affect/baselines.ts):
// the voice is read against its speaker's own segments, else the corpus, else absolute values.
import { z } from 'zod';
import { ProsodyBaselines, prosodyView, SpeakerCodes, type ProsodyView } from '../../pipelines/affect/baselines.ts';
import { EmotionVocabulary } from '../../pipelines/affect/emotion-words.ts';
import { scoreEvidence } from '../../pipelines/affect/estimate.ts';
import { round2, textEvidence } from '../../pipelines/affect/evidence.ts';
import { runGlobalInMemory, type DropResult, type GlobalStage } from '../../pipelines/stage.ts';
import { AgreementCues, VOTERS, type Voter, type VisualCues } from '../../schemas/cues.ts';
import { EMOTIONS, type ConflictTag, type Emotion, type ModalityEstimate } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import type { CueDescriptor } from './cues.ts';

const AgreementConfig = z
  .object({
    /**
     * Voiced segments a speaker needs for a baseline of their own; the corpus needs as many for a
     * corpus baseline, else absolute reference values are used. At least 2. Default 3.
     */
    minSpeakerSegments: z.number().int().min(2).default(3),
  })
  .strict();
export type AgreementConfig = z.infer<typeof AgreementConfig>;

/** The speaker codes of the views, per run of the stage (keyed by its context, so they go with it). */
const speakerCodes = new WeakMap<object, SpeakerCodes>();

export const cuesAgreement: GlobalStage<AgreementConfig, ProsodyView> = {
  kind: 'global',
  name: 'cues.agreement',
  version: 1,
  configSchema: AgreementConfig,
  // cues.visual is used when present but not required, so configs without face cues still validate.
  reads: ['cues.acoustic', 'cues.lexical'],
  adds: ['cues.agreement'],
  cache: false,

  // The view: the speaker and the prosody of the voice, the only corpus-wide inputs (baselines).
  project(segment, _config, ctx): ProsodyView {
    let speakers = speakerCodes.get(ctx);
    if (!speakers) speakerCodes.set(ctx, (speakers = new SpeakerCodes()));
    return prosodyView(segment, speakers);
  },

  async decide(views, config, ctx) {
    const speakers = speakerCodes.get(ctx) ?? new SpeakerCodes();
    speakerCodes.delete(ctx);
    const baselines = new ProsodyBaselines(views, config.minSpeakerSegments, speakers);
    ctx.log.info({ segments: views.length, speakerBaselines: baselines.speakerCount, corpusBaseline: baselines.hasCorpus }, 'prosody baselines');
    return { apply: (segment: Segment) => ({ ...segment, cues: { ...segment.cues, agreement: agreementFor(segment, baselines) } }) };
  },

  run(segments, config, ctx): Promise<(Segment | DropResult)[]> {
    return runGlobalInMemory(cuesAgreement, segments, config, ctx);
  },
};

function agreementFor(segment: Segment, baselines: ProsodyBaselines): AgreementCues {
  const { baseline, estimate: acoustic } = baselines.estimate(segment);
  const estimates: Record<Voter, ModalityEstimate | null> = {
    visual: visualEstimate(segment.cues?.visual),
    acoustic,
    lexical: lexicalEstimate(segment),
  };
  const reference = referenceFor(segment, estimates);
  return AgreementCues.parse({ ...estimates, reference, acousticBaseline: baseline, tag: conflictTag(estimates, reference.emotion) });
}

// ---------------------------------------------------------------------------------------------
// Reference and tag.

/** Manifest labels are read by the one label normaliser, the filter's: dataset codes (hap, neu, …) included. */
const LABELS = new EmotionVocabulary();

/** The manifest label when it names an emotion (an unknown one counts as none); else the emotion most modalities give (a tie gives none). */
function referenceFor(segment: Segment, estimates: Record<Voter, ModalityEstimate | null>): AgreementCues['reference'] {
  const label = segment.clip.manifest.label === undefined ? null : LABELS.emotionOf(segment.clip.manifest.label);
  if (label) return { source: 'label', emotion: label };
  const votes = new Map<Emotion, number>();
  for (const estimate of Object.values(estimates)) if (estimate) votes.set(estimate.emotion, (votes.get(estimate.emotion) ?? 0) + 1);
  const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0][1] === ranked[1][1])) return { source: 'none', emotion: null };
  return { source: 'majority', emotion: ranked[0][0] };
}

const ALIGNED: Record<Voter, ConflictTag> = { visual: 'video-aligned', acoustic: 'audio-aligned', lexical: 'text-aligned' };

/**
 * The rule, over the modalities that gave an estimate:
 * - fewer than two of them, or no reference emotion → ambiguous;
 * - all of them match the reference → consistent;
 * - exactly one matches → that one's alignment (visual → video-aligned, acoustic → audio-aligned,
 *   lexical → text-aligned);
 * - none match, or several but not all → ambiguous.
 * Against a majority reference the majority always matches at least twice, so only consistent or
 * ambiguous can come out: a single modality is "right" only against a label.
 */
function conflictTag(estimates: Record<Voter, ModalityEstimate | null>, reference: Emotion | null): ConflictTag {
  const available = VOTERS.filter((modality) => estimates[modality] !== null);
  if (reference === null || available.length < 2) return 'ambiguous';
  const matching = available.filter((modality) => estimates[modality]!.emotion === reference);
  if (matching.length === available.length) return 'consistent';
  return matching.length === 1 ? ALIGNED[matching[0]] : 'ambiguous';
}

// ---------------------------------------------------------------------------------------------
// Visual and lexical estimates.

/**
 * The face's dominant expression. Confidence = its mean probability × stability (share of face
 * frames agreeing) × faceRatio (share of keyframes with a face): a face seen in half the frames,
 * or flickering between expressions, says less. Null when no face was found.
 */
function visualEstimate(visual: VisualCues | undefined): ModalityEstimate | null {
  const means = visual?.meanExpressions;
  if (!visual || !means) return null;
  const emotion = visual.dominant ?? EMOTIONS.reduce((best, e) => ((means[e] ?? 0) > (means[best] ?? 0) ? e : best), EMOTIONS[0]);
  return { emotion, confidence: round2((means[emotion] ?? 0) * visual.stability * visual.faceRatio) };
}

/**
 * The words alone, scored exactly as the rules teacher scores them (emotion words, sentiment, a
 * neutral prior): confidence is the winner's share against the runner-up. Null with no lexical
 * cues or an empty transcript.
 */
function lexicalEstimate(segment: Segment): ModalityEstimate | null {
  const lexical = segment.cues?.lexical;
  if (!lexical || !segment.transcript || segment.transcript.text.trim() === '') return null;
  const evidence = textEvidence(lexical, segment.transcript.text);
  if (evidence.length === 0) return null;
  const score = scoreEvidence(evidence);
  return { emotion: score.primary, confidence: round2(score.confidence) };
}

export const agreementCue: CueDescriptor<'agreement', typeof AgreementCues> = {
  key: 'agreement',
  stage: cuesAgreement,
  schema: AgreementCues,
  modality: null,
  prompt: {
    key: 'agreement',
    view: (agreement) => (agreement ? { video: agreement.visual, audio: agreement.acoustic, text: agreement.lexical, tag: agreement.tag } : null),
  },
  citable: (agreement) => [{ unit: 'ratio', values: VOTERS.map((voter) => agreement[voter]?.confidence) }],
  // It weighs the other cues' votes; it adds no evidence of its own.
  evidence: () => [],
};
