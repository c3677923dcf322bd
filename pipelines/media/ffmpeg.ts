// The ffmpeg/ffprobe adapter, driven through fluent-ffmpeg. Inputs are always absolute paths with an
// explicit `file:` protocol, so a hostile clip name ("-y", "concat:…", "http:…") is never read as an
// option or another protocol; arguments are passed as arrays, never through a shell.
import ffmpeg from 'fluent-ffmpeg';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
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

/** Runs a prepared fluent-ffmpeg command; kills it on abort; failures become RecordError(reason). */
function runCommand(command: ffmpeg.FfmpegCommand, signal: AbortSignal, reason: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => command.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    command
      .on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return reject(signal.reason);
        const tail = String(stderr ?? '').trim().split('\n').slice(-3).join(' ');
        reject(new RecordError(reason, `ffmpeg failed on ${what}: ${tail || error.message}`, { cause: error }));
      })
      .on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      })
      .run();
  });
}

/** One frame entry of a `metadata=mode=print:file=…` log: its time and the keys printed with it. */
interface PrintedFrame {
  readonly time: number;
  readonly values: Record<string, string>;
}

function parseMetadataPrint(text: string): PrintedFrame[] {
  const frames: { time: number; values: Record<string, string> }[] = [];
  for (const line of text.split('\n')) {
    const header = /^frame:\s*\d+\s+pts:\s*\S+\s+pts_time:\s*(\S+)/.exec(line);
    if (header) frames.push({ time: Number(header[1]), values: {} });
    else {
      const eq = line.indexOf('=');
      if (eq > 0 && frames.length > 0) frames[frames.length - 1].values[line.slice(0, eq)] = line.slice(eq + 1).trim();
    }
  }
  return frames.filter((f) => Number.isFinite(f.time));
}

async function readPrinted(path: string): Promise<PrintedFrame[]> {
  return parseMetadataPrint(await readFile(path, 'utf8').catch(() => ''));
}

export interface MediaAnalysisOptions {
  readonly input: string;
  /** Scene-change detection on the first video stream (ffmpeg's `scene` score, 0..1). */
  readonly scene?: { readonly threshold: number };
  /** Silence detection on the first audio stream. `minSec` is the shortest silence reported. */
  readonly silence?: { readonly noiseDb: number; readonly minSec: number };
  /** A scratch folder: ffmpeg writes its metadata logs there (the process runs with it as cwd). */
  readonly workDir: string;
  readonly signal: AbortSignal;
}

export interface MediaAnalysis {
  /** Frames whose scene score passed the threshold (the first frame of the new shot), seconds from the clip start. */
  readonly scenes: { readonly time: number; readonly score: number }[];
  /** Silences in seconds from the clip start; a silence that runs to the end of the audio has `end: null`. */
  readonly silences: { readonly start: number; readonly end: number | null }[];
}

/**
 * One decoding pass that runs every analysis asked for (scene scores and silences in one
 * filter_complex), writing frame metadata to files instead of parsing ffmpeg's log.
 */
