// The cue registry: one line per cue module (stages/cues/cues.ts reads it).
export { acousticCue } from './acoustic.ts';
export { agreementCue } from './agreement.ts';
export { lexicalCue } from './lexical.ts';
export { pausesCue } from './pauses.ts';
export { visualCue } from './visual.ts';
