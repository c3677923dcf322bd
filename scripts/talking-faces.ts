// Multi-person clips with a known speaker, built from the real group photos face-api ships
// (demo/sample1.jpg … sample6.jpg, 3–5 people each). A camera window pans and zooms across a photo
// (faces move, grow, and leave the frame), optionally cutting between photos; one chosen face's
// mouth opens and closes with a flite utterance (the jaw below the lips is stretched down by the
// speech envelope and the gap painted as a mouth interior), every other face stays still.
// The faces of each photo (boxes and lip landmarks) were found with face-api's SSD detector and
// full landmark net on a still of the photo at PHOTO_WIDTH, and are recorded in
// talking-faces.photos.json with the face-api version and each photo's sha256 (re-record with
// `npx tsx scripts/record-photo-faces.ts`); for a photo or a face-api release the record does not
// match, they are found again with the stage's own worker (cached under the OS temp dir).
// talkingClip caches whole clips there too, so the cues.visual measurements make each clip once per
// machine; `emoforge sample-clips --people` plans its own shots and writes with writeTalkingVideo.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { decodeWav, pcm16WavHeader, type DecodedWav } from '../pipelines/media/wav.ts';
import { mulberry32 } from '../pipelines/random.ts';
import type { Box } from '../stages/cues/face-tracks.ts';
import { trackFaces } from '../stages/cues/visual-worker.ts';

const run = promisify(execFile);

/** Photos are scaled to this width before anything else. */
export const PHOTO_WIDTH = 1280;
/** Output clip size and frame rate. */
export const CLIP_WIDTH = 384;
export const CLIP_HEIGHT = 216;
export const CLIP_FPS = 16;
/** Silence before and after the utterance, seconds. */
const LEAD_SEC = 0.3;

const SENTENCES = [
  'I really did not expect to see you here today.',
  'We have to leave before the storm gets any worse.',
  'That was the best meal I have had in years.',
  'Please tell me you remembered to bring the tickets.',
  'Nobody listens to a word I say in this house.',
  'Look at the sky, it is turning a deep shade of red.',
  'I think we should talk about what happened last night.',
  'You will never guess who called me this morning.',
];

export interface PhotoFace {
  /** face box and lip bounds, in pixels of the photo at PHOTO_WIDTH */
  readonly box: Box;
  readonly mouth: Box;
}

export interface Photo {
  readonly number: number;
  readonly width: number;
  readonly height: number;
  readonly faces: readonly PhotoFace[];
}

/** A camera window in photo pixels (16:9). */
export interface Window {
  readonly x: number;
  readonly y: number;
  readonly width: number;
}

export interface Shot {
  readonly photo: number;
  readonly start: number;
  readonly end: number;
  readonly from: Window;
  readonly to: Window;
}

export interface TalkingClip {
  readonly name: string;
  readonly video: string;
  /** 16 kHz mono s16le WAV of the clip (what the segment stage makes) */
  readonly wav: string;
  readonly duration: number;
  readonly shots: readonly Shot[];
  /** the photo and face index that speaks */
  readonly speaker: { readonly photo: number; readonly face: number };
}

export interface ClipPlan {
  readonly name: string;
  readonly shots: readonly Shot[];
  readonly speaker: { readonly photo: number; readonly face: number };
  readonly sentence: string;
}

const here = fileURLToPath(import.meta.url);

