// What every export layout is given: the corpus rows, their export names, where media goes, the
// token budget, the tally of what was written and skipped, and the writer of text files.
import type { CorpusRow } from './corpus-rows.ts';
import type { ExportTally } from './export-tally.ts';
import type { MediaPlacer } from './media-files.ts';

export interface LayoutInput {
  readonly rows: readonly CorpusRow[];
  readonly names: ReadonlyMap<string, string>;
  readonly media: MediaPlacer;
  readonly maxTokens: number | null;
  readonly tally: ExportTally;
  readonly writeText: (path: string, text: string) => Promise<void>;
}
