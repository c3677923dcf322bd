// How one answer scores on its task, and how a task's rows add up to its metrics. Row scores are
// plain numbers (kept per row in results.parquet), so a summary and a paired comparison compute the
// same statistics from them.
//   mcq        accuracy: the option the answer names is the target (an answer naming none, or
//              several, is wrong).
//   ov_labels  AffectGPT's set-level score: both lists mapped onto the emotion wheel's centres
//              (emotion-wheel.ts); per row precision |T∩P|/|P| and recall |T∩P|/|T| (rows whose
//              target maps to no centre, i.e. neutral, are left out of both; an empty prediction
//              scores 0/0); precision and recall are averaged over rows and F = 2PR/(P+R). The
//              sentiment-level score: the sentiment of the predicted set equals the row's sentiment.
//   rationale  MME-Emotion: each step judged 0/1; recognition = the last step, reasoning = the mean
//              of the others (0 when there are none), CoT = their average.
//   description, open_qa  the judge's faithfulness to the stored cues (0–10) and whether the answer
//              names the row's emotion (label hit).
import type { Emotion } from '../../schemas/emotion.ts';
import type { Task } from '../../schemas/sample.ts';
import { EmotionVocabulary } from '../affect/emotion-words.ts';
import { mean } from './bootstrap.ts';
import { labelWords, normaliseLabelWord, sentimentOfSet, wheelSet } from './emotion-wheel.ts';

/** The tasks `emoforge eval` scores. */
export const EVAL_TASKS = ['mcq', 'ov_labels', 'rationale', 'description', 'open_qa'] as const satisfies readonly Task[];
export type EvalTask = (typeof EVAL_TASKS)[number];

/** Tasks whose score needs the eval-judge role. */
export const JUDGED_TASKS: readonly EvalTask[] = ['rationale', 'description', 'open_qa'];

/** Per-row numbers by name; null = not defined for this row (left out of that metric). */
export type RowScores = Readonly<Record<string, number | null>>;

const vocabulary = new EmotionVocabulary();

// ---------------------------------------------------------------------------------------------
// mcq

/** The options listed in a question ("… Choose one of: happy, sad, angry, fearful."), or null. */
export function mcqOptions(question: string): string[] | null {
  const match = /choose one of:?\s*([^\n]+?)\s*[.?]?\s*$/i.exec(question.trim());
  if (!match) return null;
  const options = match[1]
    .split(/,\s*|\s+or\s+/)
    .map((o) => normaliseLabelWord(o))
    .filter(Boolean);
  return options.length >= 2 ? options : null;
}

/** The option an answer names: itself when it is one, else the only option it mentions as a word; null otherwise. */
export function chosenOption(answer: string, options: readonly string[]): string | null {
  const said = normaliseLabelWord(answer.replace(/^\s*(the answer is|answer:)\s*/i, ''));
  if (options.includes(said)) return said;
  const text = ` ${answer.toLowerCase().replace(/[^\p{L}\p{N}' ]+/gu, ' ')} `;
  const named = options.filter((o) => text.includes(` ${o} `));
  return named.length === 1 ? named[0] : null;
}

export function scoreMcq(question: string, target: string, answer: string): { scores: RowScores; chosen: string | null } {
  const expected = normaliseLabelWord(target);
  const options = mcqOptions(question) ?? [expected];
  const chosen = chosenOption(answer, options);
  return { scores: { correct: chosen !== null && chosen === expected ? 1 : 0 }, chosen };
}

// ---------------------------------------------------------------------------------------------
// ov_labels

