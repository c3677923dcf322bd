import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertSafeKey, type Store } from './store.ts';

/** A store in a local folder; puts write a temp file beside the target, then rename. */
export class LocalStore implements Store {
  readonly location: string;
  constructor(root: string) {
    this.location = resolve(root);
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.location, key);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async put(key: string, bytes: Uint8Array | string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(temp, bytes);
    await rename(temp, target);
  }

  async putFile(key: string, sourcePath: string, options: { readonly move?: boolean } = {}): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    if (options.move) {
      try {
        await rename(sourcePath, target);
        return;
      } catch (error) {
        // Another filesystem (EXDEV): copy instead.
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      }
    }
    const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    await copyFile(sourcePath, temp);
    await rename(temp, target);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  /** Size of the object, or null when there is none (a folder is not an object). */
  async size(key: string): Promise<number | null> {
    const path = this.path(key);
    try {
      const info = await stat(path);
      return info.isFile() ? info.size : null;
    } catch {
      return null;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, '');
    if (base) assertSafeKey(base);
    const root = base ? join(this.location, base) : this.location;
    const walk = async function* (dir: string, rel: string): AsyncIterable<string> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw error;
      }
      // A folder sorts as "name/": keys then come out in full-key lexicographic order ("a-b" < "a.b" < "a/x"), as S3 lists them.
      const sortName = (entry: { name: string; isDirectory(): boolean }) => (entry.isDirectory() ? `${entry.name}/` : entry.name);
      entries.sort((a, b) => (sortName(a) < sortName(b) ? -1 : sortName(a) > sortName(b) ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.includes('.tmp-')) continue;
        const childRel = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) yield* walk(join(dir, entry.name), childRel);
        else yield childRel;
      }
    };
    yield* walk(root, base);
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async localPath(key: string): Promise<string> {
    const path = this.path(key);
    await stat(path);
    return path;
  }
}
