// Integrated loudness, ITU-R BS.1770-4 (the measure EBU R 128 normalises to), written here because
// the maintained implementations are GPL or native. One channel: decodeWav has already mixed to
// mono, so a stereo file reads as its mono downmix (up to 3 LU below a two-channel meter).

/** Biquad coefficients, a0 normalised to 1. */
export interface Biquad {
  readonly b: readonly [number, number, number];
  readonly a: readonly [number, number];
}

/**
 * The two K-weighting stages for any sample rate, by the bilinear transform of their analogue
 * prototypes (the derivation behind BS.1770's 48 kHz table): a +4 dB high shelf modelling the head,
 * then the RLB high-pass. At 48 kHz they reproduce the standard's coefficients to 1e-8.
 */
export function kWeighting(sampleRate: number): readonly [Biquad, Biquad] {
  // Stage 1: high shelf.
  const shelfHz = 1681.974450955533;
  const shelfGainDb = 3.999843853973347;
  const shelfQ = 0.7071752369554196;
  let k = Math.tan((Math.PI * shelfHz) / sampleRate);
  const vh = 10 ** (shelfGainDb / 20);
  const vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / shelfQ + k * k;
  const shelf: Biquad = {
    b: [(vh + (vb * k) / shelfQ + k * k) / a0, (2 * (k * k - vh)) / a0, (vh - (vb * k) / shelfQ + k * k) / a0],
    a: [(2 * (k * k - 1)) / a0, (1 - k / shelfQ + k * k) / a0],
  };
  // Stage 2: high-pass (revised low-frequency B-curve).
  const highPassHz = 38.13547087602444;
  const highPassQ = 0.5003270373238773;
  k = Math.tan((Math.PI * highPassHz) / sampleRate);
  a0 = 1 + k / highPassQ + k * k;
  const highPass: Biquad = { b: [1, -2, 1], a: [(2 * (k * k - 1)) / a0, (1 - k / highPassQ + k * k) / a0] };
  return [shelf, highPass];
}

function applyBiquad(input: Float64Array, { b, a }: Biquad): Float64Array {
  const output = new Float64Array(input.length);
  let x1 = 0,
    x2 = 0,
    y1 = 0,
    y2 = 0;
  for (let i = 0; i < input.length; i++) {
    const x = input[i];
    const y = b[0] * x + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
    output[i] = y;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
  }
  return output;
}

/** Gating block 400 ms, stepped by 100 ms (75% overlap). */
const LOUDNESS_BLOCK_S = 0.4;
const LOUDNESS_STEP_S = 0.1;
const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;

/** Block loudness from a mean square: -0.691 offsets the K-filter's gain at 997 Hz. */
const lufs = (meanSquare: number) => -0.691 + 10 * Math.log10(meanSquare);

/**
 * Gated integrated loudness in LUFS: K-weighted mean square per 400 ms block, blocks under -70 LUFS
 * dropped, then blocks more than 10 LU below the loudness of those left dropped, and the rest
 * averaged in the power domain. Null when the audio is shorter than one block or every block is gated.
 */
export function integratedLoudness(samples: Float32Array, sampleRate: number): number | null {
  const [shelf, highPass] = kWeighting(sampleRate);
  const weighted = applyBiquad(applyBiquad(Float64Array.from(samples), shelf), highPass);
  const block = Math.round(LOUDNESS_BLOCK_S * sampleRate);
  const step = Math.round(LOUDNESS_STEP_S * sampleRate);
  if (weighted.length < block) return null;
  // Squares summed per 100 ms step once; a block is four consecutive steps.
  const stepCount = Math.floor(weighted.length / step);
  const stepEnergy = new Float64Array(stepCount);
  for (let s = 0; s < stepCount; s++) {
    let energy = 0;
    for (let i = s * step, end = i + step; i < end; i++) energy += weighted[i] * weighted[i];
    stepEnergy[s] = energy;
  }
  const stepsPerBlock = Math.round(block / step);
  const blocks: number[] = [];
  for (let s = 0; s + stepsPerBlock <= stepCount; s++) {
    let energy = 0;
    for (let j = s; j < s + stepsPerBlock; j++) energy += stepEnergy[j];
    blocks.push(energy / (stepsPerBlock * step));
  }
  const aboveAbsolute = blocks.filter((z) => z > 0 && lufs(z) > ABSOLUTE_GATE_LUFS);
  if (aboveAbsolute.length === 0) return null;
  const relativeGate = lufs(mean(aboveAbsolute)) + RELATIVE_GATE_LU;
  const gated = aboveAbsolute.filter((z) => lufs(z) > relativeGate);
  return gated.length ? lufs(mean(gated)) : null;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
