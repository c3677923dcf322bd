// Prosody analysis off the event loop. The main thread calls analyseProsody(); a lazily started
// worker thread (this same file, loaded through tsx) reads the WAV, tracks pitch with YIN and
// summarises it. Idle workers are unref'd so they never keep a process alive.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { RecordError } from '../../pipelines/errors.ts';
import { decodeWav, WavFormatError, type DecodedWav } from '../../pipelines/media/wav.ts';
import { WorkerPool, isWorkerFor, serveJobs } from '../../pipelines/worker-thread.ts';
import { integratedLoudness } from './loudness.ts';
import { contourSlope, frameRms, trackPitch, type PitchTrack } from './yin.ts';

export interface ProsodyOptions {
  readonly f0MinHz: number;
  readonly f0MaxHz: number;
  readonly frameMs: number;
  readonly hopMs: number;
  readonly yinThreshold: number;
  /** A frame is a pause when its level is this many dB below the loudest frame... */
  readonly silenceDb: number;
  /** ...or below this absolute level in dBFS (so all-quiet audio is all pause). */
  readonly noiseFloorDb: number;
}

export interface ProsodyAnalysis {
  readonly duration: number;
  readonly sampleRate: number;
  readonly f0MeanHz: number | null;
  readonly f0SdHz: number | null;
  /** 5th percentile of voiced frames' F0: a single octave-jump frame must not set the range. */
  readonly f0MinHz: number | null;
  /** 95th percentile of voiced frames' F0. */
  readonly f0MaxHz: number | null;
  /** Least-squares slope of the voiced F0 contour, Hz/s; null with fewer than MIN_SLOPE_FRAMES voiced frames. */
  readonly f0SlopeHzPerS: number | null;
  /** Integrated loudness (ITU-R BS.1770-4 / EBU R 128) of the mono mix, LUFS; null when no block passes the gates. */
  readonly loudnessLufs: number | null;
  readonly voicedRatio: number;
  readonly rmsDb: number;
  readonly rmsSdDb: number;
  readonly pauseRatio: number;
  /** From the first to the last non-pause frame, in seconds; null when the audio is all pause. */
  readonly speechSpan: { readonly start: number; readonly end: number } | null;
  /** Energy peaks in voiced stretches (de Jong & Wempe 2009, simplified): about one per syllable. */
  readonly syllableNuclei: number;
  /** Milliseconds of DSP in the worker, for throughput reports. */
  readonly dspMs: number;
}

/** Level given to frames of digital silence, in dBFS. */
const FLOOR_DB = -100;
/** Voiced runs shorter than this many frames are treated as YIN noise, not speech. */
const MIN_VOICED_RUN = 3;
/** An energy peak must rise this many dB above the dips on both sides to count as a syllable nucleus. */
const NUCLEUS_DIP_DB = 1;
/** A nucleus may sit this many frames from a voiced frame (vowel onsets voice a little late). */
const NUCLEUS_VOICED_SLACK = 3;
/** A slope needs this many voiced frames (100 ms at the default hop): fewer is a blip, not intonation. */
const MIN_SLOPE_FRAMES = 10;

// ---------------------------------------------------------------------------------------------
// Summary statistics (pure).
export { decodeWav, WavFormatError, type DecodedWav } from '../../pipelines/media/wav.ts';

export function analyseSamples(wav: DecodedWav, options: ProsodyOptions): ProsodyAnalysis {
  const started = performance.now();
  // Levels first: the pause threshold hangs on the loudest frame, and pauses skip the pitch search.
  const rms = frameRms(wav.samples, wav.sampleRate, options.frameMs, options.hopMs);
  const levels = Array.from(rms, (value) => Math.max(FLOOR_DB, 20 * Math.log10(value)));
  const peak = levels.reduce((max, level) => Math.max(max, level), FLOOR_DB);
  const pauseLevel = Math.max(peak + options.silenceDb, options.noiseFloorDb);
  const pause = levels.map((level) => level < pauseLevel);
  const track = trackPitch(
    wav.samples,
    {
      sampleRate: wav.sampleRate,
      f0MinHz: options.f0MinHz,
      f0MaxHz: options.f0MaxHz,
      frameMs: options.frameMs,
      hopMs: options.hopMs,
      threshold: options.yinThreshold,
    },
    (frame) => pause[frame],
  );
  const duration = wav.samples.length / wav.sampleRate;
  const frameCount = track.rms.length;
  if (frameCount === 0) {
    return {
      duration,
      sampleRate: wav.sampleRate,
      f0MeanHz: null,
      f0SdHz: null,
      f0MinHz: null,
      f0MaxHz: null,
      f0SlopeHzPerS: null,
      loudnessLufs: integratedLoudness(wav.samples, wav.sampleRate),
      voicedRatio: 0,
      rmsDb: FLOOR_DB,
      rmsSdDb: 0,
      pauseRatio: 1,
      speechSpan: null,
      syllableNuclei: 0,
      dspMs: performance.now() - started,
    };
  }

  const voiced = voicedFrames(track, pause);
  const speechLevels = levels.filter((_, i) => !pause[i]);

  const pitches = track.f0.filter((f0, i): f0 is number => voiced[i] && f0 !== null);
  const sorted = [...pitches].sort((a, b) => a - b);
  const first = pause.indexOf(false);
  const last = pause.lastIndexOf(false);
  return {
    duration,
    sampleRate: wav.sampleRate,
    f0MeanHz: pitches.length ? mean(pitches) : null,
    f0SdHz: pitches.length ? sd(pitches) : null,
    f0MinHz: pitches.length ? quantile(sorted, 0.05) : null,
    f0MaxHz: pitches.length ? quantile(sorted, 0.95) : null,
    f0SlopeHzPerS: contourSlope(
      track.f0.map((f0, i) => (voiced[i] ? f0 : null)),
      track.hopSeconds,
      MIN_SLOPE_FRAMES,
    ),
    loudnessLufs: integratedLoudness(wav.samples, wav.sampleRate),
    voicedRatio: pitches.length / frameCount,
    // Loudness of the speech itself: pauses sit at the noise floor and would swamp the mean.
    rmsDb: mean(speechLevels.length ? speechLevels : levels),
    rmsSdDb: sd(speechLevels.length ? speechLevels : levels),
    pauseRatio: pause.filter(Boolean).length / frameCount,
    speechSpan: first < 0 ? null : { start: first * track.hopSeconds, end: Math.min(duration, last * track.hopSeconds + track.frameSeconds) },
    syllableNuclei: countNuclei(levels, voiced, pause),
    dspMs: performance.now() - started,
  };
}

