// Records that flow between stages. A clip is a source file; a segment is a time span of a clip
// and carries everything later stages attach to it. Every field a stage adds is optional here and
// declared by the stage (`adds`), so the runner can check the wiring before anything runs.
import { z } from 'zod';

export const EMOTIONS = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'] as const;
export const Emotion = z.enum(EMOTIONS);
export type Emotion = z.infer<typeof Emotion>;

export const Sentiment = z.enum(['positive', 'neutral', 'negative']);
export type Sentiment = z.infer<typeof Sentiment>;

/** Fields a manifest row may give a clip. All optional: the MER-Caption pool was unlabelled. */
export const ManifestFields = z.object({
  label: z.string().optional(),
  speaker: z.string().optional(),
  group: z.string().optional(),
  text: z.string().optional(),
  licence: z.string().optional(),
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
});
export type Clip = z.infer<typeof Clip>;

/** A content-addressed artefact in the store. */
export const ArtefactRef = z.object({ key: z.string(), bytes: z.number().int().nonnegative() });
export type ArtefactRef = z.infer<typeof ArtefactRef>;

export const WordTiming = z.object({ word: z.string(), start: z.number(), end: z.number() });

export const Transcript = z.object({
  text: z.string(),
  language: z.string(),
  engine: z.string(),
  words: z.array(WordTiming).optional(),
});
export type Transcript = z.infer<typeof Transcript>;

export const AcousticCues = z.object({
  /** seconds of audio analysed */
  duration: z.number(),
  f0MeanHz: z.number().nullable(),
  f0SdHz: z.number().nullable(),
  f0MinHz: z.number().nullable(),
  f0MaxHz: z.number().nullable(),
  /** share of analysis frames with a pitch, 0..1 */
  voicedRatio: z.number(),
  /** mean frame RMS energy of the speech (non-pause frames) in dBFS */
  rmsDb: z.number(),
  /** standard deviation of the speech frames' RMS energy in dB */
  rmsSdDb: z.number(),
  /** share of frames below the silence threshold, 0..1 */
  pauseRatio: z.number(),
  /** words per second when a transcript exists, else syllable-nuclei estimate per second */
  speechRate: z.number(),
  speechRateSource: z.enum(['transcript', 'syllable-nuclei']),
});
export type AcousticCues = z.infer<typeof AcousticCues>;

export const LexicalCues = z.object({
  /** normalised sentiment score in [-1, 1] */
  score: z.number().min(-1).max(1),
  sentiment: Sentiment,
  positiveWords: z.array(z.string()),
  negativeWords: z.array(z.string()),
  /** emotion words found in the transcript with the emotion each points to */
  emotionWords: z.array(z.object({ word: z.string(), emotion: Emotion })),
});
export type LexicalCues = z.infer<typeof LexicalCues>;

export const Cues = z.object({
  acoustic: AcousticCues.optional(),
  lexical: LexicalCues.optional(),
});
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
  kind: z.enum(['mcq', 'open']),
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

export const Segment = z.object({
  /** hash of clip id + span + segmenter params */
  id: z.string().regex(/^[0-9a-f]{64}$/),
  clipId: z.string(),
  clip: Clip,
  index: z.number().int().nonnegative(),
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  audio: ArtefactRef.optional(),
  frames: z.array(ArtefactRef).optional(),
  transcript: Transcript.optional(),
  cues: Cues.optional(),
  description: Description.optional(),
  labels: Labels.optional(),
  qa: z.array(QAItem).optional(),
  rationale: Rationale.optional(),
});
export type Segment = z.infer<typeof Segment>;

/** A record that left the pipeline early, and why. */
export const Drop = z.object({
  id: z.string(),
  clipId: z.string().nullable(),
  uri: z.string(),
  stage: z.string(),
  reason: z.string().regex(/^[a-z0-9-]+$/),
  detail: z.string(),
});
export type Drop = z.infer<typeof Drop>;
