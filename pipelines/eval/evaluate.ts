// `emoforge eval OUT --model CONFIG`: every held-out row of one split is put to the model (the
// row's question with its keyframes as images and its WAV as input_audio, through the shared
// endpoint client: its limits, retries and response cache), scored on its task, and written to
// OUT/eval/<model>/<split>/: results.parquet (one row per answer), summary.json (per task and
// label, with 95% bootstrap intervals and n) and usage.json (calls, cache hits, tokens, USD).
// Answers are cached in the store, so scoring the same answers again costs nothing and gives the
// same bytes: nothing here reads a clock, and rows are processed in id order.
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ChatCompletionContentPart, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import PQueue from 'p-queue';
import pino, { type Logger } from 'pino';
import type { Emotion } from '../../schemas/emotion.ts';
import { EMOTIONS } from '../../schemas/emotion.ts';
import type { OutManifest } from '../../schemas/manifest.ts';
import { evenlyChosen } from '../../stages/clues.ts';
import { EndpointClient, estimateChatTokens } from '../endpoints/index.ts';
import { FatalError, InputError } from '../errors.ts';
import { writeFileAtomic } from '../publish/atomic-write.ts';
import { readManifest } from '../publish/manifest.ts';
import { readRowsHyparquet, writeParquetFile, type ColumnSpec, type ReadRow } from '../parquet/index.ts';
import type { Store } from '../store/store.ts';
import { userContentWithMedia } from '../teachers/llm-teacher.ts';
import { createTeacherRegistry, type TeachersConfigInput } from '../teachers/registry.ts';
import { priceOf, TeacherUsageLedger, type TeacherUsageTable } from '../teachers/usage.ts';
import { bootstrap, CONFIDENCE, DEFAULT_RESAMPLES, type Interval } from './bootstrap.ts';
import { WHEEL_SOURCE } from './emotion-wheel.ts';
import { judgeAnswer, segmentOfRow, type EvalJudgement } from './judge.ts';
import { modelName, type EvalModelConfig } from './model-config.ts';
import {
  answerSteps,
  EVAL_TASKS,
  headlineRowScore,
  JUDGED_TASKS,
  rowsDefining,
  scoreMcq,
  scoreOvLabels,
  scoreRationaleSteps,
  TASK_METRICS,
  type EvalTask,
  type RowScores,
} from './task-scores.ts';

export const SUMMARY_SCHEMA = 1;

/** results.parquet, one row per answered question. */
export const RESULT_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', kind: 'string', nullable: false, description: 'the corpus row id' },
  { name: 'segment_id', kind: 'string', nullable: false, description: 'the segment the row was made from' },
  { name: 'task', kind: 'string', nullable: false, description: 'mcq | ov_labels | rationale | description | open_qa' },
  { name: 'label', kind: 'string', nullable: false, description: "the row's primary emotion (per-label scores group by it)" },
  { name: 'question', kind: 'string', nullable: false, description: 'the question as sent (media placeholders removed)' },
  { name: 'target', kind: 'string', nullable: false, description: "the corpus's answer" },
  { name: 'answer', kind: 'string', nullable: false, description: "the model's answer" },
  {
    name: 'score',
    kind: 'double',
    nullable: true,
    description:
      "the row's headline score: mcq correct 0/1, ov_labels row F, rationale CoT, description/open_qa faithfulness 0-10 (null: not defined for the row)",
  },
  { name: 'scores', kind: 'string', nullable: false, description: 'JSON of every per-row score the task metrics are computed from' },
  { name: 'judge_reason', kind: 'string', nullable: true, description: "the judge's reason (judged tasks)" },
  { name: 'judge', kind: 'string', nullable: true, description: 'judge teacher/model and rubric template id@version (judged tasks)' },
];

export interface EvalOptions {
  readonly outDir: string;
  readonly model: EvalModelConfig;
  readonly store: Store;
  /** the published split name; default 'test' */
  readonly split?: string;
  readonly tasks?: readonly EvalTask[];
  /** at most this many rows (the first in id order) */
  readonly limit?: number;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /** called after each answered row */
  readonly onRow?: (done: number, total: number) => void;
}

export interface MetricSummary {
  readonly n: number;
  readonly metrics: Readonly<Record<string, Interval>>;
}

export interface TaskSummary extends MetricSummary {
  readonly labels: Readonly<Record<string, MetricSummary>>;
}

