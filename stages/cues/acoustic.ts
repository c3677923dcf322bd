// cues.acoustic: prosody of the segment's audio — pitch (YIN) and its slope, level and integrated
// loudness (BS.1770), pauses and speech rate.
// The DSP runs in a worker thread (acoustic-worker.ts); this file only turns its summary into cues.
import { z } from 'zod';
import { audioEvidence } from '../../pipelines/affect/evidence.ts';
import { readProsody } from '../../pipelines/affect/prosody.ts';
import { drop, type DropResult, type SegmentStage } from '../../pipelines/stage.ts';
import { AcousticCues } from '../../schemas/cues.ts';
import type { Segment, Transcript } from '../../schemas/records.ts';
import { analyseProsody, type ProsodyAnalysis } from './acoustic-worker.ts';
import type { CueDescriptor } from './cues.ts';

const AcousticConfig = z
  .object({
    /** Lowest pitch searched, Hz. Default 60. */
    f0MinHz: z.number().positive().default(60),
    /** Highest pitch searched, Hz. Default 500. */
    f0MaxHz: z.number().positive().default(500),
    /** Analysis window, ms; must hold one period of f0MinHz. Default 40. */
    frameMs: z.number().positive().default(40),
    /** Step between frames, ms. Default 10. */
    hopMs: z.number().positive().default(10),
    /** YIN absolute threshold: lower is stricter about what counts as voiced. Default 0.15. */
    yinThreshold: z.number().gt(0).lt(1).default(0.15),
    /** Frames this many dB below the loudest frame count as pauses. Default -35. */
    silenceDb: z.number().negative().default(-35),
    /** Frames below this level (dBFS) are pauses whatever the peak. Default -60. */
    noiseFloorDb: z.number().negative().default(-60),
  })
  .strict()
  .refine((config) => config.f0MinHz < config.f0MaxHz, { message: 'f0MinHz must be below f0MaxHz', path: ['f0MinHz'] })
  .refine((config) => config.frameMs >= 1000 / config.f0MinHz, {
    message: 'frameMs must hold at least one period of f0MinHz (1000 / f0MinHz ms)',
    path: ['frameMs'],
  });
export type AcousticConfig = z.infer<typeof AcousticConfig>;

export const cuesAcoustic: SegmentStage<AcousticConfig> = {
  kind: 'segment',
  name: 'cues.acoustic',
  // 3: f0SlopeHzPerS and loudnessLufs.
  version: 3,
  configSchema: AcousticConfig,
  // The transcript sharpens the speech rate when an earlier stage made one; it is not required.
  reads: ['audio'],
  adds: ['cues.acoustic'],
  cache: true,

  async run(segment, config, ctx): Promise<Segment | DropResult> {
    if (!segment.audio) return drop('no-audio', `segment ${segment.index} of ${segment.clip.uri} has no audio`);
    const wavPath = await ctx.store.localPath(segment.audio.key);
    ctx.work.add('dsp');
    const analysis = await analyseProsody(wavPath, config, ctx.signal);
    ctx.log.debug({ segment: segment.id, seconds: analysis.duration, dspMs: Math.round(analysis.dspMs) }, 'acoustic analysis');
    const rate = speechRate(analysis, segment.transcript);
    const acoustic = AcousticCues.parse({
      duration: round(analysis.duration, 3),
      f0MeanHz: roundOrNull(analysis.f0MeanHz, 1),
      f0SdHz: roundOrNull(analysis.f0SdHz, 1),
      f0MinHz: roundOrNull(analysis.f0MinHz, 1),
      f0MaxHz: roundOrNull(analysis.f0MaxHz, 1),
      f0SlopeHzPerS: roundOrNull(analysis.f0SlopeHzPerS, 1),
      // 0.1 LU: a meter's resolution, and EBU Tech 3341's tolerance.
      loudnessLufs: roundOrNull(analysis.loudnessLufs, 1),
      voicedRatio: round(analysis.voicedRatio, 3),
      rmsDb: round(analysis.rmsDb, 2),
      rmsSdDb: round(analysis.rmsSdDb, 2),
      pauseRatio: round(analysis.pauseRatio, 3),
      speechRate: round(rate.value, 2),
      speechRateSource: rate.source,
    });
    return { ...segment, cues: { ...segment.cues, acoustic } };
  },
};

