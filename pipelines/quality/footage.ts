// Footage fingerprints: "is this the same footage?" whatever is said about it. A duplicate is a
// re-upload, a re-encode (another bitrate or size), a trimmed or mirrored copy, the same utterance cut
// twice; two actors saying one scripted sentence are two samples. So text is never compared here:
// - audio: Haitsma–Kalker style sub-fingerprints of the 16 kHz WAV, 32 bits a frame (256 ms frames,
//   32 ms hop, 33 log-spaced bands over 300–2000 Hz; bit m = sign of the energy difference between
//   bands m and m+1, minus the same difference one frame earlier). Coding and resampling move band
//   energies a little but rarely flip those signs; another voice saying the same words flips about
//   half. Compared as a bit error rate at the best time offset (so trims and shifted cuts align).
// - video: a 64-bit difference hash (dHash: 9×8 grey thumbnail, bit = left pixel brighter than its
//   right neighbour) per keyframe, and of the mirrored frame, compared as the mean of each frame's
//   nearest Hamming distance (keyframes of a trimmed copy fall at other times).
// Pure functions on typed arrays; media decoding lives in footage-media.ts.
import type { FootageFingerprint } from '../../schemas/records.ts';

export type { FootageFingerprint };

/** Bump when the fingerprint's content changes: fingerprints of another version are not compared. */
export const FOOTAGE_VERSION = 1;

export interface FootageThresholds {
  /** Mean nearest dHash distance (bits of 64) at or below which keyframes show the same footage. Default 10. */
  readonly maxFrameBits: number;
  /** Audio bit error rate at or below which two tracks are the same recording. Default 0.22. */
  readonly maxAudioBer: number;
  /** Offsets searched on either side of aligned starts (trims, shifted cuts), seconds. Default 1. */
  readonly maxOffsetSec: number;
  /** Audio frames both tracks must share (loud ones, at the offset) for a verdict, seconds. Default 1. */
  readonly minOverlapSec: number;
}

export const DEFAULT_THRESHOLDS: FootageThresholds = { maxFrameBits: 10, maxAudioBer: 0.22, maxOffsetSec: 1, minOverlapSec: 1 };

const SAMPLE_RATE = 16000;
const FRAME = 4096;
const HOP = 512;
const BANDS = 33;
const LOW_HZ = 300;
const HIGH_HZ = 2000;
/** Frames quieter than this (RMS, dBFS) carry noise, not the recording. */
const QUIET_DB = -50;

/** Sub-fingerprints and quiet flags of mono samples at 16 kHz (resample before: our WAVs are 16 kHz). */
export function audioSubFingerprints(samples: Float32Array, sampleRate: number): { codes: Uint32Array; quiet: Uint8Array } {
  if (sampleRate !== SAMPLE_RATE) throw new RangeError(`audio fingerprints are made from ${SAMPLE_RATE} Hz audio, got ${sampleRate} Hz`);
  const frames = samples.length < FRAME ? 0 : Math.floor((samples.length - FRAME) / HOP) + 1;
  const codes = new Uint32Array(Math.max(0, frames - 1));
  const quiet = new Uint8Array(Math.max(0, frames - 1));
  if (frames < 2) return { codes, quiet };
  const window = hann(FRAME);
  const edges = bandEdges();
  const re = new Float64Array(FRAME);
  const im = new Float64Array(FRAME);
  let previous = new Float64Array(BANDS);
  let current = new Float64Array(BANDS);
  for (let n = 0; n < frames; n++) {
    const offset = n * HOP;
    let power = 0;
    for (let i = 0; i < FRAME; i++) {
      const s = samples[offset + i];
      power += s * s;
      re[i] = s * window[i];
      im[i] = 0;
    }
    fft(re, im);
    for (let b = 0; b < BANDS; b++) {
      let energy = 0;
      for (let k = edges[b]; k < edges[b + 1]; k++) energy += re[k] * re[k] + im[k] * im[k];
      current[b] = energy;
    }
    if (n > 0) {
      let code = 0;
      for (let m = 0; m < BANDS - 1; m++) if (current[m] - current[m + 1] - (previous[m] - previous[m + 1]) > 0) code |= 1 << m;
      codes[n - 1] = code >>> 0;
      quiet[n - 1] = 10 * Math.log10(power / FRAME + 1e-20) < QUIET_DB ? 1 : 0;
    }
    [previous, current] = [current, previous];
  }
  return { codes, quiet };
}

