#!/usr/bin/env node
// `npm run build`: writes emoforge's TypeScript (pipelines/, stages/, schemas/, scripts/) as
// JavaScript under .build/ with esbuild, the compiler tsx runs on every load (so the compiled copy
// behaves as the sources do through tsx), relative `.ts` imports pointed at the `.js` files; copies
// the other files of those folders (the review page, the BullMQ processor entry) beside it; records
// what it compiled (scripts/compiled.mjs); then type-checks the whole program, tests included, as
// `tsc --noEmit -p .` does, and exits with tsc's status. `--no-check` skips the type check (setup,
// and `npm test`, which runs it beside vitest).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUILD_DIR, SOURCE_DIRS, STAMP_FILE, sourceStamp } from './compiled.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, BUILD_DIR);
const started = performance.now();
const before = sourceStamp(root);
rmSync(out, { recursive: true, force: true });

const inCompiled = (path) => SOURCE_DIRS.some((dir) => path.startsWith(`${dir}/`));
const sources = Object.keys(before).filter((path) => inCompiled(path) && path.endsWith('.ts') && !path.endsWith('.d.ts'));
await build({
  entryPoints: sources.map((path) => join(root, path)),
  outdir: out,
  outbase: root,
  // Bundling only so that the plugin sees every import: each one stays external, so a file's output is that file.
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'warning',
  plugins: [
    {
      name: 'each-file-alone',
      setup(on) {
        on.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          const relative = args.path.startsWith('./') || args.path.startsWith('../');
          return { path: relative ? args.path.replace(/\.ts$/, '.js') : args.path, external: true };
        });
      },
    },
  ],
});

let assets = 0;
for (const path of Object.keys(before)) {
  if (!inCompiled(path) || path.endsWith('.ts')) continue;
  mkdirSync(dirname(join(out, path)), { recursive: true });
  cpSync(join(root, path), join(out, path));
  assets++;
}
const after = sourceStamp(root);
if (JSON.stringify(after) !== JSON.stringify(before)) {
  rmSync(out, { recursive: true, force: true });
  console.error('build: sources changed while compiling; run `npm run build` again (until then `emoforge` runs the TypeScript)');
  process.exit(1);
}
writeFileSync(join(out, STAMP_FILE), `${JSON.stringify(after, null, 1)}\n`);
console.log(
  `build: ${sources.length} TypeScript files compiled to ${BUILD_DIR}/, ${assets} other files copied (${((performance.now() - started) / 1000).toFixed(1)} s)`,
);

if (!process.argv.includes('--no-check')) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const checked = spawnSync(process.execPath, [tsc, '--noEmit', '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (checked.status !== 0) {
    console.error(`build: the type check failed (tsc ${checked.signal ? `was killed (${checked.signal})` : `exited ${checked.status}`})`);
    process.exit(checked.status ?? 1);
  }
  console.log('build: type check passed');
}
