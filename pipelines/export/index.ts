// `emoforge export`: converts a finished out folder into the files trainers read as they are
// (AffectGPT CSVs, LLaVA JSON, OpenAI-style JSONL), with a token budget and media placed by name.
// Every file is replaced atomically; export-report.json is written last.
import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { SPLITS, type Split } from '../../schemas/sample.ts';
import { readCorpus } from './corpus-rows.ts';
import { FORMAT_TASKS, FORMATS, writeAffectGpt, writeJsonl, writeLlava, type ExportFormat, type ExportSample } from './formats.ts';
import { MEDIA_MODES, MediaPlacer, type MediaMode, type MediaReport } from './media-files.ts';
import { isReviewedRow } from './reviewed-rows.ts';
import { estimateTokens, writeFileAtomic } from './text-files.ts';

export { FORMATS, type ExportFormat } from './formats.ts';
export { MEDIA_MODES, type MediaMode, type MediaReport } from './media-files.ts';
export { csvField, estimateTokens, pythonList } from './text-files.ts';
export { sanitiseName } from './corpus-rows.ts';

/** AffectGPT skips samples over 1,024 tokens; the other formats have no default budget. */
export const DEFAULT_MAX_TOKENS: Record<ExportFormat, number | null> = { affectgpt: 1024, llava: null, jsonl: null };

export const TOKEN_ESTIMATE = 'ceil(characters / 4) over the text of every turn, placeholders included';

export interface ExportOptions {
  /** the finished out folder (has manifest.json) */
  readonly outDir: string;
  readonly format: ExportFormat;
  /** default `<outDir>/export/<format>`; must not be inside `<outDir>/shards` */
  readonly dest?: string;
  /** skip samples estimated over this many tokens; default DEFAULT_MAX_TOKENS[format] */
  readonly maxTokens?: number | null;
  /** default 'none': media stays in the out folder and files name it by its path there */
  readonly media?: MediaMode;
  /** only rows a reviewer accepted or edited (the human-reviewed subset); default false */
  readonly reviewed?: boolean;
}

/** Bad export options (an unknown format, a dest inside shards/): the command's usage error. */
export class ExportOptionError extends Error {
  override name = 'ExportOptionError';
}

export interface SplitCounts {
  written: number;
  skippedOverBudget: number;
}

export interface ExportReport {
  readonly format: ExportFormat;
  readonly source: string;
  readonly corpus: string;
  readonly configFingerprint: string;
  readonly dest: string;
  readonly maxTokens: number | null;
  readonly tokenEstimate: string;
  readonly written: number;
  readonly skippedOverBudget: number;
  /** rows left out by `reviewed` (not accepted or edited by a reviewer) */
  readonly skippedNotReviewed: number;
  readonly splits: Record<Split, SplitCounts>;
  /** samples written per task */
  readonly tasks: Record<string, number>;
  /** rows of tasks the format has no place for (AffectGPT: everything but description and ov_labels) */
  readonly notExported: Record<string, number>;
  readonly largestSampleTokens: number;
  /** files written, relative to dest (media not listed) */
  readonly files: string[];
  readonly media: MediaReport;
}

