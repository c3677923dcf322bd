// Scheduled refresh: versions with parent + diff, takedown, the refresh lock against a real second
// process, and `emoforge schedule` (--once, a running cron schedule stopped by SIGTERM, bad cron).
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRowsDuckDb } from '../../pipelines/parquet/index.ts';
import { LOCK_FILE } from '../../pipelines/publish/lock.ts';
import { inspect } from '../../scripts/commands/inspect.ts';
import { cli, demoConfig, readJson, REPO, runInProcess, sampleClips, tempDir, writeConfig } from '../helpers.ts';

const OVERRIDES = { transcribe: { engine: 'manifest' }, 'cues.visual': { detector: 'tiny' } };

/** A folder holding only `names` of the full sample folder, with their manifest rows. */
async function inputOf(full: string, dir: string, names: readonly string[]): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  const lines = (await readFile(join(full, 'manifest.csv'), 'utf8')).trim().split('\n');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  for (const name of names) await copyFile(join(full, `${name}.mp4`), join(dir, `${name}.mp4`));
  await writeFile(join(dir, 'manifest.csv'), `${[lines[0], ...lines.slice(1).filter((l) => names.includes(l.split(',')[0]))].join('\n')}\n`);
  return dir;
}

type Row = Record<string, unknown>;

/** Every row of a published out folder (or a version folder), by id, read through its manifest with DuckDB. */
async function rowsOf(dir: string): Promise<Row[]> {
  const manifest = await readJson(join(dir, 'manifest.json'));
  const rows = (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsDuckDb(join(dir, s.file))))).flat() as Row[];
  return rows.sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
}

const json = (rows: Row[]) => JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const idsOfClips = (rows: Row[], names: string[]) =>
  rows
    .filter((r) => names.includes(String(r.name)))
    .map((r) => String(r.id))
    .sort();

