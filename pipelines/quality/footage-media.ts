// Footage fingerprints from media files: keyframe JPEGs through sharp (a 9×8 grey thumbnail each,
// plain and mirrored; sharp works off the event loop) and a 16 kHz mono WAV in a worker thread.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Probe } from '../../schemas/records.ts';
import { extractClipMedia, probe, round } from '../media/ffmpeg.ts';
import { AUDIO_HOP_SEC, dHash, FOOTAGE_VERSION, type FootageFingerprint } from './footage.ts';
import { audioFingerprint } from './footage-worker.ts';

export async function frameHashes(jpeg: Uint8Array): Promise<{ plain: string; mirrored: string }> {
  const thumbnail = async (mirror: boolean) => {
    let image = sharp(jpeg).greyscale();
    if (mirror) image = image.flop();
    return new Uint8Array(await image.resize(9, 8, { fit: 'fill' }).raw().toBuffer());
  };
  return { plain: dHash(await thumbnail(false)), mirrored: dHash(await thumbnail(true)) };
}

/** The fingerprint of a span's media: its keyframes (in time order) and its WAV file, either may be absent. */
export async function footageFingerprint(
  media: { readonly duration: number; readonly frames: readonly Uint8Array[]; readonly wavPath: string | null; readonly maxAudioSec?: number },
  signal: AbortSignal,
): Promise<FootageFingerprint> {
  const hashes = await Promise.all(media.frames.map((jpeg) => frameHashes(jpeg)));
  const audio = media.wavPath ? await audioFingerprint(media.wavPath, signal, media.maxAudioSec) : null;
  return {
    version: FOOTAGE_VERSION,
    duration: media.duration,
    frames: hashes.map((h) => h.plain),
    mirrored: hashes.map((h) => h.mirrored),
    audio: audio?.audio ?? null,
    quiet: audio?.quiet ?? null,
    hopSec: AUDIO_HOP_SEC,
  };
}

/** Keyframes a whole-file fingerprint takes: about one a second, at least 4 (the segment stage's default), at most 64. */
function fileFrames(duration: number): number {
  return Math.min(64, Math.max(4, Math.round(duration)));
}
const FRAME_HEIGHT = 360;

/**
 * The fingerprint of a whole media file (for benchmark lists and `emoforge fingerprint`): one ffmpeg
 * pass for a 16 kHz mono WAV and evenly spread keyframes, then footageFingerprint.
 */
export async function fingerprintFile(path: string, signal: AbortSignal): Promise<{ probe: Probe; fingerprint: FootageFingerprint }> {
  const info = await probe(path);
  const dir = await mkdtemp(join(tmpdir(), 'emoforge-fingerprint-'));
  try {
    const duration = info.duration;
    const count = info.hasVideo ? fileFrames(duration) : 0;
    const targets = Array.from({ length: count }, (_, i) => round(((i + 0.5) * duration) / count, 3));
    await extractClipMedia({
      input: path,
      hasAudio: info.hasAudio,
      hasVideo: info.hasVideo,
      segments: [
        {
          start: 0,
          end: duration,
          wavPath: info.hasAudio ? join(dir, 'audio.wav') : undefined,
          frames: count ? { pattern: join(dir, 'frame-%02d.jpg'), targets, height: FRAME_HEIGHT, quality: 3 } : undefined,
        },
      ],
      workDir: dir,
      signal,
    });
    const frames = await Promise.all(
      (await readdir(dir))
        .filter((f) => f.endsWith('.jpg'))
        .sort()
        .map((f) => readFile(join(dir, f))),
    );
    return {
      probe: info,
      fingerprint: await footageFingerprint({ duration: round(duration, 3), frames, wavPath: info.hasAudio ? join(dir, 'audio.wav') : null }, signal),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
