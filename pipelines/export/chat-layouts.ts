// The chat-style layouts: LLaVA-style JSON (three placeholder styles), LLaMA-Factory's ShareGPT
// dataset folder, and OpenAI-style JSONL. Each rewrites the first human turn's media placeholders for
// its trainer (the rows carry `<video>\n<audio>\n` or AffectGPT's slots, as the corpus was written), so
// a placeholder appears once per media file the row lists, and places each segment's own media under
// `media/` by name.
import { SPLITS, type Turn } from '../../schemas/sample.ts';
import type { CorpusRow } from './corpus-rows.ts';
import { OVER_BUDGET } from './export-tally.ts';
import type { LayoutInput } from './layout-input.ts';
import { conversationTokens } from './token-count.ts';
import type { LlavaStyle } from './formats.ts';

/**
 * LLaVA placeholder styles: video-audio (`<video>\n<audio>\n`, Emotion-Qwen / VidEmo style, rows with
 * `video` and `audio`), llava-next (LLaVA-NeXT / LLaVA-Video: `<image>` stands for the video, no
 * audio), qwen-vl (Qwen2-VL / Qwen2.5-VL finetune repos: `<video>`, no audio).
 */

export type ChatInput = LayoutInput;

/** What the corpus put before the subtitle of the first human turn, by template (llava, affectgpt). */
const MEDIA_PREFIX = /^(?:(?:<video>|<audio>)\n)+|^<Audio><AudioHere><\/Audio> <Video><ImageHere><\/Video> /;

/** The turns with the first human turn's media placeholders removed and `prefix` put in their place. */
export function withPlaceholders(turns: readonly Turn[], prefix: string): Turn[] {
  return turns.map((turn, index) => (index === 0 ? { from: turn.from, value: prefix + turn.value.replace(MEDIA_PREFIX, '') } : { ...turn }));
}

interface PlacedMedia {
  video: string | null;
  audio: string | null;
}

/** The segment's own video and WAV under media/ (paths relative to the export; relative to OUT with --media none). */
async function placeMedia(input: ChatInput, row: CorpusRow, audio: boolean): Promise<PlacedMedia> {
  const name = input.names.get(row.segmentId)!;
  return {
    video: await input.media.place('video', row.video, `media/video/${name}.mp4`),
    audio: audio ? await input.media.place('audio', row.audio, `media/audio/${name}.wav`) : null,
  };
}

/** Rows of one split that fit the budget, with their rewritten turns. */
async function* splitRows(input: ChatInput, split: (typeof SPLITS)[number], audio: boolean, prefix: (m: PlacedMedia) => string) {
  for (const row of input.rows) {
    if (row.split !== split) continue;
    const probe = withPlaceholders(row.conversations, prefix({ video: row.video, audio: audio ? row.audio : null }));
    const tokens = conversationTokens(probe);
    if (input.maxTokens !== null && tokens > input.maxTokens) {
      input.tally.skip(split, OVER_BUDGET);
      continue;
    }
    const media = await placeMedia(input, row, audio);
    input.tally.written(split, row.task, tokens);
    yield { row, media, turns: withPlaceholders(row.conversations, prefix(media)), tokens };
  }
}

const jsonArray = (entries: readonly string[]) => (entries.length ? `[\n${entries.join(',\n')}\n]\n` : '[]\n');
const openAiRole = (turn: Turn) => (turn.from === 'human' ? 'user' : 'assistant');

export async function writeLlava(input: ChatInput, style: LlavaStyle): Promise<string[]> {
  const audio = style === 'video-audio';
  const videoToken = style === 'llava-next' ? '<image>' : '<video>';
  const prefix = (m: PlacedMedia) => (m.video ? `${videoToken}\n` : '') + (m.audio ? '<audio>\n' : '');
  const files: string[] = [];
  for (const split of SPLITS) {
    const entries: string[] = [];
    for await (const { row, media, turns } of splitRows(input, split, audio, prefix)) {
      const entry: Record<string, unknown> = { id: row.id };
      if (media.video) entry.video = media.video;
      if (audio && media.audio) entry.audio = media.audio;
      entry.conversations = turns;
      entries.push(JSON.stringify(entry));
    }
    await input.writeText(`${split}.json`, jsonArray(entries));
    files.push(`${split}.json`);
  }
  return files;
}

/** The dataset_info.json entry name of a split. */
export const llamaFactoryDataset = (split: string) => `emoforge_${split}`;

export async function writeLlamaFactory(input: ChatInput): Promise<string[]> {
  // Qwen2.5-Omni's use_audio_in_video wants each <video> followed by its <audio>.
  const prefix = (m: PlacedMedia) => (m.video ? '<video>' : '') + (m.audio ? '<audio>' : '') + (m.video || m.audio ? '\n' : '');
  const files: string[] = [];
  const info: Record<string, unknown> = {};
  for (const split of SPLITS) {
    const entries: string[] = [];
    for await (const { media, turns } of splitRows(input, split, true, prefix)) {
      entries.push(
        JSON.stringify({
          messages: turns.map((t) => ({ role: openAiRole(t), content: t.value })),
          videos: media.video ? [media.video] : [],
          audios: media.audio ? [media.audio] : [],
        }),
      );
    }
    await input.writeText(`${split}.json`, jsonArray(entries));
    files.push(`${split}.json`);
    info[llamaFactoryDataset(split)] = {
      file_name: `${split}.json`,
      formatting: 'sharegpt',
      columns: { messages: 'messages', videos: 'videos', audios: 'audios' },
      tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' },
    };
  }
  await input.writeText('dataset_info.json', `${JSON.stringify(info, null, 2)}\n`);
  return ['dataset_info.json', ...files];
}

/** OpenAI-style messages with the media lists at the top level (`videos`, `audios`: ms-swift, LLaMA-Factory's openai tags) and the row's metadata. */
export async function writeJsonl(input: ChatInput): Promise<string[]> {
  const prefix = (m: PlacedMedia) => (m.video ? '<video>' : '') + (m.audio ? '<audio>' : '') + (m.video || m.audio ? '\n' : '');
  const files: string[] = [];
  for (const split of SPLITS) {
    const lines: string[] = [];
    for await (const { row, media, turns, tokens } of splitRows(input, split, true, prefix)) {
      lines.push(
        JSON.stringify({
          messages: turns.map((t) => ({ role: openAiRole(t), content: t.value })),
          videos: media.video ? [media.video] : [],
          audios: media.audio ? [media.audio] : [],
          metadata: {
            id: row.id,
            name: input.names.get(row.segmentId),
            task: row.task,
            split: row.split,
            clip_id: row.clipId,
            segment_id: row.segmentId,
            start: row.start,
            end: row.end,
            primary_emotion: row.primaryEmotion,
            openset: row.openset,
            teacher: row.teacher,
            model: row.model,
            template: row.template,
            tokens,
          },
        }),
      );
    }
    await input.writeText(`${split}.jsonl`, lines.map((l) => `${l}\n`).join(''));
    files.push(`${split}.jsonl`);
  }
  return files;
}
