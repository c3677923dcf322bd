// OUT/rejects.parquet: every record that left the pipeline early, with the stage, the reason and
// what it had become by then, so an audit can answer "where did clip X go and why".
import { join } from 'node:path';
import { writeParquetFile, type ColumnSpec } from '../parquet/index.ts';
import type { Drop } from '../../schemas/records.ts';

const REJECTS_FILE = 'rejects.parquet';

const REJECT_COLUMNS: readonly ColumnSpec[] = [
  { name: 'id', kind: 'string', nullable: false, description: 'record id (segment id, clip id, or a hash of the uri when the file could not be read)' },
  { name: 'clip_id', kind: 'string', nullable: true, description: 'sha256 of the source file, when it was read' },
  { name: 'uri', kind: 'string', nullable: false, description: 'source file or manifest line' },
  { name: 'stage', kind: 'string', nullable: false, description: 'stage that dropped the record' },
  { name: 'reason', kind: 'string', nullable: false, description: 'short reason, also a counter in stats.json' },
  { name: 'detail', kind: 'string', nullable: false, description: 'what exactly was wrong' },
  // What a dropped segment had become (null for sources and clips): labels before filtering, rejected examples.
  { name: 'name', kind: 'string', nullable: true, description: 'clip name' },
  { name: 'start', kind: 'double', nullable: true, description: 'segment start, seconds' },
  { name: 'end', kind: 'double', nullable: true, description: 'segment end, seconds' },
  { name: 'speaker', kind: 'string', nullable: true, description: 'speaker from the manifest' },
  { name: 'label', kind: 'string', nullable: true, description: 'emotion label from the manifest' },
  { name: 'primary_emotion', kind: 'string', nullable: true, description: 'primary emotion from the labels teacher, when the segment got that far' },
  { name: 'sentiment', kind: 'string', nullable: true, description: 'sentiment from the labels teacher' },
  { name: 'transcript', kind: 'string', nullable: true, description: 'what was said' },
  { name: 'description', kind: 'string', nullable: true, description: 'the emotion description' },
  { name: 'qa', kind: 'string', nullable: true, description: 'one "Q: … A: …" line per question' },
  { name: 'rationale', kind: 'string', nullable: true, description: 'one line per rationale step' },
  { name: 'frame', kind: 'string', nullable: true, description: 'store key of the first keyframe' },
  { name: 'conflict', kind: 'string', nullable: true, description: 'CA-MER modality agreement tag' },
  { name: 'judge_score', kind: 'double', nullable: true, description: "the judge's 1-10 score, when the segment was judged" },
];

/** Writes OUT/rejects.parquet, one row per drop in the order given. */
export async function writeRejects(
  outDir: string,
  drops: readonly Drop[],
  createdBy: string,
): Promise<{ file: string; rows: number; bytes: number; sha256: string }> {
  const written = await writeParquetFile(
    join(outDir, REJECTS_FILE),
    REJECT_COLUMNS,
    drops.map((d) => ({ id: d.id, clip_id: d.clipId, uri: d.uri, stage: d.stage, reason: d.reason, detail: d.detail, ...rejectSnapshot(d) })),
    [],
    { createdBy },
  );
  return { file: REJECTS_FILE, ...written };
}

/** Drops in the order rejects.parquet lists them: by stage, then id. */
export function rejectOrder(a: Drop, b: Drop): number {
  return a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function rejectSnapshot(d: Drop): Record<string, string | number | null> {
  const s = d.segment;
  return {
    name: s?.name ?? null,
    start: s?.start ?? null,
    end: s?.end ?? null,
    speaker: s?.speaker ?? null,
    label: s?.label ?? null,
    primary_emotion: s?.primaryEmotion ?? null,
    sentiment: s?.sentiment ?? null,
    transcript: s?.transcript ?? null,
    description: s?.description ?? null,
    qa: s?.qa ?? null,
    rationale: s?.rationale ?? null,
    frame: s?.frame ?? null,
    conflict: s?.conflict ?? null,
    judge_score: s?.judgeScore ?? null,
  };
}