export async function analyseMedia(options: MediaAnalysisOptions): Promise<MediaAnalysis> {
  const { input, scene, silence, workDir, signal } = options;
  if (!scene && !silence) return { scenes: [], silences: [] };
  const graph: string[] = [];
  const command = ffmpeg(inputUrl(input), { cwd: workDir }).inputOptions(['-nostdin']);
  if (scene) graph.push(`[0:v:0]select='gt(scene,${scene.threshold.toFixed(4)})',metadata=mode=print:file=scenes.txt[scenes]`);
  if (silence) {
    graph.push(`[0:a:0]silencedetect=noise=${silence.noiseDb.toFixed(1)}dB:duration=${silence.minSec.toFixed(3)},ametadata=mode=print:file=silences.txt[silences]`);
  }
  command.complexFilter(graph.join(';'));
  if (scene) command.output('/dev/null').outputOptions(['-map', '[scenes]', '-f', 'null']);
  if (silence) command.output('/dev/null').outputOptions(['-map', '[silences]', '-f', 'null']);
  await runCommand(command, signal, 'media-analysis-failed', 'scene/silence analysis');

  const scenes = scene
    ? (await readPrinted(join(workDir, 'scenes.txt'))).map((f) => ({ time: round(f.time, 3), score: round(Number(f.values['lavfi.scene_score'] ?? 0), 4) }))
    : [];
  const silences: { start: number; end: number | null }[] = [];
  if (silence) {
    let open: number | undefined;
    for (const frame of await readPrinted(join(workDir, 'silences.txt'))) {
      const start = frame.values['lavfi.silence_start'];
      const end = frame.values['lavfi.silence_end'];
      if (start !== undefined) open = Math.max(0, Number(start));
      if (end !== undefined) {
        silences.push({ start: round(open ?? 0, 3), end: round(Number(end), 3) });
        open = undefined;
      }
    }
    if (open !== undefined) silences.push({ start: round(open, 3), end: null });
  }
  return { scenes, silences };
}

/** What to make for one segment of a clip; every path is optional (only missing artefacts are made). */
export interface SegmentOutputs {
  /** Span in seconds from the clip start. */
  readonly start: number;
  readonly end: number;
  /** 16 kHz mono pcm_s16le WAV. */
  readonly wavPath?: string;
  /** JPEG keyframes at the first frame at or after each target time (seconds from the segment start). */
  readonly frames?: { readonly pattern: string; readonly targets: readonly number[]; readonly height: number; readonly quality: number };
  /** The span re-encoded exactly (H.264 + AAC in MP4). */
  readonly accurateCutPath?: string;
  /** The span stream-copied (starts at the keyframe before the span; fast, no re-encoding). */
  readonly copyCutPath?: string;
}

export interface ExtractClipOptions {
  readonly input: string;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly segments: readonly SegmentOutputs[];
  /** A scratch folder used as the process's working directory for metadata logs. */
  readonly workDir: string;
  readonly signal: AbortSignal;
}

const BITEXACT = ['-map_metadata', '-1', '-fflags', '+bitexact'];

/**
 * One ffmpeg process for many segments of a clip: the input is decoded once over the segments'
 * window and split into per-segment trim branches (WAV, keyframes, accurate cut); copy cuts are
 * extra inputs of the same process, each seeked to its span. Returns each segment's keyframe
 * times (seconds from the segment start), in the order of the files written.
 */
