// Every input accounted for, nothing outside the input root opened: folder walks, globs and
// manifests resolve links to real paths and refuse escapes (path-escape), symlink loops
// (symlink-loop), fifos (not-a-file), dotfiles (hidden-file, a setting), repeated manifest rows
// (duplicate-row); a CSV without a header is refused at start; a 50k-row manifest of missing files
// is quick; an s3:// key that would land outside the mirror is never written.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../pipelines/errors.ts';
import type { SourceResult, StageContext, WorkKind } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { pullFolder } from '../../../pipelines/publish/store-mirror.ts';
import type { Store } from '../../../pipelines/store/store.ts';
import { ingest } from '../../../stages/ingest.ts';
import { cli, demoConfig, sampleClips, stageContext, tempDir, writeConfig } from '../../helpers.ts';

const run = promisify(execFile);
const config = ingest.configSchema.parse({});

function context(): StageContext & { counts: Partial<Record<WorkKind, number>> } {
  const { ctx, work } = stageContext({ store: new LocalStore(join(storeRoot, String(Math.random()).slice(2))), stage: 'ingest' });
  return Object.assign(ctx, { counts: work });
}

function reasons(result: SourceResult): string[] {
  return result.drops.map((d) => `${d.uri} ${d.reason}`).sort();
}

/** The invariant: every source seen is a clip or a reject. */
function expectAccounted(result: SourceResult): void {
  expect(result.clips.length + result.drops.length).toBe(result.seen);
}

let clips: string;
let storeRoot: string;
let hostile: string;

beforeAll(async () => {
  clips = await sampleClips(3);
  storeRoot = await tempDir('emoforge-containment-store-');
  // parent/secret.mp4 sits beside the input folder; the input links out to it, to /etc/passwd, to itself.
  const parent = await tempDir('emoforge-containment-');
  await copyFile(join(clips, 'sample_0001.mp4'), join(parent, 'secret.mp4'));
  hostile = join(parent, 'in');
  await mkdir(join(hostile, 'sub'), { recursive: true });
  await copyFile(join(clips, 'sample_0002.mp4'), join(hostile, 'a.mp4'));
  await copyFile(join(clips, 'sample_0003.mp4'), join(hostile, '.hidden.mp4'));
  await copyFile(join(clips, 'sample_0001.mp4'), join(hostile, 'sub', 'b.mp4'));
  await writeFile(join(hostile, 'notes.txt'), 'not a source: other extensions are not listed');
  await symlink('..', join(hostile, 'up'));
  await symlink('/etc/passwd', join(hostile, 'passwd.mp4'));
  await symlink('loop.mp4', join(hostile, 'loop.mp4'));
  await symlink('.', join(hostile, 'sub', 'again'));
  await symlink('sub/b.mp4', join(hostile, 'link-inside.mp4'));
  await run('mkfifo', [join(hostile, 'pipe.mp4')]);
}, 300_000);

describe('a folder input', () => {
  it('resolves every entry: links out are path-escape (never opened), loops symlink-loop, fifos not-a-file, dotfiles hidden-file', async () => {
    const ctx = context();
    const result = await ingest.run(config, { input: hostile, partitions: 2 }, ctx);
    // link-inside.mp4 is sub/b.mp4 through a link inside the root: one clip, the other a duplicate (uri order).
    expect(result.clips.map((c) => c.uri).sort()).toEqual(['a.mp4', 'link-inside.mp4']);
    expect(reasons(result)).toEqual([
      '.hidden.mp4 hidden-file',
      'loop.mp4 symlink-loop',
      'passwd.mp4 path-escape',
      'pipe.mp4 not-a-file',
      'sub/again symlink-loop',
      'sub/b.mp4 duplicate',
      'up path-escape',
    ]);
    // Only files inside the root were probed, each content once (link-inside.mp4 is sub/b.mp4): not /etc/passwd.
    expect(ctx.counts.probe).toBe(2);
    expect(result.drops.find((d) => d.uri === 'passwd.mp4')!.detail).toMatch(/outside the input folder .*it was not opened/);
    expectAccounted(result);
  });

  it('takes dotfiles with hidden: ingest', async () => {
    const result = await ingest.run({ ...config, hidden: 'ingest' }, { input: hostile, partitions: 2 }, context());
    expect(result.clips.map((c) => c.uri).sort()).toEqual(['.hidden.mp4', 'a.mp4', 'link-inside.mp4']);
    expectAccounted(result);
  });
});

describe('a glob input', () => {
  it('applies the same checks to its matches', async () => {
    const ctx = context();
    const result = await ingest.run(config, { input: `${hostile}/*.mp4`, partitions: 2 }, ctx);
    expect(result.clips.map((c) => c.uri)).toEqual(['a.mp4', 'link-inside.mp4']);
    expect(reasons(result)).toEqual(['.hidden.mp4 hidden-file', 'loop.mp4 symlink-loop', 'passwd.mp4 path-escape', 'pipe.mp4 not-a-file']);
    expect(ctx.counts.probe).toBe(2);
    expectAccounted(result);
  });
});

