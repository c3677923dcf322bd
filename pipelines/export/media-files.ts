// Places a segment's media where trainers look for it by name: `<dest>/video/<name>.mp4` and
// `<dest>/audio/<name>.wav`, as symlinks or copies. Sources are the segment's own files in the out
// folder (its video and its 16 kHz WAV under OUT/media). Every path is checked: a name is one
// sanitised file-name part, the media folders must be real folders (not symlinks planted to redirect
// writes), and a media path must be a plain relative path under media/.
import { lstat, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FatalError } from '../errors.ts';
import { assertSafeKey } from '../store/store.ts';
import { copyFileAtomic, symlinkAtomic } from './text-files.ts';

export type MediaMode = 'none' | 'link' | 'copy';
export const MEDIA_MODES: readonly MediaMode[] = ['none', 'link', 'copy'];

export interface MediaCounts {
  placed: number;
  /** why a file could not be placed → how many */
  missing: Record<string, number>;
}

export interface MediaReport {
  readonly mode: MediaMode;
  readonly video: MediaCounts;
  readonly audio: MediaCounts;
}

export interface MediaSegment {
  readonly name: string;
  /** paths relative to the out folder */
  readonly video: string | null;
  readonly audio: string | null;
}

export class MediaPlacer {
  private readonly video: MediaCounts = { placed: 0, missing: {} };
  private readonly audio: MediaCounts = { placed: 0, missing: {} };
  /** export name → what was placed for it: each segment's media is placed once, however many samples it has */
  private readonly placed = new Map<string, { video: string | null; audio: string | null }>();

  constructor(
    private readonly dest: string,
    private readonly mode: MediaMode,
    private readonly outDir: string,
  ) {}

  /** Relative paths (from dest) of the media placed for this segment; null where none was placed. */
  async place(segment: MediaSegment): Promise<{ video: string | null; audio: string | null }> {
    if (this.mode === 'none') return { video: null, audio: null };
    const known = this.placed.get(segment.name);
    if (known) return known;
    const video = await this.placeOne('video', `${segment.name}.mp4`, this.source(segment.video, 'no-video'), this.video);
    const audio = await this.placeOne('audio', `${segment.name}.wav`, this.source(segment.audio, 'no-audio'), this.audio);
    this.placed.set(segment.name, { video, audio });
    return { video, audio };
  }

  report(): MediaReport {
    return { mode: this.mode, video: this.video, audio: this.audio };
  }

  private source(path: string | null, none: string): { path: string } | { missing: string } {
    if (!path) return { missing: none };
    try {
      assertSafeKey(path);
    } catch {
      return { missing: 'unsafe-media-path' };
    }
    return { path: join(this.outDir, path) };
  }

  private async placeOne(folder: 'video' | 'audio', file: string, source: { path: string } | { missing: string }, counts: MediaCounts): Promise<string | null> {
    const count = (reason: string) => void (counts.missing[reason] = (counts.missing[reason] ?? 0) + 1);
    if ('missing' in source) {
      count(source.missing);
      return null;
    }
    const sourceInfo = await stat(source.path).catch(() => null);
    if (!sourceInfo?.isFile()) {
      count('source-not-found');
      return null;
    }
    const dir = await this.mediaFolder(folder);
    const target = join(dir, file);
    // The name is sanitised upstream; this is the last line of defence against a path that leaves the folder.
    if (dirname(target) !== dir || file.startsWith('.')) throw new FatalError(`refusing to write media file ${JSON.stringify(file)} outside ${dir}`);
    if (this.mode === 'link') await symlinkAtomic(resolve(source.path), target);
    else await copyFileAtomic(source.path, target);
    counts.placed++;
    return `${folder}/${file}`;
  }

  private async mediaFolder(folder: 'video' | 'audio'): Promise<string> {
    const dir = join(this.dest, folder);
    await mkdir(dir, { recursive: true });
    const info = await lstat(dir);
    if (!info.isDirectory()) throw new FatalError(`${dir} is not a plain folder (a symlink?): refusing to place media through it`);
    return dir;
  }
}