/** Seconds between audio frames. */
export const AUDIO_HOP_SEC = HOP / SAMPLE_RATE;

/** dHash of a 9 wide × 8 high grey thumbnail (72 bytes, row-major), as 16 hex digits. */
export function dHash(grey9x8: Uint8Array): string {
  if (grey9x8.length !== 72) throw new RangeError(`dHash needs a 9x8 grey thumbnail (72 values), got ${grey9x8.length}`);
  let hex = '';
  for (let half = 0; half < 2; half++) {
    let word = 0;
    for (let bit = 0; bit < 32; bit++) {
      const index = half * 32 + bit;
      const row = Math.floor(index / 8);
      const col = index % 8;
      if (grey9x8[row * 9 + col] > grey9x8[row * 9 + col + 1]) word |= 1 << bit;
    }
    hex += (word >>> 0).toString(16).padStart(8, '0');
  }
  return hex;
}

/** Packs codes and quiet flags into the fingerprint's strings. */
export function encodeAudio(codes: Uint32Array, quiet: Uint8Array): { audio: string; quiet: string } {
  const bytes = Buffer.alloc(codes.length * 4);
  for (let i = 0; i < codes.length; i++) bytes.writeUInt32LE(codes[i], i * 4);
  const bits = Buffer.alloc(Math.ceil(quiet.length / 8));
  for (let i = 0; i < quiet.length; i++) if (quiet[i]) bits[i >> 3] |= 1 << (i & 7);
  return { audio: bytes.toString('base64'), quiet: bits.toString('base64') };
}

/** A fingerprint decoded once for comparisons. */
export interface DecodedFootage {
  readonly duration: number;
  /** two uint32 words per frame hash */
  readonly frames: Uint32Array;
  readonly mirrored: Uint32Array;
  readonly codes: Uint32Array | null;
  readonly quiet: Uint8Array | null;
}

export function decodeFootage(fingerprint: FootageFingerprint): DecodedFootage {
  const words = (hashes: readonly string[]) => {
    const out = new Uint32Array(hashes.length * 2);
    hashes.forEach((h, i) => {
      out[i * 2] = parseInt(h.slice(0, 8), 16) >>> 0;
      out[i * 2 + 1] = parseInt(h.slice(8, 16), 16) >>> 0;
    });
    return out;
  };
  let codes: Uint32Array | null = null;
  let quiet: Uint8Array | null = null;
  if (fingerprint.audio !== null) {
    const bytes = Buffer.from(fingerprint.audio, 'base64');
    codes = new Uint32Array(bytes.length / 4);
    for (let i = 0; i < codes.length; i++) codes[i] = bytes.readUInt32LE(i * 4);
    const bits = Buffer.from(fingerprint.quiet ?? '', 'base64');
    quiet = new Uint8Array(codes.length);
    for (let i = 0; i < codes.length; i++) quiet[i] = (bits[i >> 3] ?? 0) & (1 << (i & 7)) ? 1 : 0;
  }
  return { duration: fingerprint.duration, frames: words(fingerprint.frames), mirrored: words(fingerprint.mirrored), codes, quiet };
}

export interface FootageComparison {
  /** mean nearest dHash distance in bits (the smaller of plain and mirrored); null when either has no keyframes */
  readonly frameBits: number | null;
  readonly mirrored: boolean;
  /** best bit error rate and the offset (seconds, b relative to a) it was found at; null when either has no audio or they share too little */
  readonly audioBer: number | null;
  readonly offsetSec: number | null;
  readonly duplicate: boolean;
}

/**
 * Compares two fingerprints. With `contained`, the shorter may sit anywhere inside the longer (a
 * benchmark clip cut out of a longer source); otherwise starts align within maxOffsetSec.
 * Duplicate when every modality both have agrees (and at least one could be compared).
 */
