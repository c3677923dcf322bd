// Deterministic offline demo clips: a real face (the astronaut portrait, slowly zoomed and panned)
// speaking an emotional English sentence with flite, whose pitch, pitch range, rate and loudness
// follow the emotion. Same count → byte-identical MP4s and manifest.csv (same ffmpeg/flite build).
//
// Clip i is planned from i alone: the first 120 clips cycle 6 emotions × 4 sentences × 4 voices × 5
// camera moves as the generator always did; each later round of 120 repeats them with the sentence
// addressed to someone ("mary, …"), a slower or faster rate, a quieter voice, another pitch and
// another move, so that no two clips share a plan (up to MAX_SAMPLE_CLIPS).
//
// Speed: the video of each camera move is encoded once per run (MAX_CLIP_S long, no B-frames) and
// every clip takes its first frames with a stream copy; a clip costs one flite and one small ffmpeg
// (audio filters, AAC, mux). With `people`, clips are face-api's group photos instead, one face
// speaking (see talking-faces.ts); those encode every frame.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FatalError } from '../pipelines/errors.ts';
import { mulberry32 } from '../pipelines/random.ts';
import { findFaceImage } from './face-image.ts';

const execFileAsync = promisify(execFile);

export interface SampleClipsOptions {
  /** how many clips to write; default 12 (each emotion twice, each speaker three times) */
  readonly count?: number;
  /** index of the first clip (0-based): clips start … start + count - 1, the same bytes as in a set from 0; default 0 */
  readonly start?: number;
  /**
   * several real people instead of the portrait: face-api's group photos panned and zoomed, one face
   * speaking with its mouth moving; the manifest's speaker names that face. Default false.
   */
  readonly people?: boolean;
  /** called after each clip is written, in completion order */
  readonly onProgress?: (done: number, total: number, name: string) => void;
}

export interface SampleClip {
  name: string;
  label: string;
  /** the voice (spk01…spk04), or with `people` the speaking face: `photo3-face2` is the second face from the left in face-api's demo/sample3.jpg */
  speaker: string;
  /** with `people`: the photo (`photo3`), so one photo's clips share a split */
  group?: string;
  text: string;
  /** absolute path of the MP4 */
  file: string;
}

const INSTALL_HINT = 'install with: apt-get install -y ffmpeg flite';
const FPS = 25;
const LEAD_IN_S = 0.3;
const TAIL_S = 0.5;
const MIN_CLIP_S = 2;
const MAX_CLIP_S = 6;
/** Every move's video is this long; a clip keeps its first frames. */
const MOVE_FRAMES = MAX_CLIP_S * FPS;
/** Clips muxed by one ffmpeg. */
const MAX_BATCH = 8;

type SampleEmotion = 'happy' | 'sad' | 'angry' | 'neutral' | 'surprised' | 'fearful';
const EMOTION_CYCLE: readonly SampleEmotion[] = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful'];

// Four sentences per emotion, kept where pocketsphinx read them back well across the four voices;
// the first two of each are the ones the default 12 clips use.
const SENTENCES: Record<SampleEmotion, readonly string[]> = {
  happy: [
    'we won the prize, this is wonderful news!',
    'i love this, thank you so much my friend!',
    'i am so happy today, everything is great!',
    'this is the best day of my life!',
  ],
  sad: ['all is lost and i am so tired.', 'nobody came, and i feel so sad.', 'i miss her so much and i feel lonely.', 'my heart is broken and i feel so sad.'],
  angry: [
    'you broke it again, i am so angry with you!',
    'stop lying to me, i am sick of this!',
    'how dare you take my money without asking!',
    'get out of my house, i hate you!',
  ],
  neutral: [
    'the meeting starts at nine in the morning.',
    'i will send you the report this afternoon.',
    'the shop closes at six on monday.',
    'the report is on the desk in my office.',
  ],
  surprised: [
    'really? you did all of this for me?',
    'oh my goodness, i cannot believe it!',
    'wow, i did not expect to see you here!',
    'really? you bought a new house already?',
  ],
  fearful: [
    'please help me, someone is following me.',
    'do not leave me alone here, i am terrified.',
    'the lights went out and i am afraid.',
    'i am so scared, what was that sound?',
  ],
};

