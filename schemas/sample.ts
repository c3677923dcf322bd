// One training row. The zod schema validates every row before it reaches Parquet; COLUMNS is the
// single description from which the Parquet schema and the Hugging Face features are derived.
import { z } from 'zod';
import { CUES_COLUMN } from '../stages/cues/cues.ts';
import { ConflictTag } from './emotion.ts';
import { ReviewStatus } from './records.ts';

export const SCHEMA_VERSION = 5;

/** rationale: question → steps ending in the emotion; qra: Q → R → A (the reasoning, then the answer in its own turn) */
export const TASKS = ['description', 'ov_labels', 'mcq', 'open_qa', 'attribute_qa', 'rationale', 'qra'] as const;
export const Task = z.enum(TASKS);
export type Task = z.infer<typeof Task>;

/** The three splits a corpus is cut into. Their published names (row `split`, shard prefix, card) default to these ids and may be renamed (`write.splitNames`). */
export const SPLITS = ['train', 'validation', 'test'] as const;
export const Split = z.enum(SPLITS);
export type Split = z.infer<typeof Split>;

/** A published split name: what Hugging Face accepts as a split (`\w+(\.\w+)*`). */
export const SPLIT_NAME = /^\w+(\.\w+)*$/;

export const Turn = z.object({ from: z.enum(['human', 'gpt']), value: z.string().min(1) });
export type Turn = z.infer<typeof Turn>;

/** A media file of the row: a path relative to the out folder, under `media/` (never a store key, never absolute, no `..`). */
export const MediaPath = z
  .string()
  .regex(/^media\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/)
  .refine((p) => !p.split('/').some((part) => part === '.' || part === '..'), 'a media path may not hold . or .. parts');

export const Sample = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  clip_id: z.string().regex(/^[0-9a-f]{64}$/),
  segment_id: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string().min(1),
  uri: z.string().min(1),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  speaker: z.string().nullable(),
  label: z.string().nullable(),
  transcript: z.string(),
  language: z.string(),
  primary_emotion: z.string().min(1),
  openset: z.array(z.string()),
  sentiment: z.string().min(1),
  valence: z.number().min(-1).max(1),
  arousal: z.number().min(-1).max(1),
  task: Task,
  conversations: z.array(Turn).min(2),
  video: MediaPath.nullable(),
  audio: MediaPath.nullable(),
  frames: z.array(MediaPath),
  face_crops: z.array(MediaPath),
  conflict: ConflictTag.nullable(),
  cues: z.string(),
  teacher: z.string().min(1),
  model: z.string().min(1),
  template: z.string().min(1),
  split: z.string().regex(SPLIT_NAME),
  transcript_en: z.string().nullable(),
  label_source: z.string().nullable(),
  official_split: z.string().nullable(),
  review: ReviewStatus,
  review_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  speaker_track: z.string().nullable(),
  speaker_confidence: z.number().min(0).max(1).nullable(),
  speaker_method: z.string().nullable(),
  faces: z.number().int().nonnegative().nullable(),
  peak_frame: MediaPath.nullable(),
  peak_time: z.number().nonnegative().nullable(),
});
export type Sample = z.infer<typeof Sample>;

/** Column kinds the shard writer knows how to encode. */
export type ColumnKind = 'string' | 'double' | 'list<string>' | 'list<turn>';

/** How Hugging Face `datasets` decodes a media column (the `huggingface` features of every shard). */
export type MediaFeature = 'audio' | 'image' | 'video';

export interface Column {
  readonly name: keyof Sample & string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly description: string;
  /** a column of media paths (or, with `write.embedMedia`, `{bytes, path}` structs) that `datasets` decodes */
  readonly feature?: MediaFeature;
}

