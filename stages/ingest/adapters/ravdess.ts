// RAVDESS (Livingstone & Russo 2018): `Actor_NN/MM-VV-EE-II-SS-RR-AA.mp4` (and .wav). Modality 01
// audio-video, 02 video-only, 03 audio-only; vocal channel 01 speech, 02 song; emotion 01 neutral,
// 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; intensity 01 normal,
// 02 strong; statement 01 "Kids are talking by the door", 02 "Dogs are sitting by the door";
// repetition 01/02; actor 01–24 (odd male, even female). No official split: the actor is the
// speaker and the group, so splits are actor-disjoint.
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { Emotion } from '../../../schemas/emotion.ts';
import { filesUnder, type AdapterEntry, type AdapterReject, type CorpusAdapter } from './adapter.ts';

const MODALITIES = { '01': 'audio-video', '02': 'video-only', '03': 'audio-only' } as const;
const CHANNELS = { '01': 'speech', '02': 'song' } as const;
const EMOTIONS: Record<string, { label: string; emotion: Emotion }> = {
  '01': { label: 'neutral', emotion: 'neutral' },
  '02': { label: 'calm', emotion: 'neutral' },
  '03': { label: 'happy', emotion: 'happy' },
  '04': { label: 'sad', emotion: 'sad' },
  '05': { label: 'angry', emotion: 'angry' },
  '06': { label: 'fearful', emotion: 'fearful' },
  '07': { label: 'disgust', emotion: 'disgusted' },
  '08': { label: 'surprised', emotion: 'surprised' },
};
const INTENSITY = { '01': 'normal', '02': 'strong' } as const;
const STATEMENTS = { '01': 'Kids are talking by the door.', '02': 'Dogs are sitting by the door.' } as const;
const FILE = /^Actor_(\d{2})\/(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.(mp4|wav)$/i;

const RavdessConfig = z
  .object({
    /** Which modalities to take. Default [audio-video]: the multimodal files (video-only has no audio, audio-only no face). */
    modalities: z
      .array(z.enum(['audio-video', 'video-only', 'audio-only']))
      .min(1)
      .default(['audio-video']),
    /** Which vocal channels to take. Default [speech] (the sung files are another task). */
    channels: z
      .array(z.enum(['speech', 'song']))
      .min(1)
      .default(['speech']),
  })
  .strict();
export type RavdessConfig = z.infer<typeof RavdessConfig>;

export const ravdess: CorpusAdapter<RavdessConfig> = {
  name: 'ravdess',
  configSchema: RavdessConfig,
  layout: 'Actor_NN/MM-VV-EE-II-SS-RR-AA.mp4 (or .wav)',
  async list(root, config) {
    const entries: AdapterEntry[] = [];
    const rejects: AdapterReject[] = [];
    for (const uri of await filesUnder(root, '.')) {
      const m = FILE.exec(uri);
      if (!m) {
        rejects.push({ uri, reason: 'not-in-layout', detail: `${uri} is not Actor_NN/MM-VV-EE-II-SS-RR-AA.mp4 (RAVDESS layout)` });
        continue;
      }
      const [, folderActor, modality, channel, emotionCode, intensity, statement, repetition, actor] = m;
      const problems = [
        !(modality in MODALITIES) && `modality ${modality}`,
        !(channel in CHANNELS) && `vocal channel ${channel}`,
        !(emotionCode in EMOTIONS) && `emotion ${emotionCode}`,
        !(intensity in INTENSITY) && `intensity ${intensity}`,
        !(statement in STATEMENTS) && `statement ${statement}`,
        !['01', '02'].includes(repetition) && `repetition ${repetition}`,
        folderActor !== actor && `actor ${actor} in folder Actor_${folderActor}`,
        Number(actor) < 1 && `actor ${actor}`,
      ].filter(Boolean);
      if (problems.length) {
        rejects.push({ uri, reason: 'bad-file-name', detail: `${uri}: unknown ${problems.join(', ')} (RAVDESS codes MM-VV-EE-II-SS-RR-AA)` });
        continue;
      }
      const kind = MODALITIES[modality as keyof typeof MODALITIES];
      const vocal = CHANNELS[channel as keyof typeof CHANNELS];
      if (!config.modalities.includes(kind) || !config.channels.includes(vocal)) {
        rejects.push({
          uri,
          reason: 'preset-excluded',
          detail: `${uri} is ${kind} ${vocal}; ingest.ravdess takes modalities [${config.modalities.join(', ')}], channels [${config.channels.join(', ')}]`,
        });
        continue;
      }
      const { label, emotion } = EMOTIONS[emotionCode];
      const speaker = `ravdess-actor-${actor}`;
      entries.push({
        path: join(root, uri),
        uri,
        name: basename(uri).replace(/\.[^.]+$/, ''),
        manifest: {
          label: emotion,
          speaker,
          group: speaker,
          text: vocal === 'speech' ? STATEMENTS[statement as keyof typeof STATEMENTS] : undefined,
          textLanguage: 'en',
          labelSource: {
            corpus: 'ravdess',
            label,
            code: emotionCode,
            extra: {
              intensity: INTENSITY[intensity as keyof typeof INTENSITY],
              modality: kind,
              channel: vocal,
              statement: Number(statement),
              repetition: Number(repetition),
              gender: Number(actor) % 2 === 1 ? 'male' : 'female',
            },
          },
        },
      });
    }
    return { entries, rejects };
  },
};
