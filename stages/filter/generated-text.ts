// What the teachers wrote for a segment, and the text checks over it: refusals and chat boilerplate,
// and degenerate repetition. Text the speaker said (the transcript, or a quotation of it) is not the
// teacher's voice: "I cannot believe it!" in a transcript is no refusal.
import type { Segment } from '../../schemas/records.ts';

/** One piece of generated text and where it sits in the record. */
export interface GeneratedText {
  /** e.g. "description", "qa[2].answer", "rationale.steps[0]" */
  readonly field: string;
  readonly text: string;
}

/** Every piece of teacher-written text: description, QA questions, options and answers, rationale steps. */
export function generatedTexts(segment: Segment): GeneratedText[] {
  const texts: GeneratedText[] = [];
  if (segment.description) texts.push({ field: 'description', text: segment.description.text });
  (segment.qa ?? []).forEach((item, i) => {
    texts.push({ field: `qa[${i}].question`, text: item.question });
    (item.options ?? []).forEach((option, k) => texts.push({ field: `qa[${i}].options[${k}]`, text: option }));
    texts.push({ field: `qa[${i}].answer`, text: item.answer });
  });
  (segment.rationale?.steps ?? []).forEach((step, i) => texts.push({ field: `rationale.steps[${i}]`, text: step }));
  return texts;
}

/** Lower case, typographic quotes made plain, everything but letters, digits and apostrophes a single space. */
export function normaliseText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[‘’ʼ]/g, "'")
    .replace(/[^\p{L}\p{N}']+/gu, ' ')
    .trim();
}

/** Does `phrase` occur in `text` as whole words (both normalised)? */
export function containsWords(text: string, phrase: string): boolean {
  const needle = normaliseText(phrase);
  if (!needle) return false;
  return ` ${normaliseText(text)} `.includes(` ${needle} `);
}

/**
 * Spans in quotation marks: "…", “…”, '…' and ‘…’. A single quote opens only after a non-letter and
 * closes only before one, so apostrophes ("speaker's", "don't") are not quotes.
 */
const QUOTED = /"([^"]+)"|“([^”]+)”|(?<![\p{L}\p{N}])['‘](.+?)['’](?![\p{L}\p{N}])/gu;

export function quotedSpans(text: string): string[] {
  return [...text.matchAll(QUOTED)].map((m) => (m[1] ?? m[2] ?? m[3]).trim()).filter((span) => span.length > 0);
}

/** The text with its quotations blanked out (so what a speaker said is not read as the teacher's words). */
export function withoutQuotes(text: string): string {
  return text.replace(QUOTED, ' ');
}

// ---------------------------------------------------------------------------------------------
// Refusals and boilerplate.

/** A teacher declining the task. */
export const DEFAULT_REFUSAL_PATTERNS: readonly string[] = [
  String.raw`\bI\s+(?:cannot|can['’]?t|can\s+not)\b`,
  String.raw`\bI(?:['’]m|\s+am)\s+sorry,?\s+but\b`,
  String.raw`\bI(?:['’]m|\s+am)\s+(?:unable|not\s+able)\s+to\b`,
  String.raw`\bI\s+(?:won['’]t|will\s+not)\s+be\s+able\s+to\b`,
  String.raw`\bI\s+apologi[sz]e\b`,
];

/** A chat model talking about itself or to the user instead of describing the clip. */
export const DEFAULT_BOILERPLATE_PATTERNS: readonly string[] = [
  String.raw`\bas\s+an\s+AI\b`,
  String.raw`\blanguage\s+model\b`,
  String.raw`\bI(?:['’]m|\s+am)\s+an\s+AI\b`,
  String.raw`\bAI\s+assistant\b`,
  String.raw`\bI\s+(?:do\s+not|don['’]t)\s+have\s+(?:the\s+ability|access)\b`,
  String.raw`\bknowledge\s+cut-?off\b`,
  String.raw`^\s*(?:sure|certainly|of\s+course)[,!.]?\s+here(?:['’]s|\s+is)\b`,
  String.raw`\bI\s+hope\s+this\s+helps\b`,
];

/** Compiles patterns case-insensitively (every match is looked at, hence the g flag). */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((pattern) => new RegExp(pattern, 'giu'));
}

export interface PhraseHit {
  readonly field: string;
  readonly phrase: string;
  readonly pattern: string;
}

/**
 * The first generated text matching one of the patterns, outside quotations and not merely
 * repeating what the transcript says.
 */
export function findPhrase(texts: readonly GeneratedText[], patterns: readonly RegExp[], transcript: string): PhraseHit | undefined {
  for (const { field, text } of texts) {
    const own = withoutQuotes(text);
    for (const pattern of patterns) {
      for (const match of own.matchAll(pattern)) {
        if (!containsWords(transcript, match[0])) return { field, phrase: match[0].trim(), pattern: pattern.source };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Repetition.

export interface Repetition {
  /** share of the text's word n-grams that occur more than once in it, 0..1 */
  readonly ratio: number;
  readonly ngrams: number;
  /** the most repeated n-gram and its count */
  readonly top: { readonly ngram: string; readonly count: number } | null;
}

/** How much of a text repeats itself, as Data-Juicer's word repetition filter measures it. */
export function repetition(text: string, n: number): Repetition {
  const words = normaliseText(text).split(' ').filter(Boolean);
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= words.length; i++) {
    const ngram = words.slice(i, i + n).join(' ');
    counts.set(ngram, (counts.get(ngram) ?? 0) + 1);
  }
  const total = Math.max(0, words.length - n + 1);
  let repeated = 0;
  let top: Repetition['top'] = null;
  for (const [ngram, count] of counts) {
    if (count < 2) continue;
    repeated += count;
    if (!top || count > top.count || (count === top.count && ngram < top.ngram)) top = { ngram, count };
  }
  return { ratio: total === 0 ? 0 : repeated / total, ngrams: total, top };
}

/** Word count of a text (normalised words). */
export function wordCount(text: string): number {
  const normalised = normaliseText(text);
  return normalised ? normalised.split(' ').length : 0;
}

/**
 * The texts worth testing for repetition: the description, each QA answer that is not the
 * transcript read back, and the rationale as one text (its "Step k:" prefixes removed).
 */
export function repetitionUnits(segment: Segment): GeneratedText[] {
  const transcript = normaliseText(segment.transcript?.text ?? '');
  const units: GeneratedText[] = [];
  if (segment.description) units.push({ field: 'description', text: segment.description.text });
  (segment.qa ?? []).forEach((item, i) => {
    if (transcript && normaliseText(item.answer) === transcript) return;
    units.push({ field: `qa[${i}].answer`, text: item.answer });
  });
  if (segment.rationale) units.push({ field: 'rationale', text: segment.rationale.steps.map(stripStepPrefix).join(' ') });
  return units;
}

/** "Step 3: The pitch…" → "The pitch…". */
export function stripStepPrefix(step: string): string {
  return step.replace(/^\s*step\s+\d+\s*[:.)-]\s*/i, '');
}
