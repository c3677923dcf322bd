#!/usr/bin/env node
// The `emoforge` command. Runs the compiled copy under .build/ when it matches the sources
// (scripts/build.mjs, scripts/compiled.mjs), else the TypeScript sources through tsx's loader
// (registered here, so the command works from any working directory). EMOFORGE_FROM_SOURCE=1
// always runs the sources.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD_DIR, compiledIsCurrent } from './compiled.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let cli;
if (!process.env.EMOFORGE_FROM_SOURCE && compiledIsCurrent(root)) cli = await import(pathToFileURL(join(root, BUILD_DIR, 'scripts', 'cli.js')).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('./cli.ts');
}
process.exitCode = await cli.main(process.argv.slice(2));
