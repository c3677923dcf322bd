// Keyframe thumbnails for the report, embedded as small data: URIs so the file stands alone.
import sharp from 'sharp';
import type { Store } from '../store/store.ts';

/** Width of a thumbnail, pixels. */
export const THUMBNAIL_WIDTH = 160;
const THUMBNAIL_QUALITY = 70;

/**
 * store key → `data:image/jpeg;base64,…`. A keyframe missing from the store (another store, or
 * pruned) or unreadable is left out; the report says "no keyframe" for it.
 */
export async function loadThumbnails(store: Store, keys: readonly string[]): Promise<Map<string, string>> {
  const thumbnails = new Map<string, string>();
  for (const key of keys) {
    const bytes = await store.get(key).catch(() => null);
    if (!bytes) continue;
    try {
      const jpeg = await sharp(bytes).resize({ width: THUMBNAIL_WIDTH, withoutEnlargement: true }).jpeg({ quality: THUMBNAIL_QUALITY }).toBuffer();
      thumbnails.set(key, `data:image/jpeg;base64,${jpeg.toString('base64')}`);
    } catch {
      // not an image sharp can read: shown as missing
    }
  }
  return thumbnails;
}
