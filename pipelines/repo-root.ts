// Where emoforge's own files are (package.json, configs/, node_modules/): the folder holding
// package.json, searched upwards from this module. The same answer whether this module runs from
// its TypeScript source or from the compiled copy under .build/ (which holds no package.json).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FatalError } from './errors.ts';

let found: string | undefined;

/** The folder holding emoforge's package.json. */
export function repoRoot(): string {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (found = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new FatalError(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
