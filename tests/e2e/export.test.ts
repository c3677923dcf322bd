// `emoforge export` end to end, checked against each trainer's reading rules as its loader applies
// them: AffectGPT (MERTools MER2025_Track23 dataset classes), LLaMA-Factory (dataset_info.json,
// ShareGPT converter, placeholder checks), LLaVA-NeXT / Qwen-VL style JSON and OpenAI-style JSONL.
// One corpus for all of them, cut in 2 s windows so clips have several segments and every row needs
// its own video cut; real ffmpeg, ffprobe and sharp.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCorpus, type Corpus } from '../../pipelines/export/corpus-rows.ts';
import { exportCorpus, ExportOptionError, type AffectGptCorpus, type ExportOptions, type LlavaStyle } from '../../pipelines/export/index.ts';
import { npyHeader } from '../../pipelines/export/face-stack.ts';
import { parseCsv } from '../../stages/ingest/manifest.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';
import { warmStore } from '../support/warm-store.ts';

const run = promisify(execFile);

/** A hostile clip name: a leading dot, Windows separators and `..`, quotes, a comma and a line break. */
const HOSTILE = '.\\evil\\..\\..\\escape "q",\'x\'\nname';

/** A CSV as pandas' read_csv gives it: header, then records by column name. */
async function csv(path: string): Promise<{ header: string[]; records: Record<string, string>[] }> {
  const text = await readFile(path, 'utf8');
  const parsed = parseCsv(text);
  expect(parsed.errors).toEqual([]);
  return { header: text.split('\n')[0].split(','), records: parsed.records.map((r) => r.values as Record<string, string>) };
}

/** A Python list-of-strings literal read as `ast.literal_eval` reads it (quotes, escapes, a trailing comma); throws on anything else. */
function pythonLiteralList(text: string): string[] {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const expectChar = (c: string) => {
    if (text[i] !== c) throw new SyntaxError(`expected ${c} at ${i} in ${text}`);
    i++;
  };
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', '\n': '' };
  const items: string[] = [];
  ws();
  expectChar('[');
  ws();
  while (text[i] !== ']') {
    const quote = text[i];
    if (quote !== "'" && quote !== '"') throw new SyntaxError(`expected a string at ${i} in ${text}`);
    i++;
    let value = '';
    while (text[i] !== quote) {
      if (i >= text.length || text[i] === '\n') throw new SyntaxError(`unterminated string in ${text}`);
      if (text[i] === '\\') {
        const next = text[i + 1];
        value += next in escapes ? escapes[next] : `\\${next}`;
        i += 2;
      } else value += text[i++];
    }
    i++;
    items.push(value);
    ws();
    if (text[i] === ',') {
      i++;
      ws();
    } else if (text[i] !== ']') throw new SyntaxError(`expected , or ] at ${i} in ${text}`);
  }
  i++;
  ws();
  if (i !== text.length) throw new SyntaxError(`trailing text after the list in ${text}`);
  return items;
}

/** AffectGPT's own reading of an openset cell (toolkit string_to_list): brackets off, split on quotes and commas, stripped. */
function affectGptList(text: string): string[] {
  let s = text;
  if (s === '') return [];
  if (s[0] === '[') s = s.slice(1);
  if (s.at(-1) === ']') s = s.slice(0, -1);
  return s
    .split(/['",]/)
    .map((w) => w.trim())
    .filter((w) => w !== '' && w !== ',');
}

async function probe(path: string): Promise<{ duration: number; streams: { codec_type: string; sample_rate?: string; channels?: number }[] }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,sample_rate,channels',
    '-of',
    'json',
    `file:${path}`,
  ]);
  const parsed = JSON.parse(stdout);
  return { duration: Number(parsed.format.duration), streams: parsed.streams };
}

