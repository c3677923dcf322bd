// The older EMER layout (AffectGPT repo, 2023–24, Video-LLaMA based: `Emotion_Reasoning_Dataset`):
// per split a root with gt-eng.csv (`names,subtitles,reasons`) and video-process/<name>.avi, one AVI
// that carries the audio too (the loader reads frames and sound from the same file). The AVI is
// made here from the segment's own cut and its 16 kHz mono WAV: MPEG-4 Part 2 video, PCM audio,
// bit-exact flags and one thread, so a re-run writes the same bytes.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { SPLITS } from '../../schemas/sample.ts';
import { FatalError } from '../errors.ts';
import type { CorpusRow } from './corpus-rows.ts';
import { OVER_BUDGET } from './export-tally.ts';
import type { LayoutInput } from './layout-input.ts';
import { csvTable } from './text-files.ts';
import { emerTokens } from './token-count.ts';

const run = promisify(execFile);

export type EmerInput = LayoutInput;

/** The English subtitle of a row: its translation, or the transcript when it is English; empty otherwise. */
function englishOf(row: CorpusRow): string {
  if (row.transcriptEn !== null) return row.transcriptEn;
  return /^en\b/i.test(row.language) ? row.transcript : '';
}

export async function writeEmer(input: EmerInput): Promise<string[]> {
  const files: string[] = [];
  for (const split of SPLITS) {
    const table: string[][] = [];
    const descriptions = input.rows.filter((r) => r.split === split && r.task === 'description');
    const named = descriptions.map((row) => ({ row, name: input.names.get(row.segmentId)! })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { row, name } of named) {
      const subtitle = englishOf(row);
      const reason = row.conversations[1]?.value ?? '';
      const tokens = emerTokens(subtitle, reason);
      if (input.maxTokens !== null && tokens > input.maxTokens) {
        input.tally.skip(split, OVER_BUDGET);
        continue;
      }
      const problem = (await input.media.problem('video', row.video)) ?? (await input.media.problem('audio', row.audio));
      if (problem) {
        input.tally.skip(split, problem);
        continue;
      }
      const avi = `${split}/video-process/${name}.avi`;
      await input.media.make('video', avi, (target) => muxAvi(input.media.sourcePath(row.video!), input.media.sourcePath(row.audio!), target));
      table.push([name, subtitle, reason]);
      input.tally.written(split, 'description', tokens);
    }
    const path = `${split}/gt-eng.csv`;
    await input.writeText(path, csvTable(['names', 'subtitles', 'reasons'], table));
    files.push(path);
  }
  return files;
}

/** The segment's video and its WAV in one AVI (MPEG-4 Part 2 + PCM s16le 16 kHz mono), bit-exact. */
async function muxAvi(video: string, audio: string, target: string): Promise<void> {
  const args = [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-i',
    `file:${resolve(video)}`,
    '-i',
    `file:${resolve(audio)}`,
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-c:v',
    'mpeg4',
    '-q:v',
    '3',
    '-threads',
    '1',
    '-c:a',
    'pcm_s16le',
    '-ar',
    '16000',
    '-ac',
    '1',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-flags',
    '+bitexact',
    '-f',
    'avi',
    `file:${resolve(target)}`,
  ];
  try {
    await run('ffmpeg', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new FatalError(
      `ffmpeg could not write ${target} from ${video}: ${String((error as { stderr?: string }).stderr ?? error)
        .trim()
        .split('\n')
        .slice(-2)
        .join(' ')}`,
      { cause: error },
    );
  }
}