/** Cache folder keyed by this generator's source and the face-api version. */
async function cacheDir(): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(here))
    .update(await faceApiVersion())
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `emoforge-talking-faces-${key}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export function photoPath(number: number): string {
  return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', `sample${number}.jpg`);
}

const photoCache = new Map<number, Promise<{ raw: Buffer; width: number; height: number }>>();

function photoPixels(number: number): Promise<{ raw: Buffer; width: number; height: number }> {
  let loading = photoCache.get(number);
  if (!loading) {
    loading = sharp(photoPath(number))
      .metadata()
      .then((meta) => sharp(photoPath(number)).resize(PHOTO_WIDTH, 2 * Math.round((meta.height! * PHOTO_WIDTH) / meta.width! / 2), { fit: 'fill' }))
      .then((image) =>
        image
          .removeAlpha()
          .raw()
          .toBuffer({ resolveWithObject: true })
          .then(({ data, info }) => ({ raw: data, width: info.width, height: info.height })),
      );
    photoCache.set(number, loading);
  }
  return loading;
}

/** Where the faces of the six photos are recorded (next to this module, in the sources and the compiled copy). */
export const PHOTOS_RECORD = join(dirname(here), 'talking-faces.photos.json');

/** The record: the face-api release whose photos and nets found the faces, and per photo its bytes' sha256 and faces. */
export interface PhotosRecord {
  readonly faceApi: string;
  readonly photos: Record<string, Photo & { readonly sha256: string }>;
}

async function faceApiVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  return (JSON.parse(await readFile(require.resolve('@vladmandic/face-api/package.json'), 'utf8')) as { version: string }).version;
}

let recorded: Promise<PhotosRecord | null> | undefined;

/** The photo as recorded, or null when the record is missing or was made from another face-api release or other bytes. */
export async function recordedPhoto(number: number): Promise<Photo | null> {
  recorded ??= readFile(PHOTOS_RECORD, 'utf8').then(
    (text) => JSON.parse(text) as PhotosRecord,
    () => null,
  );
  const record = await recorded;
  const entry = record?.photos[String(number)];
  if (!record || !entry || record.faceApi !== (await faceApiVersion())) return null;
  if (
    createHash('sha256')
      .update(await readFile(photoPath(number)))
      .digest('hex') !== entry.sha256
  )
    return null;
  return { number: entry.number, width: entry.width, height: entry.height, faces: entry.faces };
}

/** The faces of photo `number`: as recorded when the record matches, else found by the stage's worker (SSD, full landmarks) on a still of it and cached. */
export async function photoFaces(number: number): Promise<Photo> {
  return (await recordedPhoto(number)) ?? detectPhotoFaces(number);
}

/** Finds the faces of photo `number` with the stage's worker (SSD, full landmarks) on a still of it; cached under the OS temp dir. */
export async function detectPhotoFaces(number: number): Promise<Photo> {
  const dir = await cacheDir();
  const file = join(dir, `photo-${number}.json`);
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Photo;
  const { width, height } = await photoPixels(number);
  const still = join(dir, `photo-${number}.mp4`);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-loop',
    '1',
    '-i',
    photoPath(number),
    '-t',
    '0.5',
    '-r',
    '4',
    '-vf',
    `scale=${width}:${height}`,
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    '-crf',
    '12',
    still,
  ]);
  const analysis = await trackFaces(
    {
      label: `photo ${number}`,
      input: still,
      start: 0,
      end: 0.25,
      fps: 4,
      width,
      height,
      faces: { detector: 'ssd', minConfidence: 0.5, tinyInputSize: 416, landmarks: 'full', minFacePx: 40, detectEvery: 1, expressionFrames: 'all' },
      tracking: { minIou: 0.3, maxDescriptorDistance: 0.55, maxGapFrames: 2, cutThreshold: 30 },
      speaker: { minConfidence: 0.2, minCoverage: 0.5 },
      speech: null,
      cropTimes: [],
      crop: { enabled: false, size: 224, margin: 0.25, quality: 90 },
    },
    new AbortController().signal,
  );
  const faces = analysis.tracks
    .map((t) => t.frames[0])
    .map((f) => ({ box: round(f.box), mouth: round(f.mouth) }))
    .sort((a, b) => a.box.x - b.box.x);
  const photo: Photo = { number, width, height, faces };
  await writeFile(`${file}.partial`, JSON.stringify(photo));
  await rename(`${file}.partial`, file);
  return photo;
}

function round(box: Box): Box {
  return { x: Math.round(box.x), y: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) };
}

export function windowAt(shot: Shot, time: number): Window {
  const k = shot.end > shot.start ? Math.min(1, Math.max(0, (time - shot.start) / (shot.end - shot.start))) : 0;
  return {
    x: shot.from.x + (shot.to.x - shot.from.x) * k,
    y: shot.from.y + (shot.to.y - shot.from.y) * k,
    width: shot.from.width + (shot.to.width - shot.from.width) * k,
  };
}

export function shotAt(shots: readonly Shot[], time: number): Shot {
  return shots.find((s) => time >= s.start && time < s.end) ?? shots[shots.length - 1];
}

/** Where face `face` of the shot's photo is at `time`, in clip pixels (its box), or null when its centre is outside the frame. */
export function faceInClip(photo: Photo, face: number, shot: Shot, time: number): Box | null {
  const win = windowAt(shot, time);
  const scale = CLIP_WIDTH / win.width;
  const b = photo.faces[face].box;
  const box = { x: (b.x - win.x) * scale, y: (b.y - win.y) * scale, width: b.width * scale, height: b.height * scale };
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return cx >= 0 && cx < CLIP_WIDTH && cy >= 0 && cy < CLIP_HEIGHT ? box : null;
}

/** A random window of width in [minShare, maxShare] of the photo that holds `keep` faces whole and leaves `avoid` faces out; null when none is found. */
export function randomWindow(
  photo: Photo,
  random: () => number,
  options: { keep: number[]; avoid?: number[]; minShare: number; maxShare: number },
): Window | null {
  for (let attempt = 0; attempt < 200; attempt++) {
    const width = photo.width * (options.minShare + (options.maxShare - options.minShare) * random());
    const height = (width * 9) / 16;
    if (height > photo.height) continue;
    const x = random() * (photo.width - width);
    const y = random() * (photo.height - height);
    const inside = (f: PhotoFace, margin: number) =>
      f.box.x >= x + margin && f.box.x + f.box.width <= x + width - margin && f.box.y >= y + margin && f.box.y + f.box.height <= y + height - margin;
    const outside = (f: PhotoFace) => f.box.x + f.box.width <= x || f.box.x >= x + width || f.box.y + f.box.height <= y || f.box.y >= y + height;
    if (!options.keep.every((i) => inside(photo.faces[i], width * 0.03))) continue;
    if (!(options.avoid ?? []).every((i) => outside(photo.faces[i]))) continue;
    return { x, y, width };
  }
  return null;
}

function outsideWindow(face: PhotoFace, win: Window): boolean {
  const height = (win.width * 9) / 16;
  return face.box.x + face.box.width <= win.x || face.box.x >= win.x + win.width || face.box.y + face.box.height <= win.y || face.box.y >= win.y + height;
}

/** Makes (or finds in the cache) the clip of `plan`. */
export async function talkingClip(plan: ClipPlan): Promise<TalkingClip> {
  const dir = await cacheDir();
  const id = createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16);
  const video = join(dir, `${plan.name}-${id}.mp4`);
  const wav = join(dir, `${plan.name}-${id}.wav`);
  const duration = plan.shots[plan.shots.length - 1].end;
  const clip: TalkingClip = { name: plan.name, video, wav, duration, shots: plan.shots, speaker: plan.speaker };
  if (existsSync(video) && existsSync(wav)) return clip;

  const work = join(dir, `work-${id}-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    const utterance = join(work, 'utterance.wav');
    await run('flite', ['-voice', 'slt', '-t', plan.sentence, '-o', join(work, 'raw.wav')]);
    const padded = padUtterance(decodeWav(await readFile(join(work, 'raw.wav'))), duration);
    if (padded) await writeFile(utterance, padded);
    else await padWithFfmpeg(join(work, 'raw.wav'), duration, utterance);
    const partial = `${video}.${process.pid}.partial.mp4`;
    await writeTalkingVideo(plan, utterance, duration, partial);
    await rename(utterance, wav);
    await rename(partial, video);
    return clip;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const UTTERANCE_RATE = 16_000;

