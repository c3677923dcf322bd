// Ingest with the native probe and with ffprobe alone must produce the same clips (ids, probes,
// partitions) and the same rejects with the same reasons and details, on a folder mixing what the
// native reader takes (H.264 + AAC MP4, PCM WAV) with what it leaves to ffprobe (a truncated MP4 whose
// moov is lost: corrupt; a text file renamed .mp4: not-media; an A-law WAV; a WAV with no data).
import { execFile } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { ingest } from '../../../stages/ingest.ts';
import { sampleClips, stageContext, tempDir } from '../../helpers.ts';

const run = promisify(execFile);

async function ingestWith(input: string, nativeProbe: boolean) {
  const { ctx, work } = stageContext({ store: new LocalStore(await tempDir()), stage: 'ingest' });
  const result = await ingest.run(ingest.configSchema.parse({ nativeProbe }), { input, partitions: 4 }, ctx);
  // ffprobe's messages name a context address ("[wav @ 0x55…]") that differs between any two runs.
  const drops = [...result.drops]
    .sort((a, b) => a.uri.localeCompare(b.uri))
    .map((drop) => ({ ...drop, detail: drop.detail.replace(/ @ 0x[0-9a-f]+\]/g, ' @ 0x…]') }));
  return { clips: result.clips, drops, probed: work.probe ?? 0, ffprobed: work.ffprobe ?? 0 };
}

describe('ingest with the native probe', () => {
  let input: string;
  beforeAll(async () => {
    const clips = await sampleClips(2);
    input = await tempDir();
    await copyFile(join(clips, 'sample_0001.mp4'), join(input, 'a.mp4'));
    await copyFile(join(clips, 'sample_0002.mp4'), join(input, 'b.mp4'));
    const ffmpeg = (name: string, args: string[]) => run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, join(input, name)]);
    await ffmpeg('speech.wav', ['-f', 'lavfi', '-i', 'sine=f=300:d=1.5', '-ar', '16000', '-c:a', 'pcm_s16le']);
    await ffmpeg('telephone.wav', ['-f', 'lavfi', '-i', 'sine=f=300:d=1.5', '-ar', '8000', '-c:a', 'pcm_alaw']);
    await ffmpeg('moov-last.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const whole = await readFile(join(input, 'moov-last.mp4'));
    await writeFile(join(input, 'cut.mp4'), whole.subarray(0, Math.floor(whole.length * 0.7)));
    await writeFile(join(input, 'notes.mp4'), 'not a video\n'.repeat(30));
    const riff = Buffer.alloc(36);
    riff.write('RIFF', 0);
    riff.writeUInt32LE(28, 4);
    riff.write('WAVEfmt ', 8);
    riff.writeUInt32LE(16, 16);
    riff.writeUInt16LE(1, 20);
    riff.writeUInt16LE(1, 22);
    riff.writeUInt32LE(8000, 24);
    riff.writeUInt32LE(16000, 28);
    riff.writeUInt16LE(2, 32);
    riff.writeUInt16LE(16, 34);
    await writeFile(join(input, 'no-data.wav'), riff);
  }, 300_000);

  it('keeps and rejects exactly what ffprobe alone does, and starts ffprobe only for the files it is not sure of', async () => {
    const native = await ingestWith(input, true);
    const reference = await ingestWith(input, false);
    expect(native.clips).toEqual(reference.clips);
    expect(native.drops).toEqual(reference.drops);
    expect(native.clips.map((c) => c.uri).sort()).toEqual(['a.mp4', 'b.mp4', 'moov-last.mp4', 'speech.wav', 'telephone.wav']);
    expect(native.drops.map((d) => `${d.uri} ${d.reason}`)).toEqual(['cut.mp4 corrupt', 'no-data.wav corrupt', 'notes.mp4 not-media']);
    expect(reference).toMatchObject({ probed: 8, ffprobed: 8 });
    // a.mp4, b.mp4, moov-last.mp4 and speech.wav natively; the A-law WAV and the three rejects by ffprobe.
    expect(native).toMatchObject({ probed: 8, ffprobed: 4 });
  });
});
