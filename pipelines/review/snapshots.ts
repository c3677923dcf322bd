// What a reviewer judged, kept in the store by segment id and content hash:
//   review/samples/<segment id>/<content hash>.json
// The review stage writes one per segment and content it sees (the segment as the generating stages
// left it, before any human edit); the review page reads the one a published row names through its
// `review_hash`, so the page shows the teacher's text and the cues even after an edit replaced the
// text in the shards. Content-addressed: written once, never changed.
import { Segment } from '../../schemas/records.ts';
import type { Store } from '../store/store.ts';

export const SNAPSHOT_PREFIX = 'review/samples/';

export function snapshotKey(segmentId: string, hash: string): string {
  return `${SNAPSHOT_PREFIX}${segmentId}/${hash}.json`;
}

/** Writes one segment's snapshot unless the store holds it; true when it was written. */
export async function saveSnapshot(store: Store, segment: Segment, hash: string): Promise<boolean> {
  const key = snapshotKey(segment.id, hash);
  if (await store.exists(key)) return false;
  await store.put(key, JSON.stringify(segment));
  return true;
}

/** The snapshot of a segment's content, or null when the store does not hold it (or it does not parse). */
export async function readSnapshot(store: Store, segmentId: string, hash: string): Promise<Segment | null> {
  const bytes = await store.get(snapshotKey(segmentId, hash));
  if (!bytes) return null;
  const parsed = Segment.safeParse(JSON.parse(bytes.toString('utf8')));
  return parsed.success && parsed.data.id === segmentId ? parsed.data : null;
}
