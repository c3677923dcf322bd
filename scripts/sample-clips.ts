// Deterministic offline demo clips: a real face (the astronaut portrait, slowly zoomed and panned)
// speaking an emotional English sentence with flite, whose pitch, pitch range, rate and loudness
// follow the emotion. Same count → byte-identical MP4s and manifest.csv (same ffmpeg/flite build).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FatalError } from '../pipelines/errors.ts';
import { findFaceImage } from './face-image.ts';

const execFileAsync = promisify(execFile);

export interface SampleClipsOptions {
  /** how many clips to write; default 12 (each emotion twice, each speaker three times) */
  readonly count?: number;
  /** called after each clip is written, in completion order */
  readonly onProgress?: (done: number, total: number, name: string) => void;
}

export interface SampleClip {
  name: string;
  label: string;
  speaker: string;
  text: string;
  /** absolute path of the MP4 */
  file: string;
}

const INSTALL_HINT = 'install with: apt-get install -y ffmpeg flite';
const CONCURRENCY = 2;
const FPS = 25;
const LEAD_IN_S = 0.3;
const TAIL_S = 0.5;
const MIN_CLIP_S = 2;
const MAX_CLIP_S = 5;

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

/** Slow camera moves, picked by index so neighbouring clips differ: [zoomFrom, zoomTo, panX from/to, panY from/to]. */
const MOVES: readonly (readonly [number, number, number, number, number, number])[] = [
  [1.0, 1.12, 0.5, 0.5, 0.45, 0.5],
  [1.14, 1.02, 0.4, 0.55, 0.5, 0.5],
  [1.02, 1.16, 0.6, 0.45, 0.5, 0.4],
  [1.1, 1.0, 0.5, 0.5, 0.35, 0.55],
  [1.04, 1.15, 0.45, 0.6, 0.55, 0.45],
];

/** The portrait cropped to 16:9 around the face (centre ≈ 225,120 in the 512x512 original). */
const FACE_CROP = 'crop=416:234:17:3';

interface ClipPlan {
  index: number;
  name: string;
  label: SampleEmotion;
  voice: Voice;
  text: string;
}

