// The MER pools (MER2023/2024/2025, zeroQiaoba/MERTools): a folder of `<name>.mp4` (or .avi), label
// CSVs (`name` + a discrete label and/or valence) and transcription CSVs (`name, chinese, english`).
// The Chinese transcript is the text (language zh) and the shipped English its translation; discrete
// labels (neutral angry happy sad worried surprise …) map into our vocabulary (worried → fearful),
// valence is rescaled from its scale (default −5…5) to [−1, 1]; clips no label file names come in
// unlabelled (the pools are mostly unlabelled). A label file's split comes from the config, or from
// its name (train / val / dev / test). No speakers are published: each clip is its own group.
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import type { Emotion } from '../../../schemas/emotion.ts';
import type { ManifestFields } from '../../../schemas/records.ts';
import { parseCsv } from '../manifest.ts';
import { filesUnder, rescale, type AdapterEntry, type AdapterReject, type CorpusAdapter } from './adapter.ts';

const LABELS: Record<string, Emotion> = {
  neutral: 'neutral',
  angry: 'angry',
  anger: 'angry',
  happy: 'happy',
  happiness: 'happy',
  sad: 'sad',
  sadness: 'sad',
  worried: 'fearful',
  worry: 'fearful',
  fear: 'fearful',
  surprise: 'surprised',
  surprised: 'surprised',
  disgust: 'disgusted',
};
const MEDIA = new Set(['mp4', 'avi', 'mkv', 'mov']);

const LabelFile = z.object({ file: z.string().min(1), split: z.enum(['train', 'validation', 'test']).optional() }).strict();

const MerConfig = z
  .object({
    /** Folder of the clips, relative to the root. Default: the root itself, or video/ when the root has no clips. */
    media: z.string().min(1).optional(),
    /** Label CSVs with their split. Default: every *label*.csv in the root, split from its name. */
    labels: z.array(LabelFile).optional(),
    /** Transcription CSVs (name, chinese, english). Default: every *transcription*.csv in the root. */
    transcripts: z.array(z.string().min(1)).optional(),
    /** The valence scale of the label files. Default [-5, 5]. */
    valenceScale: z.tuple([z.number(), z.number()]).default([-5, 5]),
  })
  .strict();
export type MerConfig = z.infer<typeof MerConfig>;

