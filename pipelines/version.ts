import { readFileSync } from 'node:fs';

/** emoforge's own version, from package.json. */
export const EMOFORGE_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
