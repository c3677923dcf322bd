// Places a segment's media where trainers look for it by name: `<dest>/video/<name>.mp4` and
// `<dest>/audio/<name>.wav`, as symlinks or copies. Sources are the clip file under --input (only
// for a clip with a single segment: the source is then that segment's video) and the 16 kHz WAV
// artefact in --store. Every path is checked: a name is one sanitised file-name part, the media
// folders must be real folders (not symlinks planted to redirect writes), a source uri must stay
// inside the input root and a store key must be a plain relative key.
import { lstat, mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
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
  readonly uri: string;
  readonly audio: string | null;
  readonly wholeClip: boolean;
}

export class MediaPlacer {
  private readonly video: MediaCounts = { placed: 0, missing: {} };
  private readonly audio: MediaCounts = { placed: 0, missing: {} };
  /** export name → what was placed for it: each segment's media is placed once, however many samples it has */
  private readonly placed = new Map<string, { video: string | null; audio: string | null }>();

  constructor(
    private readonly dest: string,
    private readonly mode: MediaMode,
    private readonly input: string | undefined,
    private readonly store: string | undefined,
  ) {}

  /** Relative paths (from dest) of the media placed for this segment; null where none was placed. */
  async place(segment: MediaSegment): Promise<{ video: string | null; audio: string | null }> {
    if (this.mode === 'none') return { video: null, audio: null };
    const known = this.placed.get(segment.name);
    if (known) return known;
    const video = await this.placeOne('video', `${segment.name}.mp4`, this.videoSource(segment), this.video);
    const audio = await this.placeOne('audio', `${segment.name}.wav`, this.audioSource(segment), this.audio);
    this.placed.set(segment.name, { video, audio });
    return { video, audio };
  }

  report(): MediaReport {
    return { mode: this.mode, video: this.video, audio: this.audio };
  }

  private videoSource(segment: MediaSegment): { path: string } | { missing: string } {
    if (!this.input) return { missing: 'no-input-root' };
    if (!segment.wholeClip) return { missing: 'segment-of-longer-clip' };
    if (isAbsolute(segment.uri) || /^[a-z][a-z0-9+.-]*:\/\//i.test(segment.uri)) return { missing: 'source-not-under-input' };
    const path = resolve(this.input, segment.uri);
    const rel = relative(resolve(this.input), path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { missing: 'source-not-under-input' };
    return { path };
  }

  private audioSource(segment: MediaSegment): { path: string } | { missing: string } {
    if (!this.store) return { missing: 'no-store' };
    if (!segment.audio) return { missing: 'no-audio-artefact' };
    try {
      assertSafeKey(segment.audio);
    } catch {
      return { missing: 'unsafe-store-key' };
    }
    return { path: join(resolve(this.store), segment.audio) };
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
