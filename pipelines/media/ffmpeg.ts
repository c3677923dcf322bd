// The ffmpeg/ffprobe adapter. ffprobe runs through fluent-ffmpeg; ffmpeg commands are argument arrays
// spawned directly, because fluent-ffmpeg starts `ffmpeg -formats` and `ffmpeg -encoders` before its
// first command in every process (each ffmpeg start is ~65 ms CPU loading Debian's ~215 libraries:
// 4 of the 41 processes of a 12-clip demo run) only to check format names we write ourselves.
// Inputs are always absolute paths with an explicit `file:` protocol, so a hostile clip name ("-y",
// "concat:…", "http:…") is never read as an option or another protocol; arguments are passed as
// arrays, never through a shell.
import ffmpeg from 'fluent-ffmpeg';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, link, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { FatalError, RecordError, TransientRecordError } from '../errors.ts';
import type { Probe } from '../../schemas/records.ts';
import { pcm16WavHeader } from './wav.ts';

function inputUrl(path: string): string {
  if (!isAbsolute(path)) throw new Error(`ffmpeg input must be an absolute path, got ${JSON.stringify(path)}`);
  return `file:${path}`;
}

let checked: Promise<void> | undefined;

/**
 * Fails fast, with the fix, when ffmpeg or ffprobe is not on PATH. A look at PATH, not a `-version`
 * run: two process starts (~0.13 CPU s) saved on every run.
 */
export function assertFfmpegInstalled(): Promise<void> {
  checked ??= Promise.all(
    ['ffmpeg', 'ffprobe'].map(async (binary) => {
      if (!(await onPath(binary)))
        throw new FatalError(`${binary} was not found on PATH: install it with "apt-get install -y ffmpeg" (or run scripts/setup.sh)`);
    }),
  ).then(() => undefined);
  return checked;
}

/** True when an executable file named `binary` is in a PATH folder (what spawn will find). */
async function onPath(binary: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, binary);
    const executable = await access(path, constants.X_OK).then(
      () => stat(path).then((s) => s.isFile()),
      () => false,
    );
    if (executable) return true;
  }
  return false;
}

/**
 * Runs ffprobe; throws RecordError('unreadable', …) with ffprobe's own words when it cannot read the
 * file (permanent: the same bytes fail the same way), a TransientRecordError when ffprobe was killed.
 */
