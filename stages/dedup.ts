// dedup: drops segments that repeat footage already in the corpus, keeping the lowest segment id of
// each cluster. A duplicate is the same footage (a re-upload, a re-encode, a trimmed or mirrored
// copy, the same utterance cut twice): keyframe dHashes and audio sub-fingerprints agree
// (pipelines/quality/footage.ts), whoever speaks and whatever is said about it. Two actors saying one
// scripted sentence are two samples. Text near-duplicates (MinHash over word shingles,
// pipelines/quality/minhash.ts) are optional and off by default; when on, only segments of the same
// speaker or source are compared (generated descriptions of different footage read alike).
// A global stage: duplicates cross partitions. It runs after filter, so a duplicate is never kept in
// place of a twin the filter would have passed.
import { z } from 'zod';
import { DEFAULT_FOOTAGE_SEARCH, decodeFootage, findFootageDuplicates, FOOTAGE_VERSION, type FootageComparison } from '../pipelines/quality/footage.ts';
import { findDuplicates } from '../pipelines/quality/minhash.ts';
import { splitGroups, splitMember, type SplitMember } from '../pipelines/split.ts';
import { drop, dropsById, runGlobalInMemory, type DropResult, type GlobalStage } from '../pipelines/stage.ts';
import type { FootageFingerprint, Segment } from '../schemas/records.ts';

/** Text fields that can be compared, in the order their texts are read. */
export const DEDUP_FIELDS = ['description', 'qa', 'rationale', 'transcript'] as const;
export type DedupField = (typeof DEDUP_FIELDS)[number];

const FootageConfig = z
  .object({
    /** Drop segments whose footage repeats a kept one's (reason duplicate-footage). Default true. */
    enabled: z.boolean().default(true),
    /** Keyframes match when each one's nearest dHash on the other side is at most this many bits of 64 away, on average (mirrored copies included). Default 10. */
    maxFrameBits: z.number().min(0).max(64).default(DEFAULT_FOOTAGE_SEARCH.maxFrameBits),
    /** Audio matches when its sub-fingerprints differ in at most this share of bits at the best offset. Default 0.22 (copies measured up to 0.18; another voice saying the same words 0.41 and up). */
    maxAudioBer: z.number().min(0).max(1).default(DEFAULT_FOOTAGE_SEARCH.maxAudioBer),
    /** Offsets searched either side of aligned starts, seconds (trims, shifted cuts). Default 1. */
    maxOffsetSec: z.number().min(0).max(30).default(DEFAULT_FOOTAGE_SEARCH.maxOffsetSec),
    /** Loud audio both must share at the offset for an audio verdict, seconds. Default 1. */
    minOverlapSec: z.number().min(0.1).max(60).default(DEFAULT_FOOTAGE_SEARCH.minOverlapSec),
    /** Only segments whose durations differ by at most this many seconds are compared. Default 1. */
    maxDurationDiffSec: z.number().min(0).default(DEFAULT_FOOTAGE_SEARCH.maxDurationDiffSec),
  })
  .strict();

const TextConfig = z
  .object({
    /** Also drop text duplicates (exact-duplicate, near-duplicate). Default false: different footage often reads alike. */
    enabled: z.boolean().default(false),
    /**
     * Which text to compare: any of description, qa (questions, options and answers), rationale
     * (its steps), transcript. Default [description, qa]. Put in canonical order, so the order
     * written in the config changes nothing.
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
    /** LSH bands; must divide permutations (rows per band = permutations / bands). Default 16 (8 rows). */
    bands: z.number().int().min(1).default(16),
    /** Estimated Jaccard at or above which two segments are near-duplicates, in (0, 1]; default 0.8. */
    threshold: z.number().gt(0, 'threshold must be above 0').max(1, 'threshold must be at most 1').default(0.8),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.permutations % config.bands !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['bands'],
        message: `bands (${config.bands}) must divide permutations (${config.permutations}); rows per band = permutations / bands`,
      });
    }
  });

const TEXT_KEYS = ['fields', 'shingle', 'permutations', 'bands', 'threshold'];

export const DedupConfig = z.preprocess(
  // Configs from before footage dedup set the text options at the top: they asked for text dedup.
  (value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const legacy = entries.filter(([k]) => TEXT_KEYS.includes(k));
    if (legacy.length === 0) return value;
    const rest = Object.fromEntries(entries.filter(([k]) => !TEXT_KEYS.includes(k)));
    return { ...rest, text: { enabled: true, ...Object.fromEntries(legacy), ...((rest.text as object | undefined) ?? {}) } };
  },
  z
    .object({
      footage: FootageConfig.default(FootageConfig.parse({})),
      text: TextConfig.default(TextConfig.parse({})),
    })
    .strict(),
);
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

