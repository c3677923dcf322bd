// The records of the core cue stages (stages/cues/): what each measures per segment. Each cue's
// descriptor (stages/cues/registry.ts) carries its schema; the segment's `cues` field is built from
// the registry, so a new cue brings its schema in its own file.
import { z } from 'zod';
import { ArtefactRef } from './artefact.ts';
import { ConflictTag, Emotion, ModalityEstimate, Sentiment } from './emotion.ts';

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
  /** least-squares slope of the voiced F0 contour, Hz per second (null when unvoiced) */
  f0SlopeHzPerS: z.number().nullable().optional(),
  /** integrated loudness, LUFS (EBU R 128), when measurable */
  loudnessLufs: z.number().nullable().optional(),
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
  /** what was scored: the transcript, or its English translation when the transcript is in another language */
  source: z.enum(['transcript', 'translation']).optional(),
});
export type LexicalCues = z.infer<typeof LexicalCues>;

/** Face-api's seven expressions; the same names as EMOTIONS. */
export const ExpressionProbabilities = z.record(Emotion, z.number().min(0).max(1));
export type ExpressionProbabilities = z.infer<typeof ExpressionProbabilities>;

export const FaceBox = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number(), score: z.number().min(0).max(1) });

/** Unit-free ratios from the 68 landmarks (stages/cues/face-geometry.ts): geometric measures, not FACS action units. */
export const FaceGeometry = z.object({
  mouthOpening: z.number(),
  lipCornerRaise: z.number(),
  browHeight: z.number(),
  eyeOpenness: z.number(),
  headYaw: z.number(),
  headPitch: z.number(),
});
export const GeometrySummary = z.object({
  /** mean of each measure over the track's frames */
  mean: FaceGeometry,
  /** max − min of each measure over the track's frames */
  range: FaceGeometry,
  /** highest brow height above the track's median */
  browRaise: z.number(),
  /** the track's median brow height above its lowest */
  browLowering: z.number(),
});
export type GeometrySummary = z.infer<typeof GeometrySummary>;

/** One face followed through a segment's analysed frames. */
export const FaceTrackCues = z.object({
  /** face-1, face-2, … in order of first appearance; a face re-identified after a cut keeps its id */
  id: z.string(),
  /** seconds from the segment start of each analysed frame the face is seen in */
  times: z.array(z.number().nonnegative()),
  /** its box per frame, in pixels of the analysed frame */
  boxes: z.array(FaceBox),
  /** expression probabilities per frame */
  expressions: z.array(ExpressionProbabilities),
  meanExpressions: ExpressionProbabilities,
  /** mouth opening per frame (the speaker test's signal) */
  mouthOpening: z.array(z.number()),
  geometry: GeometrySummary,
});
export type FaceTrackCues = z.infer<typeof FaceTrackCues>;

export const SpeakerCues = z.object({
  track: z.string().nullable(),
  confidence: z.number().min(0).max(1),
  /** av-correlation (several faces), single-face, no-speech (no audio or silence), no-face */
  method: z.enum(['av-correlation', 'single-face', 'no-speech', 'no-face']),
  /** per track: correlation of its mouth opening with the speech envelope, its coverage of the speech frames, and how much its mouth moves (sd of mouth opening) */
  scores: z.array(z.object({ track: z.string(), correlation: z.number(), coverage: z.number(), mouthMotion: z.number() })),
});
export type SpeakerCues = z.infer<typeof SpeakerCues>;

export const PeakFrame = z.object({
  /** seconds from the segment start */
  time: z.number().nonnegative(),
  emotion: Emotion,
  probability: z.number().min(0).max(1),
  /** the whole analysed frame, JPEG */
  frame: ArtefactRef,
});
export type PeakFrame = z.infer<typeof PeakFrame>;

export const VisualCues = z.object({
  detector: z.enum(['ssd', 'tiny']),
  /** one entry per keyframe, in time order */
  frames: z.array(
    z.object({
      /** seconds from the segment start */
      time: z.number().nonnegative(),
      faces: z.number().int().nonnegative(),
      /** the described face at the nearest analysed frame, in pixels of the analysed frame */
      box: FaceBox.nullable(),
      expressions: ExpressionProbabilities.nullable(),
    }),
  ),
  /** mean expression probabilities over frames with a face; null when no face was found */
  meanExpressions: ExpressionProbabilities.nullable(),
  dominant: Emotion.nullable(),
  /** share of face frames whose top expression is the dominant one, 0..1 */
  stability: z.number().min(0).max(1),
  /** share of analysed frames the described face is seen in (before cues.visual 2: of keyframes with a face), 0..1 */
  faceRatio: z.number().min(0).max(1),
  /** JPEG crops of the described face (the speaker's, else the longest track's) at the keyframes where it is seen */
  crops: z.array(ArtefactRef),
  /** how the video was sampled for tracking (cues.visual 2+) */
  analysis: z
    .object({
      fps: z.number().positive(),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      frames: z.number().int().nonnegative(),
      cuts: z.number().int().nonnegative(),
    })
    .optional(),
  /** every face track of the segment, in order of first appearance */
  tracks: z.array(FaceTrackCues).optional(),
  /** the active speaker among the tracks; `track` null when none was found with enough confidence */
  speaker: SpeakerCues.optional(),
  /** the track the cues above describe: the speaker's, else the longest (null without faces) */
  described: z.string().nullable().optional(),
  /** face tracks other than the described one */
  otherFaces: z.number().int().nonnegative().optional(),
  /** facial geometry of the described track */
  geometry: GeometrySummary.nullable().optional(),
  /** the frame where the described face's non-neutral expression peaks, kept as a JPEG keyframe */
  peak: PeakFrame.nullable().optional(),
});
export type VisualCues = z.infer<typeof VisualCues>;

/** The cues whose modality votes in cues.agreement (CA-MER's video, audio and text), in that order. */
export const VOTERS = ['visual', 'acoustic', 'lexical'] as const;
export type Voter = (typeof VOTERS)[number];
const Votes = Object.fromEntries(VOTERS.map((voter) => [voter, ModalityEstimate.nullable()])) as { [V in Voter]: z.ZodNullable<typeof ModalityEstimate> };

export const AgreementCues = z.object({
  /** each voter's estimate; null when its modality gave none */
  ...Votes,
  /** what the modalities were compared against */
  reference: z.object({ source: z.enum(['label', 'majority', 'none']), emotion: Emotion.nullable() }),
  /** speaker baseline used for the acoustic estimate */
  acousticBaseline: z.enum(['speaker', 'corpus', 'absolute']),
  tag: ConflictTag,
});
export type AgreementCues = z.infer<typeof AgreementCues>;
