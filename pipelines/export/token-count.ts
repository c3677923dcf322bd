// Token counts for the export budgets. The trainers count with Qwen2.5's tokenizer, which does not
// ship in any package we depend on; o200k_base (gpt-tokenizer) is the estimate, and
// `scripts/bench/export-tokens.ts` measures it against Qwen's real BPE (README: Export for existing
// trainers). The count is scaled up by the measured worst under-count so that a kept sample fits.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/**
 * o200k counts times this factor, rounded up. Measured with scripts/bench/export-tokens.ts against
 * Qwen3's tokenizer (the Qwen2.5 BPE vocabulary and pre-tokenizer) on the demo corpus and the export
 * test corpus: o200k under-counts English samples by 2% on average and 8.0% at worst (AffectGPT
 * prompt + target: 5.5% at worst); x1.1 put no measured sample below its real count. Chinese text is
 * over-counted (a spot check of 7 sentences: 58 vs 48), so the estimate errs high there.
 */
export const QWEN_SAFETY_FACTOR = 1.1;

export const TOKEN_ESTIMATE = `o200k_base tokens (gpt-tokenizer) x ${QWEN_SAFETY_FACTOR}, rounded up: an estimate of Qwen2.5's count that errs high`;

/** Estimated Qwen2.5 tokens of a text. */
export function qwenTokens(text: string): number {
  return text === '' ? 0 : Math.ceil(countTokens(text) * QWEN_SAFETY_FACTOR);
}

/** Estimated tokens of a conversation: the text of every turn (placeholders as their text). */
export function conversationTokens(turns: readonly { readonly value: string }[]): number {
  return qwenTokens(turns.map((t) => t.value).join('\n'));
}

// AffectGPT (MER2025_Track23/my_affectgpt/datasets/datasets/base_dataset.py) wraps every sample in a
// prompt that depends on the modality config; the budget counts the longest of the shipped ones
// (merged audio-video slot, audio, faces and frames), so a kept name fits every config. Each
// `<…Here>` slot is one added special token of its tokenizer (one query token in the shipped configs).
const AFFECTGPT_SLOTS = 4;
const AFFECTGPT_PROMPT_BEFORE =
  '###Human: The audio and video merged info is: <Multi></Multi>. The audio content is as follows: <Audio></Audio>. ' +
  'Meanwhile, we uniformly sample raw frames from the video and extract faces from these frames: <Video></Video>. ' +
  'Meanwhile, we uniformly sample raw frames from the video: <Video></Video>. The subtitle of this video is: <Subtitle>';
const AFFECTGPT_PROMPT_AFTER = '</Subtitle>. Now, please answer my question based on all the provided information. ';
const AFFECTGPT_ASSISTANT = ' ###Assistant: ';
const AFFECTGPT_DESCRIPTION_QUESTION = "Please infer the person's emotional state and provide your reasoning process.";
const AFFECTGPT_OVLABEL_QUESTION = 'Please recognize all possible emotional states of the character.';

/** The texts AffectGPT tokenizes for one name (prompt, then target): its description sample and its open-set sample. */
export function affectGptTexts(subtitle: string, reason: string, openset: readonly string[]): { prompt: string; target: string }[] {
  const labels = (openset.length > 0 ? openset : ['neutral']).join(', ');
  const prompt = (question: string) => `${AFFECTGPT_PROMPT_BEFORE}${subtitle}${AFFECTGPT_PROMPT_AFTER}${question}${AFFECTGPT_ASSISTANT}`;
  return [
    { prompt: prompt(AFFECTGPT_DESCRIPTION_QUESTION), target: `${reason}###` },
    { prompt: prompt(AFFECTGPT_OVLABEL_QUESTION), target: `The character's emotional state is ${labels}.###` },
  ];
}

/** Estimated tokens of a name in AffectGPT: the larger of its two samples (prompt + target), each slot one token. */
export function affectGptTokens(subtitle: string, reason: string, openset: readonly string[]): number {
  return Math.max(...affectGptTexts(subtitle, reason, openset).map((t) => qwenTokens(t.prompt) + AFFECTGPT_SLOTS + qwenTokens(t.target)));
}
