// One training row. The zod schema validates every row before it reaches Parquet; COLUMNS is the
// single description from which the Parquet schema and the Hugging Face features are derived.
import { z } from 'zod';
import { ConflictTag } from './records.ts';

export const SCHEMA_VERSION = 2;

/** rationale: question → steps ending in the emotion; qra: Q → R → A (the reasoning, then the answer in its own turn) */
export const TASKS = ['description', 'ov_labels', 'mcq', 'open_qa', 'attribute_qa', 'rationale', 'qra'] as const;
export const Task = z.enum(TASKS);
export type Task = z.infer<typeof Task>;

export const SPLITS = ['train', 'val', 'test'] as const;
export const Split = z.enum(SPLITS);
export type Split = z.infer<typeof Split>;

export const Turn = z.object({ from: z.enum(['human', 'gpt']), value: z.string().min(1) });
export type Turn = z.infer<typeof Turn>;

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
  audio: z.string().nullable(),
  frames: z.array(z.string()),
  face_crops: z.array(z.string()),
  conflict: ConflictTag.nullable(),
  cues: z.string(),
  teacher: z.string().min(1),
  model: z.string().min(1),
  template: z.string().min(1),
  split: Split,
});
export type Sample = z.infer<typeof Sample>;

/** Column kinds the shard writer knows how to encode. */
export type ColumnKind = 'string' | 'double' | 'list<string>' | 'list<turn>';

export interface Column {
  readonly name: keyof Sample & string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly description: string;
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
  { name: 'audio', kind: 'string', nullable: true, description: 'store key of the 16 kHz mono WAV' },
  { name: 'frames', kind: 'list<string>', nullable: false, description: 'store keys of the keyframes (JPEG), in time order' },
  { name: 'face_crops', kind: 'list<string>', nullable: false, description: 'store keys of the largest-face crops (JPEG), in time order' },
  { name: 'conflict', kind: 'string', nullable: true, description: 'CA-MER modality agreement: consistent / video-aligned / audio-aligned / text-aligned / ambiguous' },
  { name: 'cues', kind: 'string', nullable: false, description: 'JSON of the numeric cues (acoustic, lexical)' },
  { name: 'teacher', kind: 'string', nullable: false, description: 'teacher that wrote the target text' },
  { name: 'model', kind: 'string', nullable: false, description: 'teacher model' },
  { name: 'template', kind: 'string', nullable: false, description: 'prompt/template id@version' },
  { name: 'split', kind: 'string', nullable: false, description: 'train / val / test (speaker-disjoint)' },
];
