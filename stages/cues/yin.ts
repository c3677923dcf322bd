// YIN pitch tracking (de Cheveigné & Kawahara, 2002), written here because the npm ports are GPL.
// Steps per frame: difference function, cumulative mean normalised difference (CMND), absolute
// threshold, parabolic interpolation. Pure and synchronous: callers run it off the event loop.

export interface YinOptions {
  readonly sampleRate: number;
  /** Lowest pitch searched (sets the longest lag). */
  readonly f0MinHz: number;
  /** Highest pitch searched (sets the shortest lag). */
  readonly f0MaxHz: number;
  /** Integration window of the difference function, also the RMS window. */
  readonly frameMs: number;
  readonly hopMs: number;
  /** CMND dip that counts as periodic; frames without such a dip are unvoiced. */
  readonly threshold: number;
}

export interface PitchTrack {
  readonly hopSeconds: number;
  readonly frameSeconds: number;
  /** Pitch per frame in Hz, null where unvoiced or skipped. Frame i starts at i * hopSeconds. */
  readonly f0: (number | null)[];
  /** Linear RMS per frame (full scale = 1). */
  readonly rms: Float32Array;
}

/** Frames quieter than this (about -80 dBFS) carry no usable pitch and would make CMND 0/0. */
const MIN_PITCH_RMS = 1e-4;

/** Frame geometry shared by the level and pitch tracks. */
export function frameLayout(sampleCount: number, sampleRate: number, frameMs: number, hopMs: number) {
  const window = Math.max(1, Math.round((frameMs / 1000) * sampleRate));
  const hop = Math.max(1, Math.round((hopMs / 1000) * sampleRate));
  const count = sampleCount >= window ? Math.floor((sampleCount - window) / hop) + 1 : 0;
  return { window, hop, count };
}

/** Linear RMS of each frame (full scale = 1). */
export function frameRms(samples: Float32Array, sampleRate: number, frameMs: number, hopMs: number): Float32Array {
  const { window, hop, count } = frameLayout(samples.length, sampleRate, frameMs, hopMs);
  const rms = new Float32Array(count);
  for (let frame = 0; frame < count; frame++) {
    let energy = 0;
    for (let j = frame * hop, end = j + window; j < end; j++) energy += samples[j] * samples[j];
    rms[frame] = Math.sqrt(energy / window);
  }
  return rms;
}

/**
 * Pitch and RMS per frame. `skip(frame, rms)` may exclude frames from pitch search (pauses, say):
 * they come back unvoiced, and cost nothing.
 */
export function trackPitch(samples: Float32Array, options: YinOptions, skip?: (frame: number, rms: number) => boolean): PitchTrack {
  const { sampleRate, f0MinHz, f0MaxHz, threshold } = options;
  const { window, hop, count } = frameLayout(samples.length, sampleRate, options.frameMs, options.hopMs);
  const tauMin = Math.max(2, Math.floor(sampleRate / f0MaxHz));
  const tauMax = Math.ceil(sampleRate / f0MinHz);
  const rms = frameRms(samples, sampleRate, options.frameMs, options.hopMs);
  const f0: (number | null)[] = new Array(count).fill(null);
  const cmnd = new Float64Array(tauMax + 2);

  for (let frame = 0; frame < count; frame++) {
    if (rms[frame] < MIN_PITCH_RMS || skip?.(frame, rms[frame])) continue;
    const start = frame * hop;
    // Near the end the lag range shrinks to what the audio still holds.
    const lastTau = Math.min(tauMax, samples.length - start - window);
    if (lastTau > tauMin) f0[frame] = yinFrame(samples, start, window, tauMin, lastTau, threshold, cmnd, sampleRate);
  }
  return { hopSeconds: hop / sampleRate, frameSeconds: window / sampleRate, f0, rms };
}

/**
 * One frame of YIN. The difference function is computed lag by lag and only as far as the search
 * needs (the dip's minimum plus one lag for interpolation): a 220 Hz voice stops near lag 75 of 267.
 */
