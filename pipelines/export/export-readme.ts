// The README.md inside an export: what the folder holds and the lines of trainer config that read it.
import type { ExportFormat } from './formats.ts';
import type { AffectGptCorpus, LlavaStyle, MediaMode } from './formats.ts';
import { FACE_SIZE } from './face-stack.ts';

export interface ReadmeFacts {
  readonly format: ExportFormat;
  readonly corpus: string;
  readonly media: MediaMode;
  readonly maxTokens: number | null;
  readonly tokenEstimate: string;
  readonly affectgptCorpus: AffectGptCorpus;
  readonly llavaStyle: LlavaStyle;
}

const MEDIA_NOTE: Record<MediaMode, string> = {
  hardlink:
    "Media files are hard links to the out folder's files (copies where the two are on different file systems): the folder is self-contained; copy it with `cp -a` or `rsync -H`.",
  copy: 'Media files are copies: the folder is self-contained.',
  symlink:
    "Media files are symlinks to the out folder's files (absolute paths): keep the out folder where it is, or re-export with `--media hardlink` or `copy`.",
  none: "Media paths are relative to the out folder (`media/…`), not to this folder: point the trainer's media folder at the out folder.",
};

export function exportReadme(facts: ReadmeFacts): string {
  const budget = facts.maxTokens === null ? 'No token budget was applied.' : `Samples over ${facts.maxTokens} tokens were left out (${facts.tokenEstimate}).`;
  const head = `# ${facts.corpus}: ${facts.format} export\n\nWritten by \`emoforge export --format ${facts.format}\`; \`export-report.json\` counts what was written and what was skipped, and why. ${budget} ${MEDIA_NOTE[facts.media]}\n\n`;
  return `${head + body(facts)}\n`;
}