export async function extractClipMedia(options: ExtractClipOptions): Promise<{ frameTimes: number[][] }> {
  const { input, segments, workDir, signal } = options;
  const frameTimes: number[][] = segments.map(() => []);
  if (segments.length === 0) return { frameTimes };
  const decoded = segments.filter((s) => s.wavPath || s.frames || s.accurateCutPath);
  const windowStart = decoded.length ? Math.min(...decoded.map((s) => s.start)) : 0;
  const windowEnd = decoded.length ? Math.max(...decoded.map((s) => s.end)) : 0;
  const num = (value: number) => value.toFixed(6);

  const command = ffmpeg({ cwd: workDir });
  const graph: string[] = [];
  const videoBranches: string[] = [];
  const audioBranches: string[] = [];
  const outputs: (() => void)[] = [];
  let inputs = 0;
  if (decoded.length) {
    command.input(inputUrl(input)).inputOptions(['-nostdin', '-ss', windowStart.toFixed(3), '-t', Math.max(0.04, windowEnd - windowStart).toFixed(3)]);
    inputs++;
  }
  for (const [index, segment] of segments.entries()) {
    const s = segment.start - windowStart;
    const e = Math.max(segment.end - windowStart, s + 0.001);
    if (segment.wavPath && options.hasAudio) {
      const label = `w${index}`;
      audioBranches.push(`[${label}in]atrim=start=${num(s)}:end=${num(e)},asetpts=PTS-STARTPTS[${label}]`);
      const path = segment.wavPath;
      outputs.push(() =>
        command.output(path).outputOptions(['-map', `[${label}]`, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', ...BITEXACT, '-flags:a', '+bitexact', '-y']),
      );
    }
    if (segment.frames && segment.frames.targets.length > 0 && options.hasVideo) {
      const label = `f${index}`;
      // The first frame at or after each target; `prev_t` is NaN for the branch's first frame.
      const pick = segment.frames.targets.map((t) => `(isnan(prev_t)+lt(prev_t,${num(s + t)}))*gte(t,${num(s + t)})`).join('+');
      videoBranches.push(
        `[${label}in]trim=start=${num(s)}:end=${num(e)},select='${pick}',metadata=mode=add:key=emoforge.keyframe:value=1,` +
          `metadata=mode=print:file=frames-${index}.txt,scale=-2:${segment.frames.height}:flags=bicubic[${label}]`,
      );
      const { pattern, targets, quality } = segment.frames;
      outputs.push(() =>
        command.output(pattern).outputOptions([
          '-map', `[${label}]`, '-fps_mode', 'passthrough', '-frames:v', String(targets.length), '-q:v', String(quality), '-start_number', '0',
          ...BITEXACT, '-flags:v', '+bitexact', '-threads', '1', '-y',
        ]),
      );
    }
    if (segment.accurateCutPath && (options.hasVideo || options.hasAudio)) {
      const maps: string[] = [];
      if (options.hasVideo) {
        videoBranches.push(`[c${index}vin]trim=start=${num(s)}:end=${num(e)},setpts=PTS-STARTPTS[c${index}v]`);
        maps.push('-map', `[c${index}v]`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-flags:v', '+bitexact', '-threads', '1');
      }
      if (options.hasAudio) {
        audioBranches.push(`[c${index}ain]atrim=start=${num(s)}:end=${num(e)},asetpts=PTS-STARTPTS[c${index}a]`);
        maps.push('-map', `[c${index}a]`, '-c:a', 'aac', '-b:a', '128k', '-flags:a', '+bitexact');
      }
      const path = segment.accurateCutPath;
      outputs.push(() => command.output(path).outputOptions([...maps, ...BITEXACT, '-movflags', '+faststart', '-f', 'mp4', '-y']));
    }
    if (segment.copyCutPath) {
      const inputIndex = inputs++;
      command.input(inputUrl(input)).inputOptions(['-nostdin', '-ss', segment.start.toFixed(3), '-t', Math.max(0.04, segment.end - segment.start).toFixed(3)]);
      const path = segment.copyCutPath;
      outputs.push(() =>
        command.output(path).outputOptions(['-map', `${inputIndex}:v:0?`, '-map', `${inputIndex}:a:0?`, '-c', 'copy', ...BITEXACT, '-y']),
      );
    }
  }
  const splitInto = (source: string, filter: 'split' | 'asplit', branches: string[]) => {
    if (branches.length === 0) return;
    const labels = branches.map((b) => /^\[([^\]]+)\]/.exec(b)![1]);
    graph.push(`${source}${filter}=${labels.length}${labels.map((l) => `[${l}]`).join('')}`, ...branches);
  };
  splitInto('[0:v:0]', 'split', videoBranches);
  splitInto('[0:a:0]', 'asplit', audioBranches);
  if (graph.length) command.complexFilter(graph.join(';'));
  for (const add of outputs) add();
  if (outputs.length === 0) return { frameTimes };
  const first = segments[0];
  const last = segments[segments.length - 1];
  await runCommand(command, signal, 'media-extract-failed', `${first.start}-${last.end}s (${segments.length} segments)`);

  for (const [index, segment] of segments.entries()) {
    if (!segment.frames || !options.hasVideo) continue;
    const s = segment.start - windowStart;
    const printed = await readPrinted(join(workDir, `frames-${index}.txt`));
    frameTimes[index] = printed.slice(0, segment.frames.targets.length).map((f) => round(Math.max(0, f.time - s), 3));
  }
  return { frameTimes };
}