export function probe(path: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(inputUrl(path), (error, data) => {
      if (error) {
        const message = String((error as Error).message ?? error)
          .split('\n')
          .map((line) => line.trim())
          .filter(
            (line) =>
              line && !line.startsWith('ffprobe version') && !line.startsWith('built with') && !line.startsWith('configuration:') && !/^lib\w+\s/.test(line),
          )
          .slice(-2)
          .join(' ');
        const killed = killedBy(error as Error);
        if (killed)
          reject(
            new TransientRecordError('unreadable', `ffprobe was killed by ${killed} on ${path}; the next run tries again`, {
              cause: error,
              service: 'ffprobe',
            }),
          );
        else reject(new RecordError('unreadable', message || 'ffprobe could not read the file', { cause: error }));
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

/** The signal that killed an ffmpeg/ffprobe child, from fluent-ffmpeg's message ("… was killed with signal SIGKILL"). */
function killedBy(error: Error): string | undefined {
  return /killed with signal (\w+)/.exec(String(error?.message ?? ''))?.[1];
}

/** The last bytes of ffmpeg's stderr kept for error messages. */
const STDERR_TAIL = 16 * 1024;

/**
 * Runs ffmpeg with `args` in `cwd`; kills it on abort. ffmpeg refusing the input is permanent
 * (RecordError(reason): the same bytes fail the same way); a child killed from outside (the OOM
 * killer, an operator) is transient; a full disk stops the run.
 */
function runCommand(args: readonly string[], cwd: string, signal: AbortSignal, reason: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const child = spawn('ffmpeg', ['-hide_banner', '-nostats', ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-STDERR_TAIL)));
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    let failed: Error | undefined;
    child.on('error', (error) => void (failed = error));
    child.on('close', (code, killed) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(signal.reason);
      if (failed && (failed as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(new FatalError('ffmpeg was not found on PATH: install it with "apt-get install -y ffmpeg" (or run scripts/setup.sh)', { cause: failed }));
      if (code === 0 && !failed) return resolve();
      const tail = stderr.trim().split('\n').slice(-3).join(' ');
      const cause = failed ?? new Error(killed ? `ffmpeg was killed with signal ${killed}` : `ffmpeg exited with code ${code}: ${tail}`);
      if (/No space left on device/i.test(stderr)) {
        reject(new FatalError(`ffmpeg ran out of disk space writing ${what} (ENOSPC): OUT is unchanged; free space and run again`, { cause }));
      } else if (killed)
        reject(new TransientRecordError(reason, `ffmpeg was killed by ${killed} on ${what}; the next run tries again`, { cause, service: 'ffmpeg' }));
      else reject(new RecordError(reason, `ffmpeg failed on ${what}: ${tail || cause.message}`, { cause }));
    });
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
  if (scene) graph.push(`[0:v:0]select='gt(scene,${scene.threshold.toFixed(4)})',metadata=mode=print:file=scenes.txt[scenes]`);
  if (silence) {
    graph.push(
      `[0:a:0]silencedetect=noise=${silence.noiseDb.toFixed(1)}dB:duration=${silence.minSec.toFixed(3)},ametadata=mode=print:file=silences.txt[silences]`,
    );
  }
  const args = ['-nostdin', '-i', inputUrl(input), '-y', '-filter_complex', graph.join(';')];
  if (scene) args.push('-map', '[scenes]', '-f', 'null', '/dev/null');
  if (silence) args.push('-map', '[silences]', '-f', 'null', '/dev/null');
  await runCommand(args, workDir, signal, 'media-analysis-failed', 'scene/silence analysis');

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
const WAV_RATE = 16000;

/**
 * One ffmpeg process for many segments of a clip, decoding the input once over the segments'
 * window, with as little per-segment work inside ffmpeg as possible (measured: per-segment filter
 * branches cost ~35% over a plain ffmpeg command):
 * - keyframes: one `select` over the union of every segment's target times, written as one JPEG
 *   sequence and handed out to the segments afterwards by their printed times;
 * - audio: one 16 kHz mono WAV of the window, sliced per segment here (PCM slicing is exact);
 * - copy cuts: one seeked extra input each, stream-copied, in the same process;
 * - accurate cuts: a trim branch each (they re-encode anyway).
 * Returns each segment's keyframe times (seconds from the segment start), in file order, and how
 * many ffmpeg processes ran.
 */
export async function extractClipMedia(options: ExtractClipOptions): Promise<{ frameTimes: number[][]; processes: number }> {
  const { input, segments, workDir, signal } = options;
  const frameTimes: number[][] = segments.map(() => []);
  if (segments.length === 0) return { frameTimes, processes: 0 };
  const wantsFrames = options.hasVideo ? segments.filter((s) => s.frames && s.frames.targets.length > 0) : [];
  const wantsWav = options.hasAudio ? segments.filter((s) => s.wavPath) : [];
  const accurate = options.hasVideo || options.hasAudio ? segments.filter((s) => s.accurateCutPath) : [];
  const copies = segments.filter((s) => s.copyCutPath);
  const decoded = [...wantsFrames, ...wantsWav, ...accurate];
  const windowStart = decoded.length ? Math.min(...decoded.map((s) => s.start)) : 0;
  const windowEnd = decoded.length ? Math.max(...decoded.map((s) => s.end)) : 0;
  const num = (value: number) => value.toFixed(6);
  const jpeg = wantsFrames[0]?.frames;
  if (wantsFrames.some((s) => s.frames!.height !== jpeg!.height || s.frames!.quality !== jpeg!.quality)) {
    throw new Error('extractClipMedia: every segment of one call must share the keyframe size and quality');
  }

  // One decoder thread: the run keeps every core busy with segments and clips already, and on short
  // clips decoder threads cost more to start and sync than they save (measured: 8–16% of this
  // command's CPU on a 4 s 640x360 clip). Decoding is bit-exact at any thread count.
  const inputs = ['-nostdin', '-threads', '1', '-ss', windowStart.toFixed(3), '-t', Math.max(0.04, windowEnd - windowStart).toFixed(3), '-i', inputUrl(input)];
  const videoBranches: string[] = [];
  const audioBranches: string[] = [];
  /** Each output's options, its path last. */
  const outputs: string[][] = [];

  if (jpeg) {
    // The first frame at or after each target; `prev_t` is NaN for the first frame.
    const targets = [...new Set(wantsFrames.flatMap((s) => s.frames!.targets.map((t) => round(s.start - windowStart + t, 6))))].sort((a, b) => a - b);
    const pick = targets.map((t) => `(isnan(prev_t)+lt(prev_t,${num(t)}))*gte(t,${num(t)})`).join('+');
    videoBranches.push(
      `[kfin]select='${pick}',metadata=mode=add:key=emoforge.keyframe:value=1,metadata=mode=print:file=keyframes.txt,scale=-2:${jpeg.height}:flags=bicubic[kf]`,
    );
    outputs.push([
      '-map',
      '[kf]',
      '-fps_mode',
      'passthrough',
      '-q:v',
      String(jpeg.quality),
      '-start_number',
      '0',
      ...BITEXACT,
      '-flags:v',
      '+bitexact',
      '-threads',
      '1',
      '-y',
      join(workDir, 'keyframe-%05d.jpg'),
    ]);
  }
  if (wantsWav.length) {
    audioBranches.push('[wavin]anull[wav]');
    outputs.push([
      '-map',
      '[wav]',
      '-ac',
      '1',
      '-ar',
      String(WAV_RATE),
      '-c:a',
      'pcm_s16le',
      ...BITEXACT,
      '-flags:a',
      '+bitexact',
      '-y',
      join(workDir, 'window.wav'),
    ]);
  }
  for (const [index, segment] of accurate.entries()) {
    const s = segment.start - windowStart;
    const e = Math.max(segment.end - windowStart, s + 0.001);
    const maps: string[] = [];
    if (options.hasVideo) {
      videoBranches.push(`[c${index}vin]trim=start=${num(s)}:end=${num(e)},setpts=PTS-STARTPTS[c${index}v]`);
      maps.push(
        '-map',
        `[c${index}v]`,
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '20',
        '-pix_fmt',
        'yuv420p',
        '-flags:v',
        '+bitexact',
        '-threads',
        '1',
      );
    }
    if (options.hasAudio) {
      audioBranches.push(`[c${index}ain]atrim=start=${num(s)}:end=${num(e)},asetpts=PTS-STARTPTS[c${index}a]`);
      maps.push('-map', `[c${index}a]`, '-c:a', 'aac', '-b:a', '128k', '-flags:a', '+bitexact');
    }
    const path = segment.accurateCutPath!;
    outputs.push([...maps, ...BITEXACT, '-movflags', '+faststart', '-f', 'mp4', '-y', path]);
  }
  // Copy cuts each start at the keyframe before their span (so they cover it whole): one seeked
  // extra input per cut in the same process, stream-copied.
  let inputCount = 1;
  for (const segment of copies) {
    const inputIndex = inputCount++;
    inputs.push('-nostdin', '-ss', segment.start.toFixed(3), '-t', Math.max(0.04, segment.end - segment.start).toFixed(3), '-i', inputUrl(input));
    const path = segment.copyCutPath!;
    outputs.push(['-map', `${inputIndex}:v:0?`, '-map', `${inputIndex}:a:0?`, '-c', 'copy', ...BITEXACT, '-y', path]);
  }
  const graph: string[] = [];
  const splitInto = (source: string, filter: 'split' | 'asplit', branches: string[]) => {
    if (branches.length === 0) return;
    const labels = branches.map((b) => /^\[([^\]]+)\]/.exec(b)![1]);
    graph.push(
      labels.length === 1
        ? `${source}${filter === 'split' ? 'null' : 'anull'}[${labels[0]}]`
        : `${source}${filter}=${labels.length}${labels.map((l) => `[${l}]`).join('')}`,
      ...branches,
    );
  };
  splitInto('[0:v:0]', 'split', videoBranches);
  splitInto('[0:a:0]', 'asplit', audioBranches);
  if (outputs.length === 0) return { frameTimes, processes: 0 };
  const args = [...inputs, '-y', ...(graph.length ? ['-filter_complex', graph.join(';')] : []), ...outputs.flat()];
  await runCommand(args, workDir, signal, 'media-extract-failed', `${segments[0].start}-${segments[segments.length - 1].end}s (${segments.length} segments)`);

  if (wantsWav.length)
    await sliceWav(
      join(workDir, 'window.wav'),
      wantsWav.map((s) => ({ from: s.start - windowStart, to: s.end - windowStart, path: s.wavPath! })),
    );
  if (jpeg) {
    const printed = await readPrinted(join(workDir, 'keyframes.txt'));
    const files = (await readdir(workDir)).filter((f) => f.startsWith('keyframe-') && f.endsWith('.jpg')).sort();
    const frames = printed.slice(0, files.length).map((f, i) => ({ time: f.time, file: join(workDir, files[i]) }));
    for (const [index, segment] of segments.entries()) {
      if (!segment.frames || !wantsFrames.includes(segment)) continue;
      const s = segment.start - windowStart;
      const e = segment.end - windowStart;
      const chosen: typeof frames = [];
      for (const target of segment.frames.targets) {
        const frame = frames.find((f) => f.time >= round(s + target, 6) - 1e-6 && f.time < e);
        if (frame && !chosen.includes(frame)) chosen.push(frame);
      }
      // Hard links: a keyframe shared by overlapping segments is one file until the store takes it.
      for (const [k, frame] of chosen.entries()) await link(frame.file, segment.frames.pattern.replace('%02d', String(k).padStart(2, '0')));
      frameTimes[index] = chosen.map((f) => round(Math.max(0, f.time - s), 3));
    }
  }
  return { frameTimes, processes: 1 };
}

/** Cuts spans out of a 16 kHz mono s16le WAV into their own WAV files, reading only the spans. */
async function sliceWav(path: string, spans: readonly { from: number; to: number; path: string }[]): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let offset = 12;
    let dataStart = -1;
    let dataBytes = 0;
    while (offset + 8 <= bytesRead) {
      const id = head.toString('latin1', offset, offset + 4);
      const size = head.readUInt32LE(offset + 4);
      if (id === 'data') {
        dataStart = offset + 8;
        dataBytes = size;
        break;
      }
      offset += 8 + size + (size % 2);
    }
    if (dataStart < 0) throw new RecordError('media-extract-failed', `ffmpeg wrote no data chunk in ${path}`);
    const total = Math.min(dataBytes, (await handle.stat()).size - dataStart) >> 1;
    for (const span of spans) {
      const first = Math.min(total, Math.max(0, Math.round(span.from * WAV_RATE)));
      const last = Math.min(total, Math.max(first, Math.round(span.to * WAV_RATE)));
      const body = Buffer.alloc((last - first) * 2);
      if (body.length) await handle.read(body, 0, body.length, dataStart + first * 2);
      await writeFile(span.path, Buffer.concat([pcm16WavHeader(body.length, WAV_RATE), body]));
    }
  } finally {
    await handle.close();
  }
}
