// The three layouts trainers read as they are. Each writer gets the samples that fit the token
// budget (in split, then id order) and returns the files it wrote, relative to dest.
import { join } from 'node:path';
import { SPLITS, type Split } from '../../schemas/sample.ts';
import type { CorpusRow } from './corpus-rows.ts';
import type { MediaPlacer } from './media-files.ts';
import { csvTable, pythonList, writeFileAtomic } from './text-files.ts';

export const FORMATS = ['affectgpt', 'llava', 'jsonl'] as const;
export type ExportFormat = (typeof FORMATS)[number];

export interface ExportSample {
  readonly row: CorpusRow;
  /** export name of the row's segment (safe as a file name) */
  readonly name: string;
  readonly tokens: number;
}

/** The tasks each format carries; AffectGPT's layout has a file for descriptions and open-set labels only. */
export const FORMAT_TASKS: Record<ExportFormat, ReadonlySet<string> | null> = {
  affectgpt: new Set(['description', 'ov_labels']),
  llava: null,
  jsonl: null,
};

/** Where a sample's media is: placed files (relative to dest) when --media placed them, else the out folder's files (relative to it). */
async function mediaOf(sample: ExportSample, media: MediaPlacer): Promise<{ video: string | null; audio: string | null }> {
  const placed = await media.place({ name: sample.name, video: sample.row.video, audio: sample.row.audio });
  return { video: placed.video ?? sample.row.video, audio: placed.audio ?? sample.row.audio };
}

/**
 * AffectGPT: description.csv (`name,reason`), openset.csv (`name,openset`, a Python list, `[]` for
 * neutral), subtitle.csv (`name,english`) for every name in either, split.csv (`name,split`), media by name.
 */
export async function writeAffectGpt(dest: string, samples: readonly ExportSample[], media: MediaPlacer): Promise<string[]> {
  const descriptions: string[][] = [];
  const opensets: string[][] = [];
  const segments = new Map<string, ExportSample>();
  for (const sample of samples) {
    if (sample.row.task === 'description') descriptions.push([sample.name, sample.row.conversations[1].value]);
    else if (sample.row.task === 'ov_labels') opensets.push([sample.name, pythonList(sample.row.openset)]);
    else continue;
    if (!segments.has(sample.name)) segments.set(sample.name, sample);
  }
  const bySplitThenName = (split: (name: string) => Split) => (a: string[], b: string[]) =>
    SPLITS.indexOf(split(a[0])) - SPLITS.indexOf(split(b[0])) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const order = bySplitThenName((name) => segments.get(name)!.row.split);
  const named = [...segments.values()];
  for (const sample of named) await media.place({ name: sample.name, video: sample.row.video, audio: sample.row.audio });
  const subtitles = named.map((s) => [s.name, s.row.transcript]).sort(order);
  const splits = named.map((s) => [s.name, s.row.split as string]).sort(order);
  const files: [string, string][] = [
    ['description.csv', csvTable(['name', 'reason'], descriptions.sort(order))],
    ['openset.csv', csvTable(['name', 'openset'], opensets.sort(order))],
    ['subtitle.csv', csvTable(['name', 'english'], subtitles)],
    ['split.csv', csvTable(['name', 'split'], splits)],
  ];
  for (const [file, text] of files) await writeFileAtomic(join(dest, file), text);
  return files.map(([file]) => file);
}

/** LLaVA / Emotion-Qwen: `<split>.json`, an array of `{ id, video, audio, conversations: [{ from, value }] }`, one entry a line. */
export async function writeLlava(dest: string, samples: readonly ExportSample[], media: MediaPlacer): Promise<string[]> {
  const files: string[] = [];
  for (const split of SPLITS) {
    const entries: string[] = [];
    for (const sample of samples) {
      if (sample.row.split !== split) continue;
      const { video, audio } = await mediaOf(sample, media);
      entries.push(JSON.stringify({ id: sample.row.id, video, audio, conversations: sample.row.conversations }));
    }
    await writeFileAtomic(join(dest, `${split}.json`), entries.length ? `[\n${entries.join(',\n')}\n]\n` : '[]\n');
    files.push(`${split}.json`);
  }
  return files;
}

/** OpenAI chat style: `<split>.jsonl`, one `{ messages: [{ role, content }], metadata }` a line. */
export async function writeJsonl(dest: string, samples: readonly ExportSample[], media: MediaPlacer): Promise<string[]> {
  const files: string[] = [];
  for (const split of SPLITS) {
    const lines: string[] = [];
    for (const sample of samples) {
      const row = sample.row;
      if (row.split !== split) continue;
      const { video, audio } = await mediaOf(sample, media);
      lines.push(
        JSON.stringify({
          messages: row.conversations.map((turn) => ({ role: turn.from === 'human' ? 'user' : 'assistant', content: turn.value })),
          metadata: {
            id: row.id,
            name: sample.name,
            task: row.task,
            split: row.split,
            video,
            audio,
            clip_id: row.clipId,
            segment_id: row.segmentId,
            start: row.start,
            end: row.end,
            primary_emotion: row.primaryEmotion,
            openset: row.openset,
            teacher: row.teacher,
            model: row.model,
            template: row.template,
            tokens: sample.tokens,
          },
        }),
      );
    }
    await writeFileAtomic(join(dest, `${split}.jsonl`), lines.map((l) => `${l}\n`).join(''));
    files.push(`${split}.jsonl`);
  }
  return files;
}