export function compareFootage(
  a: DecodedFootage,
  b: DecodedFootage,
  thresholds: FootageThresholds,
  options: { readonly contained?: boolean } = {},
): FootageComparison {
  const visual = frameDistance(a, b);
  // Keyframes that differ settle it: no need to align audio.
  if (visual !== null && visual.bits > thresholds.maxFrameBits)
    return { frameBits: visual.bits, mirrored: visual.mirrored, audioBer: null, offsetSec: null, duplicate: false };
  const bothHaveAudio = a.codes !== null && b.codes !== null;
  const audio = bothHaveAudio ? audioDistance(a, b, thresholds, options.contained ?? false) : null;
  // Keyframes, when both have them, passed above. When both have audio it must agree too: audio
  // that cannot be aligned (too little sound in common) is no evidence of the same footage.
  const audioOk = bothHaveAudio ? audio !== null && audio.ber <= thresholds.maxAudioBer : true;
  return {
    frameBits: visual?.bits ?? null,
    mirrored: visual?.mirrored ?? false,
    audioBer: audio?.ber ?? null,
    offsetSec: audio?.offsetSec ?? null,
    duplicate: (visual !== null || audio !== null) && audioOk,
  };
}

function frameDistance(a: DecodedFootage, b: DecodedFootage): { bits: number; mirrored: boolean } | null {
  if (a.frames.length === 0 || b.frames.length === 0) return null;
  // From the side with fewer frames, each frame's nearest on the other side; with as many frames
  // on each side, both ways averaged, so that comparing a with b is comparing b with a.
  const ways: (readonly [DecodedFootage, DecodedFootage])[] =
    a.frames.length < b.frames.length
      ? [[a, b]]
      : b.frames.length < a.frames.length
        ? [[b, a]]
        : [
            [a, b],
            [b, a],
          ];
  const mean = (side: (many: DecodedFootage) => Uint32Array) => ways.reduce((sum, [few, many]) => sum + meanNearest(few.frames, side(many)), 0) / ways.length;
  const plain = mean((many) => many.frames);
  const flipped = mean((many) => many.mirrored);
  return flipped < plain ? { bits: flipped, mirrored: true } : { bits: plain, mirrored: false };
}

function meanNearest(from: Uint32Array, to: Uint32Array): number {
  if (to.length === 0) return 64;
  let total = 0;
  for (let i = 0; i < from.length; i += 2) {
    let best = 64;
    for (let j = 0; j < to.length; j += 2) {
      const d = popcount(from[i] ^ to[j]) + popcount(from[i + 1] ^ to[j + 1]);
      if (d < best) best = d;
    }
    total += best;
  }
  return total / (from.length / 2);
}

function audioDistance(a: DecodedFootage, b: DecodedFootage, thresholds: FootageThresholds, contained: boolean): { ber: number; offsetSec: number } | null {
  const ca = a.codes!;
  const cb = b.codes!;
  const qa = a.quiet!;
  const qb = b.quiet!;
  const slack = Math.round(thresholds.maxOffsetSec / AUDIO_HOP_SEC);
  const minFrames = Math.max(4, Math.round(thresholds.minOverlapSec / AUDIO_HOP_SEC));
  // Offset o pairs a[i] with b[i + o].
  const low = contained ? -ca.length + minFrames : -slack;
  const high = contained ? cb.length - minFrames : slack;
  let best: { ber: number; offset: number } | null = null;
  for (let o = low; o <= high; o++) {
    const start = Math.max(0, -o);
    const end = Math.min(ca.length, cb.length - o);
    if (end - start < minFrames) continue;
    // Abandon an offset once its errors exceed what the best so far (or the threshold) allows.
    const limitBer = Math.min(best?.ber ?? 1, 1);
    const budget = limitBer * 32 * (end - start);
    let errors = 0;
    let frames = 0;
    for (let i = start; i < end; i++) {
      if (qa[i] || qb[i + o]) continue;
      errors += popcount(ca[i] ^ cb[i + o]);
      frames++;
      if (errors > budget) break;
    }
    if (frames < minFrames || errors > budget) continue;
    const ber = errors / (32 * frames);
    if (!best || ber < best.ber) best = { ber, offset: o };
  }
  return best && { ber: round(best.ber, 4), offsetSec: round(best.offset * AUDIO_HOP_SEC, 3) };
}

export interface FootageItem {
  readonly id: string;
  readonly fingerprint: DecodedFootage;
}

export type FootageVerdict =
  | { readonly kind: 'kept' }
  | { readonly kind: 'duplicate'; readonly kept: number; readonly comparison: FootageComparison; readonly via?: number };

export interface FootageReport {
  readonly verdicts: FootageVerdict[];
  /** pairs within the duration window, and those whose fingerprints were compared */
  readonly windowPairs: number;
  readonly comparedPairs: number;
  readonly duplicatePairs: number;
  readonly clusters: number;
}

