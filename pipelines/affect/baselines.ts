// Speaker baselines: prosody only means something against what is normal for the voice. A speaker
// whose normal voice is high is not excited every time they talk, so a segment is read against that
// speaker's own segments, else against the corpus, else against absolute reference values; the
// nearest vocal-affect prototype in z-space is the voice's emotion.
import type { AcousticCues } from '../../schemas/cues.ts';
import type { Emotion, ModalityEstimate } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { CodeTable } from '../code-table.ts';
import { round2 } from './evidence.ts';
import {
  F0_FLAT_CV,
  F0_HIGH_HZ,
  F0_LIVELY_CV,
  F0_LOW_HZ,
  RATE_FAST_WPS,
  RATE_SLOW_WPS,
  RMS_LOUD_DB,
  RMS_QUIET_DB,
  semitones,
  wordsPerSecond,
} from './prosody.ts';

/** Which baseline a segment's voice was read against. */
type Baseline = 'speaker' | 'corpus' | 'absolute';

/** What the baselines are made of, per segment: its speaker and the prosody of its voice. */
/**
 * What the baselines keep of a segment: null when it has no voice, else one array of doubles,
 * [speaker code (-1: none), pitch, spread, rmsDb, lufs (NaN: none), rate]. A million segments give
 * a million views: as an object with a speaker string and a prosody object, each of its five
 * numbers boxed, a view took ~210 bytes of heap; an array of doubles takes ~120 (the codes included).
 */
export type ProsodyView = readonly number[] | null;

/** Speaker names as small numbers for the views of one corpus (codes are indexes into `names`). */
export class SpeakerCodes {
  private readonly table = new CodeTable<string>();

  get names(): readonly string[] {
    return this.table.values;
  }

  /** The speaker's code, -1 for none. */
  code(speaker: string | null): number {
    return speaker === null ? -1 : this.table.code(speaker, () => speaker);
  }
}

/** A segment's view (see ProsodyView), its speaker coded by `speakers`. */
export function prosodyView(segment: Segment, speakers: SpeakerCodes): ProsodyView {
  const prosody = prosodyOf(segment.cues?.acoustic);
  if (!prosody) return null;
  return [speakers.code(speakerOf(segment)), prosody.pitch, prosody.spread, prosody.rmsDb, prosody.lufs ?? Number.NaN, prosody.rate];
}

const [SPEAKER, PITCH, SPREAD, RMS_DB, LUFS, RATE] = [0, 1, 2, 3, 4, 5];

const FEATURES = ['pitch', 'spread', 'loudness', 'rate'] as const;
type Feature = (typeof FEATURES)[number];
type Profile = Record<Feature, number>;

/**
 * The prosody of a voiced segment: pitch in semitones re 100 Hz (a speaker's range is symmetric in
 * semitones, not Hz), pitch spread as F0 sd / mean, loudness in LUFS or dBFS RMS, rate in words/s.
 */
export interface Prosody {
  readonly pitch: number;
  readonly spread: number;
  readonly rmsDb: number;
  readonly lufs: number | null;
  readonly rate: number;
}

export function prosodyOf(acoustic: AcousticCues | undefined): Prosody | null {
  if (!acoustic || acoustic.f0MeanHz === null || acoustic.f0MeanHz <= 0) return null;
  return {
    pitch: semitones(acoustic.f0MeanHz),
    spread: (acoustic.f0SdHz ?? 0) / acoustic.f0MeanHz,
    rmsDb: acoustic.rmsDb,
    lufs: acoustic.loudnessLufs ?? null,
    rate: wordsPerSecond(acoustic),
  };
}

/**
 * Absolute reference values, for a corpus too small for any baseline: the thresholds of
 * prosody.ts placed at z = ±1, so the voice reads the same against them as the rules teacher's
 * "high"/"low". Each centre is the middle of its two thresholds and each scale half their distance:
 * pitch centred on 165 Hz with 5 semitones per unit (whole semitones: 220 Hz → +1.0, 110 Hz → −1.4);
 * spread 0.165 ± 0.085 (to the thousandth the CVs are written in); level −23 ± 7 dB (the same for
 * LUFS, where speech is normalised to −23); rate 2.8 ± 0.8 words/s.
 */
const PITCH_CENTER = semitones((F0_LOW_HZ + F0_HIGH_HZ) / 2);
const ABSOLUTE: { readonly center: Profile; readonly scale: Profile } = {
  center: {
    pitch: PITCH_CENTER,
    spread: (F0_FLAT_CV + F0_LIVELY_CV) / 2,
    loudness: (RMS_LOUD_DB + RMS_QUIET_DB) / 2,
    rate: (RATE_SLOW_WPS + RATE_FAST_WPS) / 2,
  },
  scale: {
    pitch: Math.round(semitones(F0_HIGH_HZ) - PITCH_CENTER),
    spread: Math.round(((F0_LIVELY_CV - F0_FLAT_CV) / 2) * 1000) / 1000,
    loudness: (RMS_LOUD_DB - RMS_QUIET_DB) / 2,
    rate: (RATE_FAST_WPS - RATE_SLOW_WPS) / 2,
  },
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
export class ProsodyBaselines {
  private readonly speakers = new Map<string, Group>();
  private readonly corpus: Group | null;

  /** @param speakers the codes the views were made with */
  constructor(views: readonly ProsodyView[], minSegments: number, speakers: SpeakerCodes) {
    // A million views in a run: members are gathered as view indexes, and each group's values as
    // typed arrays, not an object per voiced segment.
    const bySpeaker = new Map<number, number[]>();
    const voiced: number[] = [];
    views.forEach((view, i) => {
      if (!view) return;
      voiced.push(i);
      const speaker = view[SPEAKER];
      if (speaker < 0) return;
      const members = bySpeaker.get(speaker);
      if (members) members.push(i);
      else bySpeaker.set(speaker, [i]);
    });
    for (const [speaker, members] of bySpeaker) if (members.length >= minSegments) this.speakers.set(speakers.names[speaker], group(views, members));
    this.corpus = voiced.length >= minSegments ? group(views, voiced) : null;
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

export function speakerOf(segment: Segment): string | null {
  const speaker = segment.clip.manifest.speaker?.trim();
  return speaker ? speaker : null;
}

/** The baseline of the voiced views at `members` (indexes into `views`). */
function group(views: readonly ProsodyView[], members: readonly number[]): Group {
  // LUFS when every member has it: a baseline must not mix two loudness scales.
  const loudness = members.every((i) => !Number.isNaN(views[i]![LUFS])) ? 'lufs' : 'rms';
  const read: Record<Feature, (view: readonly number[]) => number> = {
    pitch: (v) => v[PITCH],
    spread: (v) => v[SPREAD],
    loudness: (v) => (loudness === 'lufs' ? v[LUFS] : v[RMS_DB]),
    rate: (v) => v[RATE],
  };
  const center = {} as Profile;
  const scale = {} as Profile;
  const sorted = new Float64Array(members.length);
  for (const feature of FEATURES) {
    members.forEach((i, k) => {
      sorted[k] = read[feature](views[i]!);
    });
    sorted.sort();
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

function median(sorted: ArrayLike<number>): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Population standard deviation of already sorted values (summed in that order, for stable output). */
function sd(sorted: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  const m = sum / sorted.length;
  let squares = 0;
  for (let i = 0; i < sorted.length; i++) squares += (sorted[i] - m) ** 2;
  return Math.sqrt(squares / sorted.length);
}