export const COLUMNS: readonly Column[] = [
  { name: 'id', kind: 'string', nullable: false, description: 'sha256 of segment id + task' },
  { name: 'clip_id', kind: 'string', nullable: false, description: 'sha256 of the source file bytes' },
  { name: 'segment_id', kind: 'string', nullable: false, description: 'hash of clip id + span + segmenter params' },
  { name: 'name', kind: 'string', nullable: false, description: 'clip name (file name without extension, or manifest name)' },
  { name: 'uri', kind: 'string', nullable: false, description: 'source file, relative to the input root' },
  { name: 'start', kind: 'double', nullable: false, description: 'segment start, seconds' },
  { name: 'end', kind: 'double', nullable: false, description: 'segment end, seconds' },
  { name: 'speaker', kind: 'string', nullable: true, description: 'speaker from the manifest' },
  { name: 'label', kind: 'string', nullable: true, description: 'emotion label from the manifest' },
  { name: 'transcript', kind: 'string', nullable: false, description: 'what was said' },
  { name: 'language', kind: 'string', nullable: false, description: 'transcript language (ISO 639-1)' },
  { name: 'primary_emotion', kind: 'string', nullable: false, description: 'primary emotion from the labels teacher' },
  { name: 'openset', kind: 'list<string>', nullable: false, description: 'open-vocabulary emotion words' },
  { name: 'sentiment', kind: 'string', nullable: false, description: 'positive / neutral / negative' },
  { name: 'valence', kind: 'double', nullable: false, description: 'valence in [-1, 1]' },
  { name: 'arousal', kind: 'double', nullable: false, description: 'arousal in [-1, 1]' },
  { name: 'task', kind: 'string', nullable: false, description: 'description | ov_labels | mcq | open_qa | attribute_qa | rationale | qra' },
  { name: 'conversations', kind: 'list<turn>', nullable: false, description: 'LLaVA-style turns with <video>/<audio> placeholders' },
  {
    name: 'video',
    kind: 'string',
    nullable: true,
    feature: 'video',
    description:
      "the segment's own video, relative to the dataset folder: the source file when the segment is the whole clip, else an exact H.264/AAC cut of its span",
  },
  { name: 'audio', kind: 'string', nullable: true, feature: 'audio', description: 'the 16 kHz mono WAV of the span, relative to the dataset folder' },
  {
    name: 'frames',
    kind: 'list<string>',
    nullable: false,
    feature: 'image',
    description: 'the keyframes (JPEG), in time order, relative to the dataset folder',
  },
  {
    name: 'face_crops',
    kind: 'list<string>',
    nullable: false,
    feature: 'image',
    description: 'the face crops (JPEG, 224x224), in time order, relative to the dataset folder',
  },
  {
    name: 'conflict',
    kind: 'string',
    nullable: true,
    description: 'CA-MER modality agreement: consistent / video-aligned / audio-aligned / text-aligned / ambiguous',
  },
  { name: 'cues', kind: 'string', nullable: false, description: `JSON of the measured cues (${CUES_COLUMN})` },
  { name: 'teacher', kind: 'string', nullable: false, description: 'teacher that wrote the target text' },
  { name: 'model', kind: 'string', nullable: false, description: 'teacher model' },
  { name: 'template', kind: 'string', nullable: false, description: 'prompt/template id@version' },
  { name: 'split', kind: 'string', nullable: false, description: 'train / validation / test by default (speaker- and source-disjoint)' },
  {
    name: 'transcript_en',
    kind: 'string',
    nullable: true,
    description:
      "the transcript in English: itself when English, its translation (stage translate, or the corpus's own English) otherwise; null when untranslated",
  },
  {
    name: 'label_source',
    kind: 'string',
    nullable: true,
    description: "JSON of the corpus's own label: corpus, label, code and its other annotations (corpus adapters)",
  },
  { name: 'official_split', kind: 'string', nullable: true, description: "the corpus's own split (train / validation / test), when it publishes one" },
  {
    name: 'review',
    kind: 'string',
    nullable: false,
    description: "human review: none / accepted / edited (a reviewer's text replaced the teacher's) / rejected (kept only with review.reject: keep)",
  },
  {
    name: 'review_hash',
    kind: 'string',
    nullable: true,
    description: 'hash of the generated content review decisions are keyed by (null when the run had no review stage)',
  },
  {
    name: 'speaker_track',
    kind: 'string',
    nullable: true,
    description:
      'the face track (face-1, face-2, …) cues.visual found speaking, the one the visual cues describe; null when none was found (or no cues.visual)',
  },
  {
    name: 'speaker_confidence',
    kind: 'double',
    nullable: true,
    description: "0..1: how well that track's mouth opening follows the speech envelope, less the runner-up's; null without cues.visual",
  },
  {
    name: 'speaker_method',
    kind: 'string',
    nullable: true,
    description: 'av-correlation (several faces) / single-face / no-speech / no-face; null without cues.visual',
  },
  { name: 'faces', kind: 'double', nullable: true, description: 'face tracks in the segment (the speaker and the others); null without cues.visual' },
  {
    name: 'peak_frame',
    kind: 'string',
    nullable: true,
    feature: 'image',
    description: "the frame where the described face's non-neutral expression peaks (JPEG), relative to the dataset folder",
  },
  { name: 'peak_time', kind: 'double', nullable: true, description: 'time of the peak frame, seconds from the segment start' },
];
