// The corpus adapters `ingest.preset` names.
import type { CorpusAdapter } from './adapter.ts';
import { cremad } from './cremad.ts';
import { iemocap } from './iemocap.ts';
import { meld } from './meld.ts';
import { mer } from './mer.ts';
import { ravdess } from './ravdess.ts';

export const ADAPTERS: ReadonlyMap<string, CorpusAdapter> = new Map<string, CorpusAdapter>(
  ([ravdess, cremad, meld, iemocap, mer] as CorpusAdapter[]).map((a) => [a.name, a]),
);
export const PRESETS = ['ravdess', 'cremad', 'meld', 'iemocap', 'mer'] as const;
export type { AdapterEntry, AdapterListing, AdapterReject, CorpusAdapter } from './adapter.ts';