export interface EvalSummary {
  readonly schema: number;
  readonly model: string;
  readonly endpointModel: string;
  readonly corpus: string;
  readonly corpusVersion: number;
  readonly split: string;
  readonly rows: number;
  readonly judge: { readonly teacher: string; readonly model: string; readonly template: string } | null;
  readonly wheel: string;
  readonly bootstrap: { readonly resamples: number; readonly confidence: number; readonly method: 'percentile'; readonly prng: 'mulberry32' };
  readonly tasks: Readonly<Partial<Record<EvalTask, TaskSummary>>>;
}

export interface EvalResult {
  readonly dir: string;
  readonly summary: EvalSummary;
  readonly usage: TeacherUsageTable;
  /** answers that came from the response cache */
  readonly cachedAnswers: number;
  readonly rows: readonly ResultRow[];
}

export interface ResultRow {
  readonly id: string;
  readonly segment_id: string;
  readonly task: EvalTask;
  readonly label: string;
  readonly question: string;
  readonly target: string;
  readonly answer: string;
  readonly score: number | null;
  readonly scores: string;
  readonly judge_reason: string | null;
  readonly judge: string | null;
}

/** The question a trainer's first human turn asks, without the media placeholders trainers expand. */
export function questionOf(row: ReadRow): string {
  const turns = Array.isArray(row.conversations) ? (row.conversations as { from: string; value: string }[]) : [];
  const human = turns.find((t) => t.from === 'human');
  if (!human) throw new FatalError(`row ${String(row.id)} has no human turn: the out folder is not one emoforge wrote`);
  return human.value
    .replace(/<Audio><AudioHere><\/Audio>\s*|<Video><ImageHere><\/Video>\s*/g, '')
    .replace(/<(video|audio|image)>\s*/gi, '')
    .trim();
}

function targetOf(row: ReadRow): string {
  const turns = row.conversations as { from: string; value: string }[];
  return turns.find((t) => t.from === 'gpt')?.value ?? '';
}

async function finishedManifest(outDir: string): Promise<OutManifest> {
  const manifest = await readManifest(outDir);
  if (!manifest) throw new InputError(`${outDir} has no manifest.json: eval needs a finished out folder (emoforge run CONFIG --out ${outDir})`);
  return manifest;
}

/** The split's rows of the asked tasks, in id order. */
export async function heldOutRows(
  outDir: string,
  split: string,
  tasks: readonly EvalTask[],
  limit?: number,
): Promise<{ manifest: OutManifest; rows: ReadRow[] }> {
  const manifest = await finishedManifest(outDir);
  const names = Object.keys(manifest.splits);
  if (!names.includes(split)) throw new InputError(`${outDir} has no split "${split}" (its splits: ${names.join(', ')}); pass --split with one of them`);
  const rows: ReadRow[] = [];
  for (const shard of manifest.shards.filter((s) => s.split === split)) {
    for (const row of await readRowsHyparquet(join(outDir, shard.file))) {
      if ((tasks as readonly unknown[]).includes(row.task)) rows.push(row);
    }
  }
  rows.sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
  return { manifest, rows: limit === undefined ? rows : rows.slice(0, limit) };
}

async function mediaFile(outDir: string, path: string, row: ReadRow): Promise<Uint8Array> {
  try {
    return await readFile(join(outDir, path));
  } catch {
    throw new InputError(
      `${join(outDir, path)} (named by row ${String(row.id)}) is missing: the out folder is incomplete; run emoforge run again to restore its media`,
    );
  }
}

async function messagesFor(outDir: string, row: ReadRow, model: EvalModelConfig): Promise<ChatCompletionMessageParam[]> {
  const frames = Array.isArray(row.frames) ? (row.frames as string[]) : [];
  const sendVideo = model.media.video && typeof row.video === 'string';
  const chosen = model.media.frames > 0 && !sendVideo ? evenlyChosen(frames, model.media.frames) : [];
  const images = await Promise.all(chosen.map(async (path, i) => ({ jpeg: await mediaFile(outDir, path, row), time: i })));
  const wav = model.media.audio && typeof row.audio === 'string' ? await mediaFile(outDir, row.audio, row) : undefined;
  const question = questionOf(row);
  const parts: ChatCompletionContentPart[] = userContentWithMedia(question, { images, imageDetail: model.media.imageDetail, wav });
  if (sendVideo) {
    const mp4 = await mediaFile(outDir, row.video as string, row);
    // vLLM's video part; not in the openai package's types.
    parts.splice(1, 0, {
      type: 'video_url',
      video_url: { url: `data:video/mp4;base64,${Buffer.from(mp4).toString('base64')}` },
    } as unknown as ChatCompletionContentPart);
  }
  const content = parts.length > 1 ? parts : question;
  return [...(model.system ? [{ role: 'system' as const, content: model.system }] : []), { role: 'user', content }];
}

