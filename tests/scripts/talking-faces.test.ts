// The multi-person test clips' own parts: the utterance padded in JS is the one ffmpeg's filters give.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../pipelines/media/wav.ts';
import { padUtterance, padWithFfmpeg } from '../../scripts/talking-faces.ts';

const run = promisify(execFile);
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'emoforge-talking-faces-test-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('padUtterance', () => {
  it("gives ffmpeg's adelay + apad samples for a flite utterance, padded and cut", async () => {
    const raw = join(work, 'raw.wav');
    await run('flite', ['-voice', 'slt', '-t', 'We have to leave before the storm gets any worse.', '-o', raw]);
    const speech = decodeWav(await readFile(raw));
    // Longer than the utterance (padded with silence) and shorter (cut).
    for (const duration of [speech.samples.length / speech.sampleRate + 1, 1.5]) {
      const ours = padUtterance(speech, duration);
      expect(ours).not.toBeNull();
      const theirs = join(work, `ffmpeg-${duration}.wav`);
      await padWithFfmpeg(raw, duration, theirs);
      const a = decodeWav(ours!);
      const b = decodeWav(await readFile(theirs));
      expect([a.sampleRate, a.channels, a.samples.length]).toEqual([b.sampleRate, b.channels, b.samples.length]);
      expect(Buffer.from(a.samples.buffer).equals(Buffer.from(b.samples.buffer))).toBe(true);
      expect(a.samples.some((v) => v !== 0)).toBe(true);
    }
  });

  it('leaves a rate or layout it does not write to ffmpeg', () => {
    expect(padUtterance({ sampleRate: 8000, channels: 1, samples: new Float32Array(8000) }, 2)).toBeNull();
    expect(padUtterance({ sampleRate: 16_000, channels: 2, samples: new Float32Array(16_000) }, 2)).toBeNull();
  });
});
