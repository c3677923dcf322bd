// Media for the review page: a file a number names (an OUT/media.jsonl entry, or a store key a review
// snapshot names), with byte ranges so the browser can seek in video and audio. The request carries
// only the number; the path comes from the entry, and must still be a plain file inside OUT/media.
import { createReadStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import type { Store } from '../store/store.ts';
import type { MediaSource } from './review-set.ts';

export interface MediaPlaces {
  readonly outDir: string;
  /** realpath of OUT/media, or null when the folder has none */
  readonly mediaRoot: string | null;
  readonly store: Store;
}

const MEDIA_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.wav': 'audio/wav',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${text}\n`);
}

export async function serveMedia(req: IncomingMessage, res: ServerResponse, source: MediaSource | undefined, where: MediaPlaces): Promise<void> {
  if (!source) return sendText(res, 404, 'no such media file');
  let path: string;
  if (source.kind === 'out') {
    if (!where.mediaRoot) return sendText(res, 404, 'the out folder has no media');
    const candidate = join(where.outDir, ...source.file.split('/'));
    const info = await lstat(candidate).catch(() => null);
    // A listed file must still be a plain file inside OUT/media (no symlink leads out of it).
    const real = info?.isFile() ? await realpath(candidate).catch(() => null) : null;
    if (!real?.startsWith(where.mediaRoot + sep)) return sendText(res, 404, 'media file missing from the out folder');
    path = real;
  } else {
    path = await where.store.localPath(source.key).catch(() => '');
    if (!path) return sendText(res, 404, 'media file missing from the store');
  }
  const size = (await lstat(path)).size;
  const type = MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
  let start = 0;
  let end = size - 1;
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    } else start = Math.max(0, size - Number(range[2]));
    if (start > end || start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
  }
  const partial = range !== null && (range[1] !== '' || range[2] !== '');
  res.writeHead(partial ? 206 : 200, {
    'Content-Type': type,
    'Content-Length': String(end - start + 1),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, max-age=3600',
    ...(partial ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(path, { start, end })
    .on('error', () => res.destroy())
    .pipe(res);
}
