// Span strategies: pure functions from what a clip's analysis found (shot cuts, silences, subtitle
// cues) to time spans in seconds, rounded to milliseconds. Deterministic: same inputs, same spans.
import type { Cue } from './subtitles.ts';

export interface Span {
  readonly start: number;
  readonly end: number;
  /** subtitle text of the span (subtitles strategy) */
  readonly subtitle?: string;
}

export const ms = (value: number): number => Math.round(value * 1000) / 1000;

/** Cuts a span longer than maxSec into equal parts no longer than maxSec. */
function splitEvenly(span: Span, maxSec: number): Span[] {
  const length = span.end - span.start;
  const parts = Math.max(1, Math.ceil(length / maxSec - 1e-9));
  return Array.from({ length: parts }, (_, i) => ({ start: ms(span.start + (length * i) / parts), end: ms(span.start + (length * (i + 1)) / parts) }));
}

/**
 * Shots between scene cuts: a shot shorter than minSec joins its shorter neighbour, a shot longer
 * than maxSec is split evenly.
 */
export function sceneSpans(duration: number, cuts: readonly number[], options: { minSec: number; maxSec: number }): Span[] {
  const bounds = [0, ...cuts.filter((t) => t > 0 && t < duration).sort((a, b) => a - b), duration];
  let shots: Span[] = [];
  for (let i = 1; i < bounds.length; i++) if (bounds[i] > bounds[i - 1]) shots.push({ start: bounds[i - 1], end: bounds[i] });
  shots = mergeShort(shots, options.minSec, Infinity);
  return shots.flatMap((shot) => splitEvenly(shot, options.maxSec)).map((s) => ({ start: ms(s.start), end: ms(s.end) }));
}

/** Joins each span shorter than minSec with the neighbour across the smaller gap (the shorter neighbour on a tie) while the result fits maxSec. */
function mergeShort(spans: readonly Span[], minSec: number, maxSec: number): Span[] {
  const out = spans.map((s) => ({ start: s.start, end: s.end, stuck: false }));
  const length = (j: number) => out[j].end - out[j].start;
  for (;;) {
    let best = -1;
    for (let i = 0; i < out.length; i++) {
      if (out.length > 1 && !out[i].stuck && length(i) < minSec && (best === -1 || length(i) < length(best))) best = i;
    }
    if (best === -1) return out.map(({ start, end }) => ({ start, end }));
    const fits = (j: number) => j >= 0 && j < out.length && Math.max(out[j].end, out[best].end) - Math.min(out[j].start, out[best].start) <= maxSec;
    const gap = (j: number) => (j < best ? out[best].start - out[j].end : out[j].start - out[best].end);
    const candidates = [best - 1, best + 1].filter(fits).sort((a, b) => gap(a) - gap(b) || length(a) - length(b) || a - b);
    if (candidates.length === 0) {
      out[best].stuck = true;
      continue;
    }
    const j = candidates[0];
    out.splice(Math.min(j, best), 2, { start: Math.min(out[j].start, out[best].start), end: Math.max(out[j].end, out[best].end), stuck: false });
  }
}

export interface SpeechOptions {
  /** shortest pause that separates two utterances */
  readonly minPauseSec: number;
  readonly minSec: number;
  readonly maxSec: number;
  /** margin added on both sides, clamped to the clip and to half the gap to a neighbour */
  readonly paddingSec: number;
}

/**
 * Utterances between silences. Word timings do not exist before transcription, so "never cut inside
 * a word" is honoured through silences only: a cut falls inside a detected pause whenever the
 * utterance has one; only an utterance longer than maxSec with no pause at all is cut evenly.
 * `silences` should include pauses shorter than minPauseSec (they are the split points for long utterances).
 */
export function speechSpans(duration: number, silences: readonly { start: number; end: number }[], options: SpeechOptions): Span[] {
  const sorted = [...silences]
    .map((s) => ({ start: Math.max(0, s.start), end: Math.min(duration, s.end) }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
  const separators = sorted.filter((s) => s.end - s.start >= options.minPauseSec);
  // Speech = the complement of the separating silences.
  let utterances: Span[] = [];
  let cursor = 0;
  for (const silence of separators) {
    if (silence.start > cursor) utterances.push({ start: cursor, end: silence.start });
    cursor = Math.max(cursor, silence.end);
  }
  if (duration > cursor) utterances.push({ start: cursor, end: duration });
  // Blips shorter than 50 ms between two pauses are clicks, not speech.
  utterances = utterances.filter((u) => u.end - u.start >= 0.05);

  const split = (span: Span): Span[] => {
    if (span.end - span.start <= options.maxSec) return [span];
    const pauses = sorted.filter(
      (p) => p.start > span.start && p.end < span.end && p.start - span.start >= options.minSec && span.end - p.end >= options.minSec,
    );
    if (pauses.length === 0) return splitEvenly(span, options.maxSec);
    const longest = pauses.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    return [...split({ start: span.start, end: longest.start }), ...split({ start: longest.end, end: span.end })];
  };
  const sized = mergeShort(utterances, options.minSec, options.maxSec)
    .flatMap(split)
    .filter((u) => u.end - u.start >= options.minSec);

  return sized.map((u, i) => {
    const previous = sized[i - 1];
    const next = sized[i + 1];
    const floor = previous ? (previous.end + u.start) / 2 : 0;
    const ceiling = next ? (u.end + next.start) / 2 : duration;
    return { start: ms(Math.max(floor, u.start - options.paddingSec)), end: ms(Math.min(ceiling, u.end + options.paddingSec)) };
  });
}

/** One span per cue, clamped to the clip; with maxSec, adjacent cues merge while the merged span fits. */
export function subtitleSpans(duration: number, cues: readonly Cue[], options: { maxSec?: number }): Span[] {
  const clamped = cues
    .map((c) => ({ start: ms(Math.max(0, c.start)), end: ms(Math.min(duration, c.end)), subtitle: c.text }))
    .filter((c) => c.end > c.start)
    .sort((a, b) => a.start - b.start || a.end - b.end);
  if (options.maxSec === undefined) return clamped;
  const merged: { start: number; end: number; subtitle: string }[] = [];
  for (const cue of clamped) {
    const last = merged[merged.length - 1];
    if (last && Math.max(last.end, cue.end) - last.start <= options.maxSec) {
      last.end = Math.max(last.end, cue.end);
      last.subtitle = [last.subtitle, cue.subtitle].filter(Boolean).join(' ');
    } else merged.push({ ...cue });
  }
  return merged;
}