function yinFrame(
  x: Float32Array,
  start: number,
  window: number,
  tauMin: number,
  tauMax: number,
  threshold: number,
  cmnd: Float64Array,
  sampleRate: number,
): number | null {
  let running = 0;
  let computed = 0;
  // d(tau) = sum_j (x_j - x_{j+tau})^2 (YIN eq. 6), expanded as E(0) + E(tau) - 2 r(tau) so the
  // inner loop is one multiply-add; E(tau), the energy of the lagged window, slides in O(1).
  let energy0 = 0;
  for (let j = start; j < start + window; j++) energy0 += x[j] * x[j];
  let energyLag = energy0;
  const end = start + window;
  // r(tau) is computed two lags a pass (each lag's sums in the same order as alone, so the same
  // floats), sharing the window's loads: the second waits here until the search asks for it.
  let aheadLag = 0;
  let ahead = 0;
  const at = (tau: number): number => {
    while (computed < tau) {
      const lag = ++computed;
      energyLag += x[start + window + lag - 1] * x[start + window + lag - 1] - x[start + lag - 1] * x[start + lag - 1];
      let r: number;
      if (aheadLag === lag) r = ahead;
      else if (lag + 1 <= tauMax) {
        let r0 = 0;
        let r1 = 0;
        let s0 = 0;
        let s1 = 0;
        let j = start;
        for (; j + 1 < end; j += 2) {
          const a = x[j];
          const b = x[j + 1];
          const c = x[j + 1 + lag];
          r0 += a * x[j + lag];
          r1 += b * c;
          s0 += a * c;
          s1 += b * x[j + 2 + lag];
        }
        if (j < end) {
          r0 += x[j] * x[j + lag];
          s0 += x[j] * x[j + 1 + lag];
        }
        r = r0 + r1;
        aheadLag = lag + 1;
        ahead = s0 + s1;
      } else {
        let r0 = 0;
        let r1 = 0;
        let j = start;
        for (; j + 1 < end; j += 2) {
          r0 += x[j] * x[j + lag];
          r1 += x[j + 1] * x[j + 1 + lag];
        }
        if (j < end) r0 += x[j] * x[j + lag];
        r = r0 + r1;
      }
      const difference = Math.max(0, energy0 + energyLag - 2 * r);
      // Cumulative mean normalised difference (eq. 8): d'(tau) = d(tau) * tau / sum_{k<=tau} d(k).
      running += difference;
      cmnd[lag] = running > 0 ? (difference * lag) / running : 1;
    }
    return cmnd[tau];
  };
  // Absolute threshold (step 4): the first dip under the threshold, followed down to its minimum.
  let tau = tauMin;
  while (tau <= tauMax && at(tau) >= threshold) tau++;
  if (tau > tauMax) return null;
  while (tau + 1 <= tauMax && at(tau + 1) < at(tau)) tau++;
  // Parabolic interpolation (step 5) refines the lag between samples.
  if (tau <= 1 || tau >= tauMax) return sampleRate / tau;
  const a = at(tau - 1);
  const b = at(tau);
  const c = at(tau + 1);
  const curvature = a + c - 2 * b;
  return sampleRate / (curvature > 0 ? tau + (a - c) / (2 * curvature) : tau);
}

/**
 * Least-squares slope of a pitch contour in Hz per second: positive for rising intonation, negative
 * for falling. Frames with a null pitch are left out (their time is kept, so gaps do not compress
 * the contour); null when fewer than `minFrames` frames have a pitch.
 */
export function contourSlope(f0: readonly (number | null)[], hopSeconds: number, minFrames: number): number | null {
  let count = 0;
  let sumT = 0;
  let sumF = 0;
  for (let i = 0; i < f0.length; i++) {
    const pitch = f0[i];
    if (pitch === null) continue;
    count++;
    sumT += i * hopSeconds;
    sumF += pitch;
  }
  if (count < Math.max(2, minFrames)) return null;
  const meanT = sumT / count;
  const meanF = sumF / count;
  // Centred sums: the raw-moment form loses digits on minute-long segments.
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < f0.length; i++) {
    const pitch = f0[i];
    if (pitch === null) continue;
    const dt = i * hopSeconds - meanT;
    covariance += dt * (pitch - meanF);
    variance += dt * dt;
  }
  return variance > 0 ? covariance / variance : null;
}
