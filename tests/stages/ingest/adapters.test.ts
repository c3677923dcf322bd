// The corpus adapters on tiny fake trees in each published layout (file names and annotation files
// as the corpora ship them; the media bytes do not matter to the listing): labels mapped with the
// corpus's own kept, speakers and groups, official splits, and every file or line the adapter cannot
// use rejected with a reason naming it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADAPTERS, type AdapterListing } from '../../../stages/ingest/adapters/index.ts';
import { ingest } from '../../../stages/ingest.ts';
import { tempDir } from '../../helpers.ts';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await tempDir('emoforge-corpus-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

async function list(name: string, files: Record<string, string>, config: unknown = {}): Promise<AdapterListing> {
  const adapter = ADAPTERS.get(name)!;
  return adapter.list(await tree(files), adapter.configSchema.parse(config));
}

const reasons = (listing: AdapterListing) => Object.fromEntries(listing.rejects.map((r) => [r.uri, r.reason]));

describe('ravdess', () => {
  const files = {
    'Actor_01/01-01-03-02-01-02-01.mp4': 'av speech happy strong',
    'Actor_02/01-01-02-01-02-01-02.mp4': 'av speech calm',
    'Actor_01/01-02-05-01-01-01-01.mp4': 'av song angry',
    'Actor_02/02-01-04-01-01-01-02.mp4': 'video-only sad',
    'Actor_01/03-01-07-01-01-01-01.wav': 'audio-only disgust',
    'Actor_01/01-01-09-01-01-01-01.mp4': 'emotion 09 does not exist',
    'Actor_03/01-01-03-01-01-01-04.mp4': 'actor 04 in folder 03',
    'Actor_01/notes.txt': 'not a sample',
  };

  it('maps the file-name codes, keeps the original label and code, and rejects what the layout does not allow', async () => {
    const listing = await list('ravdess', files);
    expect(listing.entries.map((e) => e.uri)).toEqual(['Actor_01/01-01-03-02-01-02-01.mp4', 'Actor_02/01-01-02-01-02-01-02.mp4']);
    const [happy, calm] = listing.entries;
    expect(happy.manifest).toEqual({
      label: 'happy',
      speaker: 'ravdess-actor-01',
      group: 'ravdess-actor-01',
      text: 'Kids are talking by the door.',
      textLanguage: 'en',
      labelSource: {
        corpus: 'ravdess',
        label: 'happy',
        code: '03',
        extra: { intensity: 'strong', modality: 'audio-video', channel: 'speech', statement: 1, repetition: 2, gender: 'male' },
      },
    });
    expect(calm.manifest).toMatchObject({
      label: 'neutral',
      text: 'Dogs are sitting by the door.',
      labelSource: { label: 'calm', code: '02', extra: { gender: 'female' } },
    });
    expect(reasons(listing)).toEqual({
      'Actor_01/01-02-05-01-01-01-01.mp4': 'preset-excluded',
      'Actor_02/02-01-04-01-01-01-02.mp4': 'preset-excluded',
      'Actor_01/03-01-07-01-01-01-01.wav': 'preset-excluded',
      'Actor_01/01-01-09-01-01-01-01.mp4': 'bad-file-name',
      'Actor_03/01-01-03-01-01-01-04.mp4': 'bad-file-name',
      'Actor_01/notes.txt': 'not-in-layout',
    });
    expect(listing.rejects.find((r) => r.uri.includes('-09-'))!.detail).toContain('unknown emotion 09');
    // Every file is an entry or a reject.
    expect(listing.entries.length + listing.rejects.length).toBe(Object.keys(files).length);
  });

  it('takes song, video-only and audio-only files when asked', async () => {
    const listing = await list('ravdess', files, { modalities: ['audio-video', 'video-only', 'audio-only'], channels: ['speech', 'song'] });
    expect(listing.entries).toHaveLength(5);
    expect(listing.entries.find((e) => e.uri.includes('01-02-05'))!.manifest.text).toBeUndefined();
    expect(listing.entries.find((e) => e.uri.endsWith('.wav'))!.manifest.label).toBe('disgusted');
  });
});

describe('cremad', () => {
  it('reads VideoFlash names into labels, levels and the fixed sentence', async () => {
    const listing = await list('cremad', {
      'VideoFlash/1001_DFA_ANG_XX.flv': 'x',
      'VideoFlash/1091_IEO_HAP_HI.flv': 'x',
      'VideoFlash/1092_IEO_HAP_HI.flv': 'actor out of range',
      'VideoFlash/1001_ABC_SAD_LO.flv': 'unknown sentence',
      'AudioWAV/1001_DFA_ANG_XX.wav': 'the same audio, not taken by default',
    });
    expect(listing.entries.map((e) => [e.name, e.manifest.label, e.manifest.text, e.manifest.speaker])).toEqual([
      ['1001_DFA_ANG_XX', 'angry', "Don't forget a jacket.", 'cremad-actor-1001'],
      ['1091_IEO_HAP_HI', 'happy', "It's eleven o'clock.", 'cremad-actor-1091'],
    ]);
    expect(listing.entries[1].manifest.labelSource).toEqual({ corpus: 'cremad', label: 'HAP', code: 'HAP', extra: { level: 'high', sentence: 'IEO' } });
    expect(reasons(listing)).toEqual({ 'VideoFlash/1092_IEO_HAP_HI.flv': 'bad-file-name', 'VideoFlash/1001_ABC_SAD_LO.flv': 'bad-file-name' });
  });
});

describe('meld', () => {
  const header = 'Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n';
  it('reads the three CSVs with their clips as the official splits, and rejects rows and clips that do not pair up', async () => {
    const listing = await list('meld', {
      'train_sent_emo.csv': `${header}1,"Oh my God, he's lost it.",Monica,surprise,negative,0,0,3,19,"00:14:38,505","00:14:40,214"\n2,Yeah!,Joey,joy,positive,0,1,3,19,a,b\n3,Hmm.,Ross,boredom,neutral,0,2,3,19,a,b\n`,
      'dev_sent_emo.csv': `${header}1,Okay.,Rachel,neutral,neutral,4,0,1,1,a,b\n2,Where?,Rachel,fear,negative,4,7,1,1,a,b\n`,
      'test_sent_emo.csv': `${header}1,No way!,Chandler,anger,negative,2,3,5,5,a,b\n`,
      'train_splits/dia0_utt0.mp4': 'x',
      'train_splits/dia0_utt1.mp4': 'x',
      'train_splits/dia9_utt9.mp4': 'a clip no row names',
      'dev/dev_splits_complete/dia4_utt0.mp4': 'x',
      'output_repeated_splits_test/dia2_utt3.mp4': 'x',
    });
    expect(
      listing.entries.map((e) => [e.name, e.manifest.label, e.manifest.sentiment, e.manifest.officialSplit, e.manifest.speaker, e.manifest.group]),
    ).toEqual([
      ['train_dia0_utt0', 'surprised', 'negative', 'train', 'meld-Monica', 'meld-train-dia0'],
      ['train_dia0_utt1', 'happy', 'positive', 'train', 'meld-Joey', 'meld-train-dia0'],
      ['validation_dia4_utt0', 'neutral', 'neutral', 'validation', 'meld-Rachel', 'meld-validation-dia4'],
      ['test_dia2_utt3', 'angry', 'negative', 'test', 'meld-Chandler', 'meld-test-dia2'],
    ]);
    expect(listing.entries[0].manifest.text).toBe("Oh my God, he's lost it.");
    expect(listing.entries[0].manifest.labelSource).toMatchObject({
      corpus: 'meld',
      label: 'surprise',
      extra: { dialogue: 0, utterance: 0, season: '3', episode: '19' },
    });
    expect(listing.rejects.map((r) => [r.reason, r.detail.slice(0, 40)])).toEqual([
      ['bad-manifest-row', 'train_sent_emo.csv line 4 (dia0_utt2.mp4'],
      ['missing', 'dev_sent_emo.csv line 3 names dia4_utt7.'],
      ['not-in-annotations', 'train_splits/dia9_utt9.mp4 is in no MELD'],
    ]);
  });
});

describe('iemocap', () => {
  const evaluation = [
    '% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]',
    '',
    '[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]',
    'C-E2:\tNeutral;\t()',
    '',
    '[10.0100 - 11.3925]\tSes01F_impro01_M001\texc\t[4.0000, 4.5000, 3.5000]',
    '',
    '[14.8872 - 18.0175]\tSes01F_impro01_F001\txxx\t[2.5000, 3.5000, 3.0000]',
    '',
    '[20.0000 - 21.0000]\tSes01F_impro01_M002\tfru\t[2.0000, 3.5000, 3.0000]',
    '',
    '[22.0000 - 21.0000]\tSes01F_impro01_M003\tang\t[2.0000, 3.5000, 3.0000]',
    '[not a line\tat all',
  ].join('\n');
  const files = {
    'Session1/dialog/EmoEvaluation/Ses01F_impro01.txt': evaluation,
    'Session1/dialog/avi/DivX/Ses01F_impro01.avi': 'x',
    'Session1/dialog/avi/DivX/Ses01F_impro02.avi': 'no evaluation',
    'Session1/dialog/transcriptions/Ses01F_impro01.txt':
      'Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.\nSes01F_impro01_M001 [010.0100-011.3925]: Do you have your forms?\n',
  };

  it('makes each turn a span of the dialogue video, maps and rescales its labels, and rejects unagreed and unmapped ones', async () => {
    const listing = await list('iemocap', files, { sessions: [1] });
    expect(listing.entries.map((e) => [e.name, e.uri, e.span, e.manifest.label, e.manifest.speaker, e.manifest.text])).toEqual([
      ['Ses01F_impro01_F000', 'Session1/dialog/avi/DivX/Ses01F_impro01.avi', { start: 6.2901, end: 8.2357 }, 'neutral', 'iemocap-Ses01-F', 'Excuse me.'],
      [
        'Ses01F_impro01_M001',
        'Session1/dialog/avi/DivX/Ses01F_impro01.avi',
        { start: 10.01, end: 11.3925 },
        'happy',
        'iemocap-Ses01-M',
        'Do you have your forms?',
      ],
    ]);
    expect(listing.entries[1].manifest).toMatchObject({
      group: 'iemocap-Ses01F_impro01',
      valence: 0.5,
      arousal: 0.75,
      labelSource: { label: 'exc', extra: { dominance: 3.5, session: 1, gender: 'male' } },
    });
    expect(listing.rejects.map((r) => r.reason)).toEqual([
      'label-not-mapped',
      'label-not-mapped',
      'bad-manifest-row',
      'bad-manifest-row',
      'not-in-annotations',
    ]);
    expect(listing.rejects[0].detail).toBe('Session1/dialog/EmoEvaluation/Ses01F_impro01.txt line 8: the annotators did not agree (xxx)');
    expect(listing.rejects[1].detail).toContain("'fru' names no emotion of ours; map it with ingest.iemocap.map");
    expect(listing.rejects[2].detail).toContain('line 12: span 22.0000–21.0000 is empty');
    expect(listing.rejects[3].detail).toContain('line 13: not "[start - end]');
    const mapped = await list('iemocap', files, { sessions: [1], map: { fru: 'angry' } });
    expect(mapped.entries.map((e) => e.manifest.label)).toEqual(['neutral', 'happy', 'angry']);
    const audio = await list('iemocap', files, { sessions: [1], source: 'audio' });
    expect(audio.entries.map((e) => [e.uri, e.span])).toEqual([
      ['Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav', undefined],
      ['Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav', undefined],
    ]);
  });
});

describe('mer', () => {
  it('reads label and transcription CSVs: Chinese text with its English, mapped labels, rescaled valence, split from the file name (a test label wins), unlabelled clips kept', async () => {
    const listing = await list('mer', {
      'sample_00000001.mp4': 'x',
      'sample_00000002.mp4': 'x',
      'sample_00000003.avi': 'x',
      'train-label.csv': 'name,discrete,valence\nsample_00000001,worried,-2.5\nsample_00000002,happy,4\nsample_00000009,sad,-1\n',
      // sample_00000002 is labelled in a test file too: it stays out of training.
      'test1-label.csv': 'name,discrete\nsample_00000002,angry\n',
      'transcription.csv': 'name,chinese,english\nsample_00000001,我很担心他。,I am very worried about him.\nsample_00000003,,Only English here.\n',
    });
    expect(
      listing.entries.map((e) => [
        e.name,
        e.manifest.label,
        e.manifest.valence,
        e.manifest.officialSplit,
        e.manifest.text,
        e.manifest.textLanguage,
        e.manifest.textEn,
      ]),
    ).toEqual([
      ['sample_00000001', 'fearful', -0.5, 'train', '我很担心他。', 'zh', 'I am very worried about him.'],
      ['sample_00000002', 'angry', undefined, 'test', undefined, undefined, undefined],
      ['sample_00000003', undefined, undefined, undefined, 'Only English here.', 'en', undefined],
    ]);
    expect(listing.entries[0].manifest.labelSource).toEqual({ corpus: 'mer', label: 'worried', extra: { valence: -2.5, file: 'train-label.csv' } });
    expect(listing.rejects.map((r) => [r.reason, r.detail])).toEqual([
      ['duplicate-row', 'train-label.csv line 3: sample_00000002 is labelled already (test1-label.csv line 2)'],
      ['missing', 'train-label.csv line 4 names sample_00000009, which has no clip in .'],
    ]);
  });
});

describe('ingest.preset', () => {
  it('refuses adapter options without their preset and bad adapter options, naming the path', () => {
    expect(() => ingest.configSchema.parse({ ravdess: { channels: ['song'] } })).toThrow('options for the ravdess adapter need preset: ravdess');
    expect(() => ingest.configSchema.parse({ preset: 'ravdess', ravdess: { chanels: ['song'] } })).toThrow();
    expect(() => ingest.configSchema.parse({ preset: 'affwild' })).toThrow();
    expect(ingest.configSchema.parse({ preset: 'iemocap', iemocap: { map: { fru: 'angry' } } })).toMatchObject({ preset: 'iemocap' });
  });
});
