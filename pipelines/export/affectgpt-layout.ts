// AffectGPT's dataset root (the MER-Caption+ / OV-MERD loaders of MERTools' MER2025_Track23): per
// split a folder with track2_train_<corpus>.csv (`name,openset`), track3_train_<corpus>.csv
// (`name,reason`), subtitle_chieng.csv (`name,english`, and `chinese` when a transcript is Chinese),
// video/<name>.mp4, audio/<name>.wav and openface_face/<name>/<name>.npy. The loader has no split
// column, so each split is a root of its own. It looks every open-set name up in the other two files,
// so a name is written in all three or in none: skips (token budget, missing media) are per name.
import { SPLITS } from '../../schemas/sample.ts';
import type { CorpusRow } from './corpus-rows.ts';
import { OVER_BUDGET } from './export-tally.ts';
import { faceStackNpy } from './face-stack.ts';
import type { LayoutInput } from './layout-input.ts';
import type { MediaPlacer } from './media-files.ts';
import { csvTable, opensetWord, pythonList } from './text-files.ts';
import { affectGptTokens } from './token-count.ts';
import type { AffectGptCorpus } from './formats.ts';

/** The tasks this layout has a file for; other rows are counted as not exported. */
export const AFFECTGPT_TASKS: ReadonlySet<string> = new Set(['description', 'ov_labels']);

export interface AffectGptInput extends LayoutInput {
  readonly corpus: AffectGptCorpus;
}

interface NamedSegment {
  description?: CorpusRow;
  labels?: CorpusRow;
}

const isChinese = (language: string) => /^zh\b/i.test(language) || /^(cmn|yue|chi|zho)$/i.test(language);

/** The English subtitle of a row: its translation, or the transcript when it is English; empty otherwise. */
function englishOf(row: CorpusRow): string {
  if (row.transcriptEn !== null) return row.transcriptEn;
  return /^en\b/i.test(row.language) ? row.transcript : '';
}

export async function writeAffectGpt(input: AffectGptInput): Promise<string[]> {
  const { media, tally } = input;
  const files: string[] = [];
  for (const split of SPLITS) {
    const segments = new Map<string, NamedSegment>();
    for (const row of input.rows) {
      if (row.split !== split) continue;
      const name = input.names.get(row.segmentId)!;
      const segment = segments.get(name) ?? {};
      if (row.task === 'description') segment.description = row;
      else segment.labels = row;
      segments.set(name, segment);
    }
    const opensets: string[][] = [];
    const reasons: string[][] = [];
    const subtitles: { name: string; row: CorpusRow }[] = [];
    for (const name of [...segments.keys()].sort(codepointOrder)) {
      const { description, labels } = segments.get(name)!;
      const rows = (description ? 1 : 0) + (labels ? 1 : 0);
      if (!description || !labels) {
        tally.skip(split, description ? 'no-labels-row' : 'no-description-row', rows);
        continue;
      }
      const reason = description.conversations[1]?.value ?? '';
      const words = labels.openset.map(opensetWord).filter(Boolean);
      const tokens = affectGptTokens(englishOf(description), reason, words);
      if (input.maxTokens !== null && tokens > input.maxTokens) {
        tally.skip(split, OVER_BUDGET, rows);
        continue;
      }
      const problem =
        (await media.problem('video', description.video)) ??
        (await media.problem('audio', description.audio)) ??
        (description.faceCrops.length === 0 ? 'no-face-crops' : null) ??
        (await firstProblem(media, description.faceCrops));
      if (problem) {
        tally.skip(split, problem, rows);
        continue;
      }
      await media.place('video', description.video, `${split}/video/${name}.mp4`);
      await media.place('audio', description.audio, `${split}/audio/${name}.wav`);
      await media.write('faces', `${split}/openface_face/${name}/${name}.npy`, await faceStackNpy(description.faceCrops.map((c) => media.sourcePath(c))));
      opensets.push([name, pythonList(words)]);
      reasons.push([name, reason]);
      subtitles.push({ name, row: description });
      tally.written(split, 'description', tokens);
      tally.written(split, 'ov_labels', tokens);
    }
    const chinese = subtitles.some((s) => isChinese(s.row.language));
    const subtitleTable = chinese
      ? csvTable(
          ['name', 'chinese', 'english'],
          subtitles.map((s) => [s.name, isChinese(s.row.language) ? s.row.transcript : '', englishOf(s.row)]),
        )
      : csvTable(
          ['name', 'english'],
          subtitles.map((s) => [s.name, englishOf(s.row)]),
        );
    const written: [string, string][] = [
      [`${split}/track2_train_${input.corpus}.csv`, csvTable(['name', 'openset'], opensets)],
      [`${split}/track3_train_${input.corpus}.csv`, csvTable(['name', 'reason'], reasons)],
      [`${split}/subtitle_chieng.csv`, subtitleTable],
    ];
    for (const [path, text] of written) {
      await input.writeText(path, text);
      files.push(path);
    }
  }
  return files;
}

async function firstProblem(media: MediaPlacer, crops: readonly string[]): Promise<string | null> {
  for (const crop of crops) {
    const problem = await media.problem('faces', crop);
    if (problem) return problem;
  }
  return null;
}

function codepointOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