/**
 * flite's 16 kHz mono utterance with LEAD_SEC of silence before it, padded with silence or cut to
 * `duration`, as a 16-bit WAV: the samples ffmpeg's `adelay,apad -t` gives, without starting it.
 * Null for any other rate or layout (then ffmpeg does it).
 */
export function padUtterance(speech: DecodedWav, duration: number): Buffer | null {
  if (speech.sampleRate !== UTTERANCE_RATE || speech.channels !== 1) return null;
  const lead = Math.round(LEAD_SEC * UTTERANCE_RATE);
  const frames = Math.round(duration * UTTERANCE_RATE);
  const out = Buffer.concat([pcm16WavHeader(frames * 2, UTTERANCE_RATE), Buffer.alloc(frames * 2)]);
  for (let i = 0; i < speech.samples.length && lead + i < frames; i++) out.writeInt16LE(Math.round(speech.samples[i] * 32768), 44 + (lead + i) * 2);
  return out;
}

export async function padWithFfmpeg(raw: string, duration: number, utterance: string): Promise<void> {
  const delayMs = Math.round(LEAD_SEC * 1000);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-i',
    raw,
    '-af',
    `adelay=${delayMs}|${delayMs},apad`,
    '-t',
    String(duration),
    '-ac',
    '1',
    '-ar',
    String(UTTERANCE_RATE),
    '-c:a',
    'pcm_s16le',
    utterance,
  ]);
}

