// Face tracking benchmark: cues.visual's worker (face-api on the tfjs WASM backend, one thread) on a
// 10 s 640x360 clip with one face (the astronaut portrait, panning) and one with three (face-api's
// demo/sample1.jpg, panning), milliseconds per analysed frame for detection, landmarks, expressions
// and descriptors, and CPU seconds per second of video; then the offline demo pipeline (manifest
// transcripts) on 4 s clips, timed with /usr/bin/time; then the speaker-finding figure of the
// real-photo test clips. CPU time, never wall time, so a busy machine does not hide the cost: the
// worker threads' CPU comes from process.cpuUsage() (all threads of this process), ffmpeg's decoding
// from /usr/bin/time on the same ffmpeg command.
//
//   npx tsx scripts/bench/faces.ts [--runs 2] [--clips 12] [--speaker-clips 22] [--detector tiny] [--fps 8]
//     [--detect-every N] [--steady-detect-every N] [--input-size 320] [--landmarks full|tiny] [--expression-frames detection|all]
//     [--tracking-only | --pipeline-only]
//
// The last four lines are always:
//   tracking one-face: N.Nx realtime per core
//   tracking three-face: N.Nx realtime per core
//   offline pipeline: N clips per core-hour
//   speaker found: N% of M clips
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { decodeWav } from '../../pipelines/media/wav.ts';
import { cuesVisual, trackSettings } from '../../stages/cues/visual.ts';
import { closeFaceWorkers, trackFaces, type FaceTrackAnalysis, type TrackJob } from '../../stages/cues/visual-worker.ts';
import { REPO, sampleClips } from '../../tests/helpers.ts';
import { CLIP_HEIGHT, CLIP_WIDTH, faceInClip, photoFaces, planClips, shotAt, talkingClip } from '../talking-faces.ts';
import { findFaceImage } from '../face-image.ts';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    clips: { type: 'string', default: '12' },
    'speaker-clips': { type: 'string', default: '22' },
    detector: { type: 'string', default: 'tiny' },
    fps: { type: 'string', default: '8' },
    'detect-every': { type: 'string' },
    'steady-detect-every': { type: 'string' },
    'input-size': { type: 'string' },
    landmarks: { type: 'string' },
    'expression-frames': { type: 'string' },
    'tracking-only': { type: 'boolean', default: false },
    'pipeline-only': { type: 'boolean', default: false },
  },
});
const runs = positive('runs');
const pipelineClips = positive('clips');
const speakerClips = positive('speaker-clips');
const fps = Number(args.fps);
if (args.detector !== 'tiny' && args.detector !== 'ssd') throw new Error(`--detector must be tiny or ssd, got ${args.detector}`);

function positive(name: keyof typeof args): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer, got ${args[name]}`);
  return value;
}

/** The stage config the bench measures: its defaults, with the options given. */
function settings(): Record<string, unknown> {
  return {
    detector: args.detector,
    analysisFps: fps,
    ...(args['detect-every'] ? { detectEvery: Number(args['detect-every']) } : {}),
    ...(args['steady-detect-every'] ? { steadyDetectEvery: Number(args['steady-detect-every']) } : {}),
    ...(args['input-size'] ? { tinyInputSize: Number(args['input-size']) } : {}),
    ...(args.landmarks ? { landmarks: args.landmarks } : {}),
    ...(args['expression-frames'] ? { expressionFrames: args['expression-frames'] } : {}),
  };
}

const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-faces-'));

/** user + sys CPU seconds of a command and the children it waited for, from /usr/bin/time. */
async function cpuOf(command: string, argv: readonly string[], cwd = REPO): Promise<number> {
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-v', command, ...argv], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${command} exited ${code}:\n${text.slice(-2000)}`))));
  });
  const field = (name: string) => Number(new RegExp(`${name}: ([0-9.]+)`).exec(stderr)?.[1]);
  return field('User time \\(seconds\\)') + field('System time \\(seconds\\)');
}

