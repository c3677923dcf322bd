// Media benchmark: the segment stage against the same work done by bare ffmpeg, side by side in one
// run. The work: a 60 s 720p clip (lavfi testsrc + sine) cut into fixed 5 s windows, each with a
// 16 kHz mono WAV, 4 keyframes (360p JPEG) and a stream-copy cut. The baseline is the least a user
// would type: one ffmpeg command with three outputs (segment-muxed WAVs, fps-sampled JPEGs,
// segment-muxed copy cuts). Each side runs `--repeat` times, alternating, on a fresh store; the
// median wall time is reported with the realtime factor (seconds of media per second of work).
//
//   npx tsx scripts/bench/media.ts [--seconds 60] [--repeat 3] [--keep DIR]
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pino from 'pino';
import { sha256File } from '../../pipelines/fingerprint.ts';
import { probe } from '../../pipelines/media/ffmpeg.ts';
import type { StageContext } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import type { Clip, Segment } from '../../schemas/records.ts';
import { segment } from '../../stages/segment.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, repeat: { type: 'string', default: '3' }, keep: { type: 'string' } },
});
const seconds = Number(args.seconds);
const repeat = Number(args.repeat);
const WINDOW = 5;
const FRAMES = 4;

const root = args.keep ?? (await mkdtemp(join(tmpdir(), 'emoforge-bench-media-')));
await mkdir(root, { recursive: true });
const clipPath = join(root, 'clip.mp4');
const started = Date.now();
await run('ffmpeg', [
  '-nostdin',
  '-loglevel',
  'error',
  '-y',
  '-f',
  'lavfi',
  '-i',
  `testsrc=s=1280x720:r=25:d=${seconds}`,
  '-f',
  'lavfi',
  '-i',
  `sine=f=440:r=48000:d=${seconds}`,
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-g',
  '50',
  '-pix_fmt',
  'yuv420p',
  '-c:a',
  'aac',
  '-b:a',
  '128k',
  '-shortest',
  clipPath,
]);
console.log(`made a ${seconds} s 1280x720 clip (${((await stat(clipPath)).size / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const clip: Clip = {
  id: await sha256File(clipPath),
  uri: 'clip.mp4',
  name: 'clip',
  bytes: (await stat(clipPath)).size,
  probe: await probe(clipPath),
  manifest: {},
  partition: 0,
};
const config = segment.configSchema.parse({ strategy: 'fixed', windowSec: WINDOW, frames: FRAMES, cut: 'copy' });

async function ours(dir: string): Promise<{ ms: number; ffmpeg: number; outputs: string }> {
  const store = new LocalStore(join(dir, 'store'));
  let ffmpegRuns = 0;
  const ctx: StageContext = {
    store,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    work: { add: (kind, amount = 1) => void (kind === 'ffmpeg' && (ffmpegRuns += amount)) },
    flag: () => undefined,
    teachers: {
      forRole: () => {
        throw new Error('no teacher in the media bench');
      },
    },
    scratch: () => mkdtemp(join(dir, 'scratch-')),
    sourcePath: async () => clipPath,
  };
  const t0 = performance.now();
  const segments = (await segment.run(clip, config, ctx)) as Segment[];
  const ms = performance.now() - t0;
  const frames = segments.reduce((n, s) => n + (s.frames?.length ?? 0), 0);
  return { ms, ffmpeg: ffmpegRuns, outputs: `${segments.length} WAVs, ${frames} JPEGs, ${segments.filter((s) => s.video).length} cuts` };
}

/**
 * The same work with bare ffmpeg: one process writing the WAVs and keyframes, and copy cuts that
 * each cover their whole span (a seeked input per cut, as `-ss S -t D -i clip -c copy` does), the
 * cuts the stage makes. `segmentMuxer` instead cuts with `-f segment`, the shortest command, whose
 * pieces start at the keyframe after each boundary and so lose the start of their span: shown for
 * reference, not the same work.
 */
async function bare(dir: string, segmentMuxer = false): Promise<{ ms: number; ffmpeg: number; outputs: string }> {
  const t0 = performance.now();
  const windows = Math.ceil(seconds / WINDOW);
  const seekedInputs = segmentMuxer ? [] : Array.from({ length: windows }, (_, i) => ['-ss', String(i * WINDOW), '-t', String(WINDOW), '-i', clipPath]).flat();
  const cuts = segmentMuxer
    ? ['-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', '-f', 'segment', '-segment_time', String(WINDOW), '-reset_timestamps', '1', join(dir, 'c%03d.mp4')]
    : Array.from({ length: windows }, (_, i) => [
        '-map',
        `${i + 1}:v:0`,
        '-map',
        `${i + 1}:a:0`,
        '-c',
        'copy',
        join(dir, `c${String(i).padStart(3, '0')}.mp4`),
      ]).flat();
  await run('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-i',
    clipPath,
    ...seekedInputs,
    '-map',
    '0:a:0',
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'pcm_s16le',
    '-f',
    'segment',
    '-segment_time',
    String(WINDOW),
    join(dir, 'a%03d.wav'),
    '-map',
    '0:v:0',
    '-vf',
    `fps=${FRAMES / WINDOW},scale=-2:360`,
    '-q:v',
    '3',
    join(dir, 'f%04d.jpg'),
    ...cuts,
  ]);
  const ms = performance.now() - t0;
  const files = await readdir(dir);
  const count = (suffix: string) => files.filter((f) => f.endsWith(suffix)).length;
  return { ms, ffmpeg: 1, outputs: `${count('.wav')} WAVs, ${count('.jpg')} JPEGs, ${count('.mp4')} cuts` };
}

type Side = 'ours' | 'bare' | 'muxer';
const times: Record<Side, number[]> = { ours: [], bare: [], muxer: [] };
const described: Record<Side, string> = { ours: '', bare: '', muxer: '' };
const orders: Side[][] = [
  ['bare', 'ours', 'muxer'],
  ['ours', 'muxer', 'bare'],
  ['muxer', 'bare', 'ours'],
];
for (let i = 0; i < repeat; i++) {
  for (const side of orders[i % orders.length]) {
    const dir = await mkdtemp(join(root, `${side}-${i}-`));
    const result = side === 'ours' ? await ours(dir) : await bare(dir, side === 'muxer');
    times[side].push(result.ms);
    described[side] = `${result.outputs}, ${result.ffmpeg} ffmpeg process${result.ffmpeg === 1 ? '' : 'es'}`;
    await rm(dir, { recursive: true, force: true });
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const line = (name: string, ms: number, what: string) =>
  `${name.padEnd(24)} ${(ms / 1000).toFixed(2).padStart(6)} s   ${(seconds / (ms / 1000)).toFixed(1).padStart(5)}x realtime   ${what}`;
console.log(`median of ${repeat} runs each, order rotated:`);
console.log(line('segment stage', median(times.ours), described.ours));
console.log(line('bare ffmpeg (same cuts)', median(times.bare), described.bare));
console.log(line('bare ffmpeg (-f segment)', median(times.muxer), `${described.muxer}; pieces start at the keyframe after each boundary`));
console.log(`ratio stage / bare ffmpeg doing the same work: ${(median(times.ours) / median(times.bare)).toFixed(3)} (goal <= 1.10)`);
console.log(`ratio stage / bare ffmpeg with -f segment cuts: ${(median(times.ours) / median(times.muxer)).toFixed(3)}`);
if (!args.keep) await rm(root, { recursive: true, force: true });
