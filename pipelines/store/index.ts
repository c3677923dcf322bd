// The store a location names: `s3://bucket/prefix` is an S3Store, anything else a local folder.
import { LocalStore } from './local-store.ts';
import { S3Store, type S3StoreOptions } from './s3-store.ts';
import type { Store } from './store.ts';

export type { Store } from './store.ts';
export { assertSafeKey } from './store.ts';
export { LocalStore } from './local-store.ts';
export { S3Store, S3_PART_SIZE, parseS3Url, type S3StoreOptions } from './s3-store.ts';

/** True when a location is an S3 URL rather than a local path. */
export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}

export function openStore(location: string, options: S3StoreOptions = {}): Store {
  return isS3Location(location) ? new S3Store(location, options) : new LocalStore(location);
}