/**
 * Encodes `plan`'s shots over `duration` seconds with the speaker's mouth following `utterance` (a
 * mono WAV already padded to the clip: its lead-in silence included) and that audio as AAC, to `out`.
 * Deterministic for one ffmpeg/x264 build (one encoder thread).
 */
export async function writeTalkingVideo(plan: Pick<ClipPlan, 'shots' | 'speaker'>, utterance: string, duration: number, out: string): Promise<void> {
  const speech = decodeWav(await readFile(utterance));
  const frames = Math.round(duration * CLIP_FPS);
  const levels = mouthLevels(speech.samples, speech.sampleRate, frames);

  const ffmpeg = spawn(
    'ffmpeg',
    [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${CLIP_WIDTH}x${CLIP_HEIGHT}`,
      '-r',
      String(CLIP_FPS),
      '-i',
      'pipe:0',
      '-i',
      utterance,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      '-threads',
      '1',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-t',
      String(duration),
      out,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  const done = new Promise<void>((resolve, reject) => {
    ffmpeg.on('error', reject);
    ffmpeg.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr}`))));
  });
  for (let i = 0; i < frames; i++) {
    const time = i / CLIP_FPS;
    const shot = shotAt(plan.shots, time);
    const { raw, width, height } = await photoPixels(shot.photo);
    const win = windowAt(shot, time);
    const region = { left: Math.round(win.x), top: Math.round(win.y), width: Math.round(win.width), height: Math.round((win.width * 9) / 16) };
    region.width = Math.min(region.width, width - region.left);
    region.height = Math.min(region.height, height - region.top);
    // The window's rows copied out first: sharp then reads the window, not the whole photo.
    const rowBytes = region.width * 3;
    const crop = Buffer.allocUnsafe(rowBytes * region.height);
    for (let y = 0; y < region.height; y++) {
      const from = ((region.top + y) * width + region.left) * 3;
      raw.copy(crop, y * rowBytes, from, from + rowBytes);
    }
    if (shot.photo === plan.speaker.photo) {
      const photo = await photoFaces(shot.photo);
      openMouth({ raw, width, height }, photo.faces[plan.speaker.face].mouth, levels[i], { pixels: crop, ...region });
    }
    const frame = await sharp(crop, { raw: { width: region.width, height: region.height, channels: 3 } })
      .resize(CLIP_WIDTH, CLIP_HEIGHT, { fit: 'fill' })
      .raw()
      .toBuffer();
    if (!ffmpeg.stdin.write(frame)) await new Promise((resolve) => ffmpeg.stdin.once('drain', resolve));
  }
  ffmpeg.stdin.end();
  await done;
}