/** Pitched, non-pause frames in runs of at least MIN_VOICED_RUN (a lone pitched frame in noise is not voice). */
function voicedFrames(track: PitchTrack, pause: boolean[]): boolean[] {
  const candidate = track.f0.map((f0, i) => f0 !== null && !pause[i]);
  const voiced = new Array<boolean>(candidate.length).fill(false);
  for (let i = 0; i < candidate.length; ) {
    if (!candidate[i]) {
      i++;
      continue;
    }
    let end = i;
    while (end < candidate.length && candidate[end]) end++;
    if (end - i >= MIN_VOICED_RUN) voiced.fill(true, i, end);
    i = end;
  }
  return voiced;
}

/**
 * Syllable nuclei: peaks of the level contour (already smoothed by the analysis window) that stand
 * at least NUCLEUS_DIP_DB above the dips on either side, outside pauses and within
 * NUCLEUS_VOICED_SLACK frames of voicing. Peaks without such a dip between them merge. On flite and
 * LibriVox sentences this finds 75-100% of the syllables (it undercounts, never overcounts much).
 */
function countNuclei(levels: number[], voiced: boolean[], pause: boolean[]): number {
  const nearVoicing = (i: number) => {
    for (let j = Math.max(0, i - NUCLEUS_VOICED_SLACK); j <= Math.min(voiced.length - 1, i + NUCLEUS_VOICED_SLACK); j++) if (voiced[j]) return true;
    return false;
  };
  const peaks: { index: number; level: number }[] = [];
  let dip = Infinity; // lowest level since the last accepted peak
  for (let i = 0; i < levels.length; i++) {
    dip = Math.min(dip, levels[i]);
    const isPeak = (i === 0 || levels[i] > levels[i - 1]) && (i === levels.length - 1 || levels[i] >= levels[i + 1]);
    if (!isPeak || pause[i] || !nearVoicing(i)) continue;
    const previous = peaks[peaks.length - 1];
    if (!previous || (previous.level - dip >= NUCLEUS_DIP_DB && levels[i] - dip >= NUCLEUS_DIP_DB)) {
      peaks.push({ index: i, level: levels[i] });
      dip = levels[i];
    } else if (levels[i] > previous.level) {
      peaks[peaks.length - 1] = { index: i, level: levels[i] };
      dip = levels[i];
    }
  }
  return peaks.length;
}

function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function sd(values: number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) * (v - m), 0) / values.length);
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

// ---------------------------------------------------------------------------------------------
// The DSP runs in worker threads (pipelines/worker-thread.ts), never on the main event loop.

interface AnalyseRequest {
  readonly wavPath: string;
  readonly options: ProsodyOptions;
}

const WORKER_ROLE = 'emoforge-acoustic-worker';

if (isWorkerFor(WORKER_ROLE)) {
  serveJobs<AnalyseRequest, ProsodyAnalysis>(async ({ wavPath, options }) => {
    try {
      return analyseSamples(decodeWav(await readFile(wavPath)), options);
    } catch (error) {
      if (error instanceof WavFormatError) throw new RecordError('bad-audio', `cannot analyse ${wavPath}: ${error.message}`);
      throw error;
    }
  });
}

/** The DSP runs ~50x realtime, far ahead of ASR, so one worker per spare core (at most 4) is plenty. */
const pool = new WorkerPool<AnalyseRequest, ProsodyAnalysis>({
  module: import.meta.url,
  role: WORKER_ROLE,
  label: 'acoustic analysis',
  size: Math.max(1, Math.min(4, availableParallelism() - 1)),
});

/** Analyses a WAV file in a worker thread. Throws RecordError('bad-audio') for unreadable audio, the signal's reason on abort. */
export function analyseProsody(wavPath: string, options: ProsodyOptions, signal: AbortSignal): Promise<ProsodyAnalysis> {
  return pool.run({ wavPath, options }, signal);
}

/** Stops the pool's workers (jobs still pending are rejected). The next analysis starts a new pool. */
export function closeAcousticWorkers(): Promise<void> {
  return pool.close();
}
