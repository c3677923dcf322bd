// cues.agreement: what each modality says on its own, and whether they agree (CA-MER's
// consistent / video-aligned / audio-aligned subsets, plus text-aligned and ambiguous). A global
// stage because prosody only means something against a baseline: a speaker whose normal voice is
// high is not excited every time they talk, so the voice is read against that speaker's own
// segments, else against the corpus, else against absolute reference values.
import { z } from 'zod';
import { runGlobalInMemory, type DropResult, type GlobalStage } from '../../pipelines/stage.ts';
import { estimateEmotion } from '../../pipelines/teachers/rules-teacher.ts';
import {
  AgreementCues,
  EMOTIONS,
  type AcousticCues,
  type ConflictTag,
  type Emotion,
  type ModalityEstimate,
  type Segment,
  type VisualCues,
} from '../../schemas/records.ts';

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

type Baseline = AgreementCues['acousticBaseline'];
type Modality = 'visual' | 'acoustic' | 'lexical';

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
  project(segment): ProsodyView {
    return { speaker: speakerOf(segment), prosody: prosodyOf(segment.cues?.acoustic) };
  },

  async decide(views, config, ctx) {
    const baselines = new ProsodyBaselines(views, config.minSpeakerSegments);
    ctx.log.info({ segments: views.length, speakerBaselines: baselines.speakerCount, corpusBaseline: baselines.hasCorpus }, 'prosody baselines');
    return { apply: (segment: Segment) => ({ ...segment, cues: { ...segment.cues, agreement: agreementFor(segment, baselines) } }) };
  },

  run(segments, config, ctx): Promise<(Segment | DropResult)[]> {
    return runGlobalInMemory(cuesAgreement, segments, config, ctx);
  },
};

/** What the baselines are made of, per segment. */
interface ProsodyView {
  readonly speaker: string | null;
  readonly prosody: Prosody | null;
}

function agreementFor(segment: Segment, baselines: ProsodyBaselines): AgreementCues {
  const { baseline, estimate: acoustic } = baselines.estimate(segment);
  const estimates: Record<Modality, ModalityEstimate | null> = {
    visual: visualEstimate(segment.cues?.visual),
    acoustic,
    lexical: lexicalEstimate(segment),
  };
  const reference = referenceFor(segment, estimates);
  return AgreementCues.parse({ ...estimates, reference, acousticBaseline: baseline, tag: conflictTag(estimates, reference.emotion) });
}

// ---------------------------------------------------------------------------------------------
// Reference and tag.

/** Label spellings seen in manifests, mapped onto EMOTIONS. */
const LABEL_SYNONYMS: Readonly<Record<string, Emotion>> = {
  happy: 'happy', happiness: 'happy', joy: 'happy', joyful: 'happy',
  sad: 'sad', sadness: 'sad',
  angry: 'angry', anger: 'angry', mad: 'angry',
  fearful: 'fearful', fear: 'fearful', afraid: 'fearful', scared: 'fearful',
  surprised: 'surprised', surprise: 'surprised',
  disgusted: 'disgusted', disgust: 'disgusted',
  neutral: 'neutral', calm: 'neutral', none: 'neutral',
};

/** A manifest label as an emotion, or null for a label we do not know (treated as no label). */
export function normaliseEmotionLabel(label: string | undefined): Emotion | null {
  if (label === undefined) return null;
  return LABEL_SYNONYMS[label.trim().toLowerCase()] ?? null;
}

/** The manifest label when it names an emotion; else the emotion most modalities give (a tie gives none). */
function referenceFor(segment: Segment, estimates: Record<Modality, ModalityEstimate | null>): AgreementCues['reference'] {
  const label = normaliseEmotionLabel(segment.clip.manifest.label);
  if (label) return { source: 'label', emotion: label };
  const votes = new Map<Emotion, number>();
  for (const estimate of Object.values(estimates)) if (estimate) votes.set(estimate.emotion, (votes.get(estimate.emotion) ?? 0) + 1);
  const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0][1] === ranked[1][1])) return { source: 'none', emotion: null };
  return { source: 'majority', emotion: ranked[0][0] };
}

const ALIGNED: Record<Modality, ConflictTag> = { visual: 'video-aligned', acoustic: 'audio-aligned', lexical: 'text-aligned' };

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
function conflictTag(estimates: Record<Modality, ModalityEstimate | null>, reference: Emotion | null): ConflictTag {
  const available = (Object.keys(ALIGNED) as Modality[]).filter((modality) => estimates[modality] !== null);
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
  const estimate = estimateEmotion({ ...segment, cues: { lexical } });
  if (estimate.evidence.length === 0) return null;
  return { emotion: estimate.primary, confidence: round2(estimate.confidence) };
}