/** Mouth opening 0..1 per video frame: the frame's RMS over the loudest frame's, compressed a little. */
function mouthLevels(samples: Float32Array, sampleRate: number, frames: number): number[] {
  const rms: number[] = [];
  for (let i = 0; i < frames; i++) {
    const from = Math.floor((i / CLIP_FPS) * sampleRate);
    const to = Math.min(samples.length, Math.floor(((i + 1) / CLIP_FPS) * sampleRate));
    let sum = 0;
    for (let j = from; j < to; j++) sum += samples[j] * samples[j];
    rms.push(to > from ? Math.sqrt(sum / (to - from)) : 0);
  }
  const loudest = Math.max(...rms, 1e-9);
  return rms.map((v) => Math.min(1, (v / loudest) ** 0.6));
}

/**
 * The photo with the mouth opened by `level` (0 closed … 1 wide), painted into `into`: a window of
 * the photo (its pixels already copied there), of which only the pixels inside are written. Below
 * the lips' centre line the face is stretched down (most at the lips, nothing at the bottom of the
 * region, so the chin and neck stay joined) and the gap is a dark mouth interior inside the lips'
 * width. Every pixel is read from the unchanged photo.
 */
export function openMouth(
  photo: { readonly raw: Buffer; readonly width: number; readonly height: number },
  mouth: Box,
  level: number,
  into: { readonly pixels: Buffer; readonly left: number; readonly top: number; readonly width: number; readonly height: number },
): void {
  const { raw, width, height } = photo;
  const drop = level * mouth.height * 1.1;
  if (drop < 0.5) return;
  const out = into.pixels;
  const cx = mouth.x + mouth.width / 2;
  const yc = Math.round(mouth.y + mouth.height * 0.5);
  const length = mouth.height * 3; // rows below the centre line that move
  const half = mouth.width * 0.8; // columns either side of the centre that move
  const innerHalf = mouth.width * 0.42;
  const fromX = Math.max(0, Math.floor(cx - half), into.left);
  const toX = Math.min(width - 1, Math.ceil(cx + half), into.left + into.width - 1);
  const fromY = Math.max(yc, into.top);
  const toY = Math.min(height, yc + length, into.top + into.height);
  for (let x = fromX; x <= toX; x++) {
    const taper = Math.cos((Math.PI / 2) * Math.min(1, Math.abs(x - cx) / half)) ** 2;
    const dx = drop * taper;
    if (dx < 0.5) continue;
    for (let y = fromY; y < toY; y++) {
      const o = ((y - into.top) * into.width + (x - into.left)) * 3;
      const offset = y - yc;
      if (offset < dx) {
        const ey = (offset - dx / 2) / (dx / 2);
        const ex = (x - cx) / innerHalf;
        if (ex * ex + ey * ey < 1) {
          out[o] = 58;
          out[o + 1] = 22;
          out[o + 2] = 26;
        } else {
          const from = (yc * width + x) * 3;
          out[o] = raw[from];
          out[o + 1] = raw[from + 1];
          out[o + 2] = raw[from + 2];
        }
      } else {
        // inverse of y = y' + dx * (1 - (y' - yc) / length)
        const source = yc + (offset - dx) / (1 - dx / length);
        const y0 = Math.min(height - 1, Math.floor(source));
        const y1 = Math.min(height - 1, y0 + 1);
        const f = source - y0;
        const o0 = (y0 * width + x) * 3;
        const o1 = (y1 * width + x) * 3;
        out[o] = raw[o0] * (1 - f) + raw[o1] * f;
        out[o + 1] = raw[o0 + 1] * (1 - f) + raw[o1 + 1] * f;
        out[o + 2] = raw[o0 + 2] * (1 - f) + raw[o1 + 2] * f;
      }
    }
  }
}

