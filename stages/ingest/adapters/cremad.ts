// CREMA-D (Cao et al. 2014): `VideoFlash/AAAA_SSS_EEE_LL.flv` (audio and video) and
// `AudioWAV/AAAA_SSS_EEE_LL.wav`: actor 1001–1091, one of 12 sentence codes (fixed sentences),
// emotion ANG DIS FEA HAP NEU SAD, level LO MD HI XX (unspecified). The videos are taken (the WAVs
// hold the same audio); with `source: audio` the WAVs. No official split: splits are actor-disjoint.
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { Emotion } from '../../../schemas/emotion.ts';
import { filesUnder, type AdapterEntry, type AdapterReject, type CorpusAdapter } from './adapter.ts';

/** The 12 sentences, by the code in the file name (CREMA-D's README). */
export const CREMAD_SENTENCES: Readonly<Record<string, string>> = {
  IEO: "It's eleven o'clock.",
  TIE: 'That is exactly what happened.',
  IOM: "I'm on my way to the meeting.",
  IWW: 'I wonder what this is about.',
  TAI: 'The airplane is almost full.',
  MTI: 'Maybe tomorrow it will be cold.',
  IWL: 'I would like a new alarm clock.',
  ITH: 'I think I have a doctor’s appointment.',
  DFA: "Don't forget a jacket.",
  ITS: "I think I've seen this before.",
  TSI: 'The surface is slick.',
  WSI: "We'll stop in a couple of minutes.",
};
const EMOTIONS: Record<string, Emotion> = { ANG: 'angry', DIS: 'disgusted', FEA: 'fearful', HAP: 'happy', NEU: 'neutral', SAD: 'sad' };
const LEVELS: Record<string, string> = { LO: 'low', MD: 'medium', HI: 'high', XX: 'unspecified' };
const FILE = /^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.(flv|wav)$/;

const CremadConfig = z
  .object({
    /** video: VideoFlash/*.flv (default, audio inside); audio: AudioWAV/*.wav only. */
    source: z.enum(['video', 'audio']).default('video'),
  })
  .strict();
export type CremadConfig = z.infer<typeof CremadConfig>;

export const cremad: CorpusAdapter<CremadConfig> = {
  name: 'cremad',
  configSchema: CremadConfig,
  layout: 'VideoFlash/AAAA_SSS_EEE_LL.flv and AudioWAV/AAAA_SSS_EEE_LL.wav',
  async list(root, config) {
    const entries: AdapterEntry[] = [];
    const rejects: AdapterReject[] = [];
    const folder = config.source === 'video' ? 'VideoFlash' : 'AudioWAV';
    const files = await filesUnder(root, folder);
    if (files.length === 0)
      rejects.push({
        uri: folder,
        reason: 'not-in-layout',
        detail: `${folder}/ is missing or empty under ${root}: CREMA-D keeps ${config.source === 'video' ? 'its videos in VideoFlash/' : 'its WAVs in AudioWAV/'}`,
      });
    for (const uri of files) {
      const m = FILE.exec(basename(uri));
      if (!m || uri !== `${folder}/${basename(uri)}`) {
        rejects.push({
          uri,
          reason: 'not-in-layout',
          detail: `${uri} is not ${folder}/AAAA_SSS_EEE_LL.${config.source === 'video' ? 'flv' : 'wav'} (CREMA-D layout)`,
        });
        continue;
      }
      const [, actor, sentence, emotionCode, level, extension] = m;
      const problems = [
        (Number(actor) < 1001 || Number(actor) > 1091) && `actor ${actor} (1001–1091)`,
        !(sentence in CREMAD_SENTENCES) && `sentence ${sentence}`,
        !(emotionCode in EMOTIONS) && `emotion ${emotionCode}`,
        !(level in LEVELS) && `level ${level}`,
        extension !== (config.source === 'video' ? 'flv' : 'wav') && `extension .${extension}`,
      ].filter(Boolean);
      if (problems.length) {
        rejects.push({ uri, reason: 'bad-file-name', detail: `${uri}: unknown ${problems.join(', ')} (CREMA-D codes AAAA_SSS_EEE_LL)` });
        continue;
      }
      const speaker = `cremad-actor-${actor}`;
      entries.push({
        path: join(root, uri),
        uri,
        name: basename(uri).replace(/\.[^.]+$/, ''),
        manifest: {
          label: EMOTIONS[emotionCode],
          speaker,
          group: speaker,
          text: CREMAD_SENTENCES[sentence],
          textLanguage: 'en',
          labelSource: { corpus: 'cremad', label: emotionCode, code: emotionCode, extra: { level: LEVELS[level], sentence } },
        },
      });
    }
    return { entries, rejects };
  },
};
