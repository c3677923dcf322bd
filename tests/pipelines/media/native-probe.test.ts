// The native probe against real ffprobe on files made by real ffmpeg and flite: for every file the
// native reader accepts, its Probe must be ffprobe's to the byte (it is part of every cache key); the
// files it must not be sure of (truncated, fragmented, other codecs, not media, damaged headers) must
// be left to ffprobe. The common kinds must be read natively, or the speed-up is gone.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../../pipelines/media/ffmpeg.ts';
import { nativeProbeVerdict } from '../../../pipelines/media/native-probe.ts';
import { Probe } from '../../../schemas/records.ts';
import { sampleClips } from '../../helpers.ts';

const run = promisify(execFile);

interface Made {
  readonly name: string;
  /** 'native': must be read natively (and equal ffprobe); 'ffprobe': must be left to ffprobe; 'either': equal or left. */
  readonly expect: 'native' | 'ffprobe' | 'either';
}

let dir: string;
const made: Made[] = [];

async function ffmpeg(name: string, expect: Made['expect'], args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args, join(dir, name)]);
  made.push({ name, expect });
}

const tone = (seconds: number, freq = 440) => ['-f', 'lavfi', '-i', `sine=f=${freq}:d=${seconds}`];
const picture = (size: string, rate: string, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${rate}:d=${seconds}`];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** A WAV written here, chunk by chunk: `fmt ` body, data bytes and extra chunks around them. */
function riff(chunks: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [tag, body] of chunks) {
    const header = Buffer.alloc(8);
    header.write(tag, 0, 'latin1');
    header.writeUInt32LE(body.length, 4);
    parts.push(header, body, Buffer.alloc(body.length & 1));
  }
  const payload = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0);
  head.writeUInt32LE(payload.length + 4, 4);
  head.write('WAVE', 8);
  return Buffer.concat([head, payload]);
}

function fmt(tag: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

/** Deterministic noise: a tone with a little LCG hiss, so data never looks like a bitstream sync. */
function pcm16(frames: number, channels: number, seed: number): Buffer {
  const b = Buffer.alloc(frames * channels * 2);
  let x = seed;
  for (let i = 0; i < frames * channels; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    b.writeInt16LE(Math.round(6000 * Math.sin(i / 20) + ((x >> 16) % 200)), i * 2);
  }
  return b;
}

async function write(name: string, expect: Made['expect'], bytes: Buffer): Promise<void> {
  await writeFile(join(dir, name), bytes);
  made.push({ name, expect });
}

async function truncated(from: string, name: string, fraction: number, expect: Made['expect']): Promise<void> {
  const bytes = await readFile(join(dir, from));
  await write(name, expect, bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoforge-native-probe-'));
  // WAV from ffmpeg: integer and float PCM, rates, channel counts (3+ channels is WAVE_FORMAT_EXTENSIBLE), metadata (LIST).
  await ffmpeg('s16-mono-16k.wav', 'native', [...tone(1.7), '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le']);
  await ffmpeg('s16-stereo-44k.wav', 'native', [...tone(2.345), '-ar', '44100', '-ac', '2', '-c:a', 'pcm_s16le']);
  await ffmpeg('s24-stereo-48k.wav', 'native', [...tone(1.01), '-ar', '48000', '-ac', '2', '-c:a', 'pcm_s24le']);
  await ffmpeg('s32-mono-8k.wav', 'native', [...tone(0.77), '-ar', '8000', '-ac', '1', '-c:a', 'pcm_s32le']);
  await ffmpeg('f32-stereo-22k.wav', 'native', [...tone(3.21), '-ar', '22050', '-ac', '2', '-c:a', 'pcm_f32le']);
  await ffmpeg('f64-mono-11k.wav', 'native', [...tone(0.5), '-ar', '11025', '-ac', '1', '-c:a', 'pcm_f64le']);
  await ffmpeg('u8-mono-8k-odd.wav', 'native', [...tone(0.3331), '-ar', '8000', '-ac', '1', '-c:a', 'pcm_u8']);
  await ffmpeg('s16-6ch-48k.wav', 'native', [...tone(1.2), '-ar', '48000', '-ac', '6', '-c:a', 'pcm_s16le']);
  await ffmpeg('s24-4ch-96k.wav', 'native', [...tone(0.9), '-ar', '96000', '-ac', '4', '-c:a', 'pcm_s24le']);
  await ffmpeg('s16-tagged.wav', 'native', [...tone(1.5), '-ar', '32000', '-c:a', 'pcm_s16le', '-metadata', 'title=Angry take 3', '-metadata', 'artist=spk01']);
  await ffmpeg('alaw.wav', 'ffprobe', [...tone(1), '-ar', '8000', '-c:a', 'pcm_alaw']);
  await ffmpeg('adpcm.wav', 'ffprobe', [...tone(1), '-ar', '22050', '-c:a', 'adpcm_ms']);
  await ffmpeg('mp3-in.wav', 'ffprobe', [...tone(1), '-c:a', 'libmp3lame']);
  await run('flite', ['-t', 'I cannot believe you did that again.', '-o', join(dir, 'flite.wav')]);
  made.push({ name: 'flite.wav', expect: 'native' });
  // WAV written here: chunks before and after the data, a padded odd chunk, an extensible float header.
  const frames = 16000 * 1.25 + 3;
  await write(
    'junk-list-around-data.wav',
    'native',
    riff([
      ['JUNK', Buffer.alloc(27)],
      ['fmt ', fmt(1, 2, 16000, 16)],
      ['data', pcm16(frames, 2, 7)],
      ['LIST', Buffer.from('INFOISFT\x04\x00\x00\x00abc\x00')],
    ]),
  );
  await write(
    'data-before-fmt.wav',
    'native',
    riff([
      ['data', pcm16(12345, 1, 3)],
      ['fmt ', fmt(1, 1, 24000, 16)],
    ]),
  );
  const extensible = Buffer.alloc(40);
  fmt(0xfffe, 2, 48000, 32).copy(extensible);
  extensible.writeUInt16LE(22, 16);
  extensible.writeUInt16LE(32, 18);
  extensible.writeUInt32LE(3, 20);
  Buffer.from('0300000000001000800000aa00389b71', 'hex').copy(extensible, 24);
  await write(
    'extensible-float.wav',
    'native',
    riff([
      ['fmt ', extensible],
      ['data', Buffer.alloc(48000 * 8 * 2)],
    ]),
  );
  await write(
    'smv-chunk.wav',
    'ffprobe',
    riff([
      ['fmt ', fmt(1, 1, 8000, 16)],
      ['data', pcm16(8000, 1, 5)],
      ['SMV0', Buffer.alloc(64)],
    ]),
  );
  await write('no-data.wav', 'ffprobe', riff([['fmt ', fmt(1, 1, 8000, 16)]]));
  await write(
    'zero-rate.wav',
    'ffprobe',
    riff([
      ['fmt ', fmt(1, 1, 0, 16)],
      ['data', pcm16(100, 1, 1)],
    ]),
  );
  const spdif = pcm16(4000, 2, 9);
  Buffer.from([0x72, 0xf8, 0x1f, 0x4e]).copy(spdif, 4000);
  await write(
    'spdif-sync.wav',
    'ffprobe',
    riff([
      ['fmt ', fmt(1, 2, 48000, 16)],
      ['data', spdif],
    ]),
  );
  await truncated('s16-stereo-44k.wav', 'truncated-half.wav', 0.5, 'ffprobe');
  await truncated('s16-stereo-44k.wav', 'truncated-header.wav', 0.0001, 'ffprobe');

  // ISO BMFF from ffmpeg: H.264 with and without AAC, rates and sizes, moov at the end and first, MOV, M4A, cover art.
  await ffmpeg('h264-aac-48k.mp4', 'native', [...picture('320x240', '25', 2), ...tone(2), ...X264, '-c:a', 'aac', '-ar', '48000', '-ac', '2', '-shortest']);
  await ffmpeg('h264-aac-faststart.mp4', 'native', [
    ...picture('640x360', '30', 1.5),
    ...tone(1.5),
    ...X264,
    '-c:a',
    'aac',
    '-ar',
    '44100',
    '-ac',
    '1',
    '-movflags',
    '+faststart',
  ]);
  await ffmpeg('h264-ntsc-cropped.mp4', 'native', [...picture('424x238', '30000/1001', 2.2), ...tone(2.2), ...X264, '-c:a', 'aac', '-ar', '32000']);
  await ffmpeg('h264-bframes-16k.mp4', 'native', [
    ...picture('256x144', '24', 3),
    ...tone(3),
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-bf',
    '3',
    '-c:a',
    'aac',
    '-ar',
    '16000',
    '-ac',
    '1',
  ]);
  await ffmpeg('h264-high444.mp4', 'native', [...picture('176x144', '15', 1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p']);
  await ffmpeg('h264-only.mp4', 'native', [...picture('320x180', '50', 1.3), ...X264]);
  await ffmpeg('h264-vfr.mp4', 'native', [...picture('160x120', '30', 2), ...X264, '-vf', "select='not(mod(n\\,3))+lt(n\\,10)'", '-fps_mode', 'vfr']);
  await ffmpeg('h264-aac-6ch.mp4', 'native', [...picture('192x108', '25', 1), ...tone(1), ...X264, '-c:a', 'aac', '-ac', '6', '-ar', '48000', '-shortest']);
  await ffmpeg('h264-aac.mov', 'native', [...picture('320x240', '25', 1.6), ...tone(1.6), ...X264, '-c:a', 'aac', '-ar', '48000', '-shortest']);
  await ffmpeg('h264-timecode.mov', 'native', [...picture('320x240', '25', 1), ...tone(1), ...X264, '-c:a', 'aac', '-timecode', '01:00:00:00', '-shortest']);
  await ffmpeg('aac-only.m4a', 'native', [...tone(2.5), '-c:a', 'aac', '-ar', '44100', '-ac', '2']);
  await ffmpeg('aac-22k-mono.m4a', 'native', [...tone(1.1), '-c:a', 'aac', '-ar', '22050', '-ac', '1']);
  await ffmpeg('cover.png', 'ffprobe', ['-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1']);
  await ffmpeg('aac-cover-art.m4a', 'native', [
    ...tone(1.4),
    '-i',
    join(dir, 'cover.png'),
    '-map',
    '0',
    '-map',
    '1',
    '-c:a',
    'aac',
    '-c:v',
    'png',
    '-disposition:v:0',
    'attached_pic',
  ]);
  await ffmpeg('mp3-in.mp4', 'ffprobe', [...picture('160x120', '25', 1), ...tone(1), ...X264, '-c:a', 'libmp3lame', '-shortest']);
  await ffmpeg('hevc.mp4', 'ffprobe', [...picture('160x120', '25', 1), '-c:v', 'libx265', '-x265-params', 'log-level=none', '-tag:v', 'hvc1']);
  await ffmpeg('mpeg4.mp4', 'ffprobe', [...picture('160x120', '25', 1), '-c:v', 'mpeg4']);
  await ffmpeg('opus.mp4', 'ffprobe', [...tone(1), '-c:a', 'libopus']);
  await ffmpeg('fragmented.mp4', 'ffprobe', [
    ...picture('160x120', '25', 2),
    ...tone(2),
    ...X264,
    '-c:a',
    'aac',
    '-movflags',
    'frag_keyframe+empty_moov',
    '-shortest',
  ]);
  await ffmpeg('mkv.mkv', 'ffprobe', [...picture('160x120', '25', 1), ...tone(1), ...X264, '-c:a', 'aac', '-shortest']);
  await truncated('h264-aac-faststart.mp4', 'truncated-faststart.mp4', 0.6, 'ffprobe');
  await truncated('h264-aac-48k.mp4', 'truncated-moov-at-end.mp4', 0.6, 'ffprobe');
  await truncated('h264-aac-48k.mp4', 'truncated-moov.mp4', 0.995, 'ffprobe');
  await write('text-renamed.mp4', 'ffprobe', Buffer.from('this is not a video, it is a note\n'.repeat(40)));
  await write('text-renamed.wav', 'ffprobe', Buffer.from('RIFF? no, just text\n'));
  await write('empty-ftyp.mp4', 'ffprobe', Buffer.from('0000001866747970697336d000000200697336d6d703431', 'hex'));
}, 300_000);

afterAll(async () => {
  if (dir && !process.env.KEEPNP) await rm(dir, { recursive: true, force: true });
});

/** ffprobe's Probe as the ingest stage keeps it, or the error it raised. */
async function ffprobed(path: string): Promise<{ probe: Probe } | { error: string }> {
  try {
    return { probe: Probe.parse(await probe(path)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

async function agreement(path: string): Promise<{ native: boolean; notSure?: string }> {
  const verdict = await nativeProbeVerdict(path);
  if ('notSure' in verdict) {
    // A reader bug must not hide behind the fallback. (Ingest runs ffprobe then: nothing to compare.)
    expect(verdict.notSure, path).not.toMatch(/^reader error/);
    return { native: false, notSure: verdict.notSure };
  }
  const reference = await ffprobed(path);
  expect(reference, `${path}: the native reader accepted a file ffprobe rejects`).toHaveProperty('probe');
  expect(JSON.stringify(Probe.parse(verdict.probe)), path).toBe(JSON.stringify((reference as { probe: Probe }).probe));
  return { native: true };
}

describe('native probe', () => {
  it('gives ffprobe’s Probe for every file it reads, reads the common kinds, and leaves the rest to ffprobe', async () => {
    const outcomes: string[] = [];
    for (const file of made) {
      const { native, notSure } = await agreement(join(dir, file.name));
      outcomes.push(`${file.name}: ${native ? 'native' : `ffprobe (${notSure})`}`);
      if (file.expect === 'native') expect(native, `${file.name} should be read natively, not sure because: ${notSure}`).toBe(true);
      if (file.expect === 'ffprobe') expect(native, `${file.name} should be left to ffprobe`).toBe(false);
    }
    expect(made.filter((m) => m.expect === 'native').length).toBeGreaterThanOrEqual(25);
  });

  it('never disagrees with ffprobe on damaged headers (random bytes changed in the first or last 4 KB)', async () => {
    // [file, where its headers are]: moov first, moov last, RIFF chunks.
    const sources = [
      ['h264-aac-faststart.mp4', 'head'],
      ['h264-aac-48k.mp4', 'tail'],
      ['h264-aac.mov', 'tail'],
      ['aac-cover-art.m4a', 'tail'],
      ['s16-stereo-44k.wav', 'head'],
      ['junk-list-around-data.wav', 'head'],
      ['extensible-float.wav', 'head'],
    ] as const;
    const variants = Number(process.env.NATIVE_PROBE_FUZZ ?? 14);
    let seed = Number(process.env.NATIVE_PROBE_FUZZ_SEED ?? 20261206);
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let accepted = 0;
    let left = 0;
    for (const [source, where] of sources) {
      const bytes = await readFile(join(dir, source));
      for (let variant = 0; variant < variants; variant++) {
        const damaged = Buffer.from(bytes);
        const edits = 1 + Math.floor(random() * 3);
        const window = Math.min(4096, damaged.length);
        const from = where === 'head' ? 0 : damaged.length - window;
        for (let e = 0; e < edits; e++) damaged[from + Math.floor(random() * window)] = Math.floor(random() * 256);
        const path = join(dir, `damaged-${variant}-${source}`);
        await writeFile(path, damaged);
        const { native } = await agreement(path);
        if (native) accepted++;
        else left++;
      }
    }
    // Both outcomes must occur, or the damage did not reach the headers (or everything falls back).
    expect(accepted).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
  }, 600_000);

  it('reads the files the sample-clips command makes (H.264 + AAC MP4) as ffprobe does', async () => {
    // The suite's copy of what `sample-clips --count 3` makes (tests/helpers.ts).
    const clipsDir = await sampleClips(3);
    const clips = (await readdir(clipsDir)).filter((name) => name.endsWith('.mp4')).sort();
    expect(clips).toHaveLength(3);
    for (const clip of clips) {
      const path = join(clipsDir, clip);
      expect((await agreement(path)).native, path).toBe(true);
    }
    // A copy with another name is the same bytes: still equal.
    await copyFile(join(clipsDir, clips[0]), join(dir, 'copy.mp4'));
    await rm(clipsDir, { recursive: true, force: true });
    expect((await agreement(join(dir, 'copy.mp4'))).native).toBe(true);
  });
});
