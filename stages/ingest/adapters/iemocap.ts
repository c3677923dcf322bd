// IEMOCAP (Busso et al. 2008): five sessions of two actors. Per dialogue, the evaluation file
// `Session{1-5}/dialog/EmoEvaluation/<dialogue>.txt` has one line per turn,
// `[start - end]\t<turn>\t<label>\t[V, A, D]`; the video of both actors is
// `Session{n}/dialog/avi/DivX/<dialogue>.avi` (each turn a span inside it) and each turn's own WAV
// `Session{n}/sentences/wav/<dialogue>/<turn>.wav`; transcripts `Session{n}/dialog/transcriptions/
// <dialogue>.txt` (`<turn> [start-end]: text`). Labels neu hap exc sad ang sur fea dis map into our
// vocabulary (exc → happy, as the common four-class protocol merges it); fru, oth and xxx (no
// agreement) have no emotion of ours and are rejected unless `map` gives one. Valence and arousal
// (1–5) are rescaled to [-1, 1], dominance kept. The speaker is the session's actor of the turn's
// gender (the turn name's F/M), the group the dialogue. No official split (leave-one-session-out is
// a protocol, not a split).
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { Emotion } from '../../../schemas/emotion.ts';
import { filesUnder, rescale, type AdapterEntry, type AdapterReject, type CorpusAdapter } from './adapter.ts';

const LABELS: Record<string, Emotion | null> = {
  neu: 'neutral',
  hap: 'happy',
  exc: 'happy',
  sad: 'sad',
  ang: 'angry',
  sur: 'surprised',
  fea: 'fearful',
  dis: 'disgusted',
  fru: null,
  oth: null,
  xxx: null,
};
const LINE = /^\[(\d+(?:\.\d+)?) - (\d+(?:\.\d+)?)\]\t(Ses0[1-5][FM]_\S+_([FM])\d+)\t(\w+)\t\[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]$/;
const TRANSCRIPT = /^(Ses0[1-5][FM]_\S+) \[[\d.]+-[\d.]+\]: (.*)$/;

const IemocapConfig = z
  .object({
    /** video: spans of the dialogue AVI (both actors on screen; default); audio: each turn's own WAV. */
    source: z.enum(['video', 'audio']).default('video'),
    /** Labels with no emotion of ours (fru, oth) mapped to one, e.g. { fru: angry }. Default none: rejected. */
    map: z.object({ fru: Emotion.optional(), oth: Emotion.optional() }).strict().default({}),
    /** Sessions to read. Default 1–5. */
    sessions: z.array(z.number().int().min(1).max(5)).min(1).default([1, 2, 3, 4, 5]),
  })
  .strict();
export type IemocapConfig = z.infer<typeof IemocapConfig>;

