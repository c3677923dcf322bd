// Small writers shared by the exporters: atomic file replacement (temp + rename in the same folder),
// CSV fields as pandas and Python's csv module read them, Python-literal lists, and the token estimate.
import { randomBytes } from 'node:crypto';
import { copyFile, rename, rm, symlink, writeFile } from 'node:fs/promises';

function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Replaces `path` atomically: readers see the old file or the new one, never half of one. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = tempPath(path);
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Replaces `path` atomically with a symlink to `target` (an absolute path). */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  const temp = tempPath(path);
  try {
    await symlink(target, temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Replaces `path` atomically with a copy of `source`. */
export async function copyFileAtomic(source: string, path: string): Promise<void> {
  const temp = tempPath(path);
  try {
    await copyFile(source, temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, line break or edge whitespace; quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvTable(header: readonly string[], records: readonly (readonly string[])[]): string {
  return [header, ...records].map((cells) => cells.map(csvField).join(',')).join('\n') + '\n';
}

/**
 * A list of strings as a Python literal with single quotes, the form AffectGPT reads with
 * `ast.literal_eval`: `['excited', 'joyful', 'happy']`, `[]` for none. Backslashes, single quotes
 * and line breaks inside a word are escaped.
 */
export function pythonList(words: readonly string[]): string {
  const quoted = words.map((w) => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r')}'`);
  return `[${quoted.join(', ')}]`;
}

/**
 * Estimated tokens of a sample: characters / 4, rounded up, over the text of every turn (media
 * placeholders count as their text). The common rule of thumb for English BPE vocabularies; it
 * over-counts short words slightly, which errs on the side of the trainer's limit.
 */
export function estimateTokens(turns: readonly { readonly value: string }[]): number {
  return Math.ceil(turns.reduce((n, t) => n + t.value.length, 0) / 4);
}
