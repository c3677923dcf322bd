// Media fixtures for the segment tests: clips made with ffmpeg's lavfi sources and flite, and a Clip
// record for a file (real ffprobe), so the stage can be called directly.
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import { sha256File } from '../../pipelines/fingerprint.ts';
import { probe } from '../../pipelines/media/ffmpeg.ts';
import { pcm16WavHeader } from '../../pipelines/media/wav.ts';
import type { Clip, ManifestFields } from '../../schemas/records.ts';

export const run = promisify(execFile);

export async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

export async function clipOf(path: string, manifest: ManifestFields = {}): Promise<Clip> {
  return {
    id: await sha256File(path),
    uri: basename(path),
    name: basename(path, extname(path)),
    bytes: (await stat(path)).size,
    probe: await probe(path),
    manifest,
    partition: 0,
  };
}

export async function durationOf(path: string, stream?: 'v:0' | 'a:0'): Promise<number> {
  const args = stream
    ? ['-v', 'error', '-select_streams', stream, '-show_entries', 'stream=duration', '-of', 'csv=p=0', path]
    : ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path];
  return Number((await run('ffprobe', args)).stdout.trim());
}

/** 16 kHz mono s16le samples of a flite sentence. */
export async function fliteSamples(dir: string, text: string, name: string): Promise<Int16Array> {
  const raw = join(dir, `${name}.flite.wav`);
  const pcm = join(dir, `${name}.s16`);
  await run('flite', ['-voice', 'slt', '-t', text, '-o', raw]);
  await ffmpeg(['-i', raw, '-ac', '1', '-ar', '16000', '-f', 's16le', pcm]);
  const bytes = await readFile(pcm);
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
}

/** A WAV of the given 16 kHz mono pieces: numbers are seconds of digital silence. */
export async function writeWav(path: string, pieces: (Int16Array | number)[]): Promise<void> {
  const chunks = pieces.map((p) => (typeof p === 'number' ? new Int16Array(Math.round(p * 16000)) : p));
  const samples = chunks.reduce((n, c) => n + c.length, 0);
  const header = pcm16WavHeader(samples * 2, 16000);
  await writeFile(path, Buffer.concat([header, ...chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))]));
}

/** First and last sample above -40 dBFS, in seconds: where the voice really is. */
export function voicedExtent(samples: Int16Array): { start: number; end: number } {
  const limit = 32768 * 10 ** (-40 / 20);
  let first = 0;
  let last = samples.length - 1;
  while (first < samples.length && Math.abs(samples[first]) < limit) first++;
  while (last > first && Math.abs(samples[last]) < limit) last--;
  return { start: first / 16000, end: (last + 1) / 16000 };
}

/** Where the concatenated pieces' voiced parts lie in the WAV writeWav makes. */
export function truthOf(pieces: (Int16Array | number)[]): { start: number; end: number }[] {
  let offset = 0;
  const truth: { start: number; end: number }[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'number') offset += Math.round(piece * 16000) / 16000;
    else {
      const extent = voicedExtent(piece);
      truth.push({ start: offset + extent.start, end: offset + extent.end });
      offset += piece.length / 16000;
    }
  }
  return truth;
}

export const lavfiAv = (seconds: number, size = '320x240') => [
  '-f',
  'lavfi',
  '-i',
  `testsrc=s=${size}:r=25:d=${seconds}`,
  '-f',
  'lavfi',
  '-i',
  `sine=f=440:r=44100:d=${seconds}`,
];
