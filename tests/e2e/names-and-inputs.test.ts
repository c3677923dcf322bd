// One small run (3 clips, manifest transcripts) over a folder holding a clip whose name carries
// terminal escape sequences, and entries that must not become clips (a link out of the folder, a
// fifo, a dotfile). Checks: trace, inspect, audit and report.html show the control characters
// escaped while the stored uri keeps the real name; and stats.json accounts for every input
// (seen = clips + rejects).
import { execFile } from 'node:child_process';
import { copyFile, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { printable } from '../../pipelines/printable.ts';
import { readRowsHyparquet } from '../../pipelines/parquet/read.ts';
import { audit } from '../../scripts/commands/audit.ts';
import { inspect } from '../../scripts/commands/inspect.ts';
import { trace } from '../../scripts/commands/trace.ts';
import { demoConfig, readJson, runInProcess, sampleClips, tempDir } from '../helpers.ts';

const EVIL = 'evil\u001b]0;pwned\u0007\u001b[2J\u009b31m';
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
let out: string;
let outside: string;

beforeAll(async () => {
  const input = await sampleClips(3);
  await rename(join(input, 'sample_0002.mp4'), join(input, `${EVIL}.mp4`));
  const manifest = await readFile(join(input, 'manifest.csv'), 'utf8');
  await writeFile(join(input, 'manifest.csv'), manifest.replace('sample_0002,', `"${EVIL}",`));
  outside = join(await tempDir('emoforge-outside-'), 'secret.mp4');
  await copyFile(join(input, 'sample_0001.mp4'), outside);
  await symlink(outside, join(input, 'secret.mp4'));
  await copyFile(join(input, 'sample_0003.mp4'), join(input, '._sample_0003.mp4'));
  await promisify(execFile)('mkfifo', [join(input, 'pipe.mp4')]);
  const work = await tempDir('emoforge-names-');
  const config = demoConfig({ transcribe: { engine: 'manifest' }, segment: { strategy: 'whole', frames: 1 } });
  ({ outDir: out } = await runInProcess(config, { input, out: join(work, 'out'), store: join(work, 'store') }));
}, 300_000);

describe('a clip named with escape sequences', () => {
  it('is stored under its real name and shown escaped by trace, inspect, audit and report.html', async () => {
    const manifest = await readJson(join(out, 'manifest.json'));
    const rows = (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
    expect(rows.map((r) => r.uri)).toContain(`${EVIL}.mp4`);
    const shown = printable(EVIL);
    expect(shown).toBe('evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m');

    const traced = await trace(out, `${EVIL}.mp4`);
    expect(traced.found).toBe(true);
    expect(traced.text).toContain(shown);
    expect(traced.text).not.toMatch(RAW_CONTROL);

    const inspected = await inspect(out, 10);
    expect(inspected).not.toMatch(RAW_CONTROL);
    const table = await audit({ outDir: out, sql: 'SELECT uri, name FROM samples', maxRows: 100 });
    expect(table).toContain(shown);
    expect(table).not.toMatch(RAW_CONTROL);
    const json = await audit({ outDir: out, sql: 'SELECT DISTINCT uri FROM samples', json: true, maxRows: 100 });
    expect(json).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json).map((r: { uri: string }) => r.uri)).toContain(`${EVIL}.mp4`);

    const report = await readFile(join(out, 'report.html'), 'utf8');
    expect(report).toContain(shown);
    expect(report).not.toMatch(RAW_CONTROL);
  });
});

describe('inputs accounted for', () => {
  it('stats.json: sources seen = clips + ingest rejects, each reject with its reason', async () => {
    const stats = await readJson(join(out, 'stats.json'));
    const ingest = stats.stages.ingest;
    const rejected = Object.values(ingest.dropped as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(stats.totals.sources).toBe(ingest.in);
    expect(ingest.in).toBe(ingest.out + rejected);
    expect(ingest.out).toBe(3);
    expect(ingest.dropped).toEqual({ 'path-escape': 1, 'hidden-file': 1, 'not-a-file': 1 });
    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    expect(
      rejects
        .filter((r) => r.stage === 'ingest')
        .map((r) => `${r.uri} ${r.reason}`)
        .sort(),
    ).toEqual(['._sample_0003.mp4 hidden-file', 'pipe.mp4 not-a-file', 'secret.mp4 path-escape']);
  });
});