export const iemocap: CorpusAdapter<IemocapConfig> = {
  name: 'iemocap',
  configSchema: IemocapConfig,
  layout: 'Session{1-5}/dialog/EmoEvaluation/*.txt with dialog/avi/DivX/<dialogue>.avi and sentences/wav/<dialogue>/<turn>.wav',
  async list(root, config) {
    const entries: AdapterEntry[] = [];
    const rejects: AdapterReject[] = [];
    for (const session of config.sessions) {
      const base = `Session${session}`;
      const evaluations = (await filesUnder(root, `${base}/dialog/EmoEvaluation`)).filter((uri) => uri.split('/').length === 4 && uri.endsWith('.txt'));
      if (evaluations.length === 0)
        rejects.push({
          uri: `${base}/dialog/EmoEvaluation`,
          reason: 'not-in-layout',
          detail: `no evaluation files in ${base}/dialog/EmoEvaluation under ${root}`,
        });
      const videos = new Set(await filesUnder(root, `${base}/dialog/avi/DivX`));
      const used = new Set<string>();
      for (const evaluation of evaluations) {
        const dialogue = basename(evaluation, '.txt');
        const video = `${base}/dialog/avi/DivX/${dialogue}.avi`;
        const texts = await transcripts(root, `${base}/dialog/transcriptions/${dialogue}.txt`);
        const lines = (await readFile(join(root, evaluation), 'utf8')).split(/\r?\n/);
        lines.forEach((raw, index) => {
          if (!raw.startsWith('[')) return;
          const where = `${evaluation} line ${index + 1}`;
          const m = LINE.exec(raw.trimEnd());
          if (!m) {
            rejects.push({
              uri: evaluation,
              reason: 'bad-manifest-row',
              detail: `${where}: not "[start - end]\\tturn\\tlabel\\t[V, A, D]": ${JSON.stringify(raw.slice(0, 80))}`,
            });
            return;
          }
          const [, start, end, turn, gender, code, v, a, d] = m;
          if (!turn.startsWith(`${dialogue}_`)) {
            rejects.push({ uri: evaluation, reason: 'bad-manifest-row', detail: `${where}: turn ${turn} is not of dialogue ${dialogue}` });
            return;
          }
          const emotion = code in LABELS ? (LABELS[code] ?? config.map[code as 'fru' | 'oth'] ?? null) : undefined;
          if (emotion === undefined) {
            rejects.push({
              uri: evaluation,
              reason: 'bad-manifest-row',
              detail: `${where}: label ${JSON.stringify(code)} is not one of IEMOCAP's (${Object.keys(LABELS).join(' ')})`,
            });
            return;
          }
          if (emotion === null) {
            const why = code === 'xxx' ? 'the annotators did not agree (xxx)' : `'${code}' names no emotion of ours; map it with ingest.iemocap.map`;
            rejects.push({ uri: `${dialogue}/${turn}`, reason: 'label-not-mapped', detail: `${where}: ${why}` });
            return;
          }
          const wav = `${base}/sentences/wav/${dialogue}/${turn}.wav`;
          const uri = config.source === 'video' ? video : wav;
          if (config.source === 'video' && !videos.has(video)) {
            rejects.push({ uri: video, reason: 'missing', detail: `${where}: the dialogue video ${video} is not there` });
            return;
          }
          used.add(video);
          const span = { start: Number(start), end: Number(end) };
          if (!(span.end > span.start)) {
            rejects.push({ uri: evaluation, reason: 'bad-manifest-row', detail: `${where}: span ${start}–${end} is empty` });
            return;
          }
          const speaker = `iemocap-Ses0${session}-${gender}`;
          entries.push({
            path: join(root, uri),
            uri,
            name: turn,
            ...(config.source === 'video' ? { span } : {}),
            manifest: {
              label: emotion,
              speaker,
              group: `iemocap-${dialogue}`,
              ...(texts.has(turn) ? { text: texts.get(turn)!, textLanguage: 'en' } : {}),
              valence: rescale(Number(v), 1, 5),
              arousal: rescale(Number(a), 1, 5),
              labelSource: {
                corpus: 'iemocap',
                label: code,
                code,
                extra: {
                  valence: Number(v),
                  arousal: Number(a),
                  dominance: Number(d),
                  session,
                  gender: gender === 'F' ? 'female' : 'male',
                  start: span.start,
                  end: span.end,
                },
              },
            },
          });
        });
      }
      if (config.source === 'video')
        for (const video of videos)
          if (!used.has(video)) rejects.push({ uri: video, reason: 'not-in-annotations', detail: `${video} has no turn in ${base}/dialog/EmoEvaluation` });
    }
    return { entries, rejects };
  },
};

/** turn → text of a dialogue's transcription file (absent file: no texts). */
async function transcripts(root: string, uri: string): Promise<Map<string, string>> {
  const text = await readFile(join(root, uri), 'utf8').catch(() => '');
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = TRANSCRIPT.exec(line.trim());
    if (m) out.set(m[1], m[2].trim());
  }
  return out;
}
