// Hostile media through the real pipeline: a clip without audio, one without video, an empty file, a
// container with no duration, a 2-hour file, and file names built to break shells and option
// parsers. Each is processed or rejected with a reason, nothing is executed, and every name comes
// back unchanged as a `uri` of an output row (a training row or a rejects row).
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRowsHyparquet } from '../../pipelines/parquet/index.ts';
import { demoConfig, readJson, runInProcess, tempDir } from '../helpers.ts';
import { ffmpeg } from '../stages/segment-fixtures.ts';

/** Names (relative paths) of clips that must be processed into training rows. */
const HOSTILE = [
  'a clip with spaces.mp4',
  `it's "quoted".mp4`,
  '$(touch pwned).mp4',
  '$(touch /tmp/pwned).mp4', // a slash makes it nested folders: "$(touch " / "tmp" / "pwned).mp4"
  '`touch pwned-backtick`.mp4',
  'semi;colon & pipe|name.mp4',
  '😀 表情 клип.mp4',
  '-rf.mp4',
  '-y.wav',
];

async function rowsOf(out: string): Promise<{ shards: Record<string, unknown>[]; rejects: Record<string, unknown>[] }> {
  const files = await readdir(join(out, 'shards')).catch(() => [] as string[]);
  const shards: Record<string, unknown>[] = [];
  for (const file of files) shards.push(...(await readRowsHyparquet(join(out, 'shards', file))));
  return { shards, rejects: await readRowsHyparquet(join(out, 'rejects.parquet')) };
}

const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;

let work: string;
beforeAll(async () => {
  work = await tempDir('emoforge-hostile-');
  await rm('/tmp/pwned', { force: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('hostile media through the pipeline', () => {
  it('processes or rejects every clip with a reason, runs nothing from a name, and round-trips every name', async () => {
    const input = join(work, 'input');
    await mkdir(input, { recursive: true });
    for (const [i, name] of HOSTILE.entries()) {
      const path = join(input, name);
      await mkdir(join(path, '..'), { recursive: true });
      const tone = `sine=f=${220 + 40 * i}:r=16000:d=2`;
      if (name.endsWith('.wav')) await ffmpeg(['-f', 'lavfi', '-i', tone, `file:${path}`]);
      else
        await ffmpeg([
          '-f',
          'lavfi',
          '-i',
          `testsrc=s=160x120:r=25:d=2`,
          '-f',
          'lavfi',
          '-i',
          tone,
          '-c:v',
          'libx264',
          '-c:a',
          'aac',
          '-shortest',
          `file:${path}`,
        ]);
    }
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=2', '-c:v', 'libx264', join(input, 'video only.mp4')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=f=900:r=16000:d=2', '-c:a', 'aac', join(input, 'audio only.m4a')]);
    await writeFile(join(input, 'empty.mp4'), '');
    // A valid container with streams but no samples: zero duration.
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc=s=160x120:r=25',
      '-f',
      'lavfi',
      '-i',
      'sine=r=16000',
      '-t',
      '0',
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      join(input, 'zero-duration.mp4'),
    ]);
    const listed = [...HOSTILE, 'video only.mp4', 'audio only.m4a', 'empty.mp4', 'zero-duration.mp4'];
    await writeFile(
      join(input, 'manifest.csv'),
      `${['path,text,speaker', ...listed.map((name, i) => `${csvCell(name)},${csvCell(`I am so happy today, number ${i}.`)},spk${i % 3}`)].join('\n')}\n`,
    );

    const out = join(work, 'out');
    const { summary } = await runInProcess(demoConfig({ transcribe: { engine: 'manifest' } }), { input, out, store: join(work, 'store') });
    expect(summary).toBeDefined();
    const { shards, rejects } = await rowsOf(out);
    const kept = new Set(shards.map((r) => r.uri as string));
    const rejected = new Map(rejects.map((r) => [r.uri as string, `${r.stage}:${r.reason}`]));
    console.info(`hostile names: kept ${JSON.stringify([...kept])}; rejected ${JSON.stringify([...rejected])}`);

    for (const name of HOSTILE) expect(kept.has(name), `${name} should become training rows`).toBe(true);
    for (const name of listed) expect(kept.has(name) || rejected.has(name), `${name} has no output row`).toBe(true);
    // The video-only clip has frames and no audio: kept, or dropped by a stage that needs audio, with a reason.
    expect(kept.has('video only.mp4') || /^[a-z.]+:no-audio$/.test(rejected.get('video only.mp4') ?? '')).toBe(true);
    expect(kept.has('audio only.m4a')).toBe(true);
    expect(rejected.get('empty.mp4')).toBe('ingest:empty-file');
    expect(rejected.get('zero-duration.mp4')).toMatch(/^ingest:(too-short|no-streams|corrupt)$/);
    // Nothing a name spelled was executed.
    expect(existsSync('/tmp/pwned')).toBe(false);
    for (const dir of [process.cwd(), input, out, work]) {
      for (const marker of ['pwned', 'pwned-backtick']) expect(existsSync(join(dir, marker))).toBe(false);
    }
  }, 300_000);

  it('rejects a 2-hour file as too-long by default, and segments it in fixed windows without loading it', async () => {
    const input = join(work, 'long');
    await mkdir(input, { recursive: true });
    const path = join(input, 'two hours.mp4');
    let started = performance.now();
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'color=c=gray:s=16x16:r=1',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=8000:cl=mono',
      '-t',
      '7200',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '600',
      '-c:a',
      'aac',
      '-b:a',
      '8k',
      path,
    ]);
    const made = (performance.now() - started) / 1000;
    const bytes = (await stat(path)).size;

    const byDefault = join(work, 'long-out-default');
    await runInProcess(demoConfig({ transcribe: { engine: 'manifest' } }), { input, out: byDefault, store: join(work, 'long-store') });
    const { rejects } = await rowsOf(byDefault);
    expect(rejects.map((r) => [r.uri, r.stage, r.reason])).toEqual([['two hours.mp4', 'ingest', 'too-long']]);

    let peak = process.memoryUsage().rss;
    const before = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    started = performance.now();
    const raised = join(work, 'long-out-raised');
    try {
      await runInProcess(
        demoConfig({ ingest: { maxDurationSec: 8000 }, segment: { strategy: 'fixed', windowSec: 300, frames: 1 }, transcribe: { engine: 'manifest' } }),
        { input, out: raised, store: join(work, 'long-store') },
      );
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const stats = await readJson(join(raised, 'stats.json'));
    console.info(
      `2-hour file: made in ${made.toFixed(1)} s (${(bytes / 1e6).toFixed(2)} MB); ingest + segment into ${stats.stages.segment.out} windows in ${seconds.toFixed(1)} s, ` +
        `${stats.totals.work.ffmpeg} ffmpeg processes; RSS ${(before / 1e6).toFixed(0)} → peak ${(peak / 1e6).toFixed(0)} MB`,
    );
    expect(stats.stages.segment.out).toBe(24);
    // One extraction process per 30 minutes decoded (groups of at most 16 windows), not one per window.
    expect(stats.totals.work.ffmpeg).toBe(4);
    // The WAVs alone are 230 MB: none of it passes through this process's memory.
    expect(peak - before).toBeLessThan(150e6);
    // No manifest text for the windows: each leaves at transcribe with its reason, under the clip's uri.
    const { rejects: windows } = await rowsOf(raised);
    expect(new Set(windows.map((r) => `${r.uri} ${r.stage}:${r.reason}`))).toEqual(new Set(['two hours.mp4 transcribe:no-manifest-text']));
  }, 300_000);
});