function body(facts: ReadmeFacts): string {
  switch (facts.format) {
    case 'affectgpt':
      return `AffectGPT (MERTools \`MER2025/MER2025_Track23\`). Each split is a dataset root of its own (the loader has no split column, so validation and test never land in training): \`train/\`, \`validation/\`, \`test/\`, each with

- \`track2_train_${facts.affectgptCorpus}.csv\` (\`name,openset\`, a Python-style list; \`[]\` is read as neutral) and \`track3_train_${facts.affectgptCorpus}.csv\` (\`name,reason\`);
- \`subtitle_chieng.csv\` (\`name,english\`, with \`chinese\` before \`english\` when a transcript is Chinese);
- \`video/<name>.mp4\` (the segment's own span), \`audio/<name>.wav\` (16 kHz mono), \`openface_face/<name>/<name>.npy\` (uint8, T x ${FACE_SIZE} x ${FACE_SIZE} x 3, BGR as in the MER releases: the segment's face crops in time order; frames without a face are not in the stack, and a segment with no face crop at all is left out, counted as \`no-face-crops\`).

Every name is in all three CSVs and has all three media files, or is in none (skips are per name). In \`config.py\` point the dataset at the split root:

\`\`\`python
DATA_DIR = {'${facts.affectgptCorpus === 'ovmerd' ? 'OVMERD' : 'MERCaptionPlus'}': '/path/to/this/folder/train'}
PATH_TO_TRANSCRIPTIONS = {'${facts.affectgptCorpus === 'ovmerd' ? 'OVMERD' : 'MERCaptionPlus'}': os.path.join(DATA_DIR['${facts.affectgptCorpus === 'ovmerd' ? 'OVMERD' : 'MERCaptionPlus'}'], 'subtitle_chieng.csv')}
\`\`\`

(\`PATH_TO_RAW_VIDEO\`, \`PATH_TO_RAW_AUDIO\` and \`PATH_TO_RAW_FACE\` follow from \`DATA_DIR\` as \`video\`, \`audio\` and \`openface_face\`.) Then train with a \`${facts.affectgptCorpus === 'ovmerd' ? 'ovmerd' : 'mercaptionplus'}_*\` config from \`train_configs/\`.`;
    case 'emer':
      return `The older EMER loader (AffectGPT repo, 2023–24, \`Emotion_Reasoning_Dataset\`). Each split is a root of its own: \`train/\`, \`validation/\`, \`test/\`, each with \`gt-eng.csv\` (\`names,subtitles,reasons\`: the description rows) and \`video-process/<name>.avi\` (the segment's own span, MPEG-4 video with its 16 kHz mono PCM audio inside: the loader reads both from the one file). In \`train_configs/multimodal_llama_stage3_finetune.yaml\`:

\`\`\`yaml
emotion_reason_instruct:
  build_info:
    ann_path: /path/to/this/folder/train/gt-eng.csv
    vis_root: /path/to/this/folder/train/video-process
\`\`\``;
    case 'llamafactory':
      return `LLaMA-Factory. \`dataset_info.json\` declares \`emoforge_train\`, \`emoforge_validation\` and \`emoforge_test\` (ShareGPT formatting, OpenAI-style role tags, top-level \`videos\` and \`audios\` lists); each row's first user message has one \`<video>\` and one \`<audio>\` per listed file, \`<video>\` first (what Qwen2.5-Omni's \`use_audio_in_video\` expects). Media paths are relative to this folder, LLaMA-Factory's default \`media_dir\`.

\`\`\`yaml
dataset_dir: /path/to/this/folder
dataset: emoforge_train
eval_dataset: emoforge_validation${facts.media === 'none' ? '\nmedia_dir: /path/to/the/out/folder' : ''}
\`\`\``;
    case 'llava':
      return llavaBody(facts);
    case 'jsonl':
      return `OpenAI-style chat JSONL: \`train.jsonl\`, \`validation.jsonl\`, \`test.jsonl\`, one \`{"messages": [{"role", "content"}], "videos": [...], "audios": [...], "metadata": {...}}\` a line. The first user message has one \`<video>\` / \`<audio>\` per listed file, \`<video>\` first; media paths are relative to this folder${facts.media === 'none' ? ' (here: to the out folder)' : ''}. The keys are those of ms-swift's standard format (\`messages\`, \`videos\`, \`audios\`; \`--dataset /path/to/this/folder/train.jsonl\`, run from this folder so the relative paths resolve) and of a LLaMA-Factory entry with \`columns: {messages: messages, videos: videos, audios: audios}\` and OpenAI tags; neither trainer was run on it here.`;
  }
}

function llavaBody(facts: ReadmeFacts): string {
  const folder = facts.media === 'none' ? '/path/to/the/out/folder' : '/path/to/this/folder';
  switch (facts.llavaStyle) {
    case 'llava-next':
      return `LLaVA-NeXT / LLaVA-Video (\`--style llava-next\`): \`train.json\`, \`validation.json\`, \`test.json\`, each an array of \`{"id", "video", "conversations"}\`; the video is the \`<image>\` token of the first human turn (a literal \`<video>\` would train without the video), and there is no audio input.

\`\`\`
--data_path /path/to/this/folder/train.json --video_folder ${folder}
\`\`\``;
    case 'qwen-vl':
      return `Qwen2-VL / Qwen2.5-VL finetune repos (\`--style qwen-vl\`): \`train.json\`, \`validation.json\`, \`test.json\`, each an array of \`{"id", "video", "conversations"}\` with one \`<video>\` in the first human turn and no \`<audio>\` (these repos have no audio input and would leave it as text).

\`\`\`
--data_path /path/to/this/folder/train.json --image_folder ${folder}
\`\`\``;
    default:
      return `LLaVA-style JSON with audio (\`--style video-audio\`, Emotion-Qwen / VidEmo style): \`train.json\`, \`validation.json\`, \`test.json\`, each an array of \`{"id", "video", "audio", "conversations"}\`, the first human turn starting \`<video>\\n<audio>\\n\` (one placeholder per media file the row names). Media paths are relative to ${facts.media === 'none' ? 'the out folder' : 'this folder'}.

\`\`\`
--data_path /path/to/this/folder/train.json --video_folder ${folder}
\`\`\``;
  }
}