/**
 * Video input tokens per second for the limiter's estimate (Qwen2.5-VL-class models at 2 fps come to
 * roughly this at 224-pixel frames); the usage the server reports settles the real count.
 */
const VIDEO_TOKENS_PER_SECOND = 150;

/** The limiter's estimate: the client's count, with a video part as tokens per second rather than its base64 text. */
function estimatedTokens(messages: ChatCompletionMessageParam[], model: EvalModelConfig, durationSec: number): number {
  let video = 0;
  const counted = messages.map((m) => {
    if (!Array.isArray(m.content)) return m;
    const parts = (m.content as { type: string }[]).filter((p) => p.type !== 'video_url');
    if (parts.length !== m.content.length) video += Math.ceil(Math.max(0, durationSec) * VIDEO_TOKENS_PER_SECOND);
    return { ...m, content: parts };
  });
  return estimateChatTokens({ messages: counted, ...model.params }) + video;
}

const asEmotion = (value: unknown): Emotion => ((EMOTIONS as readonly unknown[]).includes(value) ? (value as Emotion) : 'neutral');

/** Each task's metrics over `rows`, overall and per label, with intervals seeded by name. */
export function summarise(rows: readonly ResultRow[], seedPrefix: string, resamples = DEFAULT_RESAMPLES): Partial<Record<EvalTask, TaskSummary>> {
  const tasks: Partial<Record<EvalTask, TaskSummary>> = {};
  for (const task of EVAL_TASKS) {
    const taskRows = rows.filter((r) => r.task === task);
    if (taskRows.length === 0) continue;
    const metricsOf = (subset: readonly ResultRow[], scope: string): MetricSummary => {
      const scores = subset.map((r) => JSON.parse(r.scores) as RowScores);
      const metrics: Record<string, Interval> = {};
      for (const [name, statistic] of Object.entries(TASK_METRICS[task])) {
        // Resampled over all the scope's rows; n is the rows that define the metric.
        metrics[name] = { ...bootstrap(scores, statistic, `${seedPrefix}/${task}/${scope}/${name}`, resamples), n: rowsDefining(name, scores) };
      }
      return { n: subset.length, metrics };
    };
    const labels: Record<string, MetricSummary> = {};
    for (const label of [...new Set(taskRows.map((r) => r.label))].sort())
      labels[label] = metricsOf(
        taskRows.filter((r) => r.label === label),
        `label:${label}`,
      );
    tasks[task] = { ...metricsOf(taskRows, 'all'), labels };
  }
  return tasks;
}

