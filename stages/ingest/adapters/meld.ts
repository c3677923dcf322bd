// MELD (Poria et al. 2019; Friends): `train_sent_emo.csv`, `dev_sent_emo.csv`, `test_sent_emo.csv`
// with `Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID, Season, Episode,
// StartTime, EndTime`; one clip per utterance, `dia{D}_utt{U}.mp4`, in a folder per split (as
// MELD.Raw ships them: train_splits, dev_splits_complete, output_repeated_splits_test, directly or
// under train/, dev/, test/). Emotion (anger disgust fear joy neutral sadness surprise) and
// sentiment per utterance, the transcript is the Utterance, the speaker a character, the group the
// dialogue; the CSV a row comes from is its official split (dev = validation). Several people are on
// screen: the face-track stage finds who speaks.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Emotion } from '../../../schemas/emotion.ts';
import { parseCsv } from '../manifest.ts';
import { filesUnder, type AdapterEntry, type AdapterReject, type CorpusAdapter } from './adapter.ts';

const EMOTIONS: Record<string, Emotion> = {
  anger: 'angry',
  disgust: 'disgusted',
  fear: 'fearful',
  joy: 'happy',
  neutral: 'neutral',
  sadness: 'sad',
  surprise: 'surprised',
};
const SENTIMENTS = new Set(['positive', 'neutral', 'negative']);
const SPLITS = [
  { split: 'train', csv: 'train_sent_emo.csv', folders: ['train_splits', 'train/train_splits'] },
  { split: 'validation', csv: 'dev_sent_emo.csv', folders: ['dev_splits_complete', 'dev/dev_splits_complete', 'dev_splits'] },
  { split: 'test', csv: 'test_sent_emo.csv', folders: ['output_repeated_splits_test', 'test/output_repeated_splits_test', 'test_splits'] },
] as const;
const REQUIRED = ['Utterance', 'Speaker', 'Emotion', 'Sentiment', 'Dialogue_ID', 'Utterance_ID'];

const MeldConfig = z
  .object({
    /** Which of the three CSVs to read. Default all three. */
    splits: z
      .array(z.enum(['train', 'validation', 'test']))
      .min(1)
      .default(['train', 'validation', 'test']),
  })
  .strict();
export type MeldConfig = z.infer<typeof MeldConfig>;

export const meld: CorpusAdapter<MeldConfig> = {
  name: 'meld',
  configSchema: MeldConfig,
  layout: 'train_sent_emo.csv / dev_sent_emo.csv / test_sent_emo.csv and dia{D}_utt{U}.mp4 in train_splits, dev_splits_complete, output_repeated_splits_test',
  async list(root, config) {
    const entries: AdapterEntry[] = [];
    const rejects: AdapterReject[] = [];
    const claimed = new Set<string>();
    const folders: string[] = [];
    for (const { split, csv, folders: candidates } of SPLITS.filter((s) => config.splits.includes(s.split))) {
      let text: string;
      try {
        text = await readFile(join(root, csv), 'utf8');
      } catch {
        rejects.push({ uri: csv, reason: 'not-in-layout', detail: `${csv} is missing under ${root}: MELD's annotations for the ${split} split` });
        continue;
      }
      const files = new Map<string, string>();
      for (const candidate of candidates) {
        const listed = await filesUnder(root, candidate);
        if (listed.length === 0) continue;
        folders.push(candidate);
        for (const uri of listed) files.set(uri.slice(candidate.length + 1), uri);
        break;
      }
      const parsed = parseCsv(text);
      for (const error of parsed.errors) rejects.push({ uri: csv, reason: 'bad-manifest-row', detail: `${csv}: ${error.detail}` });
      const header = parsed.records[0] ? Object.keys(parsed.records[0].values) : [];
      const missingColumns = REQUIRED.filter((c) => parsed.records.length > 0 && !header.includes(c));
      if (missingColumns.length) {
        rejects.push({ uri: csv, reason: 'bad-manifest-row', detail: `${csv} lacks the column(s) ${missingColumns.join(', ')} (found ${header.join(', ')})` });
        continue;
      }
      for (const { line, values } of parsed.records) {
        const v = values as Record<string, string>;
        const where = `${csv} line ${line}`;
        const emotion = EMOTIONS[v.Emotion?.trim().toLowerCase()];
        const sentiment = v.Sentiment?.trim().toLowerCase();
        const dialogue = v.Dialogue_ID?.trim();
        const utterance = v.Utterance_ID?.trim();
        if (!/^\d+$/.test(dialogue ?? '') || !/^\d+$/.test(utterance ?? '')) {
          rejects.push({
            uri: csv,
            reason: 'bad-manifest-row',
            detail: `${where}: Dialogue_ID ${JSON.stringify(dialogue)} / Utterance_ID ${JSON.stringify(utterance)} are not numbers`,
          });
          continue;
        }
        const file = `dia${dialogue}_utt${utterance}.mp4`;
        if (!emotion || !SENTIMENTS.has(sentiment)) {
          rejects.push({
            uri: csv,
            reason: 'bad-manifest-row',
            detail: `${where} (${file}): emotion ${JSON.stringify(v.Emotion)} / sentiment ${JSON.stringify(v.Sentiment)} are not MELD's`,
          });
          continue;
        }
        const uri = files.get(file);
        if (!uri) {
          rejects.push({ uri: `${split}/${file}`, reason: 'missing', detail: `${where} names ${file}, which is not in ${candidates.join(' / ')}` });
          continue;
        }
        claimed.add(uri);
        entries.push({
          path: join(root, uri),
          uri,
          name: `${split}_${file.replace(/\.mp4$/, '')}`,
          manifest: {
            label: emotion,
            speaker: `meld-${v.Speaker.trim()}`,
            group: `meld-${split}-dia${dialogue}`,
            text: v.Utterance.trim(),
            textLanguage: 'en',
            sentiment: sentiment as 'positive' | 'neutral' | 'negative',
            labelSource: {
              corpus: 'meld',
              label: v.Emotion.trim(),
              extra: {
                sentiment,
                dialogue: Number(dialogue),
                utterance: Number(utterance),
                ...(v.Season ? { season: v.Season.trim() } : {}),
                ...(v.Episode ? { episode: v.Episode.trim() } : {}),
              },
            },
            officialSplit: split,
          },
        });
      }
    }
    // Every file in the split folders is accounted for: a clip no CSV row names is a reject.
    for (const folder of folders) {
      for (const uri of await filesUnder(root, folder))
        if (!claimed.has(uri)) rejects.push({ uri, reason: 'not-in-annotations', detail: `${uri} is in no MELD CSV row` });
    }
    return { entries, rejects };
  },
};