/**
 * How an emotion sounds, for a low male voice; female voices scale the pitch up. Happy, surprised and
 * fearful sit well above sad so pitch-based prosody cues separate them across all speakers.
 */
const PROSODY: Record<SampleEmotion, { f0Hz: number; f0SdHz: number; stretch: number; gain: number }> = {
  sad: { f0Hz: 85, f0SdHz: 6, stretch: 1.25, gain: 0.55 },
  neutral: { f0Hz: 110, f0SdHz: 14, stretch: 1.0, gain: 0.8 },
  angry: { f0Hz: 130, f0SdHz: 30, stretch: 0.9, gain: 1.0 },
  happy: { f0Hz: 155, f0SdHz: 28, stretch: 0.9, gain: 0.9 },
  surprised: { f0Hz: 165, f0SdHz: 34, stretch: 0.95, gain: 0.9 },
  fearful: { f0Hz: 180, f0SdHz: 26, stretch: 0.85, gain: 0.75 },
};

interface Voice {
  readonly speaker: string;
  readonly flite: string;
  /** multiplies the emotion's F0 target (flite honours int_f0_target_mean for this voice) */
  readonly f0Scale?: number;
  /**
   * rms ignores int_f0_target_mean (its F0 comes from a statistical accent model), so its pitch is
   * shifted afterwards with rubberband from its natural mean. Shifts above 1.3 or below 1 made
   * pocketsphinx misread it, hence the clamp: rms spans 105-136 Hz instead of 85-180 Hz.
   */
  readonly naturalF0Hz?: number;
}

const VOICES: readonly Voice[] = [
  { speaker: 'spk01', flite: 'slt', f0Scale: 1.4 },
  { speaker: 'spk02', flite: 'awb', f0Scale: 1.1 },
  { speaker: 'spk03', flite: 'kal16', f0Scale: 1.0 },
  { speaker: 'spk04', flite: 'rms', naturalF0Hz: 105 },
];
const MAX_PITCH_SHIFT = 1.3;

/**
 * Slow camera moves: [zoomFrom, zoomTo, panX from/to, panY from/to] over MAX_CLIP_S. The first five
 * are the first round's (picked by index so neighbouring clips differ); later rounds use all ten.
 */
const MOVES: readonly (readonly [number, number, number, number, number, number])[] = [
  [1.0, 1.12, 0.5, 0.5, 0.45, 0.5],
  [1.14, 1.02, 0.4, 0.55, 0.5, 0.5],
  [1.02, 1.16, 0.6, 0.45, 0.5, 0.4],
  [1.1, 1.0, 0.5, 0.5, 0.35, 0.55],
  [1.04, 1.15, 0.45, 0.6, 0.55, 0.45],
  [1.0, 1.1, 0.35, 0.5, 0.5, 0.45],
  [1.12, 1.0, 0.6, 0.5, 0.4, 0.5],
  [1.06, 1.18, 0.5, 0.4, 0.45, 0.55],
  [1.16, 1.04, 0.45, 0.55, 0.55, 0.4],
  [1.02, 1.08, 0.55, 0.45, 0.4, 0.5],
];
const FIRST_ROUND_MOVES = 5;

/**
 * Clips in one round: the first-round plan (emotion i mod 6, voice i mod 4, move i mod 5, sentence
 * floor(i / 6) mod 4) repeats after lcm(6, 4, 5) × 2 = 120 clips, all 120 different.
 */
const ROUND = 120;
// A later round r changes the address, rate and loudness by r mod 13, 7 and 3: coprime, so rounds
// 0 … 272 each get their own triple (round 0 the plain one) and no two clips share a plan.
const ADDRESSES = ['', 'mary', 'john', 'anna', 'peter', 'sarah', 'tom', 'emma', 'david', 'lucy', 'paul', 'kate', 'sam'];
/** duration_stretch multipliers; at most 1.08 so the slowest sad sentence stays under MAX_CLIP_S */
const RATES = [1, 0.92, 1.08, 0.86, 0.96, 1.04, 0.89];
const GAINS = [1, 0.85, 0.7];
/** F0 multipliers for later rounds: variety only, rms's clamped shift can hide them */
const PITCHES = [1.08, 0.93];

