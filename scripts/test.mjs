#!/usr/bin/env node
// `npm test`: the format and lint check (biome), the compiled copy the CLI tests run (build.mjs
// --no-check, about a second), then the type check (`tsc --noEmit -p .`) and vitest side by side:
// the type check takes ~25 s of one core, which vitest leaves idle often enough while it waits on
// the processes its tests start. tsc's output is printed when it ends. Fails when any step fails;
// arguments go to vitest (`npm test -- tests/e2e/demo.test.ts`).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resolve = createRequire(import.meta.url).resolve;
const node = (args, options = {}) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', ...options });

for (const [label, args] of [
  ['biome check', [resolve('@biomejs/biome/bin/biome'), 'check', '.']],
  ['build', [join(root, 'scripts', 'build.mjs'), '--no-check']],
]) {
  const step = node(args);
  if (step.status !== 0) {
    console.error(`npm test: ${label} failed`);
    process.exit(step.status ?? 1);
  }
}

const typeCheck = new Promise((done) => {
  const child = spawn(process.execPath, [resolve('typescript/bin/tsc'), '--noEmit', '-p', join(root, 'tsconfig.json')], { cwd: root });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.on('close', (code, signal) => done({ code: code ?? 1, signal, output }));
});
const tests = new Promise((done) => {
  const child = spawn(process.execPath, [join(dirname(resolve('vitest/package.json')), 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('close', (code) => done(code ?? 1));
});

const [checked, tested] = await Promise.all([typeCheck, tests]);
if (checked.code !== 0) {
  process.stderr.write(checked.output);
  console.error(`npm test: the type check failed (tsc ${checked.signal ? `was killed (${checked.signal})` : `exited ${checked.code}`})`);
} else console.log('npm test: type check passed (tsc --noEmit -p .)');
process.exit(checked.code !== 0 ? checked.code : tested);