export const mer: CorpusAdapter<MerConfig> = {
  name: 'mer',
  configSchema: MerConfig,
  layout: '<name>.mp4 (or video/<name>.mp4) with *label*.csv (name, discrete and/or valence) and *transcription*.csv (name, chinese, english)',
  async list(root, config) {
    const entries: AdapterEntry[] = [];
    const rejects: AdapterReject[] = [];
    const top = await readdir(root).catch(() => [] as string[]);
    const folder = config.media ?? (top.some((f) => MEDIA.has(extname(f).slice(1).toLowerCase())) ? '.' : 'video');
    const clips = new Map<string, string>();
    for (const uri of await filesUnder(root, folder)) {
      const relativeToFolder = folder === '.' ? uri : uri.slice(folder.length + 1);
      if (relativeToFolder.includes('/') || !MEDIA.has(extname(uri).slice(1).toLowerCase())) continue;
      const name = basename(uri, extname(uri));
      if (clips.has(name)) rejects.push({ uri, reason: 'duplicate-row', detail: `${uri}: another file is also named ${name} (${clips.get(name)})` });
      else clips.set(name, uri);
    }
    if (clips.size === 0) rejects.push({ uri: folder, reason: 'not-in-layout', detail: `no .mp4/.avi clips in ${folder === '.' ? root : join(root, folder)}` });

    // Test files first: a clip two files label stays in the held-out split, never in training.
    const priority = (split: string | undefined) => ['test', 'validation', 'train', undefined].indexOf(split as never);
    const labelFiles = [
      ...(config.labels ??
        top
          .filter((f) => /label.*\.csv$/i.test(f))
          .sort()
          .map((file) => ({ file, split: splitFromName(file) }))),
    ].sort((a, b) => priority(a.split) - priority(b.split) || (a.file < b.file ? -1 : 1));
    const labelled = new Map<string, { fields: ManifestFields; where: string }>();
    for (const { file, split } of labelFiles) {
      for (const { line, values } of await csvRows(root, file, rejects)) {
        const where = `${file} line ${line}`;
        const name = String(values.name ?? '').trim();
        if (!name) {
          rejects.push({ uri: file, reason: 'bad-manifest-row', detail: `${where}: no name` });
          continue;
        }
        const discrete = String(values.discrete ?? values.label ?? values.emotion ?? '').trim();
        const valenceText = String(values.valence ?? values.val ?? '').trim();
        const emotion = discrete ? LABELS[discrete.toLowerCase()] : undefined;
        if (discrete && !emotion) {
          rejects.push({
            uri: file,
            reason: 'bad-manifest-row',
            detail: `${where}: label ${JSON.stringify(discrete)} is not one of MER's (${Object.keys(LABELS).join(', ')})`,
          });
          continue;
        }
        const valence = valenceText === '' ? undefined : Number(valenceText);
        if (valence !== undefined && !Number.isFinite(valence)) {
          rejects.push({ uri: file, reason: 'bad-manifest-row', detail: `${where}: valence ${JSON.stringify(valenceText)} is not a number` });
          continue;
        }
        if (labelled.has(name)) {
          rejects.push({ uri: file, reason: 'duplicate-row', detail: `${where}: ${name} is labelled already (${labelled.get(name)!.where})` });
          continue;
        }
        labelled.set(name, {
          where,
          fields: {
            ...(emotion ? { label: emotion } : {}),
            ...(valence !== undefined ? { valence: rescale(valence, config.valenceScale[0], config.valenceScale[1]) } : {}),
            labelSource: { corpus: 'mer', label: discrete || 'unlabelled', extra: { ...(valence !== undefined ? { valence } : {}), file } },
            ...(split ? { officialSplit: split } : {}),
          },
        });
      }
    }

    const transcriptFiles = config.transcripts ?? top.filter((f) => /transcription.*\.csv$/i.test(f)).sort();
    const texts = new Map<string, { chinese?: string; english?: string }>();
    for (const file of transcriptFiles) {
      for (const { line, values } of await csvRows(root, file, rejects)) {
        const name = String(values.name ?? '').trim();
        if (!name) {
          rejects.push({ uri: file, reason: 'bad-manifest-row', detail: `${file} line ${line}: no name` });
          continue;
        }
        const chinese = String(values.chinese ?? '').trim();
        const english = String(values.english ?? '').trim();
        texts.set(name, { ...(chinese ? { chinese } : {}), ...(english ? { english } : {}) });
      }
    }

    for (const [name, { where }] of labelled)
      if (!clips.has(name)) rejects.push({ uri: `${name}.mp4`, reason: 'missing', detail: `${where} names ${name}, which has no clip in ${folder}` });
    for (const [name, uri] of [...clips].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const text = texts.get(name);
      const fields = labelled.get(name)?.fields ?? {};
      entries.push({
        path: join(root, uri),
        uri,
        name,
        manifest: {
          ...fields,
          group: `mer-${name}`,
          ...(text?.chinese ? { text: text.chinese, textLanguage: 'zh' } : text?.english ? { text: text.english, textLanguage: 'en' } : {}),
          ...(text?.chinese && text.english ? { textEn: text.english } : {}),
        },
      });
    }
    return { entries, rejects };
  },
};

function splitFromName(file: string): 'train' | 'validation' | 'test' | undefined {
  const lower = file.toLowerCase();
  if (/\btrain|train[-_]/.test(lower)) return 'train';
  if (/\b(val|dev)|(val|dev)[-_]/.test(lower)) return 'validation';
  if (/\btest|test\d?[-_]/.test(lower)) return 'test';
  return undefined;
}

async function csvRows(root: string, file: string, rejects: AdapterReject[]): Promise<{ line: number; values: Record<string, unknown> }[]> {
  let text: string;
  try {
    text = await readFile(join(root, file), 'utf8');
  } catch {
    rejects.push({ uri: file, reason: 'not-in-layout', detail: `${file} cannot be read under ${root}` });
    return [];
  }
  const parsed = parseCsv(text);
  for (const error of parsed.errors) rejects.push({ uri: file, reason: 'bad-manifest-row', detail: `${file}: ${error.detail}` });
  return parsed.records.map(({ line, values }) => ({ line, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k.trim().toLowerCase(), v])) }));
}
