// Subtitle cues from SRT and WebVTT text: timestamps `00:01:02,345` / `00:01:02.345` (and `mm:ss.ttt`
// in VTT), multi-line cue text, tags (<i>, <c.x>, {\an8}) stripped, BOM and CRLF tolerated. A
// malformed block is skipped, never fatal: subtitles are hostile input like every manifest.
import { open, realpath } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export interface Cue {
  /** seconds */
  readonly start: number;
  readonly end: number;
  /** cue text, lines joined by a single space, tags removed */
  readonly text: string;
}

const TIME = String.raw`(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})`;
const TIMING = new RegExp(String.raw`^\s*${TIME}\s*-->\s*${TIME}`);

/** True when the text has at least one SRT/VTT timing line. */
export function hasCueTimings(text: string): boolean {
  return text.split(/\r\n|\r|\n/).some((line) => TIMING.test(line));
}

function seconds(h: string | undefined, m: string, s: string, frac: string): number {
  return Number(h ?? 0) * 3600 + Number(m) * 60 + Number(s) + Number(frac.padEnd(3, '0')) / 1000;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', nbsp: ' ', quot: '"', apos: "'", lrm: '', rlm: '' };

function cleanText(lines: string[]): string {
  return lines
    .join(' ')
    .replace(/<[^>]*>/g, '')
    .replace(/\{\\[^}]*\}/g, '')
    .replace(/&(#\d+|[a-z]+);/gi, (whole, name: string) =>
      name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : (ENTITIES[name.toLowerCase()] ?? whole),
    )
    .replace(/\s+/g, ' ')
    .trim();
}

/** Parses SRT or WebVTT text into cues in file order (cues with end <= start are skipped). */
export function parseSubtitles(text: string): Cue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const cues: Cue[] = [];
  let i = 0;
  while (i < lines.length) {
    const timing = TIMING.exec(lines[i]);
    if (!timing) {
      // VTT NOTE / STYLE / REGION blocks and SRT indices: skip to the next line.
      if (/^(NOTE|STYLE|REGION)(\s|$)/.test(lines[i])) while (i < lines.length && lines[i].trim() !== '') i++;
      i++;
      continue;
    }
    const start = seconds(timing[1], timing[2], timing[3], timing[4]);
    const end = seconds(timing[5], timing[6], timing[7], timing[8]);
    const body: string[] = [];
    i++;
    while (i < lines.length && lines[i].trim() !== '' && !TIMING.test(lines[i])) body.push(lines[i++]);
    const cueText = cleanText(body);
    if (end > start) cues.push({ start: Math.round(start * 1000) / 1000, end: Math.round(end * 1000) / 1000, text: cueText });
  }
  return cues;
}

/** Subtitle files are small; anything larger is not a subtitle file. */
const MAX_SUBTITLE_BYTES = 8 * 1024 * 1024;

/**
 * The sidecar subtitle of a media file: `clip.srt` or `clip.vtt` in the same folder. A sidecar that
 * is a link resolving to another folder is ignored (no path escape through symlinks).
 */
export async function readSidecar(mediaPath: string): Promise<{ path: string; text: string } | undefined> {
  const folder = dirname(mediaPath);
  const stem = basename(mediaPath, extname(mediaPath));
  const realFolder = await realpath(folder).catch(() => folder);
  for (const extension of ['.srt', '.vtt', '.SRT', '.VTT']) {
    const candidate = join(folder, stem + extension);
    const real = await realpath(candidate).catch(() => undefined);
    if (!real || dirname(real) !== realFolder) continue;
    const handle = await open(real, 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.size > MAX_SUBTITLE_BYTES) continue;
      return { path: candidate, text: (await handle.readFile()).toString('utf8') };
    } finally {
      await handle.close();
    }
  }
  return undefined;
}
