// Reading a manifest.json back (OUT's, or a version folder's): parsed with the manifest schema, so a
// reader never works on a file that only looks like a manifest.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutManifest } from '../../schemas/manifest.ts';
import { InputError } from '../errors.ts';

export const MANIFEST_FILE = 'manifest.json';

/** A manifest.json that cannot be read, is not JSON, or does not match the manifest schema; the message names the file. */
export class ManifestError extends InputError {
  override name = 'ManifestError';
  constructor(
    readonly file: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `${file} is not a readable emoforge manifest (${detail}): the out folder is damaged or not one emoforge wrote; run the pipeline again to rewrite it`,
      options,
    );
  }
}

/** The manifest in `dir` (an out folder or a version folder), or undefined when there is none; throws ManifestError when it does not parse. */
export async function readManifest(dir: string): Promise<OutManifest | undefined> {
  const bytes = await readManifestBytes(dir);
  return bytes === undefined ? undefined : parseManifest(join(dir, MANIFEST_FILE), bytes);
}

/** The bytes of `dir`'s manifest.json (a version's parent link hashes them), or undefined when there is none. */
export async function readManifestBytes(dir: string): Promise<Buffer | undefined> {
  const file = join(dir, MANIFEST_FILE);
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ManifestError(file, `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; fix its permissions`, { cause: error });
  }
}

/** `bytes` (the contents of `file`) as a manifest, or ManifestError. */
export function parseManifest(file: string, bytes: Buffer): OutManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ManifestError(file, `not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = OutManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(file, `${issue?.path.join('.') || 'top level'}: ${issue?.message}`);
  }
  return parsed.data;
}
