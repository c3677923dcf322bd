// File-system faults are said as what failed, where and what to do, with exit 1 and no stack trace
// (unless --debug): an out folder or store that is a file, a read-only out (a tmpfs mounted ro), a
// disk that fills up during a publish (a small tmpfs), which leaves the published version intact.
// The mounts need root (this machine and CI run as root); without them those two tests are skipped.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, demoConfig, sampleClips, tempDir, writeConfig } from '../helpers.ts';

const STACK = /\n\s+at /;
let work: string;
let input: string;
let file: string;
const mounts: string[] = [];

function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

function config(frames: number) {
  return demoConfig({ transcribe: { engine: 'manifest' }, segment: { strategy: 'whole', frames }, 'cues.visual': false }, { partitions: 2 });
}

beforeAll(async () => {
  work = await tempDir('emoforge-fs-errors-');
  input = await sampleClips(3);
  file = await writeConfig(work, config(0));
}, 120_000);
afterAll(async () => {
  for (const dir of mounts.reverse()) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
});

describe('file-system faults', () => {
  it('an out folder or store that is a file: exit 1, said plainly, no stack trace', async () => {
    await writeFile(join(work, 'out-file'), 'not a folder');
    const out = await cli(['run', file, '--input', input, '--out', join(work, 'out-file'), '--store', join(work, 'store')]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/--out .*out-file is a file, not a folder: move it away or choose another --out/);
    expect(out.stderr).not.toMatch(STACK);
    const store = await cli(['run', file, '--input', input, '--out', join(work, 'out-a'), '--store', join(work, 'out-file')]);
    expect(store.code).toBe(1);
    expect(store.stderr).toMatch(/--store .*out-file is a file, not a folder/);
    const under = await cli(['run', file, '--input', input, '--out', join(work, 'out-file', 'out'), '--store', join(work, 'store')]);
    expect(under.code).toBe(1);
    expect(under.stderr).toMatch(/is a file, not a folder \(ENOTDIR/);
    expect(under.stderr).not.toMatch(STACK);
  }, 60_000);

  it('a read-only out folder: exit 1 naming EROFS; --debug adds the stack', async (context) => {
    const ro = join(work, 'ro');
    await mkdir(ro);
    if (!mountTmpfs(ro, 'ro,size=1m')) context.skip();
    const result = await cli(['run', file, '--input', input, '--out', join(ro, 'out'), '--store', join(work, 'store')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ro\/out is on a read-only file system \(EROFS, mkdir\): --out .* is not writable; choose a writable folder/);
    expect(result.stderr).not.toMatch(STACK);
    const debug = await cli(['run', file, '--input', input, '--out', join(ro, 'out'), '--store', join(work, 'store'), '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(STACK);
  }, 60_000);

  it('a disk that fills up during a publish: exit 1, "OUT is unchanged; free space and run again", the published version intact', async (context) => {
    const full = join(work, 'full');
    await mkdir(full);
    if (!mountTmpfs(full, 'size=8m')) context.skip();
    const out = join(full, 'out');
    const first = await cli(['run', file, '--input', input, '--out', out, '--store', join(work, 'store-full')]);
    expect(first.code, first.stderr).toBe(0);
    const published = await readFile(join(out, 'manifest.json'), 'utf8');
    // Fill the disk, then free 48 KiB: enough for the lock and logs, not for keyframes and shards.
    const filler = join(full, 'filler');
    await writeFile(filler, Buffer.alloc(0));
    const chunk = Buffer.alloc(64 * 1024);
    try {
      for (;;) await writeFile(filler, chunk, { flag: 'a' });
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const { truncate, stat } = await import('node:fs/promises');
    await truncate(filler, Math.max(0, (await stat(filler)).size - 48 * 1024));
    const level = process.env.EMOFORGE_LOG_LEVEL;
    process.env.EMOFORGE_LOG_LEVEL = 'error';
    try {
      const second = await cli(['run', await writeConfig(await tempDir(), config(2)), '--input', input, '--out', out, '--store', join(work, 'store-full')]);
      expect(second.code, second.stdout).toBe(1);
      expect(second.stderr).toMatch(/the disk is full \(ENOSPC\) writing .*: OUT is unchanged; free space and run again/);
      expect(second.stderr).not.toMatch(STACK);
    } finally {
      if (level === undefined) delete process.env.EMOFORGE_LOG_LEVEL;
      else process.env.EMOFORGE_LOG_LEVEL = level;
    }
    expect(await readFile(join(out, 'manifest.json'), 'utf8')).toBe(published);
    await rm(filler);
  }, 180_000);
});
