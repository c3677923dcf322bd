// Real flite and ffmpeg: the demo clips a user generates must probe as short A/V clips, be listed in
// a MER2023-style manifest, come out byte-identical when generated again, never repeat (however many
// are asked for), and with `people` show several real faces to the cues.visual stage.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.ts';
import { MAX_SAMPLE_CLIPS, makeSampleClips, planSampleClip, type SampleClip } from '../../scripts/sample-clips.ts';
import { cuesVisual, trackSettings } from '../../stages/cues/visual.ts';
import { closeFaceWorkers, trackFaces } from '../../stages/cues/visual-worker.ts';

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

  it('rejects a count that is not a positive integer or past the distinct clips, naming the option', async () => {
    await expect(makeSampleClips(join(root, 'c'), { count: 0 })).rejects.toThrow(/count .*got 0/);
    await expect(makeSampleClips(join(root, 'c'), { count: MAX_SAMPLE_CLIPS + 1 })).rejects.toThrow(
      new RegExp(`count .*${MAX_SAMPLE_CLIPS}.*got ${MAX_SAMPLE_CLIPS + 1}`),
    );
  });
});

describe('sample clips at any count', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'emoforge-sample-clips-count-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('plans every clip it can make differently: no two share text, voice, prosody and camera move', () => {
    const plans = Array.from({ length: MAX_SAMPLE_CLIPS }, (_, i) => planSampleClip(i));
    expect(new Set(plans.map((p) => JSON.stringify([p.text, p.voice, p.prosody, p.move]))).size).toBe(MAX_SAMPLE_CLIPS);
    expect(new Set(plans.map((p) => p.name)).size).toBe(MAX_SAMPLE_CLIPS);
    expect(MAX_SAMPLE_CLIPS).toBeGreaterThanOrEqual(10_000);
    // the old generator's cycle: clip 121 was clip 1 again
    expect(planSampleClip(120).text).not.toBe(planSampleClip(0).text);
    expect(() => planSampleClip(MAX_SAMPLE_CLIPS)).toThrow(RangeError);
  });

  it('keeps the default 12 clips as they were planned before: sentence, voice, prosody and move', () => {
    const first = Array.from({ length: 12 }, (_, i) => planSampleClip(i));
    expect(first.map((p) => p.label)).toEqual([
      'happy',
      'sad',
      'angry',
      'neutral',
      'surprised',
      'fearful',
      'happy',
      'sad',
      'angry',
      'neutral',
      'surprised',
      'fearful',
    ]);
    expect(first.map((p) => p.voice)).toEqual(['slt', 'awb', 'kal16', 'rms', 'slt', 'awb', 'kal16', 'rms', 'slt', 'awb', 'kal16', 'rms']);
    expect(first.map((p) => p.move)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
    expect(first[0]).toMatchObject({ text: 'we won the prize, this is wonderful news!', prosody: { f0Hz: 217, f0SdHz: 39.2, stretch: 0.9, gain: 0.9 } });
    expect(first[7]).toMatchObject({ text: 'nobody came, and i feel so sad.', prosody: { f0Hz: 85, stretch: 1.25, gain: 0.55 } });
  });

  it('refuses a --count past the distinct clips on the command line (exit 2, naming the limit)', async () => {
    const result = await cli(['sample-clips', join(root, 'cli'), '--count', String(MAX_SAMPLE_CLIPS + 1)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`at most ${MAX_SAMPLE_CLIPS}`);
  });

  it('makes clip 121 unlike clip 1, and the same bytes whether made alone or among others', async () => {
    const [one] = await makeSampleClips(join(root, 'one'), { count: 1 });
    const [alone] = await makeSampleClips(join(root, 'alone'), { start: 120, count: 1 });
    const among = await makeSampleClips(join(root, 'among'), { start: 117, count: 5 });
    expect(alone.name).toBe('sample_0121');
    expect(alone.text).not.toBe(one.text);
    expect(await sha256(alone.file)).not.toBe(await sha256(one.file));
    expect(among.map((c) => c.name)).toEqual(['sample_0118', 'sample_0119', 'sample_0120', 'sample_0121', 'sample_0122']);
    expect(await sha256(among[3].file)).toBe(await sha256(alone.file));
    expect(new Set(await Promise.all(among.map((c) => sha256(c.file)))).size).toBe(5);
  });
});

describe('makeSampleClips with people', () => {
  let root: string;
  let clips: SampleClip[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'emoforge-sample-clips-people-'));
    clips = await makeSampleClips(join(root, 'a'), { count: 2, people: true });
  }, 300_000);

  afterAll(async () => {
    await closeFaceWorkers();
    await rm(root, { recursive: true, force: true });
  });

  it('names the speaking face and its photo in the manifest', async () => {
    const rows = parseCsv(await readFile(join(root, 'a', 'manifest.csv'), 'utf8'));
    expect(rows[0]).toEqual(['name', 'label', 'speaker', 'group', 'text']);
    expect(rows.slice(1)).toEqual(clips.map((c) => [c.name, c.label, c.speaker, c.group, c.text]));
    for (const clip of clips) {
      expect(clip.speaker).toMatch(/^photo[1-6]-face[1-9]$/);
      expect(clip.speaker.startsWith(`${clip.group}-`)).toBe(true);
    }
  });

  it('shows the cues.visual stage several faces in every clip', async () => {
    const settings = trackSettings(cuesVisual.configSchema.parse({}));
    for (const clip of clips) {
      const info = await probe(clip.file);
      const video = info.streams.find((s) => s.codec_type === 'video')!;
      const analysis = await trackFaces(
        {
          ...settings,
          label: clip.name,
          input: clip.file,
          start: 0,
          end: Number(info.format.duration),
          width: video.width!,
          height: video.height!,
          speech: null,
          cropTimes: [],
          crop: { enabled: false, size: 224, margin: 0.25, quality: 90 },
        },
        new AbortController().signal,
      );
      expect(analysis.tracks.length, clip.name).toBeGreaterThanOrEqual(2);
    }
  }, 300_000);

  it('gives byte-identical files when generated again', async () => {
    const again = await makeSampleClips(join(root, 'b'), { count: 2, people: true });
    for (const [i, clip] of clips.entries()) expect(await sha256(again[i].file)).toBe(await sha256(clip.file));
    expect(await readFile(join(root, 'b', 'manifest.csv'), 'utf8')).toBe(await readFile(join(root, 'a', 'manifest.csv'), 'utf8'));
  }, 300_000);
});
