// Real speech end to end through segment and transcribe: LibriVox utterances (pocketsphinx-testdata)
// joined with pauses, cut into utterances by the speech strategy, each recognised by pocketsphinx.
// The WER is over the whole recording, so a boundary that clips a word shows up as an error.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../support/speech.ts';
import { isDrop } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import type { Segment } from '../../schemas/records.ts';
import { segment } from '../../stages/segment.ts';
import { transcribe } from '../../stages/transcribe.ts';
import { stageContext } from '../helpers.ts';
import { clipOf, truthOf, writeWav } from './segment-fixtures.ts';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

let root: string | undefined;
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!existsSync(`${LIBRIVOX}/transcription`))('speech segmentation on real speech', () => {
  it('cuts LibriVox utterances so that pocketsphinx recognises them (WER <= 0.45)', async () => {
    root = await mkdtemp(join(tmpdir(), 'emoforge-librivox-'));
    const references: string[] = [];
    const pieces: (Int16Array | number)[] = [0.7];
    for (const line of (await readFile(`${LIBRIVOX}/transcription`, 'utf8')).split('\n')) {
      const match = /^<s> (.*) <\/s> \((.+)\)$/.exec(line.trim());
      if (!match) continue;
      references.push(match[1]);
      const wav = await readFile(`${LIBRIVOX}/${match[2]}.wav`);
      // 16 kHz mono s16le after a 44-byte header (the testdata's format).
      pieces.push(new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length - (wav.length % 2))), 1.2);
    }
    const path = join(root, 'reading.wav');
    await writeWav(path, pieces);
    const truth = truthOf(pieces);
    const store = new LocalStore(join(root, 'store'));
    const { ctx } = stageContext({ store, stage: 'segment', sourcePath: async () => path });
    const clip = await clipOf(path);
    const segments = await segment.run(clip, segment.configSchema.parse({ strategy: 'speech', minSec: 1, maxSec: 10, minPauseSec: 0.5 }), ctx);
    if (isDrop(segments)) throw new Error(`dropped: ${segments.detail}`);
    console.info(
      `speech segments ${JSON.stringify(segments.map((s) => [s.start, s.end]))}; utterances ${JSON.stringify(truth.map((t) => [+t.start.toFixed(2), +t.end.toFixed(2)]))}`,
    );

    const hypotheses: string[] = [];
    for (const s of segments) {
      const { ctx: asr } = stageContext({ store, stage: 'transcribe' });
      const result = (await transcribe.run(s, transcribe.configSchema.parse({ engine: 'pocketsphinx' }), asr)) as Segment;
      hypotheses.push(result.transcript!.text);
    }
    const error = wordErrorRate(references.join(' '), hypotheses.join(' '));
    console.info(
      `LibriVox via speech segments: ${segments.length} segments for ${references.length} utterances, WER ${error.toFixed(3)}\n${hypotheses.join('\n')}`,
    );
    expect(error).toBeLessThanOrEqual(0.45);
  }, 300_000);
});
