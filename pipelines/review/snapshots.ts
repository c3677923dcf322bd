// What a reviewer judged, kept in the store by segment id and content hash:
//   review/samples/<segment id>/<content hash>.json
// The review stage writes one per segment and content it sees (the segment as the generating stages
// left it, before any human edit); the review page reads the one a published row names through its
// `review_hash`, so the page shows the teacher's text and the cues even after an edit replaced the
// text in the shards. Content-addressed: written once, never changed.
import { Segment } from '../../schemas/records.ts';
import type { Store } from '../store/store.ts';

export const SNAPSHOT_PREFIX = 'review/samples/';
const CONCURRENCY = 8;

export function snapshotKey(segmentId: string, hash: string): string {
  return `${SNAPSHOT_PREFIX}${segmentId}/${hash}.json`;
}

/** Writes the snapshots the store does not hold yet (one listing, then only the missing puts). Returns how many were written. */
export async function saveSnapshots(store: Store, entries: readonly { readonly segment: Segment; readonly hash: string }[]): Promise<number> {
  const present = new Set<string>();
  for await (const key of store.list(SNAPSHOT_PREFIX)) present.add(key);
  const missing = entries.filter((e) => !present.has(snapshotKey(e.segment.id, e.hash)));
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const { segment, hash } = missing[next++];
      await store.put(snapshotKey(segment.id, hash), JSON.stringify(segment));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, worker));
  return missing.length;
}

/** The snapshot of a segment's content, or null when the store does not hold it (or it does not parse). */
export async function readSnapshot(store: Store, segmentId: string, hash: string): Promise<Segment | null> {
  const bytes = await store.get(snapshotKey(segmentId, hash));
  if (!bytes) return null;
  const parsed = Segment.safeParse(JSON.parse(bytes.toString('utf8')));
  return parsed.success && parsed.data.id === segmentId ? parsed.data : null;
}
