// A dropped segment leaves with what it had become, so rejects.parquet can answer "what did the
// filters take away" (labels before filtering, rejected examples), not only "how many".
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Drop, DroppedSegment, Segment } from '../schemas/records.ts';

/** The drop of a segment, with a snapshot of its fields at the moment it left (held packed: packDrop). */
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
  return packDrop(verdict.transient === undefined ? drop : { ...drop, transient: verdict.transient });
}

/**
 * A run holds every drop until the publish (rejects.parquet, the report), and a million segments
 * give thousands of them, each with a snapshot of a few KB of text (QA, description, rationale)
 * that the heap holds as UTF-16 once a text has one character beyond Latin-1, and that the
 * collector lets grow several times over while the shards are written. So a drop holds its
 * snapshot as the UTF-8 bytes of its JSON, deflated, outside the heap (in a buffer of exactly their
 * size: a small Buffer is a slice of an 8 KiB pool slab, which the slice keeps alive, and zlib's
 * result a slice of its 16 KiB output chunk), and `segment` inflates and parses them when read (a
 * new object each time; readers read it a few times per run): the same fields in the same order
 * for every reader (JSON, spread, zod, Parquet). Drops read back from the store are packed the
 * same way.
 */
export function packDrop(drop: Drop): Drop {
  if (!drop.segment) return drop;
  const packed: Record<string | symbol, unknown> = {};
  for (const [field, value] of Object.entries(drop)) {
    if (field !== 'segment') packed[field] = value;
    else {
      // One getter for every drop (a closure each would give each drop a hidden class of its own).
      Object.defineProperty(packed, SNAPSHOT_BYTES, { value: deflated(JSON.stringify(value)) });
      Object.defineProperty(packed, field, { enumerable: true, get: readSnapshot });
    }
  }
  return packed as Drop;
}

const SNAPSHOT_BYTES = Symbol('snapshot bytes');

function readSnapshot(this: { readonly [SNAPSHOT_BYTES]: Buffer }): DroppedSegment {
  return JSON.parse(inflateRawSync(this[SNAPSHOT_BYTES]).toString('utf8')) as DroppedSegment;
}

/** `text` as deflated UTF-8 (level 1: a snapshot is read a few times, written once), in a buffer of its own. */
function deflated(text: string): Buffer {
  const out = deflateRawSync(text, { level: 1 });
  const own = Buffer.allocUnsafeSlow(out.length);
  out.copy(own);
  return own;
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
