// What a cue is to the rest of the pipeline: one descriptor per cue module, listed once in
// registry.ts. Records, prompts, grounding, the emotion estimate, the stage list and the cues
// column iterate CUES, so a new cue is its own file, one registry line and a test.
import type { z } from 'zod';
import { MODALITIES, type EmotionEvidence, type Modality } from '../../pipelines/affect/evidence.ts';
import type { AnyStage } from '../../pipelines/config.ts';
import type { Segment } from '../../schemas/records.ts';
import * as registered from './registry.ts';

/** A unit a rationale may cite a number in (stages/filter/grounding.ts); a `ratio` is citable as itself and as a percentage. */
export type CitableUnit = 'hz' | 'hz/s' | 'db' | 'lufs' | 'ratio' | 'rate' | 'seconds' | 'semitones' | 'none';

/** Stored values a rationale may cite in one unit; null and undefined (not measured) are skipped. */
interface CitableValues {
  readonly unit: CitableUnit;
  readonly values: readonly (number | null | undefined)[];
}

export interface CueDescriptor<K extends string = string, S extends z.ZodTypeAny = z.ZodTypeAny> {
  /** Its field under `segment.cues`, and its name in the cues column. */
  readonly key: K;
  /** The stage that measures it. */
  readonly stage: AnyStage;
  readonly schema: S;
  /** The modality it reads; null for a cue over several (agreement). */
  readonly modality: Modality | null;
  /** How the cues column's description names it, when its key says too little. */
  readonly column?: string;
  /**
   * Its key in the prompt's {{cues}} JSON, and what the prompt shows: the view of the measured cue,
   * null for "not measured", or undefined to leave the key out.
   */
  readonly prompt: { readonly key: string; readonly view: (cue: z.infer<S> | undefined, segment: Segment) => unknown };
  /** The stored values a rationale may cite, by unit. */
  readonly citable: (cue: z.infer<S>, segment: Segment) => readonly CitableValues[];
  /** Its evidence for the emotion estimate, in the order it is cited (none for a cue that only weighs others). */
  readonly evidence: (cue: z.infer<S>, segment: Segment) => readonly EmotionEvidence[];
}

type Registered = (typeof registered)[keyof typeof registered];

/** Every cue, by key (module namespaces list their exports in no order a reader could rely on). */
export const CUES: readonly Registered[] = Object.values(registered).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Cues in MER-Caption's citation order: video, audio, text, then those over several modalities; by key within one. */
const CITATION_ORDER: readonly CueDescriptor[] = [...CUES].sort((a, b) => rank(a) - rank(b));

function rank(cue: CueDescriptor): number {
  return cue.modality === null ? MODALITIES.length : MODALITIES.indexOf(cue.modality);
}

/** A segment's measured value of a cue, or undefined when its stage did not run. */
function measuredValue(cue: CueDescriptor, segment: Segment): unknown {
  // Segment['cues'] is built from the same registry, so the key is one of its fields.
  return (segment.cues as Readonly<Record<string, unknown>> | undefined)?.[cue.key];
}

/** Every cue's evidence for the emotion estimate, in citation order (the face, the voice, the words). */
export function cueEvidence(segment: Segment): EmotionEvidence[] {
  return CITATION_ORDER.flatMap((cue) => {
    const value = measuredValue(cue, segment);
    return value === undefined ? [] : cue.evidence(value, segment);
  });
}

/** Each cue's prompt view under its prompt key, in citation order (the body of the {{cues}} JSON). */
export function cueViews(segment: Segment): Record<string, unknown> {
  return Object.fromEntries(CITATION_ORDER.map((cue) => [cue.prompt.key, cue.prompt.view(measuredValue(cue, segment), segment)]));
}

/** Every stored cue value a rationale may cite, by unit. */
export function citableCueValues(segment: Segment): CitableValues[] {
  return CUES.flatMap((cue: CueDescriptor) => {
    const value = measuredValue(cue, segment);
    return value === undefined ? [] : cue.citable(value, segment);
  });
}

/** How the cues column describes its JSON: single-modality cues by key, then the cues over several. */
export const CUES_COLUMN = [...CUES]
  .sort((a, b) => Number(a.modality === null) - Number(b.modality === null))
  .map((cue: CueDescriptor) => cue.column ?? cue.key)
  .join(', ');
