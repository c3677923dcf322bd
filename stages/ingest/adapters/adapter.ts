// Corpus adapters: each reads one public emotion corpus in the layout its authors publish and gives
// the ingest stage one entry per sample (a file, or an utterance span inside a longer file) with the
// label mapped into our vocabulary, the corpus's own label and code kept (labelSource), sentiment /
// valence / arousal where the corpus gives them, the transcript or fixed sentence, the speaker and
// group for leakage-free splits, and the corpus's own split. Parsing is strict: anything an adapter
// cannot read, or a file the layout does not account for, is a reject naming the file (and line).
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { z } from 'zod';
import type { ManifestFields } from '../../../schemas/records.ts';

export interface AdapterEntry {
  /** absolute path of the media file */
  readonly path: string;
  /** path relative to the corpus root, with forward slashes */
  readonly uri: string;
  /** the sample's name as the corpus names it (unique within the corpus) */
  readonly name: string;
  /** an utterance inside a longer file, seconds */
  readonly span?: { readonly start: number; readonly end: number };
  readonly manifest: ManifestFields;
}

export interface AdapterReject {
  /** the file or the annotation line's file, relative to the root */
  readonly uri: string;
  readonly reason: string;
  /** what was wrong, naming the file and line */
  readonly detail: string;
}

export interface AdapterListing {
  readonly entries: AdapterEntry[];
  readonly rejects: AdapterReject[];
}

export interface CorpusAdapter<C = unknown> {
  /** the preset name (`ingest.preset`) */
  readonly name: string;
  /** the adapter's own options (`ingest.<name>: {…}`) */
  readonly configSchema: z.ZodType<C>;
  /** One-line description for errors and README. */
  readonly layout: string;
  list(root: string, config: C): Promise<AdapterListing>;
}

/** Every file under `dir`, relative to `root` with forward slashes, sorted; a missing folder lists nothing. */
export async function filesUnder(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** A value on a corpus's 1–5 (or other) scale rescaled to [-1, 1], rounded to 3 decimals. */
export function rescale(value: number, low: number, high: number): number {
  const scaled = (2 * (value - low)) / (high - low) - 1;
  return Math.round(Math.max(-1, Math.min(1, scaled)) * 1000) / 1000;
}
