// Replacing a published file atomically: the text goes to a temp file beside it (same folder, so the
// rename stays on one file system), then renamed over it; readers see the old file or the new one,
// never half of one. A failed write removes its temp file, so a full disk leaves no debris in OUT.
// Temp names contain `.tmp-`, which the store mirror never uploads.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** Replaces `path` with `text` atomically. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, text);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