describe('versions of an out folder', () => {
  it('adds clips as version 2, removes a clip and a takedown as version 3, keeps old versions readable, and keeps the version when nothing changed', async () => {
    const full = await sampleClips(6);
    const work = await tempDir();
    const out = join(work, 'out');
    const store = join(work, 'store');
    const input = join(work, 'input');
    const names = ['sample_0001', 'sample_0002', 'sample_0003', 'sample_0004', 'sample_0005', 'sample_0006'];

    // Version 1: four clips.
    await inputOf(full, input, names.slice(0, 4));
    const v1 = await runInProcess(demoConfig(OVERRIDES), { input, out, store });
    const m1 = await readJson(join(out, 'manifest.json'));
    expect(m1.version).toBe(1);
    expect(m1.parent).toBeNull();
    expect(m1.diff).toBeNull();
    expect(m1).not.toHaveProperty('createdAt');
    expect(v1.summary.sink?.version?.number).toBe(1);
    const rows1 = await rowsOf(out);
    expect(rows1.length).toBeGreaterThan(0);
    expect(json(await rowsOf(join(out, 'versions', '1')))).toBe(json(rows1));
    // Hard links, not copies: the version folder's shard is the published file.
    const shard1 = m1.shards[0].file;
    expect((await stat(join(out, 'versions', '1', shard1))).ino).toBe((await stat(join(out, shard1))).ino);

    // Version 2: two clips arrive.
    await inputOf(full, input, names);
    const v2 = await runInProcess(demoConfig(OVERRIDES), { input, out, store });
    const m2 = await readJson(join(out, 'manifest.json'));
    const rows2 = await rowsOf(out);
    expect(m2.version).toBe(2);
    expect(m2.parent).toEqual({ version: 1, manifest: sha256(await readFile(join(out, 'versions', '1', 'manifest.json'))) });
    expect(m2.diff.clips.added.map((c: { name: string }) => c.name)).toEqual(['sample_0005', 'sample_0006']);
    expect(m2.diff.clips.removed).toEqual([]);
    expect(m2.diff.addedRows).toEqual(idsOfClips(rows2, ['sample_0005', 'sample_0006']));
    expect(m2.diff.removedRows).toEqual([]);
    expect(m2.diff.rows.added).toBe(m2.diff.addedRows.length);
    // Rows that kept their id but not their content (a split move, say) are "changed", never added.
    const ids1 = new Set(rows1.map((r) => String(r.id)));
    for (const id of m2.diff.changedRows) expect(ids1.has(id)).toBe(true);
    expect(m2.diff.rows.kept + m2.diff.rows.changed).toBe(rows1.length);
    // Splits are sticky: every row of version 1 keeps its split in version 2.
    const split2 = new Map(rows2.map((r) => [String(r.id), r.split]));
    expect(rows1.filter((r) => split2.get(String(r.id)) !== r.split)).toEqual([]);
    expect(v2.summary.sink?.version?.line).toMatch(/^version 2 \(parent 1\): rows \+\d+ -0/);
    // Only the new clips cost media work: the old ones came from the cache (the sample clips are
    // probed natively: `probe` counts every probe, `ffprobe` the processes).
    expect(v2.summary.stats.ingest.work.probe ?? 0).toBe(2);
    expect(v2.summary.stats.ingest.work.ffprobe ?? 0).toBe(0);

    // Version 3: sample_0006 leaves the source, sample_0002 is taken down (by name) and so is a re-upload of it.
    await inputOf(full, input, names.slice(0, 5));
    await copyFile(join(full, 'sample_0002.mp4'), join(input, 'reupload.mp4'));
    const takedown = join(work, 'takedown.txt');
    await writeFile(takedown, '# legal request 2026-11-20\nsample_0002\n\n');
    const config3 = demoConfig({ ...OVERRIDES, ingest: { takedown } });
    const v3 = await runInProcess(config3, { input, out, store });
    const m3 = await readJson(join(out, 'manifest.json'));
    const rows3 = await rowsOf(out);
    expect(m3.version).toBe(3);
    expect(m3.parent.version).toBe(2);
    expect(m3.diff.clips.removed.map((c: { name: string; reason: string }) => [c.name, c.reason])).toEqual([
      ['sample_0002', 'takedown'],
      ['sample_0006', 'gone'],
    ]);
    expect(m3.diff.removedRows).toEqual(idsOfClips(rows2, ['sample_0002', 'sample_0006']));
    expect(m3.diff.addedRows).toEqual([]);
    expect(rows3.some((r) => r.name === 'sample_0002' || r.name === 'sample_0006')).toBe(false);
    expect(v3.summary.stats.ingest.dropped.takedown).toBe(2);
    const stats3 = await readJson(join(out, 'stats.json'));
    expect(stats3.stages.ingest.dropped.takedown).toBe(2);
    const rejects = await readRowsDuckDb(join(out, 'rejects.parquet'));
    expect(
      rejects
        .filter((r) => r.reason === 'takedown')
        .map((r) => r.uri)
        .sort(),
    ).toEqual(['reupload.mp4', 'sample_0002.mp4']);

    // Versions 1 and 2 still read as they were published.
    expect(json(await rowsOf(join(out, 'versions', '1')))).toBe(json(rows1));
    expect(json(await rowsOf(join(out, 'versions', '2')))).toBe(json(rows2));
    expect(await inspect(join(out, 'versions', '1'), 1)).toContain('version 1');
    expect(await inspect(out, 1)).toContain('version 3 (parent 2)');

    // Nothing changed: the same version, a byte-identical manifest, no teacher or media work.
    const before = await readFile(join(out, 'manifest.json'));
    const again = await runInProcess(config3, { input, out, store });
    expect(again.summary.sink?.version).toMatchObject({ number: 3, unchanged: true });
    expect(again.summary.sink?.version?.line).toBe('version 3: unchanged (same shards and rejects as published)');
    expect((await readFile(join(out, 'manifest.json'))).equals(before)).toBe(true);
    const work4 = Object.values(again.summary.stats).reduce(
      (n, s) => n + (s.work.teacher ?? 0) + (s.work.ffmpeg ?? 0) + (s.work.ffprobe ?? 0) + (s.work.probe ?? 0) + (s.work.asr ?? 0),
      0,
    );
    expect(work4).toBe(0);
    expect((await readdir(join(out, 'versions'))).sort()).toEqual(['1', '2', '3']);
    expect(json(await rowsOf(out))).toBe(json(rows3));

    // Identical inputs and config in a fresh out folder (same store) give the same manifest bytes.
    const twin = join(work, 'twin');
    await runInProcess(demoConfig(OVERRIDES), { input: await inputOf(full, join(work, 'input-1'), names.slice(0, 4)), out: twin, store });
    expect((await readFile(join(twin, 'manifest.json'))).equals(await readFile(join(out, 'versions', '1', 'manifest.json')))).toBe(true);
  }, 600_000);
});