export async function evaluate(options: EvalOptions): Promise<EvalResult> {
  const outDir = resolve(options.outDir);
  const split = options.split ?? 'test';
  const tasks = options.tasks ?? EVAL_TASKS;
  const log = options.log ?? pino({ level: 'silent' });
  // The first row that fails stops the others: no request is sent (or paid for) after it.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const model = options.model;
  const name = modelName(model);
  const { manifest, rows } = await heldOutRows(outDir, split, tasks, options.limit);
  if (rows.length === 0)
    throw new InputError(
      `${outDir} has no ${tasks.join('/')} rows in split "${split}": nothing to evaluate (see its manifest.json splits, or pass other --tasks)`,
    );

  const client = new EndpointClient({ config: model.endpoint, store: options.store, log, signal, label: 'model.endpoint' });
  const ledger = new TeacherUsageLedger();
  const needsJudge = rows.some((r) => (JUDGED_TASKS as readonly unknown[]).includes(r.task));
  const teachers = createTeacherRegistry((model.teachers ?? {}) as TeachersConfigInput, { store: options.store, log, signal });
  const judge = needsJudge ? teachers.forRole('eval-judge') : undefined;
  let judgeInfo: EvalSummary['judge'] = null;
  let cachedAnswers = 0;
  let done = 0;

  // The client caps concurrency and rate; this queue only bounds how many rows hold media in memory.
  const queue = new PQueue({ concurrency: Math.max(1, model.endpoint.limits.concurrency * 2) });
  const answerRow = async (row: ReadRow): Promise<ResultRow> => {
    const task = row.task as EvalTask;
    const question = questionOf(row);
    const target = targetOf(row);
    let reply;
    try {
      const messages = await messagesFor(outDir, row, model);
      reply = await client.chat(
        { messages, ...model.params },
        { signal, estimatedTokens: estimatedTokens(messages, model, Number(row.end) - Number(row.start)) },
      );
    } catch (error) {
      ledger.add('eval-model', name, { failures: 1 });
      if (error instanceof InputError) throw error;
      throw new FatalError(
        `model ${model.endpoint.model} gave no answer for row ${String(row.id)} (${task}): ${(error as Error).message}. Answers already received are cached: run the same command again to continue`,
        { cause: error },
      );
    }
    if (reply.cached) {
      cachedAnswers++;
      ledger.add('eval-model', name, { cacheHits: 1, answers: 1 });
    } else {
      ledger.add('eval-model', name, {
        calls: reply.attempts,
        retries: Math.max(0, reply.attempts - 1),
        answers: 1,
        ...reply.usage,
        usd: priceOf(reply.usage, model.prices),
      });
    }
    const answer = reply.value.choices?.[0]?.message?.content ?? '';
    const label = asEmotion(row.primary_emotion);
    let scores: RowScores;
    let verdict: EvalJudgement | undefined;
    let judgeName: string | null = null;
    if (task === 'mcq') scores = scoreMcq(question, target, answer).scores;
    else if (task === 'ov_labels') scores = scoreOvLabels(Array.isArray(row.openset) ? row.openset.map(String) : [], String(row.sentiment), answer).scores;
    else {
      const steps = task === 'rationale' ? answerSteps(answer) : [];
      let judged;
      try {
        judged = await judgeAnswer(judge!, segmentOfRow(row), { task, question, answer, reference: target, steps, label }, signal);
      } catch (error) {
        throw new FatalError(
          `the judge (role eval-judge) gave no verdict for row ${String(row.id)} (${task}): ${(error as Error).message}. The model's answers are cached: fix the judge (the model file's teachers block) and run the same command again`,
          { cause: error },
        );
      }
      verdict = judged.value;
      judgeInfo ??= { teacher: judged.teacher, model: judged.model, template: judged.template };
      judgeName = `${judged.teacher}/${judged.model} ${judged.template}`;
      scores =
        task === 'rationale'
          ? { ...scoreRationaleSteps(verdict.steps), steps: verdict.steps.length }
          : { faithfulness: verdict.faithfulness, label_hit: verdict.labelHit ? 1 : 0 };
    }
    options.onRow?.(++done, rows.length);
    return {
      id: String(row.id),
      segment_id: String(row.segment_id),
      task,
      label,
      question,
      target,
      answer,
      score: headlineRowScore(task, scores),
      scores: JSON.stringify(scores),
      judge_reason: verdict?.reason ?? null,
      judge: judgeName,
    };
  };
  let results: ResultRow[];
  try {
    results = await Promise.all(rows.map((row) => queue.add(() => answerRow(row))));
  } catch (error) {
    stop.abort(error);
    queue.clear();
    await queue.onIdle();
    throw error;
  }

  const dir = join(outDir, 'eval', name, split);
  const summary: EvalSummary = {
    schema: SUMMARY_SCHEMA,
    model: name,
    endpointModel: model.endpoint.model,
    corpus: manifest.corpus,
    // A manifest from before versions is its folder's first version, as inspect says.
    corpusVersion: manifest.version ?? 1,
    split,
    rows: results.length,
    judge: judgeInfo,
    wheel: WHEEL_SOURCE,
    bootstrap: { resamples: DEFAULT_RESAMPLES, confidence: CONFIDENCE, method: 'percentile', prng: 'mulberry32' },
    tasks: summarise(results, `${manifest.corpus}/${split}`),
  };
  await mkdir(dir, { recursive: true });
  await writeParquetFile(join(dir, 'results.parquet'), RESULT_COLUMNS, results as unknown as Record<string, unknown>[], [
    { key: 'emoforge_eval', value: JSON.stringify({ schema: SUMMARY_SCHEMA, model: name, split }) },
  ]);
  await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const usage = { ...ledger.snapshot(), ...teachers.usage?.() };
  await writeFileAtomic(join(dir, 'usage.json'), `${JSON.stringify(usage, null, 2)}\n`);
  return { dir, summary, usage, cachedAnswers, rows: results };
}