/** The most clips whose plans (text, voice, prosody, camera move) all differ; a bigger count is refused. */
export const MAX_SAMPLE_CLIPS = ROUND * ADDRESSES.length * RATES.length * GAINS.length;

/** The portrait cropped to 16:9 around the face (centre ≈ 225,120 in the 512x512 original). */
const FACE_CROP = 'crop=416:234:17:3';

export interface SampleClipPlan {
  readonly index: number;
  readonly name: string;
  readonly label: SampleEmotion;
  readonly speaker: string;
  /** the flite voice */
  readonly voice: string;
  readonly text: string;
  /** flite's F0 target mean and deviation (rms: the pitch its shift aims at), duration stretch, output gain */
  readonly prosody: { readonly f0Hz: number; readonly f0SdHz: number; readonly stretch: number; readonly gain: number };
  /** index into the camera moves */
  readonly move: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The plan of clip `index` (0-based), from the index alone. */
export function planSampleClip(index: number): SampleClipPlan {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SAMPLE_CLIPS) {
    throw new RangeError(`sample clip index must be an integer in [0, ${MAX_SAMPLE_CLIPS}), got ${String(index)}`);
  }
  const at = index % ROUND;
  const round = Math.floor(index / ROUND);
  const label = EMOTION_CYCLE[at % EMOTION_CYCLE.length];
  const voice = VOICES[at % VOICES.length];
  const sentences = SENTENCES[label];
  const sentence = sentences[Math.floor(at / EMOTION_CYCLE.length) % sentences.length];
  const address = ADDRESSES[round % ADDRESSES.length];
  const base = PROSODY[label];
  const pitch = round === 0 ? 1 : PITCHES[(round + at) % PITCHES.length];
  const f0Scale = (voice.f0Scale ?? 1) * pitch;
  return {
    index,
    name: `sample_${String(index + 1).padStart(4, '0')}`,
    label,
    speaker: voice.speaker,
    voice: voice.flite,
    text: address ? `${address}, ${sentence}` : sentence,
    prosody: {
      f0Hz: round1(base.f0Hz * f0Scale),
      f0SdHz: round1(base.f0SdHz * f0Scale),
      stretch: round2(base.stretch * RATES[round % RATES.length]),
      gain: round2(base.gain * GAINS[round % GAINS.length]),
    },
    move: round === 0 ? at % FIRST_ROUND_MOVES : (at + round) % MOVES.length,
  };
}

async function run(command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new FatalError(`${command} not found on PATH; ${INSTALL_HINT}`, { cause: err });
    const stderr = (e.stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`${command} failed: ${stderr || e.message}`, { cause: err });
  }
}

async function checkTools(): Promise<{ rubberband: boolean }> {
  await run('ffmpeg', ['-hide_banner', '-version']);
  const listed = await run('flite', ['-lv']);
  const have = new Set(listed.replace(/^.*:/, '').trim().split(/\s+/));
  const missing = VOICES.filter((v) => !have.has(v.flite)).map((v) => v.flite);
  if (missing.length > 0) throw new FatalError(`flite lacks voice(s) ${missing.join(', ')}; ${INSTALL_HINT}`);
  // builds without librubberband still work; rms then keeps its natural pitch for every emotion
  const filters = await run('ffmpeg', ['-hide_banner', '-filters']);
  return { rubberband: /\srubberband\s/.test(filters) };
}

