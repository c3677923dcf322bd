// The emotion vocabulary every record shares: the seven categories, sentiment, one modality's vote
// and the CA-MER tag of how the modalities agree. A leaf: cue modules and records both build on it.
import { z } from 'zod';

export const EMOTIONS = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'] as const;
export const Emotion = z.enum(EMOTIONS);
export type Emotion = z.infer<typeof Emotion>;

export const Sentiment = z.enum(['positive', 'neutral', 'negative']);
export type Sentiment = z.infer<typeof Sentiment>;

export const ModalityEstimate = z.object({ emotion: Emotion, confidence: z.number().min(0).max(1) });
export type ModalityEstimate = z.infer<typeof ModalityEstimate>;

/** CA-MER style: which modality carries the reference emotion. */
export const ConflictTag = z.enum(['consistent', 'video-aligned', 'audio-aligned', 'text-aligned', 'ambiguous']);
export type ConflictTag = z.infer<typeof ConflictTag>;