describe('a manifest input', () => {
  it('rejects a repeated row duplicate-row, a fifo not-a-file, a loop symlink-loop; every row is accounted for', async () => {
    await writeFile(join(hostile, 'list.csv'), 'path,label\na.mp4,happy\npipe.mp4,sad\nloop.mp4,sad\na.mp4,angry\nup/secret.mp4,sad\nsub/b.mp4,calm\n');
    const result = await ingest.run(config, { input: join(hostile, 'list.csv'), partitions: 2 }, context());
    expect(result.clips.map((c) => [c.uri, c.manifest.label])).toEqual([
      ['a.mp4', 'happy'],
      ['sub/b.mp4', 'calm'],
    ]);
    expect(reasons(result)).toEqual(['list.csv#L5 duplicate-row', 'loop.mp4 symlink-loop', 'pipe.mp4 not-a-file', 'up/secret.mp4 path-escape']);
    expect(result.drops.find((d) => d.reason === 'duplicate-row')!.detail).toContain('first listed on line 2');
    expect(result.seen).toBe(6);
    expectAccounted(result);
  });

  it('refuses a CSV without a header at start, naming the columns it found', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'list.csv'), 'a.mp4,happy,s1\nb.mp4,sad,s2\n');
    const error = await ingest.run(config, { input: join(dir, 'list.csv'), partitions: 1 }, context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/list\.csv has no header row: its first row holds "a\.mp4", "happy", "s1"/);
    const file = await writeConfig(dir, demoConfig({ transcribe: { engine: 'manifest' } }));
    const result = await cli(['run', file, '--input', join(dir, 'list.csv'), '--out', join(dir, 'out'), '--store', join(dir, 'store')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no header row: its first row holds "a\.mp4", "happy", "s1"/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('turns a 50,000-row manifest of missing files into 50,000 missing rejects in seconds', async () => {
    const dir = await tempDir();
    const lines = ['name,label'];
    for (let i = 0; i < 50_000; i++) lines.push(`gone_${i},happy`);
    await writeFile(join(dir, 'manifest.csv'), `${lines.join('\n')}\n`);
    const started = performance.now();
    const result = await ingest.run(config, { input: join(dir, 'manifest.csv'), partitions: 4 }, context());
    const seconds = (performance.now() - started) / 1000;
    console.info(`50k missing manifest rows: ${seconds.toFixed(1)} s`);
    expect(result.drops).toHaveLength(50_000);
    expect(new Set(result.drops.map((d) => d.reason))).toEqual(new Set(['missing']));
    expect(seconds).toBeLessThan(15);
    expectAccounted(result);
  }, 120_000);
});

describe('sniffing', () => {
  it('calls a text file that starts with "G" not-media, not corrupt', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.mp4'), `Good morning. ${'This is a text file, not an MPEG transport stream. '.repeat(20)}`);
    const result = await ingest.run(config, { input: dir, partitions: 1 }, context());
    expect(reasons(result)).toEqual(['notes.mp4 not-media']);
  });
});

describe('an s3:// input mirror', () => {
  it('never writes a key that would land outside the mirror, and reports it', async () => {
    const mirror = join(await tempDir(), 'mirror');
    const bytes = new Map([
      ['ok.mp4', Buffer.from('fine')],
      ['../escaped.mp4', Buffer.from('outside')],
      ['a/../../../x.mp4', Buffer.from('outside')],
    ]);
    // A bucket listing as hostile as S3 allows (keys are arbitrary strings there).
    const bucket = {
      location: 's3://hostile/clips',
      async *list() {
        yield* bytes.keys();
      },
      async size(key: string) {
        return bytes.get(key)?.length ?? null;
      },
      async download(key: string, path: string) {
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, bytes.get(key)!);
      },
    } as unknown as Store;
    const pulled = await pullFolder(bucket, mirror);
    expect(pulled.escaped.sort()).toEqual(['../escaped.mp4', 'a/../../../x.mp4']);
    expect(await readdir(mirror)).toEqual(['ok.mp4']);
    expect(await readdir(join(mirror, '..'))).toEqual(['mirror']);
    const result = await ingest.run(
      config,
      { input: mirror, partitions: 1, refused: pulled.escaped.map((uri) => ({ uri, detail: 'outside the mirror' })) },
      context(),
    );
    expect(reasons(result)).toEqual(['../escaped.mp4 path-escape', 'a/../../../x.mp4 path-escape', 'ok.mp4 not-media']);
    expectAccounted(result);
  });
});
