// filter: rule filters over a segment. Each rule that fails drops the segment with its own reason,
// which becomes a counter in stats.json and a row in rejects.parquet.
import { z } from 'zod';
import { drop, type DropResult, type SegmentStage } from '../pipelines/stage.ts';
import type { Segment } from '../schemas/records.ts';

const FilterConfig = z
  .object({
    /** Segments shorter than this are dropped (too-short). */
    minDurationSec: z.number().nonnegative().default(0.5),
    /** Segments longer than this are dropped (too-long). */
    maxDurationSec: z.number().positive().default(60),
    /** Drop segments whose transcript is empty (empty-transcript). */
    requireTranscript: z.boolean().default(true),
    /** Fewer words than this → transcript-too-short. */
    minTranscriptWords: z.number().int().nonnegative().default(1),
    /** More characters than this → transcript-too-long. */
    maxTranscriptChars: z.number().int().positive().default(2000),
    /** Description length bounds in characters (description-too-short / description-too-long). */
    minDescriptionChars: z.number().int().nonnegative().default(20),
    maxDescriptionChars: z.number().int().positive().default(4000),
  })
  .strict()
  .refine((c) => c.minDurationSec < c.maxDurationSec, { message: 'minDurationSec must be below maxDurationSec', path: ['minDurationSec'] })
  .refine((c) => c.minDescriptionChars < c.maxDescriptionChars, { message: 'minDescriptionChars must be below maxDescriptionChars', path: ['minDescriptionChars'] });
export type FilterConfig = z.infer<typeof FilterConfig>;

type Rule = (segment: Segment, config: FilterConfig) => DropResult | undefined;

const RULES: Rule[] = [
  (s, c) => {
    const duration = s.end - s.start;
    if (duration < c.minDurationSec) return drop('too-short', `${duration.toFixed(2)}s < minDurationSec ${c.minDurationSec}`);
    if (duration > c.maxDurationSec) return drop('too-long', `${duration.toFixed(2)}s > maxDurationSec ${c.maxDurationSec}`);
    return undefined;
  },
  (s, c) => {
    const text = s.transcript?.text.trim() ?? '';
    if (!text) return c.requireTranscript ? drop('empty-transcript', `the ${s.transcript?.engine ?? 'missing'} transcript is empty`) : undefined;
    const words = text.split(/\s+/).length;
    if (words < c.minTranscriptWords) return drop('transcript-too-short', `${words} words < minTranscriptWords ${c.minTranscriptWords}`);
    if (text.length > c.maxTranscriptChars) return drop('transcript-too-long', `${text.length} chars > maxTranscriptChars ${c.maxTranscriptChars}`);
    return undefined;
  },
  (s, c) => {
    if (!s.description) return undefined;
    const length = s.description.text.trim().length;
    if (length < c.minDescriptionChars) return drop('description-too-short', `${length} chars < minDescriptionChars ${c.minDescriptionChars}`);
    if (length > c.maxDescriptionChars) return drop('description-too-long', `${length} chars > maxDescriptionChars ${c.maxDescriptionChars}`);
    return undefined;
  },
];

export const filter: SegmentStage<FilterConfig> = {
  kind: 'segment',
  name: 'filter',
  version: 1,
  configSchema: FilterConfig as unknown as z.ZodType<FilterConfig>,
  reads: ['transcript'],
  adds: [],
  cache: false,

  async run(segment, config) {
    for (const rule of RULES) {
      const verdict = rule(segment, config);
      if (verdict) return verdict;
    }
    return segment;
  },
};
