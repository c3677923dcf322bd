// Records that flow between stages. A clip is a source file; a segment is a time span of a clip
// and carries everything later stages attach to it. Every field a stage adds is optional here and
// declared by the stage (`adds`), so the runner can check the wiring before anything runs.
import { z } from 'zod';
import { CUES, type CueDescriptor } from '../stages/cues/cues.ts';
import { ArtefactRef } from './artefact.ts';
import { ConflictTag, Emotion, Sentiment } from './emotion.ts';

/** A corpus's own label for a sample, kept beside the mapped one (stages/ingest/adapters/*). */
export const LabelSource = z.object({
  /** ravdess, cremad, meld, iemocap, mer */
  corpus: z.string(),
  /** the label as the corpus writes it (`neu`, `joy`, `calm`, …) */
  label: z.string(),
  /** the code it was read from, when the corpus codes labels (a file-name field) */
  code: z.string().optional(),
  /** other annotations the corpus gives (intensity, dominance, crowd ratings, …) */
  extra: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type LabelSource = z.infer<typeof LabelSource>;

/** Fields a manifest row (or a corpus adapter) may give a clip. All optional: the MER-Caption pool was unlabelled. */
export const ManifestFields = z.object({
  label: z.string().optional(),
  speaker: z.string().optional(),
  group: z.string().optional(),
  text: z.string().optional(),
  licence: z.string().optional(),
  /** the language of `text` (ISO 639-1), when the corpus says (MER: zh) */
  textLanguage: z.string().optional(),
  /** an English transcript the corpus itself ships (MER's `english` column) */
  textEn: z.string().optional(),
  sentiment: z.enum(['positive', 'neutral', 'negative']).optional(),
  /** valence and arousal in [-1, 1], rescaled from the corpus's own scale */
  valence: z.number().min(-1).max(1).optional(),
  arousal: z.number().min(-1).max(1).optional(),
  labelSource: LabelSource.optional(),
  /** the corpus's own split, for `write.splits: official` */
  officialSplit: z.enum(['train', 'validation', 'test']).optional(),
});
export type ManifestFields = z.infer<typeof ManifestFields>;

export const Probe = z.object({
  duration: z.number().nonnegative(),
  formatName: z.string(),
  hasVideo: z.boolean(),
  hasAudio: z.boolean(),
  videoCodec: z.string().optional(),
  audioCodec: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  fps: z.number().optional(),
  sampleRate: z.number().int().optional(),
  channels: z.number().int().optional(),
});
export type Probe = z.infer<typeof Probe>;

export const Clip = z.object({
  /** sha256 of the file's bytes */
  id: z.string().regex(/^[0-9a-f]{64}$/),
  /** where the clip was found (a path relative to the input root, or an absolute URI) */
  uri: z.string(),
  /** name used by trainers (file name without extension, or the manifest's name column) */
  name: z.string(),
  bytes: z.number().int().nonnegative(),
  probe: Probe,
  manifest: ManifestFields,
  partition: z.number().int().nonnegative(),
  /** an utterance inside a longer file (IEMOCAP dialogues): segmentation sees only this span, seconds */
  span: z.object({ start: z.number().nonnegative(), end: z.number().positive() }).optional(),
});
export type Clip = z.infer<typeof Clip>;

export const WordTiming = z.object({ word: z.string(), start: z.number(), end: z.number() });

export const Transcript = z.object({
  text: z.string(),
  /** ISO 639-1 where known (as configured, or detected), 'und' when undetermined */
  language: z.string(),
  /** how the language was decided: the config said so, or an offline detector */
  languageSource: z.enum(['config', 'detected', 'manifest']).optional(),
  engine: z.string(),
  /** word timings in seconds from the segment start, when the engine gives them */
  words: z.array(WordTiming).optional(),
  /** phrase timings (e.g. verbose_json segments) in seconds from the segment start */
  spans: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).optional(),
});
export type Transcript = z.infer<typeof Transcript>;

/** What the cue stages measured: one optional field per registered cue (stages/cues/registry.ts). */
type CueShape = { [Cue in (typeof CUES)[number] as Cue['key']]: z.ZodOptional<Cue['schema']> };
export const Cues = z.object(Object.fromEntries(CUES.map((cue: CueDescriptor) => [cue.key, cue.schema.optional()])) as CueShape);
export type Cues = z.infer<typeof Cues>;

/** Which teacher wrote a piece of text, with which template. */
export const Provenance = z.object({
  teacher: z.string(),
  model: z.string(),
  template: z.string().regex(/^[a-z0-9_.-]+@\d+$/),
});
export type Provenance = z.infer<typeof Provenance>;

export const Labels = z.object({
  primary: Emotion,
  openset: z.array(z.string()),
  sentiment: Sentiment,
  valence: z.number().min(-1).max(1),
  arousal: z.number().min(-1).max(1),
  provenance: Provenance,
});
export type Labels = z.infer<typeof Labels>;

export const Description = z.object({ text: z.string().min(1), provenance: Provenance });
export type Description = z.infer<typeof Description>;

export const QAItem = z.object({
  /** mcq: answer among options; open: why / which cue; attribute: facial expression, tone of voice, what was said */
  kind: z.enum(['mcq', 'open', 'attribute']),
  question: z.string().min(1),
  options: z.array(z.string()).optional(),
  answer: z.string().min(1),
  provenance: Provenance,
});
export type QAItem = z.infer<typeof QAItem>;

export const Rationale = z.object({
  steps: z.array(z.string().min(1)).min(1),
  emotion: Emotion,
  provenance: Provenance,
});
export type Rationale = z.infer<typeof Rationale>;

/** A clue text written by the `vision` or `audio` role from the segment's media (MER-Caption's clues). */
export const ClueText = z.object({
  text: z.string().min(1),
  /** What the teacher was shown: keyframe times (seconds from the segment start), or the audio span. */
  frames: z.array(z.number().nonnegative()).optional(),
  provenance: Provenance,
});
export type ClueText = z.infer<typeof ClueText>;

export const Clues = z.object({ visual: ClueText.optional(), acoustic: ClueText.optional() });
export type Clues = z.infer<typeof Clues>;

/** The transcript in English (the `translate` role), or why there is none. */
export const Translation = z.object({
  /** original: the transcript is English already; translated: a teacher wrote `text`; untranslated: no English (see reason) */
  status: z.enum(['original', 'translated', 'untranslated']),
  /** the English text; null when untranslated */
  text: z.string().min(1).nullable(),
  /** the transcript's own language (ISO 639-1, 'und' when undetermined) */
  from: z.string(),
  reason: z.string().optional(),
  /** who translated (absent for an English original) */
  provenance: Provenance.optional(),
});
export type Translation = z.infer<typeof Translation>;

/** The `judge` role's rubric verdict on a segment's generated text (1 = unusable, 10 = excellent). */
export const Judgement = z.object({
  score: z.number().int().min(1).max(10),
  reason: z.string().min(1),
  provenance: Provenance,
});
export type Judgement = z.infer<typeof Judgement>;

/** What the footage of a span looks and sounds like (pipelines/quality/footage.ts): keyframe dHashes and audio sub-fingerprints. */
export const FootageFingerprint = z.object({
  version: z.number().int().positive(),
  duration: z.number().nonnegative(),
  frames: z.array(z.string().regex(/^[0-9a-f]{16}$/)),
  mirrored: z.array(z.string().regex(/^[0-9a-f]{16}$/)),
  audio: z.string().nullable(),
  quiet: z.string().nullable(),
  hopSec: z.number().positive(),
});
export type FootageFingerprint = z.infer<typeof FootageFingerprint>;

/** What people decided about a segment's generated content (stages/review.ts, pipelines/review/). */
export const REVIEW_STATUSES = ['none', 'accepted', 'edited', 'rejected'] as const;
export const ReviewStatus = z.enum(REVIEW_STATUSES);
export type ReviewStatus = z.infer<typeof ReviewStatus>;

/** One reviewer's latest decision on the content a segment has now. */
export const ReviewVote = z.object({
  reviewer: z.string().min(1),
  verdict: z.enum(['accept', 'edit', 'reject']),
  /** ISO time the decision was recorded */
  at: z.string(),
  /** reject reason, from the review page's short list */
  reason: z.string().optional(),
  /** training tasks whose text the edit changed (description, ov_labels, mcq, open_qa, attribute_qa, rationale) */
  edited: z.array(z.string()).optional(),
  /** the primary emotion this reviewer settled on: the teacher's, unless the edit changed it */
  primary: Emotion.optional(),
  /** the review queue the decision was made from (`random` decisions estimate quality without bias) */
  queue: z.string().optional(),
});
export type ReviewVote = z.infer<typeof ReviewVote>;

export const ReviewState = z.object({
  /** hash of the generated content the decisions judged: a decision on other content does not apply */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  status: ReviewStatus,
  /** the reviewer whose decision applies */
  by: z.string().optional(),
  /** tasks the applied edit changed */
  edited: z.array(z.string()),
  /** every reviewer's latest decision on this content */
  votes: z.array(ReviewVote),
  /** decisions on earlier content of this segment, which no longer apply */
  stale: z.number().int().nonnegative(),
  /** per task: the teacher (and model) that wrote its text before any edit, for acceptance per teacher */
  teachers: z.record(z.string(), z.string()),
});
export type ReviewState = z.infer<typeof ReviewState>;

export const Segment = z.object({
  /** hash of clip id + span + segmenter params */
  id: z.string().regex(/^[0-9a-f]{64}$/),
  clipId: z.string(),
  clip: Clip,
  index: z.number().int().nonnegative(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  /** the segment's own media file when the segmenter cuts one (copy or accurate cut) */
  video: ArtefactRef.optional(),
  audio: ArtefactRef.optional(),
  frames: z.array(ArtefactRef).optional(),
  /** subtitle cue text of the span, when the segmenter cut on subtitles */
  subtitle: z.string().optional(),
  /** the span's footage fingerprint, for duplicates by footage and benchmark decontamination */
  fingerprint: FootageFingerprint.optional(),
  transcript: Transcript.optional(),
  /** the English transcript beside the original (stage `translate`) */
  translation: Translation.optional(),
  cues: Cues.optional(),
  clues: Clues.optional(),
  description: Description.optional(),
  labels: Labels.optional(),
  /** A second teacher's labels (the `crosscheck` role), for the consistency filter. */
  crosscheck: Labels.optional(),
  qa: z.array(QAItem).optional(),
  rationale: Rationale.optional(),
  judge: Judgement.optional(),
  /** Human review (the `review` stage): the decisions that apply to this content, and what they did. */
  review: ReviewState.optional(),
});
export type Segment = z.infer<typeof Segment>;

/**
 * What a segment looked like when it was dropped, kept in rejects.parquet so an audit can count
 * labels before filtering and show rejected examples next to kept ones. Fields the segment had not
 * reached yet are null.
 */
export const DroppedSegment = z.object({
  name: z.string(),
  start: z.number(),
  end: z.number(),
  speaker: z.string().nullable(),
  /** the manifest label */
  label: z.string().nullable(),
  primaryEmotion: z.string().nullable(),
  sentiment: z.string().nullable(),
  transcript: z.string().nullable(),
  description: z.string().nullable(),
  /** one "Q: … A: …" line per question */
  qa: z.string().nullable(),
  /** one line per step */
  rationale: z.string().nullable(),
  /** store key of the first keyframe */
  frame: z.string().nullable(),
  conflict: ConflictTag.nullable(),
  /** the judge's 1-10 score, when the segment was judged (absent from drops recorded before judging existed) */
  judgeScore: z.number().nullable().optional(),
  /** the human review state, when the segment had passed the review stage */
  review: ReviewState.optional(),
});
export type DroppedSegment = z.infer<typeof DroppedSegment>;

/** A record that left the pipeline early, and why. */
export const Drop = z.object({
  id: z.string(),
  clipId: z.string().nullable(),
  uri: z.string(),
  stage: z.string(),
  reason: z.string().regex(/^[a-z0-9-]+$/),
  detail: z.string(),
  /** set when the record was a segment (not for clips turned away by ingest or segment) */
  segment: DroppedSegment.optional(),
  /**
   * Set when the failure was transient (the next run retries the record): what failed, e.g.
   * "teachers.llm.endpoint (model 'm' at http://…)" or "ffmpeg". Such a drop is never cached.
   */
  transient: z.string().optional(),
});
export type Drop = z.infer<typeof Drop>;