function planClip(index: number): ClipPlan {
  const label = EMOTION_CYCLE[index % EMOTION_CYCLE.length];
  const sentences = SENTENCES[label];
  return {
    index,
    name: `sample_${String(index + 1).padStart(4, '0')}`,
    label,
    voice: VOICES[index % VOICES.length],
    text: sentences[Math.floor(index / EMOTION_CYCLE.length) % sentences.length],
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

async function speak(plan: ClipPlan, wav: string): Promise<void> {
  const prosody = PROSODY[plan.label];
  const args = ['-voice', plan.voice.flite];
  if (plan.voice.f0Scale !== undefined) {
    args.push('--setf', `int_f0_target_mean=${fixed(prosody.f0Hz * plan.voice.f0Scale, 1)}`);
    args.push('--setf', `int_f0_target_stddev=${fixed(prosody.f0SdHz * plan.voice.f0Scale, 1)}`);
  }
  args.push('--setf', `duration_stretch=${fixed(prosody.stretch, 2)}`, '-t', plan.text, '-o', wav);
  await run('flite', args);
}

async function render(plan: ClipPlan, face: string, wav: string, mp4: string, rubberband: boolean): Promise<void> {
  const speech = await wavSeconds(wav);
  const frames = Math.ceil(Math.max(MIN_CLIP_S, speech + LEAD_IN_S + TAIL_S) * FPS);
  const seconds = frames / FPS;
  if (seconds > MAX_CLIP_S) {
    throw new Error(
      `sample sentence "${plan.text}" (${plan.label}, ${plan.voice.flite}) lasts ${fixed(speech)} s; keep sentences under ${fixed(MAX_CLIP_S - LEAD_IN_S - TAIL_S, 1)} s`,
    );
  }
  const [z0, z1, x0, x1, y0, y1] = MOVES[plan.index % MOVES.length];
  const t = `on/${frames - 1}`;
  const lerp = (a: number, b: number) => `(${fixed(a)}+${fixed(b - a)}*${t})`;
  // upscaling before zoompan keeps its integer crop offsets from jittering at 640x360
  const video =
    `[0:v]${FACE_CROP},scale=1920:1080:flags=lanczos,` +
    `zoompan=z='${lerp(z0, z1)}':x='(iw-iw/zoom)*${lerp(x0, x1)}':y='(ih-ih/zoom)*${lerp(y0, y1)}'` +
    `:d=${frames}:s=640x360:fps=${FPS},setsar=1,format=yuv420p[v]`;

  const audioSteps: string[] = [];
  const natural = plan.voice.naturalF0Hz;
  if (natural !== undefined && rubberband) {
    const shift = Math.min(MAX_PITCH_SHIFT, Math.max(1, PROSODY[plan.label].f0Hz / natural));
    if (shift > 1) audioSteps.push(`rubberband=pitch=${fixed(shift)}:pitchq=quality:formant=preserved`);
  }
  audioSteps.push(
    `volume=${fixed(PROSODY[plan.label].gain, 2)}`,
    'aresample=48000',
    `adelay=${Math.round(LEAD_IN_S * 1000)}:all=1`,
    `apad=whole_dur=${fixed(seconds)}`,
  );
  const audio = `[1:a]${audioSteps.join(',')}[a]`;

  await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-filter_complex_threads',
    '1',
    '-i',
    face,
    '-i',
    wav,
    '-filter_complex',
    `${video};${audio}`,
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-t',
    fixed(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-crf',
    '23',
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '50',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    '-ar',
    '48000',
    '-ac',
    '1',
    '-threads',
    '1',
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
    '-flags:a',
    '+bitexact',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-movflags',
    '+faststart',
    mp4,
  ]);
}

function csvField(value: string, always = false): string {
  return always || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Writes `dir/<name>.mp4` for `count` clips and `dir/manifest.csv` (name,label,speaker,text, in the
 * style of MER2023 label files). Clips cycle through six emotions and four flite speakers.
 */
export async function makeSampleClips(dir: string, options: SampleClipsOptions = {}): Promise<SampleClip[]> {
  const count = options.count ?? 12;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`sample-clips option count must be a positive integer, got ${String(options.count)}`);
  }
  const out = resolve(dir);
  const { rubberband } = await checkTools();
  const face = await findFaceImage();
  await mkdir(out, { recursive: true });
  // the temp folder sits inside the target so the final renames never cross filesystems
  const work = await mkdtemp(join(out, '.sample-clips-'));
  try {
    const plans = Array.from({ length: count }, (_, i) => planClip(i));
    let next = 0;
    let done = 0;
    let stopped = false;
    const worker = async () => {
      while (next < plans.length && !stopped) {
        const plan = plans[next++];
        const wav = join(work, `${plan.name}.wav`);
        try {
          await speak(plan, wav);
          await render(plan, face, wav, join(work, `${plan.name}.mp4`), rubberband);
        } catch (err) {
          stopped = true;
          throw err;
        }
        options.onProgress?.(++done, plans.length, plan.name);
      }
    };
    // settle both workers before the finally removes their folder; then report the first failure
    const settled = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, plans.length) }, worker));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    const clips: SampleClip[] = [];
    for (const plan of plans) {
      const file = join(out, `${plan.name}.mp4`);
      await rename(join(work, `${plan.name}.mp4`), file);
      clips.push({ name: plan.name, label: plan.label, speaker: plan.voice.speaker, text: plan.text, file });
    }
    const rows = clips.map((c) => [csvField(c.name), csvField(c.label), csvField(c.speaker), csvField(c.text, true)].join(','));
    await writeFile(join(work, 'manifest.csv'), ['name,label,speaker,text', ...rows, ''].join('\n'));
    await rename(join(work, 'manifest.csv'), join(out, 'manifest.csv'));
    return clips;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