export function scoreOvLabels(
  targetOpenset: readonly string[],
  rowSentiment: string,
  answer: string,
): { scores: RowScores; predicted: string[]; target: string[] } {
  const target = wheelSet(targetOpenset);
  const predicted = wheelSet(labelWords(answer));
  const hits = [...predicted].filter((g) => target.has(g)).length;
  const precision = target.size === 0 ? null : predicted.size === 0 ? 0 : hits / predicted.size;
  const recall = target.size === 0 ? null : predicted.size === 0 ? 0 : hits / target.size;
  return {
    scores: { precision, recall, sentiment: sentimentOfSet(predicted) === rowSentiment ? 1 : 0 },
    predicted: [...predicted].sort(),
    target: [...target].sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// rationale

/** "Step k: …" steps of an answer (its non-empty lines when it numbers none). */
export function answerSteps(answer: string): string[] {
  const parts = answer.split(/(?=\bstep\s*\d+\s*[:.])/i).map((part) => part.trim().replace(/\s+/g, ' '));
  const numbered = parts.filter((part) => /^step\s*\d+\s*[:.]/i.test(part));
  if (numbered.length > 0) return numbered;
  return answer
    .split(/\n+/)
    .map((line) => line.trim())
    .filter(Boolean);
}

/** MME-Emotion's three scores from the per-step 0/1 verdicts (the last step is the recognition step). */
export function scoreRationaleSteps(steps: readonly number[]): RowScores {
  if (steps.length === 0) return { recognition: 0, reasoning: 0, cot: 0 };
  const recognition = steps[steps.length - 1];
  const reasoning = steps.length > 1 ? mean(steps.slice(0, -1))! : 0;
  return { recognition, reasoning, cot: (recognition + reasoning) / 2 };
}

/** Does the verdict step name `label` ("predicted emotion is X", else the only emotion it names)? */
export function verdictNames(step: string, label: Emotion): boolean {
  const verdict = /predicted emotion is\s+(?:a\s+|an\s+)?([\p{L}]+)/iu.exec(step);
  if (verdict) return vocabulary.emotionOf(verdict[1]) === label;
  const named = vocabulary.emotionsIn(step);
  return named.length === 1 && named[0] === label;
}

/** Does a free answer name the row's emotion? Neutral: it names neutral/calm, or no emotion at all. */
export function labelHit(answer: string, label: Emotion): boolean {
  const named = vocabulary.emotionsIn(answer);
  if (label === 'neutral') return named.length === 0 || named.includes('neutral');
  return named.includes(label);
}

// ---------------------------------------------------------------------------------------------
// Task metrics: name → statistic over the rows' scores.

type Statistic = (rows: readonly RowScores[]) => number | null;

/** The mean of one score over the rows that define it (a loop: bootstraps call this thousands of times). */
const meanOf =
  (key: string): Statistic =>
  (rows) => {
    let sum = 0;
    let n = 0;
    for (const row of rows) {
      const v = row[key];
      if (typeof v === 'number') {
        sum += v;
        n++;
      }
    }
    return n === 0 ? null : sum / n;
  };

const fScore: Statistic = (rows) => {
  const p = meanOf('precision')(rows);
  const r = meanOf('recall')(rows);
  if (p === null || r === null) return null;
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
};

/** Each task's metrics, in the order they are reported; the first is the task's headline. */
export const TASK_METRICS: Readonly<Record<EvalTask, Readonly<Record<string, Statistic>>>> = {
  mcq: { accuracy: meanOf('correct') },
  ov_labels: { f_score: fScore, precision: meanOf('precision'), recall: meanOf('recall'), sentiment_accuracy: meanOf('sentiment') },
  rationale: { cot: meanOf('cot'), recognition: meanOf('recognition'), reasoning: meanOf('reasoning') },
  description: { faithfulness: meanOf('faithfulness'), label_hit: meanOf('label_hit') },
  open_qa: { faithfulness: meanOf('faithfulness'), label_hit: meanOf('label_hit') },
};

/** The per-row score a metric needs: its `n` counts the rows that have it (neutral ov_labels targets have no precision). */
export const METRIC_BASIS: Readonly<Record<string, string>> = { f_score: 'precision', sentiment_accuracy: 'sentiment' };

/** How many rows define `metric`. */
export function rowsDefining(metric: string, rows: readonly RowScores[]): number {
  const key = METRIC_BASIS[metric] ?? (metric === 'accuracy' ? 'correct' : metric);
  return rows.filter((r) => typeof r[key] === 'number').length;
}

/** The one number per row results.parquet shows in `score` (the row's share of the headline metric). */
export function headlineRowScore(task: EvalTask, scores: RowScores): number | null {
  switch (task) {
    case 'mcq':
      return scores.correct;
    case 'ov_labels': {
      const { precision: p, recall: r } = scores;
      if (p === null || r === null) return null;
      return p + r === 0 ? 0 : (2 * p * r) / (p + r);
    }
    case 'rationale':
      return scores.cot;
    default:
      return scores.faithfulness;
  }
}