/** Plans of the measured clips: `count` speaker clips, cut clips and cropped-out clips, from one seed. */
export async function planClips(
  seed: number,
  counts: { speaking: number; cuts: number; croppedOut: number },
): Promise<{ speaking: ClipPlan[]; cuts: ClipPlan[]; croppedOut: ClipPlan[] }> {
  const random = mulberry32(seed);
  const photos = await Promise.all([1, 2, 3, 4, 5, 6].map(photoFaces));
  const usable = photos.filter((p) => p.faces.length >= 2);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const sentence = () => pick(SENTENCES);
  const durationOf = 3.2;

  const speaking: ClipPlan[] = [];
  while (speaking.length < counts.speaking) {
    const photo = pick(usable);
    const face = Math.floor(random() * photo.faces.length);
    const from = randomWindow(photo, random, { keep: [face], minShare: 0.35, maxShare: 0.7 });
    const to = randomWindow(photo, random, { keep: [face], minShare: 0.35, maxShare: 0.7 });
    if (!from || !to) continue;
    speaking.push({
      name: `speaking-${speaking.length}`,
      shots: [{ photo: photo.number, start: 0, end: durationOf, from, to }],
      speaker: { photo: photo.number, face },
      sentence: sentence(),
    });
  }

  const cuts: ClipPlan[] = [];
  while (cuts.length < counts.cuts) {
    const a = pick(usable);
    const b = pick(usable.filter((p) => p !== a));
    const face = Math.floor(random() * a.faces.length);
    const all = a.faces.map((_, i) => i);
    const winA = randomWindow(a, random, { keep: all, minShare: 0.8, maxShare: 1 }) ?? randomWindow(a, random, { keep: [face], minShare: 0.5, maxShare: 0.9 });
    const winB = randomWindow(b, random, { keep: [], minShare: 0.6, maxShare: 0.9 });
    if (!winA || !winB) continue;
    const third = 1.2;
    cuts.push({
      name: `cut-${cuts.length}`,
      shots: [
        { photo: a.number, start: 0, end: third, from: winA, to: winA },
        { photo: b.number, start: third, end: 2 * third, from: winB, to: winB },
        { photo: a.number, start: 2 * third, end: 3 * third, from: winA, to: winA },
      ],
      speaker: { photo: a.number, face },
      sentence: sentence(),
    });
  }

  const croppedOut: ClipPlan[] = [];
  let tries = 0;
  while (croppedOut.length < counts.croppedOut && tries++ < 1000) {
    const photo = pick(usable);
    const face = Math.floor(random() * photo.faces.length);
    const others = photo.faces.map((_, i) => i).filter((i) => i !== face);
    const keep = [pick(others)];
    const from = randomWindow(photo, random, { keep, avoid: [face], minShare: 0.3, maxShare: 0.6 });
    const to = randomWindow(photo, random, { keep, avoid: [face], minShare: 0.3, maxShare: 0.6 });
    if (!from || !to) continue;
    // The camera moves too, and the speaking face stays out of the frame all the way.
    const shot = { photo: photo.number, start: 0, end: durationOf, from, to };
    const steps = Array.from({ length: 17 }, (_, i) => (i / 16) * durationOf);
    if (steps.some((time) => !outsideWindow(photo.faces[face], windowAt(shot, time)))) continue;
    croppedOut.push({ name: `cropped-${croppedOut.length}`, shots: [shot], speaker: { photo: photo.number, face }, sentence: sentence() });
  }
  return { speaking, cuts, croppedOut };
}