export async function exportCorpus(options: ExportOptions): Promise<ExportReport> {
  if (!FORMATS.includes(options.format)) throw new ExportOptionError(`unknown format ${JSON.stringify(options.format)}: use one of ${FORMATS.join(', ')}`);
  const mediaMode = options.media ?? 'none';
  if (!MEDIA_MODES.includes(mediaMode)) throw new ExportOptionError(`unknown media mode ${JSON.stringify(mediaMode)}: use one of ${MEDIA_MODES.join(', ')}`);
  const maxTokens = options.maxTokens === undefined ? DEFAULT_MAX_TOKENS[options.format] : options.maxTokens;
  if (maxTokens !== null && !(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new ExportOptionError(`max tokens must be a whole number of at least 1, got ${maxTokens}`);
  const outDir = resolve(options.outDir);
  const dest = resolve(options.dest ?? join(outDir, 'export', options.format));
  await assertOutsideShards(outDir, dest);

  const corpus = await readCorpus(outDir);
  const carried = FORMAT_TASKS[options.format];
  const splits = Object.fromEntries(SPLITS.map((s) => [s, { written: 0, skippedOverBudget: 0 }])) as Record<Split, SplitCounts>;
  const tasks: Record<string, number> = {};
  const notExported: Record<string, number> = {};
  const samples: ExportSample[] = [];
  let largest = 0;
  let skippedNotReviewed = 0;
  for (const row of corpus.rows) {
    if (options.reviewed && !isReviewedRow(row)) {
      skippedNotReviewed++;
      continue;
    }
    if (carried && !carried.has(row.task)) {
      notExported[row.task] = (notExported[row.task] ?? 0) + 1;
      continue;
    }
    const tokens = estimateTokens(row.conversations);
    if (maxTokens !== null && tokens > maxTokens) {
      splits[row.split].skippedOverBudget++;
      continue;
    }
    largest = Math.max(largest, tokens);
    splits[row.split].written++;
    tasks[row.task] = (tasks[row.task] ?? 0) + 1;
    samples.push({ row, name: corpus.names.get(row.segmentId)!, tokens });
  }

  await mkdir(dest, { recursive: true });
  const media = new MediaPlacer(dest, mediaMode, outDir);
  const write = { affectgpt: writeAffectGpt, llava: writeLlava, jsonl: writeJsonl }[options.format];
  const files = await write(dest, samples, media);
  const report: ExportReport = {
    format: options.format,
    source: outDir,
    corpus: corpus.manifest.corpus,
    configFingerprint: corpus.manifest.configFingerprint,
    dest,
    maxTokens,
    tokenEstimate: TOKEN_ESTIMATE,
    written: SPLITS.reduce((n, s) => n + splits[s].written, 0),
    skippedOverBudget: SPLITS.reduce((n, s) => n + splits[s].skippedOverBudget, 0),
    skippedNotReviewed,
    splits,
    tasks,
    notExported,
    largestSampleTokens: largest,
    files: [...files, 'export-report.json'],
    media: media.report(),
  };
  await writeFileAtomic(join(dest, 'export-report.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

/** Lines a user reads after an export: counts per split, what was skipped, where the files are. */
export function formatExportSummary(report: ExportReport): string {
  const lines: string[] = [];
  const budget = report.maxTokens === null ? 'no token budget' : `${report.skippedOverBudget} skipped over the ${report.maxTokens}-token budget`;
  lines.push(`emoforge export ${report.format}: ${report.written} samples written, ${budget}${report.skippedNotReviewed ? `, ${report.skippedNotReviewed} not human-reviewed left out` : ''}`);
  for (const split of SPLITS) {
    const s = report.splits[split];
    lines.push(`  ${split.padEnd(6)}${String(s.written).padStart(7)} written${String(s.skippedOverBudget).padStart(7)} over budget`);
  }
  const tasks = Object.entries(report.tasks).map(([t, n]) => `${t} ${n}`).join(', ');
  if (tasks) lines.push(`tasks: ${tasks}`);
  const skipped = Object.entries(report.notExported).map(([t, n]) => `${t} ${n}`).join(', ');
  if (skipped) lines.push(`not in this format: ${skipped}`);
  if (report.media.mode !== 'none') {
    for (const kind of ['video', 'audio'] as const) {
      const c = report.media[kind];
      const missing = Object.entries(c.missing).map(([r, n]) => `${r} ${n}`).join(', ');
      lines.push(`${kind}: ${c.placed} ${report.media.mode === 'link' ? 'linked' : 'copied'}${missing ? `; not placed: ${missing}` : ''}`);
    }
  }
  lines.push(`files: ${report.files.map((f) => join(report.dest, f)).join(', ')}`);
  return lines.join('\n') + '\n';
}

/** The dest may not be the shards folder or inside it (checked on real paths, so a symlink cannot hide it). */
async function assertOutsideShards(outDir: string, dest: string): Promise<void> {
  const shards = await realpathOfNearest(join(outDir, 'shards'));
  const target = await realpathOfNearest(dest);
  const rel = relative(shards, target);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new ExportOptionError(`the export destination ${dest} is inside ${join(outDir, 'shards')}: shards are rewritten by every run, choose a folder outside it`);
  }
}

/** realpath of the deepest existing ancestor, with the rest of the path appended. */
async function realpathOfNearest(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...rest.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      rest.push(basename(current));
      current = parent;
    }
  }
}
