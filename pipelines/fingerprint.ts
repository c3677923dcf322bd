// Content addressing: every cache key in emoforge is a sha256 over a canonical JSON encoding,
// so key order, undefined fields and number formatting never change a key by accident.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** JSON with object keys sorted and undefined values dropped; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of the canonical JSON of the parts. */
export function fingerprint(...parts: unknown[]): string {
  return sha256(canonicalJson(parts));
}

/**
 * fingerprint(...parts, [...list]), hashed a list element at a time: the same bytes reach the hash
 * (JSON.stringify joins array elements with commas), but no copy of the whole list with sorted keys
 * and no string of all of it is made (a partition's key covers thousands of segments).
 */
export function fingerprintWithList(parts: readonly unknown[], list: Iterable<unknown>): string {
  // An element JSON has no text for (undefined, a function) is written null, as in an array.
  const element = (value: unknown) => JSON.stringify(sortKeys(value)) ?? 'null';
  const hash = createHash('sha256');
  hash.update('[');
  for (const part of parts) hash.update(`${element(part)},`);
  hash.update('[');
  let first = true;
  for (const value of list) {
    hash.update(first ? element(value) : `,${element(value)}`);
    first = false;
  }
  hash.update(']]');
  return hash.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
