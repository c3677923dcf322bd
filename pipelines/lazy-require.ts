// Packages only some runs need (S3, Redis, the BPE tokenizer, sharp for export's face stacks), loaded on first use rather than when
// emoforge starts: each costs 0.1–0.3 CPU s to load, paid by every `emoforge` process otherwise
// (README "Layout"). Synchronous, through the package's CommonJS entry, for call sites that are.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A function returning `id`'s exports, required on its first call. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