/** Seconds of audio in a PCM WAV, read from its fmt and data chunks. */
async function wavSeconds(file: string): Promise<number> {
  const wav = await readFile(file);
  let byteRate = 0;
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('ascii', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'fmt ') byteRate = wav.readUInt32LE(at + 16);
    // flite may leave the data size unset when streaming; the rest of the file is the data then
    if (id === 'data' && byteRate > 0) return Math.min(size, wav.length - at - 8) / byteRate;
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file} is not a PCM WAV with fmt and data chunks`);
}

const fixed = (x: number, digits = 3) => x.toFixed(digits);
const voiceOf = (plan: SampleClipPlan): Voice => VOICES.find((v) => v.flite === plan.voice)!;

async function speak(plan: SampleClipPlan, wav: string): Promise<void> {
  const args = ['-voice', plan.voice];
  if (voiceOf(plan).f0Scale !== undefined) {
    args.push('--setf', `int_f0_target_mean=${fixed(plan.prosody.f0Hz, 1)}`);
    args.push('--setf', `int_f0_target_stddev=${fixed(plan.prosody.f0SdHz, 1)}`);
  }
  args.push('--setf', `duration_stretch=${fixed(plan.prosody.stretch, 2)}`, '-t', plan.text, '-o', wav);
  await run('flite', args);
}

/** The clip's length in whole frames for `speech` seconds of speech; throws past MAX_CLIP_S. */
function clipSeconds(plan: SampleClipPlan, speech: number, fps: number): number {
  const seconds = Math.ceil(Math.max(MIN_CLIP_S, speech + LEAD_IN_S + TAIL_S) * fps) / fps;
  if (seconds > MAX_CLIP_S) {
    throw new Error(
      `sample sentence "${plan.text}" (${plan.label}, ${plan.voice}) lasts ${fixed(speech)} s; keep sentences under ${fixed(MAX_CLIP_S - LEAD_IN_S - TAIL_S, 1)} s`,
    );
  }
  return seconds;
}

/** ffmpeg audio filters from flite's WAV to the clip's track: pitch (rms), loudness, 48 kHz, lead-in, padding. */
function audioFilters(plan: SampleClipPlan, seconds: number, rubberband: boolean): string {
  const steps: string[] = [];
  const natural = voiceOf(plan).naturalF0Hz;
  if (natural !== undefined && rubberband) {
    const shift = Math.min(MAX_PITCH_SHIFT, Math.max(1, plan.prosody.f0Hz / natural));
    if (shift > 1) steps.push(`rubberband=pitch=${fixed(shift)}:pitchq=quality:formant=preserved`);
  }
  steps.push(`volume=${fixed(plan.prosody.gain, 2)}`, 'aresample=48000', `adelay=${Math.round(LEAD_IN_S * 1000)}:all=1`, `apad=whole_dur=${fixed(seconds)}`);
  return steps.join(',');
}

const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1', '-map_chapters', '-1'];

/** Encodes camera move `move` over the portrait, MOVE_FRAMES long, without B-frames so any prefix of it is a valid stream. */
async function renderMove(move: number, face: string, mp4: string): Promise<void> {
  const [z0, z1, x0, x1, y0, y1] = MOVES[move];
  const t = `on/${MOVE_FRAMES - 1}`;
  const lerp = (a: number, b: number) => `(${fixed(a)}+${fixed(b - a)}*${t})`;
  // upscaling before zoompan keeps its integer crop offsets from jittering at 640x360
  const video =
    `[0:v]${FACE_CROP},scale=1920:1080:flags=lanczos,` +
    `zoompan=z='${lerp(z0, z1)}':x='(iw-iw/zoom)*${lerp(x0, x1)}':y='(ih-ih/zoom)*${lerp(y0, y1)}'` +
    `:d=${MOVE_FRAMES}:s=640x360:fps=${FPS},setsar=1,format=yuv420p[v]`;
  // veryfast: a still face zoomed slowly compresses as well as at medium, in 40% of the time
  await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-filter_complex_threads', '1', '-i', face],
    ...['-filter_complex', video, '-map', '[v]', '-frames:v', String(MOVE_FRAMES)],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-g', '50', '-bf', '0', '-threads', '1'],
    ...BITEXACT,
    mp4,
  ]);
}

/**
 * The clips of one batch in one ffmpeg (its start-up costs as much as a clip's audio): each is the
 * first frames of its move's video (stream copy) with its speech as AAC. Same bytes as one ffmpeg per clip.
 */
async function muxClips(batch: readonly { plan: SampleClipPlan; moveMp4: string; wav: string; mp4: string }[], rubberband: boolean): Promise<void> {
  const videos = [...new Set(batch.map((c) => c.moveMp4))];
  const inputs = [...videos.flatMap((v) => ['-i', v]), ...batch.flatMap((c) => ['-i', c.wav])];
  const graph: string[] = [];
  const outputs: string[] = [];
  for (const [i, clip] of batch.entries()) {
    const seconds = clipSeconds(clip.plan, await wavSeconds(clip.wav), FPS);
    graph.push(`[${videos.length + i}:a]${audioFilters(clip.plan, seconds, rubberband)}[a${i}]`);
    outputs.push(
      ...['-map', `${videos.indexOf(clip.moveMp4)}:v`, '-map', `[a${i}]`],
      // -t, not -frames:v: ffmpeg 5 closes a whole output when one stream reaches -frames, cutting the
      // audio wherever its reading had got to (it varied with the batch); -t closes each stream itself
      ...['-t', fixed(seconds), '-c:v', 'copy'],
      // the fast AAC coder: a third of the default's time on speech at 96 kb/s
      ...['-c:a', 'aac', '-aac_coder', 'fast', '-b:a', '96k', '-ar', '48000', '-ac', '1', '-threads', '1'],
      ...BITEXACT,
      ...['-movflags', '+faststart', clip.mp4],
    );
  }
  await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...inputs, '-filter_complex', graph.join(';'), ...outputs]);
}

/** A multi-person clip: clip `plan`'s speech on one face of one of face-api's group photos. */
async function renderPeopleClip(
  plan: SampleClipPlan,
  wav: string,
  work: string,
  mp4: string,
  rubberband: boolean,
): Promise<{ speaker: string; group: string }> {
  const faces = await import('./talking-faces.ts');
  const seconds = clipSeconds(plan, await wavSeconds(wav), faces.CLIP_FPS);
  const utterance = join(work, `${plan.name}.speech.wav`);
  await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', wav, '-af', audioFilters(plan, seconds, rubberband)],
    ...['-t', fixed(seconds), '-ac', '1', '-c:a', 'pcm_s16le', ...BITEXACT, utterance],
  ]);
  const shots = await peopleShots(plan.index, seconds);
  await faces.writeTalkingVideo(shots, utterance, seconds, mp4);
  await rm(utterance, { force: true });
  return { speaker: `photo${shots.speaker.photo}-face${shots.speaker.face + 1}`, group: `photo${shots.speaker.photo}` };
}

/**
 * Photo, speaking face and camera move of multi-person clip `index`, from the index alone: the window
 * keeps the speaker and a neighbour whole (several faces in view), panning and zooming between two
 * such windows.
 */
export async function peopleShots(index: number, seconds: number): Promise<import('./talking-faces.ts').ClipPlan> {
  const faces = await import('./talking-faces.ts');
  const photos = (await Promise.all([1, 2, 3, 4, 5, 6].map(faces.photoFaces))).filter((p) => p.faces.length >= 2);
  const random = mulberry32(0x5a3c1e + index);
  for (let attempt = 0; attempt < 100; attempt++) {
    const photo = photos[Math.floor(random() * photos.length)];
    const face = Math.floor(random() * photo.faces.length);
    const neighbour = face + 1 < photo.faces.length ? face + 1 : face - 1;
    const keep = [face, neighbour];
    const from = faces.randomWindow(photo, random, { keep, minShare: 0.45, maxShare: 0.85 });
    const to = faces.randomWindow(photo, random, { keep, minShare: 0.45, maxShare: 0.85 });
    if (!from || !to) continue;
    return {
      name: `sample_${index + 1}`,
      shots: [{ photo: photo.number, start: 0, end: seconds, from, to }],
      speaker: { photo: photo.number, face },
      sentence: '',
    };
  }
  throw new Error(`no camera window keeps two faces of a face-api photo whole for clip ${index}`);
}

function csvField(value: string, always = false): string {
  return always || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes `dir/<name>.mp4` for `count` clips and `dir/manifest.csv` (name,label,speaker,text, in the
 * style of MER2023 label files; with `people` also group). Clip i is always the same clip: a smaller
 * count makes the first clips of a bigger one.
 */
export async function makeSampleClips(dir: string, options: SampleClipsOptions = {}): Promise<SampleClip[]> {
  const count = options.count ?? 12;
  const start = options.start ?? 0;
  if (!Number.isInteger(start) || start < 0 || start >= MAX_SAMPLE_CLIPS) {
    throw new RangeError(`sample-clips option start must be an integer from 0 to ${MAX_SAMPLE_CLIPS - 1}, got ${String(options.start)}`);
  }
  if (!Number.isInteger(count) || count < 1 || start + count > MAX_SAMPLE_CLIPS) {
    throw new RangeError(`sample-clips option count must be an integer from 1 to ${MAX_SAMPLE_CLIPS - start} (distinct clips), got ${String(options.count)}`);
  }
  const people = options.people ?? false;
  const out = resolve(dir);
  const { rubberband } = await checkTools();
  const face = people ? '' : await findFaceImage();
  await mkdir(out, { recursive: true });
  // the temp folder sits inside the target so the final renames never cross filesystems
  const work = await mkdtemp(join(out, '.sample-clips-'));
  const moves = new Map<number, Promise<string>>();
  const moveVideo = (move: number): Promise<string> => {
    let rendering = moves.get(move);
    if (!rendering) {
      const mp4 = join(work, `move-${move}.mp4`);
      rendering = renderMove(move, face, mp4).then(() => mp4);
      moves.set(move, rendering);
    }
    return rendering;
  };
  try {
    const plans = Array.from({ length: count }, (_, i) => planSampleClip(start + i));
    // the photos' faces are found once (and cached) before the workers need them
    if (people) await peopleShots(0, MIN_CLIP_S);
    const made = new Map<string, { speaker: string; group?: string }>();
    // each worker takes a batch of consecutive clips: their flite runs, then one ffmpeg for them all
    const workers = Math.min(availableParallelism(), plans.length);
    const batchSize = people ? 1 : Math.min(MAX_BATCH, Math.ceil(plans.length / workers));
    let next = 0;
    let done = 0;
    let stopped = false;
    const worker = async () => {
      while (next < plans.length && !stopped) {
        const batch = plans.slice(next, next + batchSize).map((plan) => ({ plan, wav: join(work, `${plan.name}.wav`), mp4: join(work, `${plan.name}.mp4`) }));
        next += batch.length;
        try {
          for (const clip of batch) await speak(clip.plan, clip.wav);
          if (people) {
            for (const clip of batch) made.set(clip.plan.name, await renderPeopleClip(clip.plan, clip.wav, work, clip.mp4, rubberband));
          } else {
            const moveMp4s = await Promise.all(batch.map((clip) => moveVideo(clip.plan.move)));
            await muxClips(
              batch.map((clip, i) => ({ ...clip, moveMp4: moveMp4s[i] })),
              rubberband,
            );
          }
          await Promise.all(batch.map((clip) => rm(clip.wav, { force: true })));
        } catch (err) {
          stopped = true;
          throw err;
        }
        for (const clip of batch) options.onProgress?.(++done, plans.length, clip.plan.name);
      }
    };
    // settle every worker before the finally removes their folder; then report the first failure
    const settled = await Promise.allSettled(Array.from({ length: workers }, worker));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    const clips: SampleClip[] = [];
    for (const plan of plans) {
      const file = join(out, `${plan.name}.mp4`);
      await rename(join(work, `${plan.name}.mp4`), file);
      const person = made.get(plan.name);
      clips.push({
        name: plan.name,
        label: plan.label,
        speaker: person?.speaker ?? plan.speaker,
        ...(person ? { group: person.group } : {}),
        text: plan.text,
        file,
      });
    }
    const header = people ? 'name,label,speaker,group,text' : 'name,label,speaker,text';
    const rows = clips.map((c) =>
      [csvField(c.name), csvField(c.label), csvField(c.speaker), ...(people ? [csvField(c.group ?? '')] : []), csvField(c.text, true)].join(','),
    );
    await writeFile(join(work, 'manifest.csv'), [header, ...rows, ''].join('\n'));
    await rename(join(work, 'manifest.csv'), join(out, 'manifest.csv'));
    return clips;
  } finally {
    await Promise.allSettled(moves.values());
    await rm(work, { recursive: true, force: true });
    if (people) await (await import('../stages/cues/visual-worker.ts')).closeFaceWorkers();
  }
}