/**
 * Rate over the speech span (first to last word, or first to last non-pause frame), so the three
 * sources measure the same thing: timed words per second; else transcript words per second of the
 * audio's speech span; else syllable nuclei per second (syllables, not words: about 1.4x a word rate
 * for English — speechRateSource says which).
 */
function speechRate(analysis: ProsodyAnalysis, transcript: Transcript | undefined): { value: number; source: AcousticCues['speechRateSource'] } {
  const spanSeconds = analysis.speechSpan ? analysis.speechSpan.end - analysis.speechSpan.start : 0;
  const words = transcript?.words ?? [];
  if (words.length > 0) {
    const wordSpan = words[words.length - 1].end - words[0].start;
    if (wordSpan > 0) return { value: words.length / wordSpan, source: 'transcript' };
  }
  const wordCount = (transcript?.text ?? '').split(/\s+/).filter((token) => /[\p{L}\p{N}]/u.test(token)).length;
  if (wordCount > 0) return { value: spanSeconds > 0 ? wordCount / spanSeconds : 0, source: 'transcript' };
  return { value: spanSeconds > 0 ? analysis.syllableNuclei / spanSeconds : 0, source: 'syllable-nuclei' };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  // + 0 turns -0 into 0, so a value near zero serialises and compares the same every run.
  return Math.round(value * scale) / scale + 0;
}

function roundOrNull(value: number | null, digits: number): number | null {
  return value === null ? null : round(value, digits);
}

export const acousticCue: CueDescriptor<'acoustic', typeof AcousticCues> = {
  key: 'acoustic',
  stage: cuesAcoustic,
  schema: AcousticCues,
  modality: 'audio',
  prompt: {
    key: 'audio',
    view: (acoustic) =>
      acoustic
        ? {
            f0MeanHz: acoustic.f0MeanHz,
            f0SdHz: acoustic.f0SdHz,
            f0MinHz: acoustic.f0MinHz,
            f0MaxHz: acoustic.f0MaxHz,
            f0SlopeHzPerS: acoustic.f0SlopeHzPerS,
            voicedRatio: acoustic.voicedRatio,
            rmsDb: acoustic.rmsDb,
            rmsSdDb: acoustic.rmsSdDb,
            loudnessLufs: acoustic.loudnessLufs,
            pauseRatio: acoustic.pauseRatio,
            speechRate: acoustic.speechRate,
            speechRateUnit: acoustic.speechRateSource === 'transcript' ? 'words/s' : 'syllables/s',
          }
        : null,
  },
  citable(acoustic) {
    const { f0MinHz: min, f0MaxHz: max } = acoustic;
    return [
      // The pitch measures, and the range as a width in Hz and in semitones.
      { unit: 'hz', values: [acoustic.f0MeanHz, acoustic.f0SdHz, min, max, min !== null && max !== null ? max - min : null] },
      { unit: 'semitones', values: [min !== null && max !== null && min > 0 ? 12 * Math.log2(max / min) : null] },
      { unit: 'hz/s', values: [acoustic.f0SlopeHzPerS] },
      { unit: 'db', values: [acoustic.rmsDb, acoustic.rmsSdDb, acoustic.loudnessLufs] },
      { unit: 'lufs', values: [acoustic.loudnessLufs] },
      { unit: 'rate', values: [acoustic.speechRate] },
      { unit: 'seconds', values: [acoustic.duration] },
      { unit: 'ratio', values: [acoustic.voicedRatio, acoustic.pauseRatio] },
    ];
  },
  evidence: (acoustic) => audioEvidence(readProsody(acoustic)),
};