describe('emoforge schedule and the refresh lock', () => {
  it('refuses a second process while a refresh runs, takes over a dead holder, runs --once, and stops a cron schedule cleanly', async () => {
    const input = await sampleClips(3);
    const work = await tempDir();
    const out = join(work, 'out');
    const config = await writeConfig(work, demoConfig(OVERRIDES, { out, store: join(work, 'store') }));

    // A refresh in a real process holds the lock; a plain run beside it is refused with the holder named.
    const holder = spawn(process.execPath, [join(REPO, 'scripts/emoforge.mjs'), 'schedule', config, '--once', '--input', input], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let holderOut = '';
    holder.stdout.on('data', (d) => (holderOut += d));
    holder.stderr.on('data', (d) => (holderOut += d));
    const holderExit = new Promise<number | null>((r) => holder.on('exit', (code) => r(code)));
    for (
      let i = 0;
      i < 600 &&
      !(await stat(join(out, LOCK_FILE)).then(
        () => true,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const lock = await readJson(join(out, LOCK_FILE));
    expect(lock).toMatchObject({ pid: holder.pid, host: hostname() });
    const refused = await cli(['run', config, '--input', input]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`another refresh of ${out} is running (pid ${holder.pid} on ${hostname()}`);
    expect(await holderExit).toBe(0);
    expect(holderOut).toMatch(/refresh test-corpus: version 1: first version of this out folder; 3 clips → \d+ rows/);
    expect(await stat(join(out, LOCK_FILE)).catch(() => null)).toBeNull();

    // A lock left by a process that died on this host is stale: the next run takes it over.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    await writeFile(
      join(out, LOCK_FILE),
      JSON.stringify({ pid: dead.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'emoforge run (killed)' }),
    );
    const resumed = await cli(['run', config, '--input', input]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('version 1: unchanged');
    expect(resumed.stdout).toContain('everything came from the cache');

    // A cron schedule (every second) refreshes, logs the version line, and stops on SIGTERM.
    const scheduled = spawn(process.execPath, [join(REPO, 'scripts/emoforge.mjs'), 'schedule', config, '--cron', '* * * * * *', '--input', input], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    scheduled.stdout.on('data', (d) => (text += d));
    scheduled.stderr.on('data', (d) => (text += d));
    const exited = new Promise<number | null>((r) => scheduled.on('exit', (code) => r(code)));
    for (let i = 0; i < 1200 && !/refresh test-corpus: version 1: unchanged/.test(text); i++) await new Promise((r) => setTimeout(r, 50));
    expect(text).toContain('cron "* * * * * *"');
    expect(text).toMatch(
      /refresh test-corpus: version 1: unchanged \(same shards and rejects as published\); 3 clips → \d+ rows; cache (\d+)\/\1 partitions; teacher calls 0, media work 0, ASR 0/,
    );
    scheduled.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(text).toContain('schedule stopped');
    expect(await stat(join(out, LOCK_FILE)).catch(() => null)).toBeNull();
  }, 600_000);

  it('refuses a cron expression it cannot parse, saying what is wrong', async () => {
    const work = await tempDir();
    const config = await writeConfig(work, demoConfig(OVERRIDES, { out: join(work, 'out') }));
    const bad = await cli(['schedule', config, '--cron', '61 3 * * *']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cron "61 3 * * *" is not a valid cron expression: Invalid value for minute: 61');
    const short = await cli(['schedule', config, '--cron', '0 3 * *']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('exactly five, six, or seven space separated parts are required');
    const none = await cli(['schedule', config]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('schedule needs --cron');
    const s3 = await cli(['schedule', config, '--once', '--out', 's3://bucket/corpus']);
    expect(s3.code).toBe(2);
    expect(s3.stderr).toContain('schedule refreshes a local out folder from a local input; for s3://bucket/corpus run `emoforge run` from cron');
  });
});
