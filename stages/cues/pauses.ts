// cues.pauses: where the speaker stops. A pause is a run of quiet frames inside the speech (the
// silence before the first sound and after the last is no pause) lasting at least `minPauseSec`;
// the cue keeps how many there are, the longest, their total and their share of the speech span.
// Long pauses make speech halting, a vocal marker of sadness and anxiety (Juslin & Laukka 2003).
// One RMS pass over a segment's 16 kHz WAV takes milliseconds, so it runs in-process.
import { z } from 'zod';
import type { EmotionEvidence } from '../../pipelines/affect/evidence.ts';
import { RecordError } from '../../pipelines/errors.ts';
import { decodeWav, WavFormatError, type DecodedWav } from '../../pipelines/media/wav.ts';
import { drop, type DropResult, type SegmentStage } from '../../pipelines/stage.ts';
import type { Segment } from '../../schemas/records.ts';
import type { CueDescriptor } from './cues.ts';
import { frameRms } from './yin.ts';

const PausesConfig = z
  .object({
    /** Analysis frame (and hop), ms. Default 20. */
    frameMs: z.number().positive().default(20),
    /** Frames this many dB below the loudest frame are quiet. Default -30. */
    silenceDb: z.number().negative().default(-30),
    /** Quiet runs shorter than this are gaps between syllables, not pauses; seconds. Default 0.25. */
    minPauseSec: z.number().positive().default(0.25),
  })
  .strict();
export type PausesConfig = z.infer<typeof PausesConfig>;

export const PauseCues = z.object({
  /** pauses inside the speech */
  count: z.number().int().nonnegative(),
  /** seconds of the longest pause, 0 without one */
  longestSec: z.number().nonnegative(),
  /** seconds of all pauses together */
  totalSec: z.number().nonnegative(),
  /** share of the speech span (first to last sounding frame) the pauses fill, 0..1 */
  ratio: z.number().min(0).max(1),
});
export type PauseCues = z.infer<typeof PauseCues>;

/** A pause at least this long is cited as evidence: a full second of silence mid-utterance is a halt, not a breath. */
const LONG_PAUSE_SEC = 1;

export const cuesPauses: SegmentStage<PausesConfig> = {
  kind: 'segment',
  name: 'cues.pauses',
  version: 1,
  configSchema: PausesConfig,
  reads: ['audio'],
  adds: ['cues.pauses'],
  cache: true,

  async run(segment, config, ctx): Promise<Segment | DropResult> {
    if (!segment.audio) return drop('no-audio', `segment ${segment.index} of ${segment.clip.uri} has no audio`);
    const bytes = await ctx.store.get(segment.audio.key);
    if (bytes === null) throw new Error(`audio ${segment.audio.key} is missing from the store ${ctx.store.location}`);
    let wav: DecodedWav;
    try {
      wav = decodeWav(bytes);
    } catch (error) {
      if (error instanceof WavFormatError) throw new RecordError('bad-audio', `cannot find the pauses of ${segment.audio.key}: ${error.message}`);
      throw error;
    }
    ctx.work.add('dsp');
    return { ...segment, cues: { ...segment.cues, pauses: findPauses(wav, config) } };
  },
};

/** The pauses of a mono signal: quiet runs between its first and last sounding frame. */
function findPauses(wav: DecodedWav, config: PausesConfig): PauseCues {
  const rms = frameRms(wav.samples, wav.sampleRate, config.frameMs, config.frameMs);
  const frameSec = config.frameMs / 1000;
  const peak = rms.reduce((max, value) => Math.max(max, value), 0);
  const none: PauseCues = { count: 0, longestSec: 0, totalSec: 0, ratio: 0 };
  if (peak === 0) return none;
  const threshold = peak * 10 ** (config.silenceDb / 20);
  const sounding = Array.from(rms, (value) => value >= threshold);
  const first = sounding.indexOf(true);
  const last = sounding.lastIndexOf(true);
  const lengths: number[] = [];
  let run = 0;
  for (let frame = first; frame <= last; frame++) {
    if (!sounding[frame]) {
      run++;
      continue;
    }
    if (run * frameSec >= config.minPauseSec) lengths.push(run * frameSec);
    run = 0;
  }
  if (lengths.length === 0) return none;
  const total = lengths.reduce((sum, length) => sum + length, 0);
  return {
    count: lengths.length,
    longestSec: round(Math.max(...lengths), 2),
    totalSec: round(total, 2),
    ratio: round(total / ((last - first + 1) * frameSec), 3),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function pauseEvidence(pauses: PauseCues): EmotionEvidence[] {
  if (pauses.longestSec < LONG_PAUSE_SEC) return [];
  const finding = `The speech halts: the longest of its ${pauses.count} pause${pauses.count === 1 ? '' : 's'} lasts ${pauses.longestSec.toFixed(2)} s`;
  return [{ modality: 'audio', cue: 'pause-length', name: 'The pauses in the speech', finding, weights: { sad: 0.3, fearful: 0.2 } }];
}

export const pausesCue: CueDescriptor<'pauses', typeof PauseCues> = {
  key: 'pauses',
  stage: cuesPauses,
  schema: PauseCues,
  modality: 'audio',
  // Left out of prompts where the stage did not run, so adding it changes no existing prompt.
  prompt: { key: 'pauses', view: (pauses) => pauses },
  citable: (pauses) => [
    { unit: 'none', values: [pauses.count] },
    { unit: 'seconds', values: [pauses.longestSec, pauses.totalSec] },
    { unit: 'ratio', values: [pauses.ratio] },
  ],
  evidence: pauseEvidence,
};
