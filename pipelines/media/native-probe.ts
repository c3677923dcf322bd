// A probe without ffprobe for the containers most corpora are made of: RIFF WAV and ISO BMFF
// (MP4 / MOV / M4A). Starting ffprobe costs ~70 ms of CPU a file (Debian's build loads 215
// libraries), which made a cold ingest of thousands of clips ffprobe-bound. The answer must be the
// very `Probe` ffprobe gives (it is part of every record's cache key), so this reads only what
// ffmpeg 5.1's demuxers read for those fields, mirrors their arithmetic, and answers `undefined`
// ("ask ffprobe") for anything it does not fully understand: an unknown codec, fragments, truncated
// or inconsistent structure, odd header sizes. Corrupt files therefore still get ffprobe's verdict.
// File bytes are hostile: every read is bounded, nothing is allocated from a size in the file
// beyond fixed limits, and only headers are read.
import { type FileHandle, open } from 'node:fs/promises';
import type { Probe } from '../../schemas/records.ts';
import { NotSure } from './probe-bits.ts';
import { probeIsoBmff } from './probe-mp4.ts';
import { probeWav } from './probe-wav.ts';

/** Bounded positional reads of one open file. */
export class ProbeFile {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes at `offset` (fewer at the end of the file); lengths over `limit` are refused. */
  async read(offset: number, length: number, limit = 1 << 20): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || length > limit) throw new NotSure(`read of ${length} bytes at ${offset}`);
    const wanted = Math.max(0, Math.min(length, this.size - offset));
    const buffer = Buffer.alloc(wanted);
    let done = 0;
    while (done < wanted) {
      const { bytesRead } = await this.handle.read(buffer, done, wanted - done, offset + done);
      if (bytesRead === 0) throw new NotSure('file shrank while probing');
      done += bytesRead;
    }
    return buffer;
  }
}

const HEAD = 64 * 1024;

/**
 * ffprobe's `Probe` of the file at `path`, read natively; `undefined` when the native reader is not
 * certain to give ffprobe's answer (the caller then runs ffprobe).
 */
export async function nativeProbe(path: string): Promise<Probe | undefined> {
  const verdict = await nativeProbeVerdict(path);
  return 'probe' in verdict ? verdict.probe : undefined;
}

/** The native reading of `path`, or why it leaves the file to ffprobe. */
export async function nativeProbeVerdict(path: string): Promise<{ probe: Probe } | { notSure: string }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { notSure: `cannot open: ${(error as NodeJS.ErrnoException).code}` };
  }
  try {
    const size = (await handle.stat()).size;
    const file = new ProbeFile(handle, size);
    const head = await file.read(0, HEAD);
    if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WAVE')
      return { probe: await probeWav(file, head) };
    if (head.length >= 8 && ISO_BMFF_FIRST_BOXES.has(head.toString('latin1', 4, 8))) return { probe: await probeIsoBmff(file, head) };
    return { notSure: 'not a container read natively' };
  } catch (error) {
    if (error instanceof NotSure) return { notSure: error.message };
    // A read error, or bytes this reader mishandles, is still no reason to fail a file ffprobe may read.
    return { notSure: `reader error: ${(error as Error).message}` };
  } finally {
    await handle.close();
  }
}

/** Top-level boxes an ISO BMFF / QuickTime file starts with. */
const ISO_BMFF_FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip']);

const MICROSECONDS = 1_000_000n;

/** av_rescale_rnd(value, scale, divisor, AV_ROUND_NEAR_INF) for non-negative integers. */
export function rescale(value: bigint, scale: bigint, divisor: bigint): bigint {
  if (value < 0n || divisor <= 0n) throw new NotSure('rescale');
  return (value * scale + divisor / 2n) / divisor;
}

/**
 * A duration of `ticks` at `1/timescale` s as the `Probe` holds it: ffmpeg rescales it to
 * microseconds, ffprobe prints it with "%f", and the adapter rounds that to milliseconds.
 */
export function probeSeconds(ticks: bigint, timescale: bigint): number {
  const micros = rescale(ticks, MICROSECONDS, timescale);
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotSure('duration out of range');
  const printed = Number((Number(micros) * 0.000001).toFixed(6));
  return Math.round(printed * 1000) / 1000;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

const INT_MAX = 2_147_483_647n;

/** av_reduce(num, den, INT_MAX) where the reduced fraction fits exactly (else not sure), as ffprobe's "num/den" evaluated and rounded to 3 decimals. */
export function probeRate(num: bigint, den: bigint): number {
  if (num <= 0n || den <= 0n) throw new NotSure('rate');
  const g = gcd(num, den);
  const [n, d] = [num / g, den / g];
  if (n > INT_MAX || d > INT_MAX) throw new NotSure('rate needs approximation');
  return Math.round((Number(n) / Number(d)) * 1000) / 1000;
}
