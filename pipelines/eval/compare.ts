// `emoforge eval --compare A.json B.json`: per task and metric, B − A on the rows both evaluations
// scored (matched by row id, read from the results.parquet beside each summary.json), with a paired
// bootstrap interval. "B is better" (or "A is better") only when the 95% interval excludes zero;
// otherwise "no difference".
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { readRowsHyparquet } from '../parquet/read.ts';
import { DEFAULT_RESAMPLES, pairedBootstrap, type Interval } from './bootstrap.ts';
import type { EvalSummary } from './evaluate.ts';
import { EVAL_TASKS, TASK_METRICS, type EvalTask, type RowScores } from './task-scores.ts';

export type Verdict = 'B is better' | 'A is better' | 'no difference';

export interface MetricComparison {
  readonly task: EvalTask;
  readonly metric: string;
  /** rows both scored */
  readonly n: number;
  readonly a: number | null;
  readonly b: number | null;
  /** B − A on the shared rows, with its paired 95% interval */
  readonly difference: Interval;
  readonly verdict: Verdict;
}

export interface Comparison {
  readonly a: { readonly file: string; readonly model: string; readonly corpus: string; readonly split: string };
  readonly b: { readonly file: string; readonly model: string; readonly corpus: string; readonly split: string };
  readonly metrics: readonly MetricComparison[];
}

async function load(file: string): Promise<{ summary: EvalSummary; scores: Map<string, { task: EvalTask; scores: RowScores }> }> {
  let summary: EvalSummary;
  try {
    summary = JSON.parse(await readFile(file, 'utf8')) as EvalSummary;
  } catch {
    throw new InputError(`cannot read ${file}: give the summary.json files emoforge eval wrote (OUT/eval/MODEL/SPLIT/summary.json)`);
  }
  if (summary.schema !== 1 || typeof summary.tasks !== 'object')
    throw new InputError(`${file} is not an emoforge eval summary.json (schema ${String(summary.schema)})`);
  const results = join(dirname(file), 'results.parquet');
  let rows;
  try {
    rows = await readRowsHyparquet(results);
  } catch {
    throw new InputError(
      `${results} is missing: --compare pairs rows by id and reads them from the results.parquet beside each summary.json; keep the two files together`,
    );
  }
  const scores = new Map<string, { task: EvalTask; scores: RowScores }>();
  for (const row of rows) scores.set(String(row.id), { task: row.task as EvalTask, scores: JSON.parse(String(row.scores)) as RowScores });
  return { summary, scores };
}

export async function compareEvaluations(fileA: string, fileB: string, resamples = DEFAULT_RESAMPLES): Promise<Comparison> {
  const [a, b] = await Promise.all([load(fileA), load(fileB)]);
  const metrics: MetricComparison[] = [];
  for (const task of EVAL_TASKS) {
    const pairs: [RowScores, RowScores][] = [];
    for (const [id, rowA] of [...a.scores].sort(([x], [y]) => (x < y ? -1 : 1))) {
      const rowB = b.scores.get(id);
      if (rowA.task === task && rowB?.task === task) pairs.push([rowA.scores, rowB.scores]);
    }
    if (pairs.length === 0) continue;
    for (const [metric, statistic] of Object.entries(TASK_METRICS[task])) {
      const difference = pairedBootstrap(pairs, statistic, `compare/${task}/${metric}`, resamples);
      const verdict: Verdict =
        difference.low !== null && difference.low > 0 ? 'B is better' : difference.high !== null && difference.high < 0 ? 'A is better' : 'no difference';
      const round = (v: number | null) => (v === null ? null : Math.round(v * 1e6) / 1e6);
      metrics.push({
        task,
        metric,
        n: pairs.length,
        a: round(statistic(pairs.map((p) => p[0]))),
        b: round(statistic(pairs.map((p) => p[1]))),
        difference,
        verdict,
      });
    }
  }
  if (metrics.length === 0)
    throw new InputError(`${fileA} and ${fileB} share no scored row: compare evaluations of the same corpus split (rows are matched by id)`);
  const who = (file: string, s: EvalSummary) => ({ file, model: s.model, corpus: s.corpus, split: s.split });
  return { a: who(fileA, a.summary), b: who(fileB, b.summary), metrics };
}

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(3));

export function formatComparison(c: Comparison): string {
  const lines = [
    `A: ${c.a.model} on ${c.a.corpus}/${c.a.split} (${c.a.file})`,
    `B: ${c.b.model} on ${c.b.corpus}/${c.b.split} (${c.b.file})`,
    `B − A on the shared rows, paired bootstrap 95% interval:`,
  ];
  for (const m of c.metrics) {
    const d = m.difference;
    lines.push(
      `  ${`${m.task}.${m.metric}`.padEnd(30)} n=${String(m.n).padEnd(5)} A ${fmt(m.a)}  B ${fmt(m.b)}  B−A ${fmt(d.value)} [${fmt(d.low)}, ${fmt(d.high)}]  ${m.verdict}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
