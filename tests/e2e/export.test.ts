// `emoforge export` end to end: the demo pipeline through the CLI, then the out folder exported as
// AffectGPT CSVs, LLaVA JSON and OpenAI-style JSONL, read back the way trainers read them.
import { lstat, mkdir, readdir, readFile, readlink, realpath, rename, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../stages/ingest/manifest.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';

/** A hostile clip name: a leading dot, Windows separators and `..`, quotes, a comma and a line break. */
const HOSTILE = '.\\evil\\..\\..\\escape "q",\'x\'\nname';

async function csvRecords(path: string): Promise<Record<string, string>[]> {
  const parsed = parseCsv(await readFile(path, 'utf8'));
  expect(parsed.errors).toEqual([]);
  return parsed.records.map((r) => r.values as Record<string, string>);
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(entry.parentPath, entry.name));
  return out;
}

describe('emoforge export', () => {
  let input: string;
  let work: string;
  let out: string;
  let store: string;
  const names = ['sample_0001', 'sample_0002', 'sample_0003'];

  beforeAll(async () => {
    input = await sampleClips(3);
    work = await tempDir();
    out = join(work, 'out');
    store = join(work, 'store');
    const config = await writeConfig(work, demoConfig({ transcribe: { engine: 'manifest' } }));
    const run = await cli(['run', config, '--input', input, '--out', out, '--store', store]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  }, 600_000);

  it('writes AffectGPT CSVs a CSV reader parses, with Python-style opensets and names matching the clips', async () => {
    const dest = join(work, 'affectgpt');
    const run = await cli(['export', out, '--format', 'affectgpt', '--dest', dest]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/emoforge export affectgpt: 6 samples written, 0 skipped over the 1024-token budget/);
    const descriptions = await csvRecords(join(dest, 'description.csv'));
    expect(Object.keys(descriptions[0])).toEqual(['name', 'reason']);
    expect(descriptions.map((r) => r.name).sort()).toEqual(names);
    for (const r of descriptions) expect(r.reason).toMatch(/most likely feels/);
    const opensets = await csvRecords(join(dest, 'openset.csv'));
    expect(Object.keys(opensets[0])).toEqual(['name', 'openset']);
    expect(opensets.map((r) => r.name).sort()).toEqual(names);
    for (const r of opensets) expect(r.openset).toMatch(/^\[('[a-z]+'(, '[a-z]+')*)?\]$/);
    expect(opensets.find((r) => r.name === 'sample_0001')!.openset).toBe("['happy', 'joyful', 'excited']");
    const subtitles = await csvRecords(join(dest, 'subtitle.csv'));
    expect(Object.keys(subtitles[0])).toEqual(['name', 'english']);
    // The manifest's text, commas included, survives CSV quoting.
    expect(subtitles.find((r) => r.name === 'sample_0001')!.english).toBe('we won the prize, this is wonderful news!');
    const report = await readJson(join(dest, 'export-report.json'));
    expect(report.maxTokens).toBe(1024);
    expect(report.written).toBe(6);
    expect(report.tasks).toEqual({ description: 3, ov_labels: 3 });
    expect(report.media.mode).toBe('none');
    expect((await readdir(dest)).sort()).toEqual(['description.csv', 'export-report.json', 'openset.csv', 'split.csv', 'subtitle.csv']);
  });

  it('writes LLaVA JSON per split with <video> in the first human turn', async () => {
    const dest = join(work, 'llava');
    const run = await cli(['export', out, '--format', 'llava', '--dest', dest]);
    expect(run.code).toBe(0);
    const manifest = await readJson(join(out, 'manifest.json'));
    let total = 0;
    for (const split of ['train', 'validation', 'test']) {
      const entries = await readJson<{ id: string; video: string; audio: string | null; conversations: { from: string; value: string }[] }[]>(join(dest, `${split}.json`));
      expect(entries.length).toBe(manifest.splits[split]);
      total += entries.length;
      for (const entry of entries) {
        expect(Object.keys(entry)).toEqual(['id', 'video', 'audio', 'conversations']);
        // Without --media, media stays in the out folder: paths relative to it.
        expect(entry.video).toMatch(/^media\/video\/.+\.mp4$/);
        expect(entry.audio).toMatch(/^media\/audio\/.+\.wav$/);
        expect(entry.conversations[0].from).toBe('human');
        expect(entry.conversations[0].value.startsWith('<video>\n')).toBe(true);
        expect(entry.conversations[1].from).toBe('gpt');
      }
    }
    expect(run.stdout).toContain(`${total} samples written, no token budget`);
  });

  it('writes OpenAI-style JSONL with user/assistant roles, and skips and reports samples over --max-tokens', async () => {
    const dest = join(work, 'jsonl');
    expect((await cli(['export', out, '--format', 'jsonl', '--dest', dest])).code).toBe(0);
    let lines = 0;
    for (const split of ['train', 'validation', 'test']) {
      for (const line of (await readFile(join(dest, `${split}.jsonl`), 'utf8')).split('\n').filter(Boolean)) {
        const record = JSON.parse(line);
        lines++;
        expect(record.messages.length % 2).toBe(0);
        record.messages.forEach((m: { role: string; content: string }, i: number) => {
          expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
          expect(m.content.length).toBeGreaterThan(0);
        });
        expect(record.metadata.split).toBe(split);
        expect(names).toContain(record.metadata.name);
      }
    }
    expect(lines).toBeGreaterThan(0);

    const small = join(work, 'affectgpt-small');
    const tight = await cli(['export', out, '--format', 'affectgpt', '--dest', small, '--max-tokens', '20']);
    expect(tight.code).toBe(0);
    expect(tight.stdout).toContain('0 samples written, 6 skipped over the 20-token budget');
    const report = await readJson(join(small, 'export-report.json'));
    expect(report.skippedOverBudget).toBe(6);
    expect(report.splits.train.skippedOverBudget + report.splits.validation.skippedOverBudget + report.splits.test.skippedOverBudget).toBe(6);
    expect(await csvRecords(join(small, 'description.csv'))).toEqual([]);
    // Replacing an earlier export: the file is rewritten in place, no temp files left behind.
    expect((await cli(['export', out, '--format', 'jsonl', '--dest', dest, '--max-tokens', '20'])).code).toBe(0);
    expect(await readFile(join(dest, 'train.jsonl'), 'utf8')).toBe('');
    expect((await readdir(dest)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses bad usage with exit 2 and a dest inside shards/', async () => {
    for (const args of [
      ['export', out],
      ['export', out, '--format', 'csv'],
      ['export', out, '--format', 'llava', '--media', 'hardlink'],
      ['export', out, '--format', 'llava', '--media', 'link', '--input', out],
      ['export', out, '--format', 'llava', '--max-tokens', '0'],
      ['export', out, '--format', 'llava', '--dest', join(out, 'shards', 'export')],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^emoforge: /);
    }
  });

  it('places media by name with --media link and a hostile clip name cannot escape the dest', async () => {
    // Rename one clip to a hostile name (file and manifest), then run again into a fresh out folder.
    const hostileInput = await sampleClips(3);
    await rename(join(hostileInput, 'sample_0003.mp4'), join(hostileInput, `${HOSTILE}.mp4`));
    const manifest = (await readFile(join(hostileInput, 'manifest.csv'), 'utf8')).replace(/^sample_0003,/m, `"${HOSTILE.replace(/"/g, '""')}",`);
    await writeFile(join(hostileInput, 'manifest.csv'), manifest);
    const hostileOut = join(work, 'hostile-out');
    const config = await writeConfig(await tempDir(), demoConfig({ transcribe: { engine: 'manifest' } }));
    const run = await cli(['run', config, '--input', hostileInput, '--out', hostileOut, '--store', store]);
    expect(run.code).toBe(0);

    const parent = await tempDir();
    const dest = join(parent, 'dest');
    const exported = await cli(['export', hostileOut, '--format', 'affectgpt', '--dest', dest, '--media', 'link']);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('video: 3 linked');
    expect(exported.stdout).toContain('audio: 3 linked');
    // Nothing was written beside or above dest; every file under it is a plain name in its folder.
    expect(await readdir(parent)).toEqual(['dest']);
    const videos = (await readdir(join(dest, 'video'))).sort();
    expect(videos).toHaveLength(3);
    for (const file of await listAll(dest)) expect(relative(dest, file).startsWith('..')).toBe(false);
    const hostileFile = videos.find((v) => !v.startsWith('sample_'))!;
    expect(hostileFile).toMatch(/^[^/\\\n".']/);
    expect(hostileFile).not.toMatch(/[\\/\n",']/);
    // Links point at the segment's files in the out folder (the whole clip's video is the source's bytes); CSV names match the media names.
    const linked = await realpath(await readlink(join(dest, 'video', hostileFile)));
    expect(relative(await realpath(join(hostileOut, 'media', 'video')), linked).startsWith('..')).toBe(false);
    expect((await readFile(linked)).equals(await readFile(join(hostileInput, `${HOSTILE}.mp4`)))).toBe(true);
    const wav = hostileFile.replace(/\.mp4$/, '.wav');
    expect((await lstat(join(dest, 'audio', wav))).isSymbolicLink()).toBe(true);
    expect(relative(await realpath(join(hostileOut, 'media', 'audio')), await realpath(join(dest, 'audio', wav))).startsWith('..')).toBe(false);
    const descriptions = await csvRecords(join(dest, 'description.csv'));
    expect(descriptions.map((r) => `${r.name}.mp4`).sort()).toEqual(videos);

    // A media folder planted as a symlink to elsewhere is refused, not written through.
    const planted = join(parent, 'planted');
    const elsewhere = join(parent, 'elsewhere');
    await mkdir(planted);
    await mkdir(elsewhere);
    await symlink(elsewhere, join(planted, 'video'));
    const refused = await cli(['export', hostileOut, '--format', 'llava', '--dest', planted, '--media', 'copy']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not a plain folder');
    expect(await readdir(elsewhere)).toEqual([]);
  });
});