// ---------------------------------------------------------------------------------------------
// Acoustic estimate against a baseline.

const FEATURES = ['pitch', 'spread', 'loudness', 'rate'] as const;
type Feature = (typeof FEATURES)[number];
type Profile = Record<Feature, number>;

/** Syllable-nuclei rates count syllables; the rules teacher's ~1.5 per English word turns them into words/s. */
const SYLLABLES_PER_WORD = 1.5;

/**
 * The prosody of a voiced segment: pitch in semitones re 100 Hz (a speaker's range is symmetric in
 * semitones, not Hz), pitch spread as F0 sd / mean, loudness in LUFS or dBFS RMS, rate in words/s.
 */
interface Prosody {
  readonly pitch: number;
  readonly spread: number;
  readonly rmsDb: number;
  readonly lufs: number | null;
  readonly rate: number;
}

function prosodyOf(acoustic: AcousticCues | undefined): Prosody | null {
  if (!acoustic || acoustic.f0MeanHz === null || acoustic.f0MeanHz <= 0) return null;
  return {
    pitch: semitones(acoustic.f0MeanHz),
    spread: (acoustic.f0SdHz ?? 0) / acoustic.f0MeanHz,
    rmsDb: acoustic.rmsDb,
    lufs: acoustic.loudnessLufs ?? null,
    rate: acoustic.speechRateSource === 'syllable-nuclei' ? acoustic.speechRate / SYLLABLES_PER_WORD : acoustic.speechRate,
  };
}

function semitones(hz: number): number {
  return 12 * Math.log2(hz / 100);
}

/**
 * Absolute reference values, for a corpus too small for any baseline. They mirror the rules
 * teacher's thresholds so that its "high"/"low" sit at z = ±1: pitch centred on 165 Hz with 5
 * semitones per unit (220 Hz → +1.0, 110 Hz → −1.4, 270 Hz → +1.7); spread 0.165 ± 0.085 (flat
 * 0.08, lively 0.25); level −23 ± 7 dB (quiet −30, loud −16; the same for LUFS, where speech is
 * normalised to −23); rate 2.8 ± 0.8 words/s (slow 2.0, fast 3.6).
 */
const ABSOLUTE: { readonly center: Profile; readonly scale: Profile } = {
  center: { pitch: semitones(165), spread: 0.165, loudness: -23, rate: 2.8 },
  scale: { pitch: 5, spread: 0.085, loudness: 7, rate: 0.8 },
};

/**
 * Smallest spread a baseline may claim: differences below these are not audible as a change of
 * voice, so a speaker who always sounds the same does not turn tiny wobbles into large z-scores.
 */
const SCALE_FLOOR: Profile = { pitch: 1, spread: 0.03, loudness: 1.5, rate: 0.25 };

/** z-scores are clamped here: beyond it a value is simply extreme, and one feature must not swamp the rest. */
const Z_LIMIT = 3;

/**
 * Where each emotion sits in z-space (pitch, spread, loudness, rate), after the vocal-affect
 * profiles of Juslin & Laukka (2003): joy high and lively in pitch, a little loud and fast;
 * surprise higher and livelier still, not loud, slower; fear high, fast, narrow and not loud;
 * anger loud and fast above all; sadness low, flat, quiet and slow; neutral at the baseline.
 * Disgust has no reliable prosodic profile and is never read from the voice. Prototypes sit about
 * 1.5 units out so a segment must stand clearly apart from its baseline before it leaves neutral.
 */
const PROTOTYPES: readonly (readonly [Emotion, Profile])[] = [
  ['neutral', { pitch: 0, spread: 0, loudness: 0, rate: 0 }],
  ['happy', { pitch: 1.5, spread: 1.5, loudness: 0.75, rate: 0.5 }],
  ['surprised', { pitch: 2, spread: 2, loudness: 0, rate: -0.75 }],
  ['fearful', { pitch: 1.75, spread: -0.5, loudness: -0.5, rate: 1.75 }],
  ['angry', { pitch: 0.75, spread: 0.75, loudness: 2, rate: 1.5 }],
  ['sad', { pitch: -1.5, spread: -1.25, loudness: -1.5, rate: -1.5 }],
];

interface Group {
  readonly center: Profile;
  readonly scale: Profile;
  readonly loudness: 'lufs' | 'rms';
}

/**
 * Baselines of every speaker with enough voiced segments and of the corpus. Centre = median
 * (one emotional segment among three must not shift what "normal" is for the other two); scale =
 * standard deviation, floored. Values are sorted before any arithmetic, so the result does not
 * depend on the order segments arrive in.
 */
