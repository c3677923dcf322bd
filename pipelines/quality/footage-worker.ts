// Audio fingerprints off the event loop: an hour of audio is ~110,000 FFTs of 4,096 points, seconds
// of CPU that must not hold up lease renewals or progress. A lazily started worker thread (this same
// file) reads the WAV and returns the encoded sub-fingerprints.
import { open, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { RecordError } from '../errors.ts';
import { decodeWav, WavFormatError } from '../media/wav.ts';
import { WorkerPool, isWorkerFor, serveJobs } from '../worker-thread.ts';
import { audioSubFingerprints, encodeAudio } from './footage.ts';

interface FingerprintRequest {
  readonly wavPath: string;
  /** only the first this many seconds (a long segment is told apart by its start) */
  readonly maxSec?: number;
}

/** The encoded audio part of a footage fingerprint; null when the WAV is shorter than one frame. */
export type AudioFingerprint = { readonly audio: string; readonly quiet: string } | null;

const WORKER_ROLE = 'emoforge-footage-worker';

if (isWorkerFor(WORKER_ROLE)) {
  serveJobs<FingerprintRequest, AudioFingerprint>(async ({ wavPath, maxSec }) => {
    try {
      // Only the head of a long WAV is read: 16 kHz mono s16 is 32 kB a second, plus room for the header chunks.
      const wav = decodeWav(maxSec === undefined ? await readFile(wavPath) : await readHead(wavPath, Math.ceil(maxSec * 32000) + 65536));
      const samples = maxSec === undefined ? wav.samples : wav.samples.subarray(0, Math.round(maxSec * wav.sampleRate));
      const { codes, quiet } = audioSubFingerprints(samples, wav.sampleRate);
      return codes.length > 0 ? encodeAudio(codes, quiet) : null;
    } catch (error) {
      if (error instanceof WavFormatError || error instanceof RangeError) throw new RecordError('bad-audio', `cannot fingerprint ${wavPath}: ${error.message}`);
      throw error;
    }
  });
}

async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead - (bytesRead % 2));
  } finally {
    await handle.close();
  }
}

const pool = new WorkerPool<FingerprintRequest, AudioFingerprint>({
  module: import.meta.url,
  role: WORKER_ROLE,
  label: 'footage fingerprints',
  size: Math.max(1, Math.min(2, availableParallelism() - 1)),
});

/** Audio sub-fingerprints of a 16 kHz WAV file, computed in a worker thread. */
export function audioFingerprint(wavPath: string, signal: AbortSignal, maxSec?: number): Promise<AudioFingerprint> {
  return pool.run({ wavPath, ...(maxSec === undefined ? {} : { maxSec }) }, signal);
}

/** Stops the pool's workers (the next fingerprint starts a new pool). */
export function closeFootageWorkers(): Promise<void> {
  return pool.close();
}
