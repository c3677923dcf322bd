// `emoforge export`: converts a finished out folder into the layout a trainer reads as it is
// (AffectGPT's dataset roots, the older EMER layout, LLaMA-Factory's dataset folder, LLaVA-style JSON, OpenAI-style JSONL),
// with a token budget, media placed by name, a README and export-report.json. The export is built in a
// temporary folder beside the destination and swapped in whole: a re-run replaces an earlier export
// byte for byte, and a folder that is not an emoforge export is never written into.
import { lstat, mkdir, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { SPLITS } from '../../schemas/sample.ts';
import { AFFECTGPT_TASKS, writeAffectGpt } from './affectgpt-layout.ts';
import { writeJsonl, writeLlamaFactory, writeLlava, type ChatInput } from './chat-layouts.ts';
import { readCorpus, type CorpusRow } from './corpus-rows.ts';
import { writeEmer } from './emer-layout.ts';
import { exportReadme } from './export-readme.ts';
import { ExportTally, OVER_BUDGET, type SplitCounts } from './export-tally.ts';
import {
  AFFECTGPT_CORPORA,
  type AffectGptCorpus,
  type ExportFormat,
  ExportOptionError,
  FORMATS,
  LLAVA_STYLES,
  type LlavaStyle,
  MEDIA_MODES,
  type MediaMode,
} from './formats.ts';
import { MediaPlacer, type MediaReport } from './media-files.ts';
import { isReviewedRow } from './reviewed-rows.ts';
import { EMER_TOKEN_ESTIMATE, TOKEN_ESTIMATE } from './token-count.ts';

export * from './formats.ts';
export type { MediaReport } from './media-files.ts';
export { csvField, pythonList } from './text-files.ts';
export { sanitiseName } from './corpus-rows.ts';

/** AffectGPT skips samples over 1,024 tokens (prompt + target), the older EMER loader over 512; the other formats have no default budget. */
export const DEFAULT_MAX_TOKENS: Record<ExportFormat, number | null> = { affectgpt: 1024, emer: 512, llamafactory: null, llava: null, jsonl: null };

export interface ExportOptions {
  /** the finished out folder (has manifest.json) */
  readonly outDir: string;
  readonly format: ExportFormat;
  /** default `<outDir>/export/<format>`; must be new, empty or an earlier emoforge export; not inside `<outDir>/shards` or `<outDir>/media` */
  readonly dest?: string;
  /** skip samples (AffectGPT: names) estimated over this many tokens; default DEFAULT_MAX_TOKENS[format] */
  readonly maxTokens?: number | null;
  /** default 'hardlink': media placed inside the export by name; 'none' (llava, jsonl, llamafactory) names the out folder's files */
  readonly media?: MediaMode;
  /** only rows a reviewer accepted or edited (the human-reviewed subset); default false */
  readonly reviewed?: boolean;
  /** affectgpt: which loader's file names (`track2_train_<corpus>.csv`); default 'mercaptionplus' */
  readonly affectgptCorpus?: AffectGptCorpus;
  /** llava: the placeholder style; default 'video-audio' */
  readonly llavaStyle?: LlavaStyle;
}

export interface ExportReport {
  readonly format: ExportFormat;
  readonly style: string | null;
  readonly source: string;
  readonly corpus: string;
  readonly configFingerprint: string;
  readonly dest: string;
  readonly maxTokens: number | null;
  readonly tokenEstimate: string;
  readonly written: number;
  /** rows left out, per reason (over-token-budget, no-face-crops, no-video, …) */
  readonly skipped: Record<string, number>;
  readonly skippedOverBudget: number;
  /** rows left out by `reviewed` (not accepted or edited by a reviewer) */
  readonly skippedNotReviewed: number;
  readonly splits: Record<string, SplitCounts>;
  /** rows written per task */
  readonly tasks: Record<string, number>;
  /** rows of tasks the format has no place for (AffectGPT: everything but description and ov_labels) */
  readonly notExported: Record<string, number>;
  readonly largestSampleTokens: number;
  /** files written, relative to dest (media not listed) */
  readonly files: string[];
  readonly media: MediaReport;
}

const REPORT = 'export-report.json';

export async function exportCorpus(options: ExportOptions): Promise<ExportReport> {
  if (!FORMATS.includes(options.format)) throw new ExportOptionError(`unknown format ${JSON.stringify(options.format)}: use one of ${FORMATS.join(', ')}`);
  const mediaMode = options.media ?? 'hardlink';
  if (!MEDIA_MODES.includes(mediaMode)) throw new ExportOptionError(`unknown media mode ${JSON.stringify(mediaMode)}: use one of ${MEDIA_MODES.join(', ')}`);
  if (options.format === 'affectgpt' && mediaMode === 'none') {
    throw new ExportOptionError(
      'affectgpt reads video/<name>.mp4, audio/<name>.wav and openface_face/ inside its dataset root: use --media hardlink (the default), copy or symlink',
    );
  }
  if (options.format === 'emer' && mediaMode !== 'hardlink') {
    throw new ExportOptionError('emer writes AVI files made from each segment (video and audio in one file): --media does not apply, leave it out');
  }
  const affectgptCorpus = options.affectgptCorpus ?? 'mercaptionplus';
  if (!AFFECTGPT_CORPORA.includes(affectgptCorpus))
    throw new ExportOptionError(`unknown AffectGPT corpus ${JSON.stringify(affectgptCorpus)}: use one of ${AFFECTGPT_CORPORA.join(', ')}`);
  const llavaStyle = options.llavaStyle ?? 'video-audio';
  if (!LLAVA_STYLES.includes(llavaStyle))
    throw new ExportOptionError(`unknown llava style ${JSON.stringify(llavaStyle)}: use one of ${LLAVA_STYLES.join(', ')}`);
  const maxTokens = options.maxTokens === undefined ? DEFAULT_MAX_TOKENS[options.format] : options.maxTokens;
  if (maxTokens !== null && !(Number.isInteger(maxTokens) && maxTokens >= 1))
    throw new ExportOptionError(`max tokens must be a whole number of at least 1, got ${maxTokens}`);
  const outDir = resolve(options.outDir);
  const dest = resolve(options.dest ?? join(outDir, 'export', options.format));
  await assertOutside(outDir, dest, 'shards', 'shards are rewritten by every run');
  await assertOutside(outDir, dest, 'media', "the out folder's media is pruned by every run");
  await assertOwnOrEmpty(dest);

  const corpus = await readCorpus(outDir);
  const tally = new ExportTally();
  const notExported: Record<string, number> = {};
  const rows: CorpusRow[] = [];
  let skippedNotReviewed = 0;
  for (const row of corpus.rows) {
    if (options.reviewed && !isReviewedRow(row)) {
      skippedNotReviewed++;
      continue;
    }
    if ((options.format === 'affectgpt' && !AFFECTGPT_TASKS.has(row.task)) || (options.format === 'emer' && row.task !== 'description')) {
      notExported[row.task] = (notExported[row.task] ?? 0) + 1;
      continue;
    }
    rows.push(row);
  }

  await mkdir(dirname(dest), { recursive: true });
  const building = join(dirname(dest), `.${basename(dest)}.emoforge-export-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(building);
  try {
    const media = new MediaPlacer(building, mediaMode, outDir);
    const writeText = async (path: string, text: string) => {
      const target = join(building, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, text);
    };
    const chat: ChatInput = { rows, names: corpus.names, media, maxTokens, tally, writeText };
    let files: string[];
    switch (options.format) {
      case 'affectgpt':
        files = await writeAffectGpt({ rows, names: corpus.names, media, maxTokens, tally, corpus: affectgptCorpus, writeText });
        break;
      case 'emer':
        files = await writeEmer({ rows, names: corpus.names, media, maxTokens, tally, writeText });
        break;
      case 'llamafactory':
        files = await writeLlamaFactory(chat);
        break;
      case 'llava':
        files = await writeLlava(chat, llavaStyle);
        break;
      default:
        files = await writeJsonl(chat);
    }
    const tokenEstimate = options.format === 'emer' ? EMER_TOKEN_ESTIMATE : TOKEN_ESTIMATE;
    await writeText(
      'README.md',
      exportReadme({ format: options.format, corpus: corpus.manifest.corpus, media: mediaMode, maxTokens, tokenEstimate, affectgptCorpus, llavaStyle }),
    );
    const skipped = tally.totalSkipped();
    const report: ExportReport = {
      format: options.format,
      style: options.format === 'affectgpt' ? affectgptCorpus : options.format === 'llava' ? llavaStyle : null,
      source: outDir,
      corpus: corpus.manifest.corpus,
      configFingerprint: corpus.manifest.configFingerprint,
      dest,
      maxTokens,
      tokenEstimate,
      written: tally.totalWritten(),
      skipped,
      skippedOverBudget: skipped[OVER_BUDGET] ?? 0,
      skippedNotReviewed,
      splits: tally.splits,
      tasks: Object.fromEntries(Object.entries(tally.tasks).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      notExported: Object.fromEntries(Object.entries(notExported).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      largestSampleTokens: tally.largestSampleTokens,
      files: [...files, 'README.md', REPORT],
      media: media.report(),
    };
    await writeText(REPORT, `${JSON.stringify(report, null, 2)}\n`);
    await publish(building, dest);
    return report;
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
}

/** Swaps the built folder in: an earlier export moves aside, the new one takes its name, the old one goes. */
async function publish(building: string, dest: string): Promise<void> {
  const old = `${building}.old`;
  const hadOld = await lstat(dest).then(
    () => true,
    () => false,
  );
  if (hadOld) await rename(dest, old);
  try {
    await rename(building, dest);
  } catch (error) {
    // Put the earlier export back: a failed export never leaves the user with neither.
    if (hadOld) await rename(old, dest).catch(() => undefined);
    throw error;
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** The dest must be new, an empty folder, or an earlier emoforge export (it has export-report.json): nothing else is replaced. */
async function assertOwnOrEmpty(dest: string): Promise<void> {
  const info = await lstat(dest).catch(() => null);
  if (!info) return;
  if (!info.isDirectory())
    throw new ExportOptionError(
      `the export destination ${dest} exists and is not a plain folder${info.isSymbolicLink() ? ' (a symlink)' : ''}: choose a new folder`,
    );
  const entries = await readdir(dest);
  if (entries.length > 0 && !entries.includes(REPORT)) {
    throw new ExportOptionError(
      `the export destination ${dest} is not empty and is not an emoforge export (no ${REPORT}): choose a new or empty folder, or remove it first`,
    );
  }
}

/** Lines a user reads after an export: counts per split, what was skipped and why, where the files are. */
export function formatExportSummary(report: ExportReport): string {
  const lines: string[] = [];
  const budget = report.maxTokens === null ? 'no token budget' : `${report.skippedOverBudget} skipped over the ${report.maxTokens}-token budget`;
  lines.push(
    `emoforge export ${report.format}: ${report.written} samples written, ${budget}${report.skippedNotReviewed ? `, ${report.skippedNotReviewed} not human-reviewed left out` : ''}`,
  );
  for (const split of SPLITS) {
    const s = report.splits[split];
    const skipped = Object.entries(s.skipped)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    lines.push(`  ${split.padEnd(10)}${String(s.written).padStart(7)} written${skipped ? `; skipped: ${skipped}` : ''}`);
  }
  const tasks = Object.entries(report.tasks)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  if (tasks) lines.push(`tasks: ${tasks}`);
  const skipped = Object.entries(report.notExported)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  if (skipped) lines.push(`not in this format: ${skipped}`);
  if (report.media.mode !== 'none') {
    const verb = { hardlink: 'hard-linked', copy: 'copied', symlink: 'symlinked' }[report.media.mode];
    for (const kind of ['video', 'audio', 'faces'] as const) {
      const c = report.media[kind];
      if (c.placed === 0 && Object.keys(c.missing).length === 0) continue;
      const missing = Object.entries(c.missing)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      const how =
        kind === 'faces' ? 'written' : report.format === 'emer' ? 'AVI written' : verb + (c.copied ? ` (${c.copied} copied across file systems)` : '');
      lines.push(`${kind}: ${c.placed} ${how}${missing ? `; not placed: ${missing}` : ''}`);
    }
  }
  lines.push(`in ${report.dest}: ${report.files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The dest may not be OUT/<folder> or inside it (checked on real paths, so a symlink cannot hide it). */
async function assertOutside(outDir: string, dest: string, folder: string, why: string): Promise<void> {
  const inner = await realpathOfNearest(join(outDir, folder));
  const target = await realpathOfNearest(dest);
  const rel = relative(inner, target);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new ExportOptionError(`the export destination ${dest} is inside ${join(outDir, folder)}: ${why}, choose a folder outside it`);
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
