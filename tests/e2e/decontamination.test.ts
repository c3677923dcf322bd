// Benchmark decontamination end to end: `emoforge fingerprint` makes a list of a benchmark's clips,
// and a run with ingest.exclude keeps out the corpus clips that are a benchmark clip (the same bytes,
// or a re-encode) or contain one (a benchmark clip cut out of a longer corpus clip), naming the
// benchmark; everything else goes through.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRowsHyparquet } from '../../pipelines/parquet/index.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';

const ffmpeg = (args: string[]) => promisify(execFile)('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...args]);

describe('ingest.exclude', () => {
  let input: string;
  let work: string;
  let list: string;
  let sameBytes: string;

  beforeAll(async () => {
    input = await sampleClips(4);
    work = await tempDir();
    // Benchmark "mer-test": a re-encode of sample_0002 and a 1.5 s piece of sample_0003, plus a clip the corpus does not have.
    const bench = join(work, 'mer-test');
    await mkdir(bench);
    await ffmpeg([
      '-i',
      join(input, 'sample_0002.mp4'),
      '-vf',
      'scale=320:-2',
      '-c:v',
      'libx264',
      '-crf',
      '32',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      join(bench, 'test_a.mp4'),
    ]);
    await mkdir(join(bench, 'nested'));
    await ffmpeg(['-ss', '0.5', '-t', '1.5', '-i', join(input, 'sample_0003.mp4'), '-c:v', 'libx264', '-c:a', 'aac', join(bench, 'nested', 'test_b.mp4')]);
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'gradients=s=320x240:seed=7:duration=3',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:duration=3',
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      join(bench, 'test_c.mp4'),
    ]);
    list = join(work, 'mer-test.jsonl');
    const made = await cli(['fingerprint', bench, '-o', list]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('fingerprints of 3 clips of benchmark mer-test');
    // A second benchmark given as a folder: the exact bytes of sample_0004.
    sameBytes = join(work, 'emer');
    await mkdir(sameBytes);
    await copyFile(join(input, 'sample_0004.mp4'), join(sameBytes, 'emer_0001.mp4'));
  }, 300_000);

  it('writes a list with a header and one clip a line', async () => {
    const lines = (await readFile(list, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ emoforge: 'fingerprints', version: 1, benchmark: 'mer-test' });
    expect(lines.slice(1).map((l) => l.name)).toEqual(['nested/test_b.mp4', 'test_a.mp4', 'test_c.mp4']);
    for (const entry of lines.slice(1)) {
      expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.fingerprint.frames.length).toBeGreaterThanOrEqual(4);
      expect(entry.fingerprint.audio).toEqual(expect.any(String));
    }
  });

  it('keeps benchmark clips out of the corpus with benchmark-overlap, naming the benchmark, and lets the rest through', async () => {
    const out = join(work, 'out');
    const stages = (demoConfig({ transcribe: { engine: 'manifest' }, ingest: { exclude: [list, sameBytes] } }).stages as Record<string, unknown>[]).filter(
      (s) => !('cues.visual' in s),
    );
    const config = await writeConfig(work, { ...demoConfig(), stages });
    const run = await cli(['run', config, '--input', input, '--out', out, '--store', join(work, 'store')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    const reason = (uri: string) => rejects.find((r) => r.uri === uri);
    expect(reason('sample_0002.mp4')).toMatchObject({ stage: 'ingest', reason: 'benchmark-overlap' });
    expect(reason('sample_0002.mp4')!.detail).toMatch(
      /^footage of sample_0002\.mp4 contains test_a\.mp4 of benchmark mer-test \(audio bit error rate 0\.\d{3} at -?\d\.\d\d s; keyframes/,
    );
    expect(reason('sample_0003.mp4')!.detail).toMatch(/contains nested\/test_b\.mp4 of benchmark mer-test \(audio bit error rate 0\.\d{3} at 0\.[3-7]\d s/);
    expect(reason('sample_0004.mp4')).toMatchObject({ reason: 'benchmark-overlap', detail: 'same bytes as emer_0001.mp4 of benchmark emer' });
    expect(reason('sample_0001.mp4')).toBeUndefined();
    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.stages.ingest.dropped).toEqual({ 'benchmark-overlap': 3 });
    const manifest = await readJson(join(out, 'manifest.json'));
    const rows = (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
    expect(new Set(rows.map((r) => r.name))).toEqual(new Set(['sample_0001']));
  }, 300_000);

  it('refuses a list it cannot read, naming the file and line', async () => {
    const bad = join(work, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ emoforge: 'fingerprints', version: 1, benchmark: 'x' })}\n{"name": "a.mp4"}\n`);
    const config = await writeConfig(await tempDir(), demoConfig({ transcribe: { engine: 'manifest' }, ingest: { exclude: [bad] } }));
    const run = await cli(['run', config, '--input', input, '--out', join(work, 'bad-out'), '--store', join(work, 'store')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${bad} line 2: sha256`);
  });
});