/** Candidates: durations within this many seconds, so a trim still pairs up. */
export interface FootageSearch extends FootageThresholds {
  readonly maxDurationDiffSec: number;
}

/** What the footage bench measured recall and precision with (dedup's and the splits' defaults). */
export const DEFAULT_FOOTAGE_SEARCH: FootageSearch = { ...DEFAULT_THRESHOLDS, maxDurationDiffSec: 1 };

/**
 * Clusters of the same footage among items (pairs whose durations are within the window are
 * compared; matches are joined with union-find), keeping each cluster's lowest id. Order-independent.
 */
export function findFootageDuplicates(items: readonly FootageItem[], search: FootageSearch): FootageReport {
  const order = items.map((_, i) => i).sort((x, y) => items[x].fingerprint.duration - items[y].fingerprint.duration || (items[x].id < items[y].id ? -1 : 1));
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const lowerId = (x: number, y: number) => (items[x].id < items[y].id ? x : y);
  const evidence = new Map<number, { other: number; comparison: FootageComparison }>();
  let windowPairs = 0;
  let comparedPairs = 0;
  let duplicatePairs = 0;
  for (let p = 0; p < order.length; p++) {
    const i = order[p];
    const di = items[i].fingerprint.duration;
    for (let q = p + 1; q < order.length; q++) {
      const j = order[q];
      const dj = items[j].fingerprint.duration;
      if (dj - di > Math.max(search.maxDurationDiffSec, 0)) break;
      windowPairs++;
      if (find(i) === find(j)) continue;
      comparedPairs++;
      const comparison = compareFootage(items[i].fingerprint, items[j].fingerprint, search);
      if (!comparison.duplicate) continue;
      duplicatePairs++;
      const [ri, rj] = [find(i), find(j)];
      const root = lowerId(ri, rj);
      parent[ri === root ? rj : ri] = root;
      for (const [member, other] of [
        [i, j],
        [j, i],
      ] as const)
        if (!evidence.has(member)) evidence.set(member, { other, comparison });
    }
  }
  const clusters = new Set<number>();
  const verdicts = items.map((_, i): FootageVerdict => {
    const root = find(i);
    if (root === i) return { kind: 'kept' };
    clusters.add(root);
    const seen = evidence.get(i)!;
    return { kind: 'duplicate', kept: root, comparison: seen.comparison, ...(seen.other !== root ? { via: seen.other } : {}) };
  });
  return { verdicts, windowPairs, comparedPairs, duplicatePairs, clusters: clusters.size };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/** FFT bin edges of BANDS log-spaced bands from LOW_HZ to HIGH_HZ (every band at least one bin). */
function bandEdges(): Int32Array {
  const edges = new Int32Array(BANDS + 1);
  const binHz = SAMPLE_RATE / FRAME;
  for (let b = 0; b <= BANDS; b++) edges[b] = Math.round((LOW_HZ * (HIGH_HZ / LOW_HZ) ** (b / BANDS)) / binHz);
  for (let b = 1; b <= BANDS; b++) if (edges[b] <= edges[b - 1]) edges[b] = edges[b - 1] + 1;
  return edges;
}

/** In-place iterative radix-2 FFT (length a power of two). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const r = re[i];
      re[i] = re[j];
      re[j] = r;
      const m = im[i];
      im[i] = im[j];
      im[j] = m;
    }
  }
  const { cos, sin } = twiddles(n);
  for (let size = 2, table = 0; size <= n; table += size >> 1, size <<= 1) {
    const half = size >> 1;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const cr = cos[table + k];
        const ci = sin[table + k];
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

const TWIDDLES = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/**
 * The butterflies' twiddle factors of an `n`-point FFT, every stage's in a row (n - 1 in all), made
 * once by the same recurrence the butterflies once ran per block (so the spectra, and the codes
 * from them, are bit for bit what they were).
 */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let made = TWIDDLES.get(n);
  if (made) return made;
  made = { cos: new Float64Array(n), sin: new Float64Array(n) };
  for (let size = 2, table = 0; size <= n; table += size >> 1, size <<= 1) {
    const angle = (-2 * Math.PI) / size;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    let cr = 1;
    let ci = 0;
    for (let k = 0; k < size / 2; k++) {
      made.cos[table + k] = cr;
      made.sin[table + k] = ci;
      const next = cr * wr - ci * wi;
      ci = cr * wi + ci * wr;
      cr = next;
    }
  }
  TWIDDLES.set(n, made);
  return made;
}
