// The compiled copy (.build/): when it counts as current, and that the command gives the same
// answers from it as from the TypeScript sources.
import { execFile } from 'node:child_process';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BUILD_DIR, compiledIsCurrent, SOURCE_DIRS, STAMP_FILE, sourceStamp } from '../../scripts/compiled.mjs';
import { REPO, tempDir } from '../helpers.ts';

const run = promisify(execFile);

async function tree(): Promise<string> {
  const root = await tempDir('emoforge-compiled-');
  for (const dir of SOURCE_DIRS) {
    await mkdir(join(root, dir, 'sub'), { recursive: true });
    await writeFile(join(root, dir, 'sub', 'a.ts'), `export const a = '${dir}';\n`);
  }
  await writeFile(join(root, 'tsconfig.json'), '{}\n');
  return root;
}

async function stamp(root: string): Promise<void> {
  await mkdir(join(root, BUILD_DIR), { recursive: true });
  await writeFile(join(root, BUILD_DIR, STAMP_FILE), JSON.stringify(sourceStamp(root)));
}

describe('the compiled copy', () => {
  it('is current only while every source file is the one compiled', async () => {
    const root = await tree();
    expect(compiledIsCurrent(root)).toBe(false); // never built
    await stamp(root);
    expect(compiledIsCurrent(root)).toBe(true);

    const file = join(root, 'stages', 'sub', 'a.ts');
    await writeFile(file, "export const a = 'edited';\n");
    expect(compiledIsCurrent(root)).toBe(false); // edited
    await stamp(root);
    const later = new Date(Date.now() + 5_000);
    await utimes(file, later, later);
    expect(compiledIsCurrent(root)).toBe(false); // same size, touched

    await stamp(root);
    await writeFile(join(root, 'pipelines', 'new.ts'), 'export {};\n');
    expect(compiledIsCurrent(root)).toBe(false); // a file added
    await stamp(root);
    await rm(join(root, 'schemas', 'sub', 'a.ts'));
    expect(compiledIsCurrent(root)).toBe(false); // a file removed
    await stamp(root);
    await writeFile(join(root, 'tsconfig.json'), '{ }\n');
    expect(compiledIsCurrent(root)).toBe(false); // compiler settings changed
    await stamp(root);
    await writeFile(join(root, BUILD_DIR, STAMP_FILE), '{ not json');
    expect(compiledIsCurrent(root)).toBe(false); // a broken record
    await rm(root, { recursive: true, force: true });
  });

  it('gives the same answers as the TypeScript sources (EMOFORGE_FROM_SOURCE=1)', async () => {
    // `npm test` builds before vitest starts, so the compiled copy is current here.
    expect(compiledIsCurrent(REPO), '.build/ does not match the sources: run `npm run build` (npm test does)').toBe(true);
    const cli = (args: string[], env: Record<string, string> = {}) =>
      run(process.execPath, [join(REPO, 'scripts/emoforge.mjs'), ...args], { cwd: REPO, env: { ...process.env, ...env } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    for (const args of [['--version'], ['--help'], ['inspect', join(REPO, 'no-such-out-folder')]]) {
      const compiled = await cli(args);
      const source = await cli(args, { EMOFORGE_FROM_SOURCE: '1' });
      expect(compiled).toEqual(source);
    }
  });
});
