// A content-addressed artefact in the store, as records name it. A leaf, like schemas/emotion.ts.
import { z } from 'zod';

export const ArtefactRef = z.object({ key: z.string(), bytes: z.number().int().nonnegative(), time: z.number().nonnegative().optional() });
export type ArtefactRef = z.infer<typeof ArtefactRef>;
