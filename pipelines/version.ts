import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo-root.ts';

/** emoforge's own version, from package.json. */
export const EMOFORGE_VERSION: string = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version;
