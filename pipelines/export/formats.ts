// The export formats and the option values the command line checks: this module imports nothing, so
// `emoforge export` refuses bad usage before it loads the exporters (sharp, the tokenizer, Parquet).
export const FORMATS = ['affectgpt', 'emer', 'llamafactory', 'llava', 'jsonl'] as const;
export type ExportFormat = (typeof FORMATS)[number];

export type MediaMode = 'none' | 'hardlink' | 'copy' | 'symlink';
export const MEDIA_MODES: readonly MediaMode[] = ['none', 'hardlink', 'copy', 'symlink'];

export const AFFECTGPT_CORPORA = ['mercaptionplus', 'ovmerd'] as const;
export type AffectGptCorpus = (typeof AFFECTGPT_CORPORA)[number];

export const LLAVA_STYLES = ['video-audio', 'llava-next', 'qwen-vl'] as const;
export type LlavaStyle = (typeof LLAVA_STYLES)[number];

/** Bad export options (an unknown format, a dest inside shards/, a foreign dest): the command's usage error. */
export class ExportOptionError extends Error {
  override name = 'ExportOptionError';
}
