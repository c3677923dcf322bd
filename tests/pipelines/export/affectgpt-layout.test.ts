// AffectGPT layout edge cases on hand-made rows (no pipeline run): the Chinese subtitle column, the
// face stack's shape and BGR channel order, names skipped whole (no face crop, a missing label row,
// a missing media file), open-set words that would break AffectGPT's list parser, and names pandas
// would not read as text.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeAffectGpt } from '../../../pipelines/export/affectgpt-layout.ts';
import { sanitiseName, type CorpusRow } from '../../../pipelines/export/corpus-rows.ts';
import { ExportTally } from '../../../pipelines/export/export-tally.ts';
import { npyBytes, npyHeader } from '../../../pipelines/export/face-stack.ts';
import { MediaPlacer } from '../../../pipelines/export/media-files.ts';
import { pythonList } from '../../../pipelines/export/text-files.ts';
import { parseCsv } from '../../../stages/ingest/manifest.ts';
import { tempDir } from '../../helpers.ts';

function row(segment: string, task: 'description' | 'ov_labels', fields: Partial<CorpusRow> = {}): CorpusRow {
  return {
    id: `${segment}-${task}`,
    clipId: `clip-${segment}`,
    segmentId: segment,
    name: segment,
    uri: `${segment}.mp4`,
    start: 0,
    end: 2,
    transcript: 'we won',
    language: 'en',
    transcriptEn: null,
    primaryEmotion: 'happy',
    openset: ['happy', 'joyful'],
    task,
    conversations: [
      { from: 'human', value: '<video>\n<audio>\nq' },
      { from: 'gpt', value: task === 'description' ? `the person in ${segment} most likely feels happy` : 'happy, joyful' },
    ],
    video: `media/video/${segment}.mp4`,
    audio: `media/audio/${segment}.wav`,
    faceCrops: [`media/faces/${segment}-0.png`, `media/faces/${segment}-1.png`],
    teacher: 'rules',
    model: 'rules',
    template: 't@1',
    split: 'train',
    review: 'none',
    ...fields,
  };
}

async function records(path: string): Promise<Record<string, string>[]> {
  return parseCsv(await readFile(path, 'utf8')).records.map((r) => r.values as Record<string, string>);
}

describe('affectgpt layout', () => {
  it('writes the chinese column, BGR face stacks, and skips names whole with a reason', async () => {
    const out = await tempDir();
    for (const dir of ['media/video', 'media/audio', 'media/faces']) await mkdir(join(out, dir), { recursive: true });
    const segments = ['en', 'zh', 'noface', 'nolabels', 'words', 'gone'];
    for (const s of segments) {
      if (s !== 'gone') await writeFile(join(out, 'media/video', `${s}.mp4`), `video ${s}`);
      await writeFile(join(out, 'media/audio', `${s}.wav`), `audio ${s}`);
      // Two crops of different sizes and one colour each: the stack resizes both and stores B, G, R.
      await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 255, g: 0, b: 10 } } })
        .png()
        .toFile(join(out, 'media/faces', `${s}-0.png`));
      await sharp({ create: { width: 100, height: 80, channels: 3, background: { r: 0, g: 200, b: 30 } } })
        .png()
        .toFile(join(out, 'media/faces', `${s}-1.png`));
    }
    const rows = [
      row('en', 'description'),
      row('en', 'ov_labels'),
      row('zh', 'description', { language: 'zh', transcript: '我很担心他。', transcriptEn: 'I am worried about him.' }),
      row('zh', 'ov_labels', { language: 'zh' }),
      row('noface', 'description', { faceCrops: [] }),
      row('noface', 'ov_labels', { faceCrops: [] }),
      row('nolabels', 'description'),
      row('words', 'description'),
      row('words', 'ov_labels', { openset: ["it's", 'a,b', '"q"', 'back\\slash', '[x]', 'ok', 'ok', ' '] }),
      row('gone', 'description'),
      row('gone', 'ov_labels'),
    ];
    const root = await tempDir();
    const tally = new ExportTally();
    const media = new MediaPlacer(root, 'copy', out);
    const writeText = async (path: string, text: string) => {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
    };
    await writeAffectGpt({ rows, names: new Map(segments.map((s) => [s, s])), media, maxTokens: 1024, tally, corpus: 'mercaptionplus', writeText });

    const train = join(root, 'train');
    const subtitles = await records(join(train, 'subtitle_chieng.csv'));
    expect((await readFile(join(train, 'subtitle_chieng.csv'), 'utf8')).split('\n')[0]).toBe('name,chinese,english');
    expect(subtitles).toEqual([
      { name: 'en', chinese: '', english: 'we won' },
      { name: 'words', chinese: '', english: 'we won' },
      { name: 'zh', chinese: '我很担心他。', english: 'I am worried about him.' },
    ]);
    expect((await records(join(train, 'track3_train_mercaptionplus.csv'))).map((r) => r.name)).toEqual(['en', 'words', 'zh']);
    const opensets = await records(join(train, 'track2_train_mercaptionplus.csv'));
    expect(opensets.find((r) => r.name === 'words')!.openset).toBe("['it s', 'a b', 'q', 'back slash', 'x', 'ok']");
    expect(tally.splits.train).toEqual({ written: 6, skipped: { 'no-face-crops': 2, 'no-labels-row': 1, 'source-not-found': 2 } });
    // Skipped names leave no media behind.
    expect((await readdir(join(train, 'video'))).sort()).toEqual(['en.mp4', 'words.mp4', 'zh.mp4']);
    expect((await readdir(join(train, 'openface_face'))).sort()).toEqual(['en', 'words', 'zh']);

    const npy = await readFile(join(train, 'openface_face', 'en', 'en.npy'));
    const header = npyHeader(npy);
    expect(header).toMatchObject({ descr: '|u1', fortranOrder: false, shape: [2, 224, 224, 3] });
    expect([...npy.subarray(header.dataOffset, header.dataOffset + 3)]).toEqual([10, 0, 255]);
    const second = header.dataOffset + 224 * 224 * 3;
    expect([...npy.subarray(second, second + 3)]).toEqual([30, 200, 0]);
  });

  it('writes npy headers numpy reads: 64-byte aligned, a 1-d shape with its trailing comma', () => {
    const bytes = npyBytes([5], new Uint8Array([1, 2, 3, 4, 5]));
    const header = npyHeader(bytes);
    expect(header).toEqual({ descr: '|u1', fortranOrder: false, shape: [5], dataOffset: 128 });
    expect(bytes.toString('latin1', 10, 128)).toContain("'shape': (5,)");
    expect(() => npyBytes([2, 2], new Uint8Array(3))).toThrow(/needs 4 bytes/);
  });

  it('keeps names pandas would read as numbers, booleans or NaN as text', () => {
    expect(sanitiseName('0001')).toBe('clip_0001');
    expect(sanitiseName('1e5')).toBe('clip_1e5');
    expect(sanitiseName('NA')).toBe('clip_NA');
    expect(sanitiseName('nan')).toBe('clip_nan');
    expect(sanitiseName('True')).toBe('clip_True');
    expect(sanitiseName('')).toBe('clip_');
    expect(sanitiseName('sample_0001')).toBe('sample_0001');
    expect(sanitiseName('../x')).toBe('_x');
    expect(pythonList([])).toBe('[]');
  });
});
