// cues.pauses, added through the cue registry alone: on real speech (flite, joined by ffmpeg) it
// finds the silence put between two utterances, ignores the silence around them, and the rest of
// the pipeline sees it (records keep it, prompts show it, the emotion estimate cites a long pause).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageContext } from '../../helpers.ts';
import { fliteWav } from '../../support/speech.ts';
import { sha256 } from '../../../pipelines/fingerprint.ts';
import { isDrop } from '../../../pipelines/stage.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { promptValues } from '../../../pipelines/teachers/prompts.ts';
import { estimateSegment } from '../../../pipelines/teachers/rules-teacher.ts';
import { Segment } from '../../../schemas/records.ts';
import { cuesPauses, type PauseCues } from '../../../stages/cues/pauses.ts';
import { STAGES } from '../../../stages/index.ts';

const run = promisify(execFile);

let root: string;
let store: LocalStore;
/** store keys: the two utterances joined by 1.5 s of silence; the same joined directly, inside 1 s of silence either side */
const keys: Record<'halting' | 'fluent', string> = { halting: '', fluent: '' };

/** ffmpeg concat of WAVs and lavfi silences (seconds) into one 16 kHz mono s16le WAV. */
async function join16k(name: string, parts: readonly (string | number)[]): Promise<string> {
  const inputs = parts.flatMap((part) => (typeof part === 'number' ? ['-f', 'lavfi', '-t', String(part), '-i', 'anullsrc=r=16000:cl=mono'] : ['-i', part]));
  const labels = parts.map((_, i) => `[${i}:a]`).join('');
  const out = join(root, `${name}.wav`);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    `${labels}concat=n=${parts.length}:v=0:a=1`,
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'pcm_s16le',
    out,
  ]);
  return out;
}

async function putAudio(path: string): Promise<string> {
  const key = `media/${sha256(await readFile(path))}.wav`;
  await store.putFile(key, path);
  return key;
}

function segmentWith(audioKey: string, text = 'the meeting starts at nine in the morning'): Segment {
  const clipId = sha256(`clip:${audioKey}`);
  return Segment.parse({
    id: sha256(`segment:${audioKey}`),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/speech.wav',
      name: 'speech',
      bytes: 1000,
      probe: { duration: 5, formatName: 'wav', hasVideo: false, hasAudio: true, sampleRate: 16000, channels: 1 },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 5,
    audio: { key: audioKey, bytes: 1 },
    transcript: { text, language: 'en', engine: 'manifest' },
  });
}

async function pausesOf(key: string): Promise<{ segment: Segment; pauses: PauseCues }> {
  const { ctx, work } = stageContext({ store, stage: 'cues.pauses' });
  const result = await cuesPauses.run(segmentWith(key), cuesPauses.configSchema.parse({}), ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
  expect(work).toEqual({ dsp: 1 });
  return { segment: Segment.parse(result), pauses: result.cues!.pauses! };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'emoforge-pauses-'));
  store = new LocalStore(join(root, 'store'));
  const first = await fliteWav(root, 'the meeting starts at nine', 'first');
  const second = await fliteWav(root, 'in the morning', 'second');
  keys.halting = await putAudio(await join16k('halting', [first, 1.5, second]));
  keys.fluent = await putAudio(await join16k('fluent', [1, first, second, 1]));
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('cues.pauses', () => {
  it('is a stage a config can name', () => {
    expect(STAGES.get('cues.pauses')).toBe(cuesPauses);
  });

  it('measures the silence between two utterances as one long pause', async () => {
    const { pauses } = await pausesOf(keys.halting);
    // flite's own trailing and leading silence widen the 1.5 s gap a little.
    expect(pauses.longestSec).toBeGreaterThanOrEqual(1.5);
    expect(pauses.longestSec).toBeLessThan(2.2);
    expect(pauses.count).toBeGreaterThanOrEqual(1);
    expect(pauses.totalSec).toBeGreaterThanOrEqual(pauses.longestSec);
    expect(pauses.ratio).toBeGreaterThan(0.3);
    expect(pauses.ratio).toBeLessThan(0.7);
  });

  it('does not count the silence before the first sound and after the last', async () => {
    const { pauses } = await pausesOf(keys.fluent);
    expect(pauses.longestSec).toBeLessThan(1);
    expect(pauses.ratio).toBeLessThan(0.3);
  });

  it('reaches records, prompts and the emotion estimate through the registry', async () => {
    const halting = await pausesOf(keys.halting);
    const fluent = await pausesOf(keys.fluent);
    // The records schema keeps the cue (it would strip an unknown key).
    expect(halting.segment.cues?.pauses).toEqual(halting.pauses);
    const { count, longestSec, totalSec, ratio } = halting.pauses;
    const shown = JSON.parse(promptValues(halting.segment, undefined).cues).pauses;
    expect(shown).toMatchObject({ count, longestSec, totalSec });
    expect(shown.ratio).toBeCloseTo(ratio, 2);
    // Segments the stage never saw show no pauses key at all, so existing prompts do not change.
    expect(promptValues(segmentWith(keys.fluent), undefined).cues).not.toContain('pauses');
    const cited = estimateSegment(halting.segment).evidence.filter((e) => e.cue === 'pause-length');
    expect(cited).toHaveLength(1);
    expect(cited[0].finding).toContain(`${halting.pauses.longestSec.toFixed(2)} s`);
    expect(estimateSegment(fluent.segment).evidence.some((e) => e.cue === 'pause-length')).toBe(false);
  });
});