/** The segment's video is its own span; its WAV is 16 kHz mono of the same span. */
async function expectSegmentMedia(video: string | null, audio: string | null, span: { start: number; end: number }): Promise<void> {
  if (video !== null) {
    const v = await probe(video);
    expect(Math.abs(v.duration - (span.end - span.start)), video).toBeLessThanOrEqual(0.05);
  }
  if (audio !== null) {
    const a = await probe(audio);
    expect(a.streams).toEqual([expect.objectContaining({ codec_type: 'audio', sample_rate: '16000', channels: 1 })]);
    expect(Math.abs(a.duration - (span.end - span.start)), audio).toBeLessThanOrEqual(0.05);
  }
}

/** sha256 of every file under dir (symlinks as their target), by path relative to dir. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) out[relative(dir, path)] = `-> ${await readlink(path)}`;
    else if (entry.isFile())
      out[relative(dir, path)] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const count = (text: string, token: string) => text.split(token).length - 1;

describe('emoforge export', () => {
  let work: string;
  let out: string;
  let corpus: Corpus;
  /** export name → the segment's span and split */
  const segments = new Map<string, { start: number; end: number; split: string; faceCrops: number; openset: string[] }>();

  beforeAll(async () => {
    const input = await sampleClips(3);
    work = await tempDir();
    out = join(work, 'out');
    const config = await writeConfig(
      work,
      demoConfig({ segment: { strategy: 'fixed', windowSec: 2, minSec: 1, frames: 2 }, transcribe: { engine: 'manifest' } }),
    );
    const result = await cli(['run', config, '--input', input, '--out', out, '--store', await warmStore(join(work, 'store'))]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    corpus = await readCorpus(out);
    for (const row of corpus.rows) {
      const name = corpus.names.get(row.segmentId)!;
      const known = segments.get(name);
      segments.set(name, {
        start: row.start,
        end: row.end,
        split: row.split,
        faceCrops: row.faceCrops.length,
        openset: row.task === 'ov_labels' ? row.openset : (known?.openset ?? []),
      });
    }
    // Several segments per clip: every export must use each segment's own cut, not the source clip.
    const perClip = new Map<string, number>();
    for (const name of segments.keys()) perClip.set(name.replace(/_\d+$/, ''), (perClip.get(name.replace(/_\d+$/, '')) ?? 0) + 1);
    expect(Math.max(...perClip.values())).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('affectgpt: per split a dataset root the MER-Caption+ loader reads: its file names and columns, Python-style opensets, every name in every file, media by name', async () => {
    const dest = join(work, 'affectgpt');
    const exported = await cli(['export', out, '--format', 'affectgpt', '--dest', dest]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect((await readdir(dest)).sort()).toEqual(['README.md', 'export-report.json', 'test', 'train', 'validation']);
    const seen = new Set<string>();
    for (const split of ['train', 'validation', 'test']) {
      const root = join(dest, split);
      const openset = await csv(join(root, 'track2_train_mercaptionplus.csv'));
      const reason = await csv(join(root, 'track3_train_mercaptionplus.csv'));
      const subtitle = await csv(join(root, 'subtitle_chieng.csv'));
      expect(openset.header).toEqual(['name', 'openset']);
      expect(reason.header).toEqual(['name', 'reason']);
      expect(subtitle.header).toEqual(['name', 'english']);
      // The loader iterates the openset names and looks each up in the other two: a missing one is a KeyError.
      const names = openset.records.map((r) => r.name);
      expect(names.length).toBeGreaterThan(0);
      expect(reason.records.map((r) => r.name).sort()).toEqual([...names].sort());
      expect(subtitle.records.map((r) => r.name).sort()).toEqual([...names].sort());
      for (const record of openset.records) {
        const name = record.name;
        // pandas would read a numeric-looking name as a number; these are text, and each is a segment of this split.
        expect(name).toMatch(/[A-Za-z]/);
        expect(segments.get(name)?.split).toBe(split);
        expect(seen.has(name)).toBe(false);
        seen.add(name);
        const words = pythonLiteralList(record.openset);
        expect(affectGptList(record.openset)).toEqual(words);
        expect(words).toEqual([...new Set(segments.get(name)!.openset)]);
        expect(reason.records.find((r) => r.name === name)!.reason).toMatch(/most likely feels/);
        const span = segments.get(name)!;
        await expectSegmentMedia(join(root, 'video', `${name}.mp4`), join(root, 'audio', `${name}.wav`), span);
        const npy = await readFile(join(root, 'openface_face', name, `${name}.npy`));
        const header = npyHeader(npy);
        expect(header).toMatchObject({ descr: '|u1', fortranOrder: false, shape: [span.faceCrops, 224, 224, 3] });
        expect(header.dataOffset % 64).toBe(0);
        expect(npy.length).toBe(header.dataOffset + span.faceCrops * 224 * 224 * 3);
      }
    }
    // Every segment with a description, labels and a face is a name of its split's root.
    expect([...seen].sort()).toEqual(
      [...segments]
        .filter(([, s]) => s.faceCrops > 0)
        .map(([n]) => n)
        .sort(),
    );
    const report = await readJson(join(dest, 'export-report.json'));
    expect(report).toMatchObject({ format: 'affectgpt', style: 'mercaptionplus', maxTokens: 1024, written: seen.size * 2, skippedOverBudget: 0 });
    expect(report.tasks).toEqual({ description: seen.size, ov_labels: seen.size });
    expect(report.media.faces.placed).toBe(seen.size);
    expect(await readFile(join(dest, 'README.md'), 'utf8')).toContain("DATA_DIR = {'MERCaptionPlus': '/path/to/this/folder/train'}");

    // OV-MERD's file names; the media is the same.
    const ovmerd = join(work, 'ovmerd');
    expect((await cli(['export', out, '--format', 'affectgpt', '--corpus', 'ovmerd', '--dest', ovmerd])).code).toBe(0);
    expect((await readdir(join(ovmerd, 'train'))).filter((f) => f.endsWith('.csv')).sort()).toEqual([
      'subtitle_chieng.csv',
      'track2_train_ovmerd.csv',
      'track3_train_ovmerd.csv',
    ]);
  });

  it('affectgpt: the token budget keeps or skips a name whole, and the report says how many and why', async () => {
    const full = await readJson(join(work, 'affectgpt', 'export-report.json'));
    const dest = join(work, 'affectgpt-budget');
    const budget = full.largestSampleTokens - 1;
    const exported = await cli(['export', out, '--format', 'affectgpt', '--dest', dest, '--max-tokens', String(budget)]);
    expect(exported.code).toBe(0);
    const report = await readJson(join(dest, 'export-report.json'));
    expect(report.skippedOverBudget).toBeGreaterThanOrEqual(2);
    expect(report.skippedOverBudget % 2).toBe(0);
    expect(report.written + report.skippedOverBudget).toBe(full.written);
    expect(report.largestSampleTokens).toBeLessThanOrEqual(budget);
    let names = 0;
    for (const split of ['train', 'validation', 'test']) {
      const root = join(dest, split);
      const files = ['track2_train_mercaptionplus.csv', 'track3_train_mercaptionplus.csv', 'subtitle_chieng.csv'];
      const lists = await Promise.all(files.map(async (f) => (await csv(join(root, f))).records.map((r) => r.name).sort()));
      expect(lists[1]).toEqual(lists[0]);
      expect(lists[2]).toEqual(lists[0]);
      const videos = (await readdir(join(root, 'video')).catch(() => [])).map((f) => f.replace(/\.mp4$/, '')).sort();
      expect(videos).toEqual(lists[0]);
      names += lists[0].length;
    }
    expect(names * 2).toBe(report.written);
  });

  it("emer: the older EMER layout, one names,subtitles,reasons CSV per split and an AVI carrying the segment's own video and its audio", async () => {
    const dest = join(work, 'emer');
    const exported = await cli(['export', out, '--format', 'emer', '--dest', dest]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const descriptions = corpus.rows.filter((r) => r.task === 'description');
    let names = 0;
    for (const split of ['train', 'validation', 'test']) {
      const table = await csv(join(dest, split, 'gt-eng.csv'));
      expect(table.header).toEqual(['names', 'subtitles', 'reasons']);
      expect(table.records.map((r) => r.names).sort()).toEqual(
        descriptions
          .filter((r) => r.split === split)
          .map((r) => corpus.names.get(r.segmentId)!)
          .sort(),
      );
      for (const record of table.records) {
        names++;
        const avi = join(dest, split, 'video-process', `${record.names}.avi`);
        const span = segments.get(record.names)!;
        const media = await probe(avi);
        expect(media.streams.map((s) => s.codec_type)).toEqual(['video', 'audio']);
        expect(media.streams[1]).toMatchObject({ sample_rate: '16000', channels: 1 });
        expect(Math.abs(media.duration - (span.end - span.start)), avi).toBeLessThanOrEqual(0.05);
        expect(record.reasons).toMatch(/most likely feels/);
      }
    }
    expect(names).toBe(descriptions.length);
    expect(await readJson(join(dest, 'export-report.json'))).toMatchObject({ maxTokens: 512, written: names, tasks: { description: names } });
    // The AVIs are made, not linked: a re-run must still write the same bytes.
    const first = await tree(dest);
    expect((await cli(['export', out, '--format', 'emer', '--dest', dest])).code).toBe(0);
    expect(await tree(dest)).toEqual(first);
    expect((await cli(['export', out, '--format', 'emer', '--media', 'copy', '--dest', join(work, 'emer-copy')])).code).toBe(2);
  });

  it('llamafactory: dataset_info.json names every split; rows have top-level videos/audios matching their placeholders, <video> before <audio>, media resolving from dataset_dir', async () => {
    const dest = join(work, 'llamafactory');
    const exported = await cli(['export', out, '--format', 'llamafactory', '--dest', dest]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const info = await readJson(join(dest, 'dataset_info.json'));
    expect(Object.keys(info)).toEqual(['emoforge_train', 'emoforge_validation', 'emoforge_test']);
    let total = 0;
    for (const [dataset, entry] of Object.entries<any>(info)) {
      expect(entry.formatting).toBe('sharegpt');
      const rows = await readJson<Record<string, any>[]>(join(dest, entry.file_name));
      expect(rows.length).toBe(corpus.rows.filter((r) => `emoforge_${r.split}` === dataset).length);
      total += rows.length;
      for (const row of rows) {
        // Columns name top-level fields (a nested path would be a KeyError).
        for (const column of Object.values<string>(entry.columns)) expect(row).toHaveProperty([column]);
        const messages = row[entry.columns.messages] as Record<string, string>[];
        expect(messages.length % 2).toBe(0);
        messages.forEach((m, i) => expect(m[entry.tags.role_tag]).toBe(i % 2 === 0 ? entry.tags.user_tag : entry.tags.assistant_tag));
        const text = messages.map((m) => m[entry.tags.content_tag]).join('\n');
        const videos = row[entry.columns.videos] as string[];
        const audios = row[entry.columns.audios] as string[];
        expect(videos).toHaveLength(1);
        expect(audios).toHaveLength(1);
        expect(count(text, '<video>')).toBe(videos.length);
        expect(count(text, '<audio>')).toBe(audios.length);
        const first = messages[0][entry.tags.content_tag];
        expect(first.indexOf('<video>')).toBeLessThan(first.indexOf('<audio>'));
        // media_dir defaults to dataset_dir: every path resolves from the export folder.
        const name = videos[0].replace(/^media\/video\/|\.mp4$/g, '');
        expect(audios[0]).toBe(`media/audio/${name}.wav`);
        expect((await stat(join(dest, videos[0]))).isFile()).toBe(true);
        expect((await stat(join(dest, audios[0]))).isFile()).toBe(true);
      }
    }
    expect(total).toBe(corpus.rows.length);
    // Each segment's own cut and WAV, hard-linked from OUT (no bytes copied).
    for (const [name, span] of segments) {
      await expectSegmentMedia(join(dest, 'media', 'video', `${name}.mp4`), join(dest, 'media', 'audio', `${name}.wav`), span);
      const row = corpus.rows.find((r) => corpus.names.get(r.segmentId) === name)!;
      expect((await stat(join(dest, 'media', 'video', `${name}.mp4`))).ino).toBe((await stat(join(out, row.video!))).ino);
    }
    expect(await readFile(join(dest, 'README.md'), 'utf8')).toContain('dataset: emoforge_train');
  });

  it('llava: video-audio, LLaVA-NeXT (<image> for the video, no audio) and Qwen-VL (<video>, no audio) placeholder styles', async () => {
    const styles = {
      'video-audio': { video: '<video>', audio: true },
      'llava-next': { video: '<image>', audio: false },
      'qwen-vl': { video: '<video>', audio: false },
    };
    for (const [style, rule] of Object.entries(styles)) {
      const dest = join(work, `llava-${style}`);
      const exported = await cli(['export', out, '--format', 'llava', '--style', style, '--dest', dest]);
      expect(exported.code, exported.stderr).toBe(0);
      for (const split of ['train', 'validation', 'test']) {
        const entries = await readJson<Record<string, any>[]>(join(dest, `${split}.json`));
        expect(entries.length).toBe(corpus.rows.filter((r) => r.split === split).length);
        for (const entry of entries) {
          expect(Object.keys(entry)).toEqual(rule.audio ? ['id', 'video', 'audio', 'conversations'] : ['id', 'video', 'conversations']);
          const text = entry.conversations.map((t: { value: string }) => t.value).join('\n');
          expect(entry.conversations[0].from).toBe('human');
          expect(entry.conversations[0].value.startsWith(`${rule.video}\n${rule.audio ? '<audio>\n' : ''}`)).toBe(true);
          // Exactly one video token; nothing a trainer would leave in the text as a literal placeholder.
          expect(count(text, rule.video)).toBe(1);
          for (const other of ['<video>', '<image>', '<audio>', '<AudioHere>', '<ImageHere>'])
            if (other !== rule.video && !(rule.audio && other === '<audio>')) expect(count(text, other), `${style}: ${other}`).toBe(0);
          if (rule.audio) expect(count(text, '<audio>')).toBe(1);
          const name = entry.video.replace(/^media\/video\/|\.mp4$/g, '');
          expect((await stat(join(dest, entry.video))).isFile()).toBe(true);
          if (rule.audio) expect(entry.audio).toBe(`media/audio/${name}.wav`);
          expect(segments.get(name)?.split).toBe(split);
        }
      }
      if (!rule.audio) expect(await readdir(join(dest, 'media'))).toEqual(['video']);
    }
  });

  it('jsonl: OpenAI messages with the media lists at the top level, placeholders counted to match', async () => {
    const dest = join(work, 'jsonl');
    expect((await cli(['export', out, '--format', 'jsonl', '--dest', dest])).code).toBe(0);
    let lines = 0;
    for (const split of ['train', 'validation', 'test']) {
      for (const line of (await readFile(join(dest, `${split}.jsonl`), 'utf8')).split('\n').filter(Boolean)) {
        const record = JSON.parse(line);
        lines++;
        expect(Object.keys(record)).toEqual(['messages', 'videos', 'audios', 'metadata']);
        record.messages.forEach((m: { role: string; content: string }, i: number) => expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant'));
        const text = record.messages.map((m: { content: string }) => m.content).join('\n');
        expect(count(text, '<video>')).toBe(record.videos.length);
        expect(count(text, '<audio>')).toBe(record.audios.length);
        for (const path of [...record.videos, ...record.audios]) expect((await stat(join(dest, path))).isFile()).toBe(true);
        expect(record.metadata.split).toBe(split);
        const span = segments.get(record.metadata.name)!;
        expect([record.metadata.start, record.metadata.end]).toEqual([span.start, span.end]);
      }
    }
    expect(lines).toBe(corpus.rows.length);
  });

  it('is byte-identical on a re-run, replaces only its own exports, and places media by hard link, copy or symlink', async () => {
    const dest = join(work, 'again');
    expect((await cli(['export', out, '--format', 'affectgpt', '--dest', dest])).code).toBe(0);
    const first = await tree(dest);
    expect((await cli(['export', out, '--format', 'affectgpt', '--dest', dest])).code).toBe(0);
    expect(await tree(dest)).toEqual(first);
    // A tighter budget replaces the export whole: no stale name's media is left behind.
    expect((await cli(['export', out, '--format', 'affectgpt', '--dest', dest, '--max-tokens', '20'])).code).toBe(0);
    expect(Object.keys(await tree(dest)).filter((f) => /\.(mp4|wav|npy)$/.test(f))).toEqual([]);
    expect((await readdir(work)).filter((f) => f.includes('emoforge-export'))).toEqual([]);

    const foreign = join(work, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    const refused = await cli(['export', out, '--format', 'llava', '--dest', foreign]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty and is not an emoforge export');
    expect(await readdir(foreign)).toEqual(['notes.txt']);

    const source = (name: string) => join(out, corpus.rows.find((r) => corpus.names.get(r.segmentId) === name)!.video!);
    const [name] = segments.keys();
    const copied = join(work, 'copied');
    expect((await cli(['export', out, '--format', 'llava', '--media', 'copy', '--dest', copied])).code).toBe(0);
    expect((await stat(join(copied, 'media/video', `${name}.mp4`))).ino).not.toBe((await stat(source(name))).ino);
    expect(await readFile(join(copied, 'media/video', `${name}.mp4`))).toEqual(await readFile(source(name)));
    const linked = join(work, 'symlinked');
    const symlinked = await cli(['export', out, '--format', 'llava', '--media', 'symlink', '--dest', linked]);
    expect(symlinked.stdout).toMatch(/video: \d+ symlinked/);
    expect((await lstat(join(linked, 'media/video', `${name}.mp4`))).isSymbolicLink()).toBe(true);
    // A hard link cannot cross file systems: the file is copied instead, and the report counts it.
    const shm = await stat('/dev/shm').catch(() => null);
    if (shm?.isDirectory()) {
      const across = join(await mkdtemp(join('/dev/shm', 'emoforge-export-')), 'llava');
      try {
        expect((await cli(['export', out, '--format', 'llava', '--dest', across])).code).toBe(0);
        const report = await readJson(join(across, 'export-report.json'));
        const otherDevice = shm.dev !== (await stat(out)).dev;
        expect(report.media.video.copied).toBe(otherDevice ? report.media.video.placed : 0);
        expect(report.media.video.placed).toBe(segments.size);
        expect(await readFile(join(across, 'media/video', `${name}.mp4`))).toEqual(await readFile(source(name)));
      } finally {
        await rm(join(across, '..'), { recursive: true, force: true });
      }
    }
    // --media none: every path is relative to OUT (one root for video and audio).
    const none = join(work, 'none');
    expect((await cli(['export', out, '--format', 'llava', '--media', 'none', '--dest', none])).code).toBe(0);
    for (const entry of await readJson<{ video: string; audio: string }[]>(join(none, 'train.json'))) {
      expect((await stat(join(out, entry.video))).isFile()).toBe(true);
      expect((await stat(join(out, entry.audio))).isFile()).toBe(true);
    }
  });

  it('refuses bad usage with exit 2', async () => {
    // What the command line checks itself.
    for (const args of [
      ['export', out],
      ['export', out, '--format', 'csv'],
      ['export', out, '--format', 'llava', '--media', 'link'],
      ['export', out, '--format', 'jsonl', '--style', 'qwen-vl'],
      ['export', out, '--format', 'llava', '--input', out],
      ['export', out, '--format', 'llava', '--dest', join(out, 'shards', 'export')],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^emoforge: /);
    }
    // What the exporter refuses (the command turns ExportOptionError into exit 2, as above), in process.
    const refusals: [Partial<ExportOptions>, RegExp][] = [
      [{ format: 'affectgpt', media: 'none' }, /use --media hardlink/],
      [{ format: 'affectgpt', affectgptCorpus: 'emer' as AffectGptCorpus }, /unknown AffectGPT corpus "emer"/],
      [{ format: 'llava', llavaStyle: 'llava-ov' as LlavaStyle }, /unknown llava style "llava-ov"/],
      [{ format: 'llava', maxTokens: 0 }, /at least 1/],
      [{ format: 'llava', dest: join(out, 'media', 'export') }, /inside .*media/],
    ];
    for (const [options, message] of refusals) {
      await expect(exportCorpus({ outDir: out, format: 'llava', ...options })).rejects.toThrow(message);
      await expect(exportCorpus({ outDir: out, format: 'llava', ...options })).rejects.toBeInstanceOf(ExportOptionError);
    }
  });

  it('a hostile clip name cannot leave the dest, and stays one plain name in every file', async () => {
    const hostileInput = await sampleClips(3);
    await rename(join(hostileInput, 'sample_0003.mp4'), join(hostileInput, `${HOSTILE}.mp4`));
    const manifest = (await readFile(join(hostileInput, 'manifest.csv'), 'utf8')).replace(/^sample_0003,/m, `"${HOSTILE.replace(/"/g, '""')}",`);
    await writeFile(join(hostileInput, 'manifest.csv'), manifest);
    const hostileOut = join(work, 'hostile-out');
    const config = await writeConfig(await tempDir(), demoConfig({ transcribe: { engine: 'manifest' } }));
    expect((await cli(['run', config, '--input', hostileInput, '--out', hostileOut, '--store', join(work, 'store')])).code).toBe(0);

    const parent = await tempDir();
    const dest = join(parent, 'dest');
    const exported = await cli(['export', hostileOut, '--format', 'affectgpt', '--dest', dest, '--media', 'symlink']);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(await readdir(parent)).toEqual(['dest']);
    const files = Object.keys(await tree(dest));
    for (const file of files) expect(file.startsWith('..')).toBe(false);
    const videos = files.filter((f) => f.endsWith('.mp4'));
    expect(videos).toHaveLength(3);
    const hostileFile = videos.map((v) => v.split('/').at(-1)!).find((v) => !v.startsWith('sample_'))!;
    expect(hostileFile).not.toMatch(/[\\/\n",']/);
    expect(hostileFile.startsWith('.')).toBe(false);
    const split = videos.find((v) => v.endsWith(hostileFile))!.split('/')[0];
    const names = (await csv(join(dest, split, 'track2_train_mercaptionplus.csv'))).records.map((r) => `${r.name}.mp4`);
    expect(names).toContain(hostileFile);
    // The link points at the segment's file inside OUT/media.
    const target = await readlink(join(dest, split, 'video', hostileFile));
    expect(relative(join(hostileOut, 'media'), target).startsWith('..')).toBe(false);

    // A dest that is a symlink to elsewhere is refused, not written through.
    const elsewhere = join(parent, 'elsewhere');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(parent, 'planted'));
    const refused = await cli(['export', hostileOut, '--format', 'llava', '--dest', join(parent, 'planted')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('not a plain folder (a symlink)');
    expect(await readdir(elsewhere)).toEqual([]);
  });
});
