// The store holds everything expensive: media artefacts, stage results, partition results.
// Keys are slash-separated relative paths ("media/ab/abcd….wav"); implementations must make every
// put atomic, so a reader never sees half an object, and must refuse keys that escape the store.

export interface Store {
  /** Where this store lives, for messages. */
  readonly location: string;
  get(key: string): Promise<Buffer | null>;
  /** Atomically write bytes under key (replaces an existing object). */
  put(key: string, bytes: Uint8Array | string): Promise<void>;
  /** Atomically copy a local file into the store; with `move`, the source (a scratch file) may be taken instead of copied. */
  putFile(key: string, sourcePath: string, options?: { readonly move?: boolean }): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Size in bytes, or null when the key does not exist. */
  size(key: string): Promise<number | null>;
  /** Keys under a prefix, in lexicographic order. */
  list(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
  /**
   * A local file path holding the object's bytes, for tools such as ffmpeg that read files.
   * Local stores return the object's own path; remote stores download to a scratch file.
   */
  localPath(key: string): Promise<string>;
}

const SAFE_KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Throws when a key could escape the store or is not a plain relative path. */
export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid store key ${JSON.stringify(key)}: keys are relative paths of [A-Za-z0-9._-] parts`);
  }
}
