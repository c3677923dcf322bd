// `emoforge eval OUT --model CONFIG [--split test] [--tasks …] [--limit N] [--store PATH]` and
// `emoforge eval --compare A.json B.json [--json]`.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import { compareEvaluations, evaluate, EVAL_TASKS, formatComparison, loadEvalModelConfig, type EvalResult, type EvalTask } from '../../pipelines/eval/index.ts';
import { openStore } from '../../pipelines/store/index.ts';
import { printableLines } from '../../pipelines/printable.ts';

export class EvalOptionError extends Error {}

export interface EvalCommandOptions {
  readonly out: string;
  readonly modelConfig: string;
  readonly split?: string;
  readonly tasks?: string;
  readonly limit?: number;
  readonly store?: string;
  readonly write: (text: string) => void;
}

export function parseTasks(value: string | undefined): EvalTask[] | undefined {
  if (value === undefined) return undefined;
  const asked = value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = asked.filter((t) => !(EVAL_TASKS as readonly string[]).includes(t));
  if (unknown.length || asked.length === 0)
    throw new EvalOptionError(
      `--tasks takes a comma list of ${EVAL_TASKS.join(', ')}${unknown.length ? `; ${JSON.stringify(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not scored by eval` : ''}`,
    );
  return EVAL_TASKS.filter((t) => asked.includes(t));
}

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(3));

export function formatEvaluation(result: EvalResult): string {
  const s = result.summary;
  const lines = [
    `emoforge eval ${s.model} on ${s.corpus} v${s.corpusVersion}, split ${s.split}: ${s.rows} rows${s.judge ? `; judge ${s.judge.teacher}/${s.judge.model} ${s.judge.template}` : ''}`,
  ];
  for (const [task, t] of Object.entries(s.tasks)) {
    lines.push(`  ${task} (n=${t.n})`);
    for (const [metric, m] of Object.entries(t.metrics)) lines.push(`    ${metric.padEnd(20)} ${fmt(m.value)}  95% [${fmt(m.low)}, ${fmt(m.high)}]  n=${m.n}`);
  }
  const u = Object.values(result.usage).flatMap((byTeacher) => Object.entries(byTeacher));
  const calls = u.reduce((n, [, c]) => n + c.calls, 0);
  const usd = u.reduce((n, [, c]) => n + c.usd, 0);
  lines.push(
    `answers: ${s.rows - result.cachedAnswers} from the model, ${result.cachedAnswers} from the cache; ${calls} HTTP calls in all (judge included), $${usd.toFixed(4)}`,
  );
  lines.push(`output: ${join(result.dir, 'summary.json')} (results.parquet and usage.json beside it)`);
  return `${printableLines(lines.join('\n'))}\n`;
}

export async function evalCommand(options: EvalCommandOptions): Promise<number> {
  const model = await loadEvalModelConfig(options.modelConfig);
  const tasks = parseTasks(options.tasks);
  const store = openStore(options.store ?? model.store ?? '.emoforge');
  const outDir = resolve(options.out);
  const isTty = Boolean(process.stderr.isTTY);
  // Pino JSON logs beside the run's (retries, throttling, failures); keys and auth headers redacted.
  const logFile = join(outDir, 'logs', `eval-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  await mkdir(dirname(logFile), { recursive: true });
  const log = pino(
    { level: process.env.EMOFORGE_LOG_LEVEL ?? 'info', base: { pid: process.pid }, redact: ['*.apiKey', '*.authorization', '*.headers.authorization'] },
    pino.destination({ dest: logFile, sync: true, mkdir: true }),
  );
  log.info({ out: outDir, model: model.endpoint.model, split: options.split ?? 'test', tasks, limit: options.limit, store: store.location }, 'eval started');
  let result: EvalResult;
  try {
    result = await evaluate({
      outDir,
      model,
      store,
      split: options.split,
      tasks,
      limit: options.limit,
      log,
      onRow: isTty ? (done, total) => process.stderr.write(`\reval: ${done}/${total} rows\x1b[K${done === total ? '\n' : ''}`) : undefined,
    });
  } catch (error) {
    log.error({ err: error }, 'eval failed');
    throw error;
  }
  log.info({ rows: result.summary.rows, cachedAnswers: result.cachedAnswers, dir: result.dir }, 'eval finished');
  log.flush();
  const { writeEvalReport } = await import('../../pipelines/eval/report.ts');
  const report = await writeEvalReport(resolve(options.out));
  options.write(`${formatEvaluation(result) + (report ? `report: ${report}\n` : '')}log:    ${logFile}\n`);
  return 0;
}

export async function compareCommand(fileA: string, fileB: string, json: boolean, write: (text: string) => void): Promise<number> {
  const comparison = await compareEvaluations(resolve(fileA), resolve(fileB));
  write(json ? `${JSON.stringify(comparison, null, 2)}\n` : printableLines(formatComparison(comparison)));
  return 0;
}
