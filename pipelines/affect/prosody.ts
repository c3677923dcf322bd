// Reading a voice's prosody against absolute reference values: the thresholds that call a pitch
// high, an intonation flat or a pace fast. Speaker and corpus baselines (baselines.ts) need the
// whole corpus; these apply to one segment alone, for adult speech recorded at a normal level.
import type { AcousticCues } from '../../schemas/cues.ts';

/** Mean F0 below this is low even for an adult male voice (typical male speaking F0 ~100–150 Hz). */
export const F0_LOW_HZ = 110;
/** Mean F0 above this is high even for an adult female voice (typical female speaking F0 ~165–220 Hz). */
export const F0_HIGH_HZ = 220;
/** Mean F0 above this is strained / very high for adult speech: fear and surprise more than joy. */
const F0_VERY_HIGH_HZ = 270;
/** F0 SD / mean below this is a flat, monotone contour. */
export const F0_FLAT_CV = 0.08;
/** F0 SD / mean above this is a lively, strongly modulated contour. */
export const F0_LIVELY_CV = 0.25;
/** When only min/max are known: a range under 3 semitones is flat, over 12 (an octave) is lively. */
const F0_FLAT_RANGE_ST = 3;
const F0_LIVELY_RANGE_ST = 12;
/** Mean RMS at or above this is loud (speech is usually mastered around -20 to -23 dBFS). */
export const RMS_LOUD_DB = -16;
/** Mean RMS at or below this is quiet. */
export const RMS_QUIET_DB = -30;
/** Words per second: conversational English runs ~2.5–3; at or below 2 is slow, at or above 3.6 fast. */
export const RATE_SLOW_WPS = 2.0;
export const RATE_FAST_WPS = 3.6;
/** Syllable-nuclei rates count syllables, ~1.5 per English word; word-rate thresholds scale by this. */
const SYLLABLES_PER_WORD = 1.5;
/** At or above this share of silent frames the speech is halting. */
const PAUSE_LONG_RATIO = 0.4;

/** Categories and rounded values of the acoustic cues; used by the estimator and the rules teacher's writers. */
export interface ProsodyReading {
  readonly acoustic: AcousticCues;
  readonly f0Mean: number | null;
  readonly pitch: 'low' | 'mid' | 'high' | 'very-high' | null;
  readonly spread: 'flat' | 'moderate' | 'lively' | null;
  readonly loudness: 'quiet' | 'moderate' | 'loud';
  readonly rate: 'slow' | 'moderate' | 'fast';
  readonly rateUnit: 'words/s' | 'syllables/s';
  readonly halting: boolean;
}

export function readProsody(acoustic: AcousticCues): ProsodyReading {
  const f0Mean = acoustic.f0MeanHz !== null && acoustic.f0MeanHz > 0 ? acoustic.f0MeanHz : null;
  const pitch = f0Mean === null ? null : f0Mean >= F0_VERY_HIGH_HZ ? 'very-high' : f0Mean >= F0_HIGH_HZ ? 'high' : f0Mean < F0_LOW_HZ ? 'low' : 'mid';

  let spread: ProsodyReading['spread'] = null;
  if (f0Mean !== null && acoustic.f0SdHz !== null) {
    const cv = acoustic.f0SdHz / f0Mean;
    spread = cv < F0_FLAT_CV ? 'flat' : cv > F0_LIVELY_CV ? 'lively' : 'moderate';
  } else if (acoustic.f0MinHz !== null && acoustic.f0MaxHz !== null && acoustic.f0MinHz > 0) {
    const range = 12 * Math.log2(acoustic.f0MaxHz / acoustic.f0MinHz);
    spread = range < F0_FLAT_RANGE_ST ? 'flat' : range > F0_LIVELY_RANGE_ST ? 'lively' : 'moderate';
  }

  const loudness = acoustic.rmsDb >= RMS_LOUD_DB ? 'loud' : acoustic.rmsDb <= RMS_QUIET_DB ? 'quiet' : 'moderate';
  const perWord = acoustic.speechRateSource === 'syllable-nuclei' ? SYLLABLES_PER_WORD : 1;
  const rate = acoustic.speechRate <= RATE_SLOW_WPS * perWord ? 'slow' : acoustic.speechRate >= RATE_FAST_WPS * perWord ? 'fast' : 'moderate';
  return {
    acoustic,
    f0Mean,
    pitch,
    spread,
    loudness,
    rate,
    rateUnit: acoustic.speechRateSource === 'syllable-nuclei' ? 'syllables/s' : 'words/s',
    halting: acoustic.pauseRatio >= PAUSE_LONG_RATIO,
  };
}

/** Words per second, whichever way the rate was measured. */
export function wordsPerSecond(acoustic: AcousticCues): number {
  return acoustic.speechRateSource === 'syllable-nuclei' ? acoustic.speechRate / SYLLABLES_PER_WORD : acoustic.speechRate;
}

/** Semitones re 100 Hz: a speaker's pitch range is symmetric in semitones, not Hz. */
export function semitones(hz: number): number {
  return 12 * Math.log2(hz / 100);
}
