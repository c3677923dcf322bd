// The active speaker: which face track's mouth opens and closes with the speech. The WAV's energy
// envelope is sampled at the analysed frames' times; each track's mouth opening (from its 68
// landmarks) is correlated with it over the frames the track is seen. A face that talks moves its
// mouth with the syllables, a listener's mouth does not.

export type SpeakerMethod = 'av-correlation' | 'single-face' | 'no-speech' | 'no-face';

export interface SpeakerOptions {
  /** Below this confidence no track is named the speaker. */
  readonly minConfidence: number;
  /** A track must be seen in at least this share of the speech frames to be a candidate. */
  readonly minCoverage: number;
}

export interface TrackMouth {
  readonly id: string;
  /** analysed-frame indices the track is seen in, ascending */
  readonly frames: readonly number[];
  /** mouth opening per seen frame */
  readonly mouthOpening: readonly number[];
}

export interface SpeakerScore {
  readonly track: string;
  /** Pearson correlation of mouth opening with the speech envelope over the track's frames */
  readonly correlation: number;
  /** share of the speech frames the track is seen in */
  readonly coverage: number;
  /** standard deviation of its mouth opening over its frames (inter-ocular distances) */
  readonly mouthMotion: number;
}

export interface SpeakerVerdict {
  /** the speaking track, or null when none was found with enough confidence */
  readonly track: string | null;
  readonly confidence: number;
  readonly method: SpeakerMethod;
  readonly scores: readonly SpeakerScore[];
}

/** Envelope floor below the loudest frame, dB: quieter frames count as this level (and as no speech). */
const ENVELOPE_RANGE_DB = 30;
/** Frames quieter than this (dBFS) are never speech. */
const SILENCE_DBFS = -50;
/** Fewer speech frames than this: no speech to compare with. */
const MIN_SPEECH_FRAMES = 3;
/**
 * Mouth-opening standard deviation (in inter-ocular distances) at which a track's motion counts
 * fully; less scales its strength down. Talking faces in the real-photo tests move 0.04–0.13, still
 * faces 0.000–0.02 (landmark jitter).
 */
const FULL_MOTION = 0.04;

/**
 * RMS level (dBFS) of `samples` around each time (seconds), over a window of `windowSec` centred on
 * it; -120 where the window holds no samples.
 */
export function speechEnvelope(samples: Float32Array, sampleRate: number, times: readonly number[], windowSec: number): number[] {
  return times.map((time) => {
    const from = Math.max(0, Math.floor((time - windowSec / 2) * sampleRate));
    const to = Math.min(samples.length, Math.ceil((time + windowSec / 2) * sampleRate));
    if (to <= from) return -120;
    let sum = 0;
    for (let i = from; i < to; i++) sum += samples[i] * samples[i];
    return 10 * Math.log10(sum / (to - from) + 1e-12);
  });
}

function deviation(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n < 3) return 0;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 1e-12 && sbb > 1e-12 ? sab / Math.sqrt(saa * sbb) : 0;
}

/**
 * Picks the speaker among `tracks` from the envelope (dBFS per analysed frame, null without audio).
 * Confidence: the best track's correlation (clamped at 0), scaled down when it is seen in less than
 * half of the speech, less the runner-up's, so two mouths moving with one voice give a low confidence
 * rather than a guess.
 */
export function findSpeaker(tracks: readonly TrackMouth[], envelopeDb: readonly number[] | null, options: SpeakerOptions): SpeakerVerdict {
  const loudest = envelopeDb && envelopeDb.length > 0 ? Math.max(...envelopeDb) : -Infinity;
  const floor = Math.max(loudest - ENVELOPE_RANGE_DB, SILENCE_DBFS);
  const speechFrames = envelopeDb ? envelopeDb.flatMap((level, i) => (level > floor ? [i] : [])) : [];
  if (speechFrames.length < MIN_SPEECH_FRAMES) return { track: null, confidence: 0, method: 'no-speech', scores: [] };
  if (tracks.length === 0) return { track: null, confidence: 0, method: 'no-face', scores: [] };

  const envelope = envelopeDb!.map((level) => Math.max(level, floor));
  const speech = new Set(speechFrames);
  const scores: SpeakerScore[] = tracks.map((track) => {
    const levels = track.frames.map((frame) => envelope[frame]);
    const coverage = track.frames.filter((frame) => speech.has(frame)).length / speechFrames.length;
    return {
      track: track.id,
      correlation: round(pearson([...track.mouthOpening], levels), 4),
      coverage: round(coverage, 4),
      mouthMotion: round(deviation(track.mouthOpening), 4),
    };
  });
  // Seen in half the speech or more counts fully: a cut away from the speaker should not hide them.
  // A mouth that barely moves (a still face: its correlation is with landmark jitter) counts little.
  const strength = (s: SpeakerScore) =>
    s.coverage >= options.minCoverage ? Math.max(0, s.correlation) * Math.min(1, 2 * s.coverage) * Math.min(1, s.mouthMotion / FULL_MOTION) : 0;
  const ranked = [...scores].sort((a, b) => strength(b) - strength(a) || tracks.findIndex((t) => t.id === a.track) - tracks.findIndex((t) => t.id === b.track));
  const best = ranked[0];
  const runnerUp = ranked[1];
  const confidence = round(Math.max(0, strength(best) - (runnerUp ? strength(runnerUp) : 0)), 4);
  const method: SpeakerMethod = tracks.length === 1 ? 'single-face' : 'av-correlation';
  return { track: confidence >= options.minConfidence && strength(best) > 0 ? best.track : null, confidence, method, scores };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
