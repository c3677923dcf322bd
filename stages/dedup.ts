// dedup: drops exact and near-duplicate segments over the whole corpus, keeping the lowest segment
// id of each cluster. Exact = the same text after lower-casing and collapsing whitespace (sha256);
// near = MinHash over word shingles, LSH candidates verified by estimated Jaccard, clustered with
// union-find (pipelines/quality/minhash.ts). A global stage: duplicates cross partitions. It runs
// after filter, so a duplicate is never kept in place of a twin the filter would have passed.
import { z } from 'zod';
import { findDuplicates } from '../pipelines/quality/minhash.ts';
import { drop, type DropResult, type GlobalStage } from '../pipelines/stage.ts';
import type { Segment } from '../schemas/records.ts';

/** Text fields that can be compared, in the order their texts are read. */
export const DEDUP_FIELDS = ['description', 'qa', 'rationale', 'transcript'] as const;
export type DedupField = (typeof DEDUP_FIELDS)[number];

export const DedupConfig = z
  .object({
    /**
     * Which text to compare: any of description, qa (questions, options and answers), rationale
     * (its steps), transcript. Default [description, qa]: the generated text a model trains on.
     * Put in canonical order, so the order written in the config changes nothing.
     */
    fields: z
      .array(z.enum(DEDUP_FIELDS))
      .min(1, `fields needs at least one of ${DEDUP_FIELDS.join(', ')}`)
      .transform((fields) => DEDUP_FIELDS.filter((field) => fields.includes(field)))
      .default(['description', 'qa']),
    /**
     * Words per shingle; default 3. Descriptions are short (50–100 words): with 5-word shingles
     * (datatrove's web default) two word edits already cost ~20% of the shingles, while 1–2-word
     * shingles mostly measure shared vocabulary and template phrasing.
     */
    shingle: z.number().int().min(1).max(16).default(3),
    /** MinHash signature length; default 128 (Jaccard estimate sd ≈ 0.035 at 0.8). */
    permutations: z.number().int().min(8).max(1024).default(128),
    /**
     * LSH bands; must divide permutations (rows per band = permutations / bands). Default 16
     * (8 rows): a pair at Jaccard 0.8 becomes a candidate with probability 0.95, at 0.85 0.99,
     * at 0.5 only 0.06, so template-alike but distinct text costs few comparisons. 32 bands (4 rows)
     * finds every pair ≥ 0.8 but makes most pairs at 0.5 candidates.
     */
    bands: z.number().int().min(1).default(16),
    /** Estimated Jaccard at or above which two segments are near-duplicates, in (0, 1]; default 0.8. */
    threshold: z.number().gt(0, 'threshold must be above 0').max(1, 'threshold must be at most 1').default(0.8),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.permutations % config.bands !== 0) {
      ctx.addIssue({ code: 'custom', path: ['bands'], message: `bands (${config.bands}) must divide permutations (${config.permutations}); rows per band = permutations / bands` });
    }
  });
export type DedupConfig = z.output<typeof DedupConfig>;

/** The texts of one segment for the configured fields, one entry per separately shingled text. */
export function dedupTexts(segment: Segment, fields: readonly DedupField[]): string[] {
  const texts: string[] = [];
  for (const field of fields) {
    if (field === 'description' && segment.description) texts.push(segment.description.text);
    if (field === 'qa') for (const item of segment.qa ?? []) texts.push(item.question, ...(item.options?.length ? [item.options.join(' ')] : []), item.answer);
    if (field === 'rationale' && segment.rationale) texts.push(...segment.rationale.steps);
    if (field === 'transcript' && segment.transcript) texts.push(segment.transcript.text);
  }
  return texts;
}

export const dedup: GlobalStage<DedupConfig> = {
  kind: 'global',
  name: 'dedup',
  version: 1,
  configSchema: DedupConfig as unknown as z.ZodType<DedupConfig>,
  reads: ['description', 'qa'],
  readsFor: (config) => config.fields,
  adds: [],
  cache: false,

  async run(segments, config, ctx): Promise<(Segment | DropResult)[]> {
    const report = findDuplicates(
      segments.map((segment) => ({ id: segment.id, texts: dedupTexts(segment, config.fields) })),
      config,
    );
    const over = config.fields.join('+');
    const name = (index: number) => `segment ${segments[index].id} (${segments[index].clip.uri})`;
    const results = segments.map((segment, i): Segment | DropResult => {
      const verdict = report.verdicts[i];
      switch (verdict.kind) {
        case 'kept':
        case 'empty':
          return segment;
        case 'exact-duplicate':
          return drop('exact-duplicate', `same ${over} text (lower-cased, whitespace collapsed) as kept ${name(verdict.kept)}`);
        case 'near-duplicate': {
          const linked = verdict.via ? `, linked through ${name(verdict.via.index)} at ${verdict.via.jaccard.toFixed(2)}` : '';
          return drop('near-duplicate', `estimated ${over} Jaccard ${verdict.jaccard.toFixed(2)} with kept ${name(verdict.kept)}${linked}`);
        }
      }
    });
    const { verdicts: _, ...counts } = report;
    ctx.log.info({ ...counts, fields: config.fields, threshold: config.threshold }, 'duplicates');
    return results;
  },
};