/** A 10 s 640x360 clip panning slowly across `image` (scaled to `scale` px wide, the window's top at `top` of the spare height), with flite speech. */
async function panningClip(name: string, image: string, scale: number, top: number): Promise<string> {
  const path = join(work, `${name}.mp4`);
  const speech = join(work, `${name}.wav`);
  await exec('flite', ['-voice', 'slt', '-t', 'We walked along the river for an hour and then we sat on the bench and talked about the summer.', '-o', speech]);
  await exec('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-loop',
    '1',
    '-i',
    image,
    '-i',
    speech,
    '-filter_complex',
    `[0:v]scale=${scale}:-2,crop=640:360:'(iw-640)*t/10':'(ih-360)*${top}',fps=25,format=yuv420p[v];[1:a]apad[a]`,
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-t',
    '10',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-c:a',
    'aac',
    path,
  ]);
  return path;
}

async function speechOf(path: string): Promise<TrackJob['speech']> {
  const wav = join(work, 'speech-16k.wav');
  await exec('ffmpeg', ['-loglevel', 'error', '-y', '-i', path, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', wav]);
  const decoded = decodeWav(await readFile(wav));
  return { samples: decoded.samples, sampleRate: decoded.sampleRate };
}

interface Tracking {
  readonly label: string;
  readonly frames: number;
  readonly detections: number;
  readonly descriptors: number;
  readonly tracks: number;
  readonly msPerFrame: Record<string, number>;
  readonly cpuPerVideoSecond: number;
  readonly realtime: number;
}

async function measureTracking(label: string, path: string): Promise<Tracking> {
  const defaults = cuesVisual.configSchema.parse(settings());
  const job: TrackJob = {
    label,
    input: path,
    start: 0,
    end: 10,
    width: 640,
    height: 360,
    ...trackSettings(defaults),
    speech: await speechOf(path),
    cropTimes: [1.25, 3.75, 6.25, 8.75],
    crop: { ...defaults.crop, quality: 90 },
  };
  const signal = new AbortController().signal;
  await trackFaces(job, signal); // loads the models
  const before = process.cpuUsage();
  let last: FaceTrackAnalysis | undefined;
  const steps: Record<string, number> = {};
  for (let run = 0; run < runs; run++) {
    last = await trackFaces(job, signal);
    for (const [step, ms] of Object.entries(last.timings)) steps[step] = (steps[step] ?? 0) + ms;
  }
  const used = process.cpuUsage(before);
  // ffmpeg decodes in a child process: its CPU, measured on the same command.
  const decodeCpu = await cpuOf('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-ss',
    '0',
    '-t',
    '10',
    '-i',
    path,
    '-an',
    '-sn',
    '-vf',
    `fps=${job.fps},scale=640:360:flags=bilinear`,
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    '-y',
    '/dev/null',
  ]);
  const cpu = (used.user + used.system) / 1e6 / runs + decodeCpu;
  const frames = last!.frameCount;
  return {
    label,
    frames,
    detections: last!.detections,
    descriptors: last!.descriptorsComputed,
    tracks: last!.tracks.length,
    msPerFrame: Object.fromEntries(Object.entries(steps).map(([step, ms]) => [step, ms / runs / frames])),
    cpuPerVideoSecond: cpu / 10,
    realtime: 10 / cpu,
  };
}

/** The demo pipeline, cold, with manifest transcripts, on `count` 4 s sample clips: clips per CPU hour. */
async function pipelineRate(count: number): Promise<{ cpu: number; perCoreHour: number }> {
  const input = await sampleClips(count);
  const config = join(work, 'demo-manifest.yaml');
  const demo = await readFile(join(REPO, 'configs', 'demo.yaml'), 'utf8');
  if (!/engine: pocketsphinx/.test(demo)) throw new Error('configs/demo.yaml no longer sets transcribe engine pocketsphinx; update the bench');
  await writeFile(config, demo.replace(/engine: pocketsphinx/, 'engine: manifest'));
  const cpu = await cpuOf(process.execPath, [
    join(REPO, 'scripts', 'emoforge.mjs'),
    'run',
    config,
    '--input',
    input,
    '--out',
    join(work, 'out'),
    '--store',
    join(work, 'store'),
  ]);
  await rm(input, { recursive: true, force: true });
  return { cpu, perCoreHour: (count / cpu) * 3600 };
}

/** The real-photo speaker clips of tests/stages/cues/visual.test.ts (same seed): share where the speaking face is named. */
async function speakerFound(count: number): Promise<{ found: number; clips: number }> {
  const plans = await planClips(13, { speaking: count, cuts: 0, croppedOut: 0 });
  const defaults = cuesVisual.configSchema.parse(settings());
  let found = 0;
  for (const plan of plans.speaking) {
    const clip = await talkingClip(plan);
    const wav = decodeWav(await readFile(clip.wav));
    const analysis = await trackFaces(
      {
        label: clip.name,
        input: clip.video,
        start: 0,
        end: clip.duration,
        width: CLIP_WIDTH,
        height: CLIP_HEIGHT,
        ...trackSettings(defaults),
        speech: { samples: wav.samples, sampleRate: wav.sampleRate },
        cropTimes: [],
        crop: { ...defaults.crop, enabled: false, quality: 90 },
      },
      new AbortController().signal,
    );
    const track = analysis.tracks.find((t) => t.id === analysis.speaker.track);
    if (!track) continue;
    const photo = await photoFaces(plan.speaker.photo);
    const hits = track.frames.filter((f) => {
      const time = f.index / analysis.fps;
      const box = faceInClip(photo, plan.speaker.face, shotAt(clip.shots, time), time);
      if (!box) return false;
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      return cx >= f.box.x && cx <= f.box.x + f.box.width && cy >= f.box.y && cy <= f.box.y + f.box.height;
    }).length;
    if (hits / track.frames.length >= 0.8) found++;
  }
  return { found, clips: plans.speaking.length };
}

try {
  if (args['pipeline-only']) {
    const pipeline = await pipelineRate(pipelineClips);
    console.log(`demo pipeline, manifest transcripts, ${pipelineClips} clips of 4 s, cold: ${pipeline.cpu.toFixed(1)} CPU s (/usr/bin/time)`);
    console.log(`offline pipeline: ${Math.round(pipeline.perCoreHour)} clips per core-hour`);
    process.exit(0);
  }
  const oneFace = await measureTracking('one-face', await panningClip('one-face', await findFaceImage(), 760, 0.05));
  const threeFace = await measureTracking(
    'three-face',
    await panningClip('three-face', join(REPO, 'node_modules/@vladmandic/face-api/demo/sample1.jpg'), 1100, 0.3),
  );
  if (args['tracking-only']) {
    for (const t of [oneFace, threeFace])
      console.log(
        `${t.label}: ${t.realtime.toFixed(2)}x realtime per core, ms/frame ${JSON.stringify(Object.fromEntries(Object.entries(t.msPerFrame).map(([k, v]) => [k, Math.round(v * 10) / 10])))}, detections ${t.detections}, tracks ${t.tracks}`,
      );
    process.exit(0);
  }
  const speaker = await speakerFound(speakerClips);
  await closeFaceWorkers();
  const pipeline = await pipelineRate(pipelineClips);

  console.log(`settings ${JSON.stringify(settings())}, 640x360, one worker thread, WASM backend (1 thread), ${runs} runs after a warm-up\n`);
  const steps = ['decode', 'detect', 'landmarks', 'expressions', 'descriptors', 'other'];
  console.log(['', 'one-face', 'three-face'].map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(12))).join(''));
  const row = (label: string, cell: (t: Tracking) => string) =>
    console.log([label.padEnd(34), ...[oneFace, threeFace].map((t) => cell(t).padStart(12))].join(''));
  row('analysed frames', (t) => String(t.frames));
  row('faces analysed / descriptors computed', (t) => `${t.detections}/${t.descriptors}`);
  row('tracks', (t) => String(t.tracks));
  for (const step of steps) row(`ms / frame: ${step} (worker wall)`, (t) => t.msPerFrame[step].toFixed(1));
  row('CPU s / s of video (+ ffmpeg)', (t) => t.cpuPerVideoSecond.toFixed(3));
  console.log(`\ndemo pipeline, manifest transcripts, ${pipelineClips} clips of 4 s, cold: ${pipeline.cpu.toFixed(1)} CPU s (/usr/bin/time)`);
  console.log(`goals: tracking >= 4x (one face) and >= 2x (three faces) realtime per core; >= 2000 clips per core-hour; speaker found >= 90%\n`);
  console.log(`tracking one-face: ${oneFace.realtime.toFixed(1)}x realtime per core`);
  console.log(`tracking three-face: ${threeFace.realtime.toFixed(1)}x realtime per core`);
  console.log(`offline pipeline: ${Math.round(pipeline.perCoreHour)} clips per core-hour`);
  console.log(`speaker found: ${Math.round((100 * speaker.found) / speaker.clips)}% of ${speaker.clips} clips`);
} finally {
  await closeFaceWorkers();
  await rm(work, { recursive: true, force: true });
}