export const dedup: GlobalStage<DedupConfig, DedupView> = {
  kind: 'global',
  name: 'dedup',
  version: 2,
  configSchema: DedupConfig,
  reads: ['fingerprint'],
  readsFor: (config) => [...(config.footage.enabled ? ['fingerprint'] : []), ...(config.text.enabled ? config.text.fields : [])],
  adds: [],
  cache: false,

  project(segment, config): DedupView {
    return {
      id: segment.id,
      uri: segment.clip.uri,
      // Fingerprints of another version (an older store) are not comparable: those segments are kept.
      ...(config.footage.enabled && segment.fingerprint?.version === FOOTAGE_VERSION ? { fingerprint: segment.fingerprint } : {}),
      ...(config.text.enabled ? { member: splitMember(segment), texts: dedupTexts(segment, config.text.fields) } : {}),
    };
  },

  async decide(views, config, ctx) {
    const dropped = new Map<number, DropResult>();
    const name = (index: number) => `segment ${views[index].id} (${views[index].uri})`;
    if (config.footage.enabled) {
      const comparable = views.map((v, i) => ({ v, i })).filter(({ v }) => v.fingerprint !== undefined);
      const report = findFootageDuplicates(
        comparable.map(({ v }) => ({ id: v.id, fingerprint: decodeFootage(v.fingerprint!) })),
        config.footage,
      );
      report.verdicts.forEach((verdict, k) => {
        if (verdict.kind !== 'duplicate') return;
        const via = verdict.via === undefined ? '' : `, linked through ${name(comparable[verdict.via].i)}`;
        dropped.set(
          comparable[k].i,
          drop('duplicate-footage', `same footage as kept ${name(comparable[verdict.kept].i)}: ${describeMatch(verdict.comparison)}${via}`),
        );
      });
      const { verdicts: _, ...counts } = report;
      ctx.log.info({ ...counts, segments: comparable.length, unfingerprinted: views.length - comparable.length }, 'footage duplicates');
    }
    if (config.text.enabled) {
      // Only segments of the same speaker or source are compared: groups of shared speakers and sources.
      const live = views.map((v, i) => ({ v, i })).filter(({ i }) => !dropped.has(i));
      const groupOf = splitGroups(live.map(({ v }) => v.member!));
      const groups = new Map<string, { v: DedupView; i: number }[]>();
      for (const entry of live) {
        const group = groupOf.get(entry.v.id)!;
        const members = groups.get(group);
        if (members) members.push(entry);
        else groups.set(group, [entry]);
      }
      const over = config.text.fields.join('+');
      let count = 0;
      for (const members of groups.values()) {
        if (members.length < 2) continue;
        const report = findDuplicates(
          members.map(({ v }) => ({ id: v.id, texts: v.texts! })),
          config.text,
        );
        report.verdicts.forEach((verdict, k) => {
          const target = members[k].i;
          if (verdict.kind === 'exact-duplicate') {
            dropped.set(
              target,
              drop(
                'exact-duplicate',
                `same ${over} text (lower-cased, whitespace collapsed) as kept ${name(members[verdict.kept].i)} of the same speaker or source`,
              ),
            );
            count++;
          } else if (verdict.kind === 'near-duplicate') {
            const linked = verdict.via ? `, linked through ${name(members[verdict.via.index].i)} at ${verdict.via.jaccard.toFixed(2)}` : '';
            dropped.set(
              target,
              drop(
                'near-duplicate',
                `estimated ${over} Jaccard ${verdict.jaccard.toFixed(2)} with kept ${name(members[verdict.kept].i)} of the same speaker or source${linked}`,
              ),
            );
            count++;
          }
        });
      }
      ctx.log.info({ groups: groups.size, dropped: count, fields: config.text.fields, threshold: config.text.threshold }, 'text duplicates');
    }
    return dropsById(new Map([...dropped].map(([i, result]) => [views[i].id, result])));
  },

  run(segments, config, ctx): Promise<(Segment | DropResult)[]> {
    return runGlobalInMemory(dedup, segments, config, ctx);
  },
};

/** What dedup reads of a segment: its footage fingerprint and, for text dedup, its group keys and texts. */
interface DedupView {
  readonly id: string;
  readonly uri: string;
  readonly fingerprint?: FootageFingerprint;
  readonly member?: SplitMember;
  readonly texts?: readonly string[];
}

/** What matched, for the drop's detail. */
function describeMatch(c: FootageComparison): string {
  const parts: string[] = [];
  if (c.frameBits !== null) parts.push(`keyframes ${c.frameBits.toFixed(1)} of 64 bits apart${c.mirrored ? ' (mirrored)' : ''}`);
  if (c.audioBer !== null) parts.push(`audio bit error rate ${c.audioBer.toFixed(3)} at offset ${c.offsetSec!.toFixed(2)} s`);
  return parts.join(', ');
}
