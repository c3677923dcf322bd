// Every stage a config may name, by its name; the cue stages come from the cue registry.
import type { AnyStage, StageRegistry } from '../pipelines/config.ts';
import { CUES } from './cues/cues.ts';
import { cluesStage } from './clues.ts';
import { crosscheckStage } from './crosscheck.ts';
import { judgeStage } from './judge.ts';
import { describeStage } from './describe.ts';
import { dedup } from './dedup.ts';
import { filter } from './filter.ts';
import { filterCorpus } from './filter/corpus.ts';
import { ingest } from './ingest.ts';
import { labelsStage } from './labels.ts';
import { qaStage } from './qa.ts';
import { rationaleStage } from './rationale.ts';
import { reviewStage } from './review.ts';
import { segment } from './segment.ts';
import { transcribe } from './transcribe.ts';
import { translateStage } from './translate.ts';
import { write } from './write.ts';

const ALL: AnyStage[] = [
  ingest,
  segment,
  transcribe,
  translateStage,
  ...CUES.map((cue) => cue.stage),
  cluesStage,
  describeStage,
  labelsStage,
  qaStage,
  rationaleStage,
  crosscheckStage,
  judgeStage,
  reviewStage,
  filter,
  filterCorpus,
  dedup,
  write,
];

export const STAGES: StageRegistry = new Map(ALL.map((stage) => [stage.name, stage]));
