// The ffmpeg/ffprobe adapter, driven through fluent-ffmpeg. Inputs are always absolute paths with an
// explicit `file:` protocol, so a hostile clip name ("-y", "concat:…", "http:…") is never read as an
// option or another protocol; arguments are passed as arrays, never through a shell.
import ffmpeg from 'fluent-ffmpeg';
import { execFile } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { FatalError, RecordError } from '../errors.ts';
import type { Probe } from '../../schemas/records.ts';

function inputUrl(path: string): string {
  if (!isAbsolute(path)) throw new Error(`ffmpeg input must be an absolute path, got ${JSON.stringify(path)}`);
  return `file:${path}`;
}

let checked: Promise<void> | undefined;

/** Fails fast, with the fix, when ffmpeg or ffprobe is not installed. */
export function assertFfmpegInstalled(): Promise<void> {
  checked ??= Promise.all(
    ['ffmpeg', 'ffprobe'].map(
      (binary) =>
        new Promise<void>((resolve, reject) => {
          execFile(binary, ['-version'], (error) =>
            error
              ? reject(new FatalError(`${binary} was not found on PATH: install it with "apt-get install -y ffmpeg" (or run scripts/setup.sh)`))
              : resolve(),
          );
        }),
    ),
  ).then(() => undefined);
  return checked;
}

/** Runs ffprobe; throws RecordError('unreadable', …) with ffprobe's own words when it cannot read the file. */
export function probe(path: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(inputUrl(path), (error, data) => {
      if (error) {
        const message = String((error as Error).message ?? error)
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line && !line.startsWith('ffprobe version') && !line.startsWith('built with') && !line.startsWith('configuration:') && !/^lib\w+\s/.test(line))
          .slice(-2)
          .join(' ');
        reject(new RecordError('unreadable', message || 'ffprobe could not read the file', { cause: error }));
        return;
      }
      const video = data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
      const audio = data.streams.find((s) => s.codec_type === 'audio');
      const duration = Number(data.format.duration ?? video?.duration ?? audio?.duration ?? 0);
      const fps = video?.avg_frame_rate ? evalRate(video.avg_frame_rate) : undefined;
      resolve({
        duration: Number.isFinite(duration) ? round(duration, 3) : 0,
        formatName: String(data.format.format_name ?? ''),
        hasVideo: Boolean(video),
        hasAudio: Boolean(audio),
        videoCodec: video?.codec_name,
        audioCodec: audio?.codec_name,
        width: video?.width,
        height: video?.height,
        fps: fps === undefined ? undefined : round(fps, 3),
        sampleRate: audio?.sample_rate ? Number(audio.sample_rate) : undefined,
        channels: audio?.channels,
      });
    });
  });
}

function evalRate(rate: string): number | undefined {
  const [num, den] = rate.split('/').map(Number);
  if (!num || !den) return undefined;
  return num / den;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export interface ExtractOptions {
  readonly input: string;
  readonly start: number;
  readonly end: number;
  /** 16 kHz mono pcm_s16le WAV path, or undefined to skip audio. */
  readonly wavPath?: string;
  /** printf-style JPEG pattern (e.g. /tmp/x/%02d.jpg) and count, or undefined to skip frames. */
  readonly frames?: { readonly pattern: string; readonly count: number; readonly height: number; readonly quality: number };
  readonly signal: AbortSignal;
}

/**
 * One ffmpeg pass per segment: the WAV and N evenly spaced keyframes together.
 * Output is bit-exact so the same input and span give the same bytes on every run.
 */
export function extractSegmentMedia(options: ExtractOptions): Promise<void> {
  const { input, start, end, wavPath, frames, signal } = options;
  const duration = Math.max(0.04, end - start);
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const command = ffmpeg(inputUrl(input))
      .inputOptions(['-nostdin', '-threads', '1', '-ss', start.toFixed(3), '-t', duration.toFixed(3)]);
    if (wavPath) {
      command
        .output(wavPath)
        .outputOptions(['-map', '0:a:0', '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:a', '+bitexact', '-y']);
    }
    if (frames) {
      // fps = N / duration picks N evenly spaced frames; the centre of each interval is sampled by
      // the fps filter's rounding, and -frames:v caps the count for spans whose end rounds up.
      const rate = (frames.count / duration).toFixed(6);
      command
        .output(frames.pattern)
        .outputOptions([
          '-map', '0:v:0', '-an', '-vf', `fps=${rate}:round=near,scale=-2:${frames.height}:flags=bicubic`,
          '-frames:v', String(frames.count), '-q:v', String(frames.quality), '-start_number', '0',
          '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-threads', '1', '-y',
        ]);
    }
    const onAbort = () => command.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    command
      .on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return reject(signal.reason);
        const tail = String(stderr ?? '').trim().split('\n').slice(-3).join(' ');
        reject(new RecordError('media-extract-failed', `ffmpeg failed on ${start}-${end}s: ${tail || error.message}`, { cause: error }));
      })
      .on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      })
      .run();
  });
}
