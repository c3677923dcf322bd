#!/usr/bin/env node
// `npm run build`: type-checks every TypeScript file of the repository (the same program as
// `tsc --noEmit -p .`, tests included) and writes it as JavaScript under .build/, with the other
// files of the source folders (the review page, the BullMQ processor entry) beside it, then records
// what it compiled. The `emoforge` command runs the compiled copy while that record matches the
// sources (scripts/compiled.mjs). Exits with tsc's status when the types are wrong; does nothing
// when the record already matches the sources (`--force` compiles anyway).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_DIR, compiledIsCurrent, SOURCE_DIRS, STAMP_FILE, sourceStamp } from './compiled.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, BUILD_DIR);
if (compiledIsCurrent(root) && !process.argv.includes('--force')) {
  // The record is written only after tsc passed on exactly these sources (and lockfile).
  console.log(`build: ${BUILD_DIR}/ already holds a type-checked compile of these sources (--force compiles again)`);
  process.exit(0);
}
const before = sourceStamp(root);
rmSync(out, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) {
  // tsc writes JavaScript even when the types are wrong; none of it may look current.
  rmSync(out, { recursive: true, force: true });
  console.error(`build: tsc ${compiled.signal ? `was killed (${compiled.signal})` : `exited ${compiled.status}`}; nothing compiled is used`);
  process.exit(compiled.status ?? 1);
}

let assets = 0;
for (const path of Object.keys(before)) {
  if (path.endsWith('.ts') || !SOURCE_DIRS.some((dir) => path.startsWith(`${dir}/`))) continue;
  mkdirSync(dirname(join(out, path)), { recursive: true });
  cpSync(join(root, path), join(out, path));
  assets++;
}

const after = sourceStamp(root);
if (JSON.stringify(after) !== JSON.stringify(before)) {
  console.error('build: sources changed while compiling; run `npm run build` again (until then `emoforge` runs the TypeScript)');
  process.exit(1);
}
writeFileSync(join(out, STAMP_FILE), `${JSON.stringify(after, null, 1)}\n`);
console.log(
  `build: ${Object.keys(after).filter((p) => p.endsWith('.ts')).length} TypeScript files type-checked and compiled to ${BUILD_DIR}/, ${assets} other files copied`,
);
