// Corpus presets end to end on tiny fake trees with real generated media: IEMOCAP turns become spans
// of the dialogue video (each its own clip, cut to its span), MELD's official test set stays the
// test split under `write.splits: official`, and MER's Chinese transcripts travel with the corpus's
// own English into transcript_en and the lexical cues.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRowsHyparquet, type ReadRow } from '../../pipelines/parquet/index.ts';
import { cli, demoConfig, readJson, tempDir, writeConfig } from '../helpers.ts';

const run = promisify(execFile);

/** A clip of `seconds` with a moving test pattern and a tone (frequency by `seed`), in the container the path names. */
async function clip(path: string, seconds: number, seed: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const codecs = path.endsWith('.avi')
    ? ['-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'pcm_s16le']
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
  await run('ffmpeg', [
    '-nostdin',
    '-y',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=s=160x120:d=${seconds}:r=10`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${200 + seed * 37}:duration=${seconds}`,
    ...codecs,
    '-shortest',
    path,
  ]);
}

/** The demo pipeline without faces or ASR (manifest transcripts), on a preset. */
function presetConfig(ingest: Record<string, unknown>, write: Record<string, unknown> = {}, extra: Record<string, unknown>[] = []): Record<string, unknown> {
  const base = demoConfig({ ingest, transcribe: { engine: 'manifest' }, write: { seed: 'test', ...write } });
  const stages = (base.stages as Record<string, unknown>[]).filter((s) => !('cues.visual' in s));
  stages.splice(stages.findIndex((s) => 'transcribe' in s) + 1, 0, ...extra);
  return { ...base, stages };
}

async function rowsOf(out: string): Promise<ReadRow[]> {
  const manifest = await readJson(join(out, 'manifest.json'));
  return (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
}

describe('corpus presets', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('emoforge-corpora-');
  });

  it('iemocap: each turn is a clip of its own, a span of the dialogue video cut to that span', async () => {
    const root = join(work, 'IEMOCAP');
    await clip(join(root, 'Session1/dialog/avi/DivX/Ses01F_impro01.avi'), 8, 1);
    await mkdir(join(root, 'Session1/dialog/EmoEvaluation'), { recursive: true });
    await mkdir(join(root, 'Session1/dialog/transcriptions'), { recursive: true });
    await writeFile(
      join(root, 'Session1/dialog/EmoEvaluation/Ses01F_impro01.txt'),
      `${[
        '[0.5000 - 2.7500]\tSes01F_impro01_F000\tneu\t[2.5000, 2.0000, 2.5000]',
        '[3.1000 - 5.9000]\tSes01F_impro01_M000\tang\t[1.5000, 4.5000, 4.0000]',
        '[6.2000 - 7.5000]\tSes01F_impro01_F001\txxx\t[2.5000, 3.5000, 3.0000]',
      ].join('\n\n')}\n`,
    );
    await writeFile(
      join(root, 'Session1/dialog/transcriptions/Ses01F_impro01.txt'),
      'Ses01F_impro01_F000 [000.5000-002.7500]: Excuse me, is this the line?\nSes01F_impro01_M000 [003.1000-005.9000]: You broke it again, I am so angry!\n',
    );
    const out = join(work, 'iemocap-out');
    const config = await writeConfig(await tempDir(), presetConfig({ preset: 'iemocap', input: root, iemocap: { sessions: [1] } }));
    const result = await cli(['run', config, '--out', out, '--store', join(work, 'store')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = await rowsOf(out);
    const turns = new Map(rows.map((r) => [String(r.name), r]));
    expect([...turns.keys()].sort()).toEqual(['Ses01F_impro01_F000', 'Ses01F_impro01_M000']);
    const angry = turns.get('Ses01F_impro01_M000')!;
    expect([angry.start, angry.end, angry.label, angry.speaker, angry.transcript]).toEqual([
      3.1,
      5.9,
      'angry',
      'iemocap-Ses01-M',
      'You broke it again, I am so angry!',
    ]);
    expect(JSON.parse(String(angry.label_source))).toMatchObject({ corpus: 'iemocap', label: 'ang', extra: { valence: 1.5, arousal: 4.5, dominance: 4 } });
    expect(turns.get('Ses01F_impro01_F000')!.clip_id).not.toBe(angry.clip_id);
    // The segment's video is its span cut out of the dialogue.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', `file:${join(out, String(angry.video))}`]);
    expect(Math.abs(Number(stdout) - 2.8)).toBeLessThanOrEqual(0.05);
    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    expect(rejects.map((r) => [r.uri, r.reason])).toEqual([['Ses01F_impro01/Ses01F_impro01_F001', 'label-not-mapped']]);
  }, 300_000);

  it('meld: write.splits official keeps the official test set the test split, the same characters in every split', async () => {
    const root = join(work, 'MELD.Raw');
    const header = 'Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n';
    const rows = (_split: string, lines: [string, string, string, string, number, number][]) =>
      header +
      lines.map(([text, speaker, emotion, sentiment, d, u], i) => `${i + 1},"${text}",${speaker},${emotion},${sentiment},${d},${u},1,1,a,b`).join('\n') +
      '\n';
    await mkdir(root, { recursive: true });
    await writeFile(
      join(root, 'train_sent_emo.csv'),
      rows('train', [
        ['We won the prize, this is wonderful!', 'Monica', 'joy', 'positive', 0, 0],
        ['All is lost and I am tired.', 'Ross', 'sadness', 'negative', 0, 1],
        ['The meeting starts at nine.', 'Rachel', 'neutral', 'neutral', 1, 0],
      ]),
    );
    await writeFile(join(root, 'dev_sent_emo.csv'), rows('dev', [['Really? You did all this?', 'Monica', 'surprise', 'positive', 0, 0]]));
    await writeFile(
      join(root, 'test_sent_emo.csv'),
      rows('test', [
        ['You broke it again!', 'Ross', 'anger', 'negative', 0, 0],
        ['Please help me.', 'Rachel', 'fear', 'negative', 0, 1],
      ]),
    );
    let seed = 0;
    for (const [folder, names] of [
      ['train_splits', ['dia0_utt0', 'dia0_utt1', 'dia1_utt0']],
      ['dev_splits_complete', ['dia0_utt0']],
      ['output_repeated_splits_test', ['dia0_utt0', 'dia0_utt1']],
    ] as const) {
      for (const name of names) await clip(join(root, folder, `${name}.mp4`), 2, ++seed);
    }
    const out = join(work, 'meld-out');
    const config = await writeConfig(await tempDir(), presetConfig({ preset: 'meld', input: root }, { splits: 'official' }));
    const result = await cli(['run', config, '--out', out, '--store', join(work, 'store')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const published = await rowsOf(out);
    const bySegment = new Map(published.map((r) => [String(r.segment_id), r]));
    expect(bySegment.size).toBe(6);
    for (const row of bySegment.values()) expect(row.split).toBe(row.official_split);
    expect(
      [...bySegment.values()]
        .filter((r) => r.split === 'test')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['test_dia0_utt0', 'test_dia0_utt1']);
    expect(new Set([...bySegment.values()].filter((r) => r.speaker === 'meld-Ross').map((r) => r.split))).toEqual(new Set(['train', 'test']));
    const count = (split: string) => published.filter((r) => r.split === split).length;
    expect((await readJson(join(out, 'manifest.json'))).splits).toEqual({ train: count('train'), validation: count('validation'), test: count('test') });
  }, 300_000);

  it("mer: the Chinese transcript travels with the corpus's English into transcript_en and the lexical cues", async () => {
    const root = join(work, 'MER2023');
    await clip(join(root, 'sample_00000001.mp4'), 2, 11);
    await clip(join(root, 'sample_00000002.mp4'), 2, 12);
    await writeFile(join(root, 'train-label.csv'), 'name,discrete,valence\nsample_00000001,happy,3.5\nsample_00000002,worried,-2\n');
    await writeFile(
      join(root, 'transcription.csv'),
      'name,chinese,english\nsample_00000001,我们赢了，太好了！,"We won, this is wonderful!"\nsample_00000002,我很担心他。,I am so worried about him.\n',
    );
    const out = join(work, 'mer-out');
    const config = await writeConfig(await tempDir(), presetConfig({ preset: 'mer', input: root }, {}, [{ translate: {} }]));
    const result = await cli(['run', config, '--out', out, '--store', join(work, 'store')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = await rowsOf(out);
    const happy = rows.find((r) => r.name === 'sample_00000001')!;
    expect([happy.transcript, happy.language, happy.transcript_en, happy.label, happy.official_split]).toEqual([
      '我们赢了，太好了！',
      'zh',
      'We won, this is wonderful!',
      'happy',
      'train',
    ]);
    const cues = JSON.parse(String(happy.cues));
    expect(cues.lexical).toMatchObject({ sentiment: 'positive', source: 'translation' });
    expect(rows.find((r) => r.name === 'sample_00000002')!.label).toBe('fearful');
    // Both kept: nothing was dropped for its language.
    expect((await readRowsHyparquet(join(out, 'rejects.parquet'))).filter((r) => r.reason === 'unsupported-language')).toEqual([]);
  }, 300_000);
});