class ProsodyBaselines {
  private readonly speakers = new Map<string, Group>();
  private readonly corpus: Group | null;

  constructor(views: readonly ProsodyView[], minSegments: number) {
    const voiced = views.flatMap(({ speaker, prosody }) => (prosody ? [{ speaker, prosody }] : []));
    const bySpeaker = new Map<string, Prosody[]>();
    for (const { speaker, prosody } of voiced) {
      if (speaker === null) continue;
      const members = bySpeaker.get(speaker);
      if (members) members.push(prosody);
      else bySpeaker.set(speaker, [prosody]);
    }
    for (const [speaker, members] of bySpeaker) if (members.length >= minSegments) this.speakers.set(speaker, group(members));
    this.corpus = voiced.length >= minSegments ? group(voiced.map((v) => v.prosody)) : null;
  }

  get speakerCount(): number {
    return this.speakers.size;
  }

  get hasCorpus(): boolean {
    return this.corpus !== null;
  }

  /** The baseline that applies to a segment (also reported when its voice gave no estimate) and its voice's emotion. */
  estimate(segment: Segment): { baseline: Baseline; estimate: ModalityEstimate | null } {
    const speaker = speakerOf(segment);
    const own = speaker === null ? undefined : this.speakers.get(speaker);
    const [baseline, reference]: [Baseline, Group | null] = own ? ['speaker', own] : this.corpus ? ['corpus', this.corpus] : ['absolute', null];
    const prosody = prosodyOf(segment.cues?.acoustic);
    if (!prosody) return { baseline, estimate: null };
    const z = reference ? zProfile(prosody, reference) : zProfile(prosody, { ...ABSOLUTE, loudness: prosody.lufs === null ? 'rms' : 'lufs' });
    return { baseline, estimate: nearestPrototype(z) };
  }
}

function speakerOf(segment: Segment): string | null {
  const speaker = segment.clip.manifest.speaker?.trim();
  return speaker ? speaker : null;
}

function group(members: readonly Prosody[]): Group {
  // LUFS when every member has it: a baseline must not mix two loudness scales.
  const loudness = members.every((m) => m.lufs !== null) ? 'lufs' : 'rms';
  const values: Record<Feature, number[]> = {
    pitch: members.map((m) => m.pitch),
    spread: members.map((m) => m.spread),
    loudness: members.map((m) => (loudness === 'lufs' ? m.lufs! : m.rmsDb)),
    rate: members.map((m) => m.rate),
  };
  const center = {} as Profile;
  const scale = {} as Profile;
  for (const feature of FEATURES) {
    const sorted = [...values[feature]].sort((a, b) => a - b);
    center[feature] = median(sorted);
    scale[feature] = Math.max(SCALE_FLOOR[feature], sd(sorted));
  }
  return { center, scale, loudness };
}

function zProfile(prosody: Prosody, reference: Group): Profile {
  // A segment without LUFS against a LUFS baseline cannot happen (it would be a member); the
  // fallback to RMS keeps an absolute reading possible for segments that lack it.
  const loudness = reference.loudness === 'lufs' && prosody.lufs !== null ? prosody.lufs : prosody.rmsDb;
  const value: Profile = { pitch: prosody.pitch, spread: prosody.spread, loudness, rate: prosody.rate };
  const z = {} as Profile;
  for (const feature of FEATURES) {
    z[feature] = Math.max(-Z_LIMIT, Math.min(Z_LIMIT, (value[feature] - reference.center[feature]) / reference.scale[feature]));
  }
  return z;
}

/**
 * The nearest prototype (Euclidean); confidence = d(runner-up) / (d(best) + d(runner-up)), so 0.5
 * is a tie and 1 sits on the prototype. Ties go to the earlier prototype.
 */
function nearestPrototype(z: Profile): ModalityEstimate {
  const distances = PROTOTYPES.map(([emotion, prototype]) => ({
    emotion,
    distance: Math.sqrt(FEATURES.reduce((sum, f) => sum + (z[f] - prototype[f]) ** 2, 0)),
  }));
  const ranked = [...distances].sort((a, b) => a.distance - b.distance);
  const [best, runnerUp] = ranked;
  const total = best.distance + runnerUp.distance;
  return { emotion: best.emotion, confidence: round2(total > 0 ? runnerUp.distance / total : 0.5) };
}

function median(sorted: readonly number[]): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Population standard deviation of already sorted values (summed in that order, for stable output). */
function sd(sorted: readonly number[]): number {
  const m = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return Math.sqrt(sorted.reduce((sum, v) => sum + (v - m) ** 2, 0) / sorted.length);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100 + 0;
}
