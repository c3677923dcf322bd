// A dropped segment leaves with what it had become, so rejects.parquet can answer "what did the
// filters take away" (labels before filtering, rejected examples), not only "how many".
import type { Drop, DroppedSegment, Segment } from '../schemas/records.ts';

/** The drop of a segment, with a snapshot of its fields at the moment it left. */
export function segmentDrop(segment: Segment, stage: string, verdict: { readonly reason: string; readonly detail: string; readonly transient?: string }): Drop {
  const drop: Drop = {
    id: segment.id,
    clipId: segment.clipId,
    uri: segment.clip.uri,
    stage,
    reason: verdict.reason,
    detail: verdict.detail,
    segment: snapshotOf(segment),
  };
  return verdict.transient === undefined ? drop : { ...drop, transient: verdict.transient };
}

export function snapshotOf(segment: Segment): DroppedSegment {
  return {
    name: segment.clip.name,
    start: segment.start,
    end: segment.end,
    speaker: segment.clip.manifest.speaker ?? null,
    label: segment.clip.manifest.label ?? null,
    primaryEmotion: segment.labels?.primary ?? null,
    sentiment: segment.labels?.sentiment ?? null,
    transcript: segment.transcript?.text ?? null,
    description: segment.description?.text ?? null,
    qa: segment.qa?.length
      ? segment.qa.map((q) => `Q: ${q.question}${q.options?.length ? ` [${q.options.join(' | ')}]` : ''} A: ${q.answer}`).join('\n')
      : null,
    rationale: segment.rationale ? segment.rationale.steps.join('\n') : null,
    frame: segment.frames?.[0]?.key ?? null,
    conflict: segment.cues?.agreement?.tag ?? null,
    judgeScore: segment.judge?.score ?? null,
    ...(segment.review ? { review: segment.review } : {}),
  };
}
