// Places a segment's media where a trainer looks for it by name (`video/<name>.mp4`,
// `media/audio/<name>.wav`, ...) inside the export being built: a hard link to the out folder's file
// (a copy when the two are on different file systems), a copy, or a symlink, as asked. Sources are
// the segment's own files in the out folder (its cut video, its 16 kHz WAV); every source path must be
// a plain relative path under media/, every target a plain name inside the export's folder.
import { copyFile, link, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { FatalError } from '../errors.ts';
import { assertSafeKey } from '../store/store.ts';
import type { MediaMode } from './formats.ts';

/** none: rows name the out folder's files (paths relative to OUT); the others place files inside the export. */

export type MediaKind = 'video' | 'audio' | 'faces';

export interface MediaCounts {
  placed: number;
  /** hard links that fell back to a copy (the export and OUT are on different file systems) */
  copied: number;
  /** why a file could not be placed → how many */
  missing: Record<string, number>;
}

export interface MediaReport {
  readonly mode: MediaMode;
  readonly video: MediaCounts;
  readonly audio: MediaCounts;
  /** face stacks written (AffectGPT's .npy) */
  readonly faces: MediaCounts;
}

export class MediaPlacer {
  private readonly counts: Record<MediaKind, MediaCounts> = {
    video: { placed: 0, copied: 0, missing: {} },
    audio: { placed: 0, copied: 0, missing: {} },
    faces: { placed: 0, copied: 0, missing: {} },
  };
  /** target (relative to root) → placed: each segment's media is placed once, however many rows name it */
  private readonly placed = new Map<string, boolean>();

  constructor(
    /** the folder being built (the export's temporary folder until it is published) */
    private readonly root: string,
    readonly mode: MediaMode,
    private readonly outDir: string,
  ) {}

  /**
   * The out folder's media file `source` (relative to OUT) placed at `target` (relative to the root);
   * returns `target`, or null (counted under a reason) when there is no such file. With mode none it
   * returns `source` itself: the rows then name the out folder's files.
   */
  async place(kind: 'video' | 'audio', source: string | null, target: string): Promise<string | null> {
    const counts = this.counts[kind];
    if (!source) return this.missing(counts, `no-${kind}`);
    try {
      assertSafeKey(source);
    } catch {
      return this.missing(counts, 'unsafe-media-path');
    }
    const from = join(this.outDir, source);
    if (!(await stat(from).catch(() => null))?.isFile()) return this.missing(counts, 'source-not-found');
    if (this.mode === 'none') return source;
    if (this.placed.has(target)) return target;
    const to = await this.targetPath(target);
    if (this.mode === 'symlink') await symlink(resolve(from), to);
    else if (this.mode === 'copy') await copyFile(from, to);
    else {
      try {
        await link(from, to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        await copyFile(from, to);
        counts.copied++;
      }
    }
    counts.placed++;
    this.placed.set(target, true);
    return target;
  }

  /** Why `source` (relative to OUT) cannot be placed, or null when it can: checked before a name's files are placed, so none is left half-placed. */
  async problem(kind: 'video' | 'audio' | 'faces', source: string | null): Promise<string | null> {
    if (!source) return `no-${kind}`;
    try {
      assertSafeKey(source);
    } catch {
      return 'unsafe-media-path';
    }
    return (await stat(join(this.outDir, source)).catch(() => null))?.isFile() ? null : 'source-not-found';
  }

  /** The absolute path of a media file of the out folder (checked by `problem` first). */
  sourcePath(source: string): string {
    assertSafeKey(source);
    return join(this.outDir, source);
  }

  /** Makes a file at `target` (relative to the root) with `produce`, which writes the absolute path it is given (an AVI muxed by ffmpeg). */
  async make(kind: 'video', target: string, produce: (path: string) => Promise<void>): Promise<string> {
    if (this.placed.has(target)) return target;
    await produce(await this.targetPath(target));
    this.counts[kind].placed++;
    this.placed.set(target, true);
    return target;
  }

  /** Writes a made file (a face stack) at `target`, relative to the root. */
  async write(kind: 'faces', target: string, bytes: Uint8Array): Promise<string> {
    if (this.placed.has(target)) return target;
    await writeFile(await this.targetPath(target), bytes);
    this.counts[kind].placed++;
    this.placed.set(target, true);
    return target;
  }

  /** Counts a file that could not be made (e.g. a segment with no face crop). */
  skip(kind: MediaKind, reason: string): void {
    this.missing(this.counts[kind], reason);
  }

  report(): MediaReport {
    return { mode: this.mode, ...this.counts };
  }

  private missing(counts: MediaCounts, reason: string): null {
    counts.missing[reason] = (counts.missing[reason] ?? 0) + 1;
    return null;
  }

  /** The absolute path of `target`, checked to stay inside the root (names are sanitised upstream: this is the last line). */
  private async targetPath(target: string): Promise<string> {
    const path = resolve(this.root, target);
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(/[\\/]/).some((part) => part.startsWith('.'))) {
      throw new FatalError(`refusing to write media file ${JSON.stringify(target)} outside ${this.root}`);
    }
    await mkdir(dirname(path), { recursive: true });
    return path;
  }
}
