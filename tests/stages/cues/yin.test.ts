import { describe, expect, it } from 'vitest';
import { frameLayout, trackPitch, type YinOptions } from '../../../stages/cues/yin.ts';

const RATE = 16_000;
const OPTIONS: YinOptions = { sampleRate: RATE, f0MinHz: 60, f0MaxHz: 500, frameMs: 40, hopMs: 10, threshold: 0.15 };

function signal(seconds: number, sample: (t: number) => number): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * RATE) }, (_, i) => sample(i / RATE));
}

/** A glottal-pulse-like tone: harmonics falling off at 1/k, strongest energy above the fundamental. */
function harmonicTone(f0: number) {
  return (t: number) => 0.1 * [1, 2, 3, 4, 5, 6, 7, 8].reduce((sum, k) => sum + Math.sin(2 * Math.PI * k * f0 * t) / k, 0);
}

/** Deterministic white noise (xorshift), so the test never flakes. */
function noise(seconds: number): Float32Array {
  let state = 0x9e3779b9;
  return signal(seconds, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 0xffffffff - 0.5) * 0.5;
  });
}

function voiced(track: { f0: (number | null)[] }): number[] {
  return track.f0.filter((f0): f0 is number => f0 !== null);
}

describe('trackPitch (YIN)', () => {
  it.each([80, 110, 220, 330, 440])('tracks a %i Hz sine within half a percent', (f0) => {
    const track = trackPitch(
      signal(1, (t) => 0.5 * Math.sin(2 * Math.PI * f0 * t)),
      OPTIONS,
    );
    const pitches = voiced(track);
    // The last frames lack the lookahead for a full lag search and may come back unvoiced.
    expect(track.f0.slice(0, -3).every((pitch) => pitch !== null)).toBe(true);
    for (const pitch of pitches) expect(Math.abs(pitch - f0) / f0).toBeLessThan(0.005);
  });

  it('finds the fundamental of a harmonic tone, not an octave above', () => {
    const pitches = voiced(trackPitch(signal(1, harmonicTone(150)), OPTIONS));
    expect(pitches.length).toBeGreaterThan(90);
    for (const pitch of pitches) expect(pitch).toBeCloseTo(150, 0);
  });

  it('calls white noise and silence unvoiced', () => {
    const noisy = trackPitch(noise(1), OPTIONS);
    expect(voiced(noisy).length / noisy.f0.length).toBeLessThan(0.05);
    const silent = trackPitch(new Float32Array(RATE), OPTIONS);
    expect(voiced(silent)).toEqual([]);
    expect(Array.from(silent.rms).every((rms) => rms === 0)).toBe(true);
  });

  it('reports frame RMS and timing', () => {
    const track = trackPitch(
      signal(1, (t) => 0.5 * Math.sin(2 * Math.PI * 200 * t)),
      OPTIONS,
    );
    const layout = frameLayout(RATE, RATE, 40, 10);
    expect(layout).toEqual({ window: 640, hop: 160, count: 97 });
    expect(track.rms.length).toBe(97);
    expect(track.hopSeconds).toBe(0.01);
    expect(track.frameSeconds).toBe(0.04);
    for (const rms of track.rms) expect(rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
    expect(trackPitch(new Float32Array(100), OPTIONS).f0).toEqual([]);
  });

  it('skips frames the caller excludes', () => {
    const track = trackPitch(
      signal(0.5, (t) => 0.5 * Math.sin(2 * Math.PI * 200 * t)),
      OPTIONS,
      (frame) => frame % 2 === 0,
    );
    expect(track.f0.every((f0, i) => (i % 2 === 0 ? f0 === null : f0 !== null))).toBe(true);
  });

  it('runs well faster than realtime', () => {
    // Ten seconds alternating a voiced tone and noise, like speech with consonants.
    const tone = harmonicTone(120);
    const noisy = noise(10);
    const audio = signal(10, (t) => (Math.floor(t * 4) % 2 === 0 ? tone(t) : noisy[Math.floor(t * RATE)]));
    const started = performance.now();
    trackPitch(audio, OPTIONS);
    const speed = 10 / ((performance.now() - started) / 1000);
    console.info(`YIN: ${speed.toFixed(0)}x realtime on half voiced, half noise`);
    // ~50x on an idle core; the floor only catches an accidental blow-up, not a busy machine.
    expect(speed).toBeGreaterThan(2);
  });
});
