// Real flite and ffmpeg: the demo clips a user generates must probe as short A/V clips, be listed in
// a MER2023-style manifest, and come out byte-identical when generated again.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleClips, type SampleClip } from '../../scripts/sample-clips.ts';

const execFileAsync = promisify(execFile);

interface ProbeJson {
  format: { duration: string };
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}

async function probe(file: string): Promise<ProbeJson> {
  const { stdout } = await execFileAsync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  return JSON.parse(stdout) as ProbeJson;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** Minimal CSV reader for the manifest: quoted fields may hold commas and doubled quotes. */
function parseCsv(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields: string[] = [];
      for (let at = 0; at <= line.length; ) {
        if (line[at] === '"') {
          let value = '';
          let i = at + 1;
          for (;;) {
            const close = line.indexOf('"', i);
            value += line.slice(i, close);
            if (line[close + 1] === '"') {
              value += '"';
              i = close + 2;
            } else {
              at = close + 2;
              break;
            }
          }
          fields.push(value);
        } else {
          const comma = line.indexOf(',', at);
          const end = comma === -1 ? line.length : comma;
          fields.push(line.slice(at, end));
          at = end + 1;
        }
      }
      return fields;
    });
}

describe('makeSampleClips', () => {
  let root: string;
  let first: SampleClip[];
  const progress: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'emoforge-sample-clips-'));
    first = await makeSampleClips(join(root, 'a'), {
      count: 3,
      onProgress: (done, total, name) => progress.push(`${done}/${total} ${name}`),
    });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes one manifest row per clip with name, label, speaker and quoted text', async () => {
    const rows = parseCsv(await readFile(join(root, 'a', 'manifest.csv'), 'utf8'));
    expect(rows[0]).toEqual(['name', 'label', 'speaker', 'text']);
    expect(rows.slice(1)).toEqual(first.map((c) => [c.name, c.label, c.speaker, c.text]));
    expect(first.map((c) => c.label)).toEqual(['happy', 'sad', 'angry']);
    expect(new Set(first.map((c) => c.speaker)).size).toBe(3);
    for (const clip of first) expect(clip.text.split(' ').length).toBeGreaterThanOrEqual(5);
    expect(progress).toHaveLength(3);
    expect(progress.at(-1)).toMatch(/^3\/3 sample_/);
  });

  it('leaves only the clips and the manifest in the folder', async () => {
    const names = (await readdir(join(root, 'a'))).sort();
    expect(names).toEqual([...first.map((c) => `${c.name}.mp4`), 'manifest.csv'].sort());
  });

  it('writes 16:9 H.264 + AAC clips of 2-6 s', async () => {
    for (const clip of first) {
      const info = await probe(clip.file);
      const video = info.streams.find((s) => s.codec_type === 'video');
      const audio = info.streams.find((s) => s.codec_type === 'audio');
      expect(video?.codec_name).toBe('h264');
      expect(audio?.codec_name).toBe('aac');
      expect((video!.width! * 9) / video!.height!).toBe(16);
      const seconds = Number(info.format.duration);
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(seconds).toBeLessThanOrEqual(6);
    }
  });

  it('gives byte-identical files when generated again', async () => {
    const again = await makeSampleClips(join(root, 'b'), { count: 3 });
    expect(again.map((c) => c.name)).toEqual(first.map((c) => c.name));
    for (const [i, clip] of first.entries()) expect(await sha256(again[i].file)).toBe(await sha256(clip.file));
    expect(await readFile(join(root, 'b', 'manifest.csv'), 'utf8')).toBe(await readFile(join(root, 'a', 'manifest.csv'), 'utf8'));
  });

  it('rejects a count that is not a positive integer, naming the option', async () => {
    await expect(makeSampleClips(join(root, 'c'), { count: 0 })).rejects.toThrow(/count .*got 0/);
  });
});
