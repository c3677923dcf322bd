// Scale bench: N synthetic segments through the runner's record phases, global stages and the write
// sink, each N in its own child process so that its peak RSS (getrusage maxrss) is its own.
//
//   npx tsx scripts/bench/scale.ts [--full] [--sizes 10000,100000] [--keep DIR] [--heap-mib N] [--trace DIR]
//
// --trace DIR writes DIR/<N>.ndjson for each N: the run's info log (each partition done, each
// phase) with the process's memory (RSS, heap, external) every 5 seconds between, to see which
// phase holds what; and DIR/<N>.rss.ndjson, the child's RSS and peak RSS so far every 100 ms as
// this (parent) process reads them from /proc: where the peak rises tells when it was reached, which
// the child's own timer cannot while its thread is busy.
//
// The segments need no media: a source stage lists synthetic clips and a clip stage turns each into
// PER_CLIP segments carrying what the media and teacher stages would have added, at the sizes the
// demo pipeline writes (transcript with word timings, acoustic, lexical and visual cues, a
// description, labels, five QA items, a rationale; about 6 KB of JSON each, no footage fingerprint
// and no media files). The pipeline: bench.source → bench.segment → cues.agreement (global:
// speaker baselines) → bench.judge (a record phase after a global stage) → filter.corpus (global:
// length tails and label caps) → write. dedup is left out: footage dedup compares every pair of
// segments within its duration window, which no corpus of this size can afford (see README).
//
// Prints one line per N and, last:
//   scale: 1000000 segments, peak N MiB (N.NNx of 100k), N.NN s per 10k
// (with the largest N run when --full is not given). "s per 10k" is wall seconds; CPU seconds
// (user + system) are printed beside them. Each N runs with node's own heap limit, as `emoforge run`
// does (it sets none), unless --heap-mib caps it; the limit is printed with each N.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import pino from 'pino';
import { z } from 'zod';
import { buildPlan, type AnyStage } from '../../pipelines/config.ts';
import { setMalloc, type MallocSetting } from '../../pipelines/malloc.ts';
import { mulberry32 } from '../../pipelines/random.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import type { ClipStage, SegmentStage, SourceStage } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { EMOTIONS, type Emotion } from '../../schemas/emotion.ts';
import type { Clip, Segment } from '../../schemas/records.ts';
import { STAGES } from '../../stages/index.ts';
import { sha256 } from '../../pipelines/fingerprint.ts';

/** Segments per synthetic clip (a dialogue cut into utterances). */
const PER_CLIP = 8;
const SPEAKERS_PER_10K = 400;

interface Measurement {
  readonly segments: number;
  readonly rows: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakMiB: number;
  /** V8's heap size limit in the child (node's default, or --heap-mib). */
  readonly heapLimitMiB: number;
  /** What the run did with glibc's malloc (pipelines/malloc.ts). */
  readonly malloc: MallocSetting;
  /** The largest RSS sampled (once a second) and the heap and external memory at that moment. */
  readonly atPeak: { readonly rssMiB: number; readonly heapTotalMiB: number; readonly heapUsedMiB: number; readonly externalMiB: number };
}

// ---------------------------------------------------------------- synthetic records

const WORDS =
  'i you we they it was really just not never always think feel know said told came went home work today tonight again sorry thanks great fine terrible lovely nobody everyone something nothing maybe honestly believe'.split(
    ' ',
  );
const OPENSET: Record<Emotion, string[]> = {
  happy: ['happy', 'cheerful', 'delighted'],
  sad: ['sad', 'disappointed', 'downcast'],
  angry: ['angry', 'irritated', 'frustrated'],
  neutral: ['neutral', 'calm', 'composed'],
  surprised: ['surprised', 'astonished', 'startled'],
  fearful: ['fearful', 'anxious', 'nervous'],
  disgusted: ['disgusted', 'repulsed', 'averse'],
};
const provenance = (template: string) => ({ teacher: 'rules', model: 'rules-v3', template });

function syntheticClip(index: number, partitions: number, speakers: number): Clip {
  const id = sha256(`bench-clip:${index}`);
  const random = mulberry32(index + 1);
  return {
    id,
    uri: `bench/clip_${String(index).padStart(7, '0')}.mp4`,
    name: `clip_${String(index).padStart(7, '0')}`,
    bytes: 150_000 + Math.floor(random() * 100_000),
    probe: {
      duration: PER_CLIP * 4,
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      hasVideo: true,
      hasAudio: true,
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 640,
      height: 360,
      fps: 25,
      sampleRate: 48000,
      channels: 1,
    },
    manifest: { label: EMOTIONS[index % EMOTIONS.length], speaker: `spk${String(index % speakers).padStart(5, '0')}` },
    partition: Number.parseInt(id.slice(0, 8), 16) % partitions,
  };
}

function syntheticSegment(clip: Clip, index: number): Segment {
  const random = mulberry32(Number.parseInt(clip.id.slice(8, 16), 16) + index);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
  const emotion: Emotion = random() < 0.6 ? (clip.manifest.label as Emotion) : pick(EMOTIONS);
  const start = index * 4;
  const duration = round(2 + random() * 3);
  const wordCount = 6 + Math.floor(random() * 14);
  const words = Array.from({ length: wordCount }, () => pick(WORDS));
  const timings = words.map((word, k) => ({ word, start: round((k * duration) / wordCount), end: round(((k + 0.9) * duration) / wordCount) }));
  const f0 = round(90 + random() * 160, 1);
  const sd = round(8 + random() * 30, 1);
  const rms = round(-35 + random() * 20);
  const rate = round(1.5 + random() * 2.5);
  const expressions = () => {
    const raw = EMOTIONS.map(() => random() ** 3);
    const sum = raw.reduce((a, b) => a + b, 0);
    return Object.fromEntries(EMOTIONS.map((e, k) => [e, round(raw[k] / sum, 4)])) as Record<Emotion, number>;
  };
  const frames = [0.6, 1.8, 2.96, 4.16].map((time) => ({
    time,
    faces: 1,
    box: {
      x: round(230 + random() * 20, 4),
      y: round(90 + random() * 10, 4),
      width: round(150 + random() * 10, 4),
      height: round(175 + random() * 20, 4),
      score: round(0.8 + random() * 0.2, 4),
    },
    expressions: expressions(),
  }));
  const mean = expressions();
  const dominant = EMOTIONS.reduce((best, e) => (mean[e] > mean[best] ? e : best), EMOTIONS[0]);
  const pitchWord = f0 > 200 ? 'high' : f0 < 130 ? 'low' : 'moderate';
  const voice = `The mean pitch is ${Math.round(f0)} Hz (range ${Math.round(f0 - 2 * sd)}–${Math.round(f0 + 2 * sd)} Hz), ${pitchWord} for adult speech. The speech runs at ${rate.toFixed(1)} words/s at ${rms.toFixed(0)} dBFS.`;
  const face = `The face reads as ${dominant} (mean probability ${mean[dominant].toFixed(2)}) in ${1 + Math.floor(random() * 4)} of 4 keyframes.`;
  // Descriptions vary in length as teachers' do, with a few outliers for the length tails.
  const extra = random() < 0.01 ? 12 : Math.floor(random() * 3);
  const description = [
    face,
    voice,
    ...Array.from({ length: extra }, () => `The wording (${words.slice(0, 5).join(' ')}) adds little beyond that.`),
    `Taken together, the speaker most likely feels ${emotion}.`,
  ].join(' ');
  return {
    id: sha256(`bench-segment:${clip.id}:${index}`),
    clipId: clip.id,
    clip,
    index,
    start,
    end: round(start + duration),
    transcript: { text: words.join(' '), language: 'en', languageSource: 'config', engine: 'pocketsphinx', words: timings },
    cues: {
      acoustic: {
        duration,
        f0MeanHz: f0,
        f0SdHz: sd,
        f0MinHz: round(f0 - 2 * sd, 1),
        f0MaxHz: round(f0 + 2 * sd, 1),
        voicedRatio: round(0.3 + random() * 0.5, 3),
        rmsDb: rms,
        rmsSdDb: round(4 + random() * 5),
        pauseRatio: round(random() * 0.4, 3),
        speechRate: rate,
        speechRateSource: 'transcript',
        f0SlopeHzPerS: round(-20 + random() * 40, 1),
        loudnessLufs: round(rms + 2, 1),
      },
      lexical: {
        score: round(-1 + random() * 2),
        sentiment: pick(['positive', 'neutral', 'negative'] as const),
        positiveWords: [],
        negativeWords: [],
        emotionWords: [],
      },
      visual: { detector: 'ssd', frames, meanExpressions: mean, dominant, stability: round(random()), faceRatio: 1, crops: [] },
    },
    description: { text: description, provenance: provenance('describe.rules@1') },
    labels: {
      primary: emotion,
      openset: OPENSET[emotion],
      sentiment: emotion === 'happy' ? 'positive' : emotion === 'neutral' ? 'neutral' : 'negative',
      valence: round(-1 + random() * 2),
      arousal: round(-1 + random() * 2),
      provenance: provenance('labels.rules@1'),
    },
    qa: [
      {
        kind: 'mcq',
        question: `Which emotion does the speaker in this clip most likely feel? Choose one of: ${[emotion, 'neutral', 'angry', 'sad'].join(', ')}.`,
        options: [emotion, 'neutral', 'angry', 'sad'],
        answer: emotion,
        provenance: provenance('qa.mcq.rules@1'),
      },
      {
        kind: 'open',
        question: `Why does the person most likely feel ${emotion}?`,
        answer: `${voice} ${face} Together these cues point to ${emotion}.`,
        provenance: provenance('qa.mcq.rules@1'),
      },
      {
        kind: 'open',
        question: 'Which cue points most strongly to the emotion?',
        answer: `The pitch level: ${voice.split('.')[0].toLowerCase()}. Of the measured cues, it points most strongly to ${emotion}.`,
        provenance: provenance('qa.mcq.rules@1'),
      },
      {
        kind: 'attribute',
        question: 'What facial expression does the person show?',
        answer: face.replace('The face reads as', 'The person shows'),
        provenance: provenance('qa.mcq.rules@1'),
      },
      {
        kind: 'attribute',
        question: 'How would you describe the tone of voice?',
        answer: `The pitch is ${pitchWord} (mean ${Math.round(f0)} Hz), the voice is at ${rms.toFixed(0)} dBFS and the pace is ${rate.toFixed(1)} words/s.`,
        provenance: provenance('qa.mcq.rules@1'),
      },
    ],
    rationale: {
      steps: [
        `Step 1: ${face}`,
        `Step 2: ${voice}`,
        `Step 3: The words are "${words.slice(0, 6).join(' ')}…", sentiment ${round(random() * 2 - 1).toFixed(2)}.`,
        `Step 4: predicted emotion is ${emotion}`,
      ],
      emotion,
      provenance: provenance('rationale.rules@1'),
    },
  };
}

const benchSource: SourceStage<{ clips: number; speakers: number }> = {
  kind: 'source',
  name: 'bench.source',
  version: 1,
  configSchema: z.object({ clips: z.number().int().positive(), speakers: z.number().int().positive() }).strict(),
  async run(config, options) {
    const clips = Array.from({ length: config.clips }, (_, i) => syntheticClip(i, options.partitions, config.speakers));
    return { clips, drops: [], seen: clips.length, root: '' };
  },
};

const benchSegment: ClipStage<Record<string, never>> = {
  kind: 'clip',
  name: 'bench.segment',
  version: 1,
  configSchema: z.object({}).strict(),
  reads: [],
  adds: ['transcript', 'cues.acoustic', 'cues.lexical', 'cues.visual', 'description', 'labels', 'qa', 'rationale'],
  cache: false,
  async run(clip) {
    return Array.from({ length: PER_CLIP }, (_, i) => syntheticSegment(clip, i));
  },
};

/** A record stage after a global one: a judge score from the cues, as the judge role would add. */
const benchJudge: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'bench.judge',
  version: 1,
  configSchema: z.object({}).strict(),
  reads: ['cues.agreement', 'description'],
  adds: ['judge'],
  cache: false,
  async run(segment) {
    const tag = segment.cues?.agreement?.tag ?? 'ambiguous';
    const score = tag === 'consistent' ? 9 : tag === 'ambiguous' ? 5 : 7;
    return {
      ...segment,
      judge: {
        score,
        reason: `The description follows the cues (${tag}); ${segment.description!.text.length} characters, grounded in the measured pitch and the face.`,
        provenance: provenance('judge.rules@1'),
      },
    };
  },
};

// ---------------------------------------------------------------- child: one N

async function child(segments: number, dir: string, trace: string | undefined): Promise<Measurement> {
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  const log = trace ? pino({ level: 'info' }, pino.destination({ dest: trace, sync: true, append: false })) : pino({ level: 'silent' });
  // Where the memory is when RSS is highest (sampled every second): the JS heap, or outside it.
  let sampled = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let ticks = 0;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > sampled.rss) sampled = now;
    if (trace && ticks++ % 5 === 0)
      log.info({ rssMiB: mib(now.rss), heapTotalMiB: mib(now.heapTotal), heapUsedMiB: mib(now.heapUsed), externalMiB: mib(now.external) }, 'memory');
  }, 1000).unref();
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const clips = Math.ceil(segments / PER_CLIP);
  const registry = new Map<string, AnyStage>([...STAGES, [benchSource.name, benchSource], [benchSegment.name, benchSegment], [benchJudge.name, benchJudge]]);
  const config = {
    name: 'emoforge-scale-bench',
    out: join(dir, 'out'),
    store: join(dir, 'store'),
    partitions: Math.max(8, Math.ceil(segments / 4000)),
    concurrency: 2,
    stages: [
      { 'bench.source': { clips, speakers: Math.max(10, Math.round((segments / 10_000) * SPEAKERS_PER_10K)) } },
      'bench.segment',
      { 'cues.agreement': { minSpeakerSegments: 3 } },
      'bench.judge',
      { 'filter.corpus': { lengthTails: { sd: 3, fields: ['description', 'answer'] }, labelCaps: { maxPerLabel: Math.round(segments * 0.15) } } },
      { write: { splits: { train: 0.8, validation: 0.1, test: 0.1 }, seed: 'scale-bench' } },
    ],
  };
  const plan = buildPlan('scale-bench.yaml', config, registry);
  const summary = await runPipeline(plan, {
    store: new LocalStore(config.store),
    outDir: config.out,
    log,
    signal: new AbortController().signal,
    progress: {
      watch() {},
      phase: (name, total) => log.info({ phase: name, total }, 'phase'),
      ingestProgress() {},
      partitionDone() {},
    },
  });
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  return {
    segments: summary.segments,
    rows: Object.values(summary.sink?.splits ?? {}).reduce((n, r) => n + r, 0),
    wallMs: performance.now() - started,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakMiB: process.resourceUsage().maxRSS / 1024,
    heapLimitMiB: getHeapStatistics().heap_size_limit / 2 ** 20,
    malloc: setMalloc(),
    atPeak: { rssMiB: mib(sampled.rss), heapTotalMiB: mib(sampled.heapTotal), heapUsedMiB: mib(sampled.heapUsed), externalMiB: mib(sampled.external) },
  };
}

// ---------------------------------------------------------------- parent

function runChild(segments: number, dir: string, heapMiB: number | undefined, trace: string | undefined): Promise<Measurement> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const heap = heapMiB === undefined ? [] : [`--max-old-space-size=${heapMiB}`];
    const proc = spawn(
      process.execPath,
      [...process.execArgv, ...heap, script, '--child', String(segments), '--dir', dir, ...(trace ? ['--trace', trace] : [])],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const sampler = trace && proc.pid ? sampleRss(proc.pid, trace.replace(/\.ndjson$/, '.rss.ndjson')) : undefined;
    proc.on('close', () => sampler?.stop());
    let stdout = '';
    proc.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1);
      if (code !== 0 || !last) reject(new Error(`bench child for ${segments} segments exited with ${code}: ${stdout}`));
      else resolve(JSON.parse(last) as Measurement);
    });
  });
}

/** The child's RSS every 100 ms, read from /proc by this process (its thread is idle), one JSON line each. */
function sampleRss(pid: number, file: string): { stop(): void } {
  const fd = openSync(file, 'w');
  const timer = setInterval(() => {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'latin1');
    } catch {
      return; // gone, or not Linux
    }
    // VmHWM is the peak so far: where it rises tells when the process's peak was reached, even between samples.
    const mib = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) / 1024);
    const rss = mib('VmRSS');
    if (Number.isFinite(rss)) writeSync(fd, `${JSON.stringify({ time: Date.now(), rssMiB: rss, peakMiB: mib('VmHWM') })}\n`);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      closeSync(fd);
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      dir: { type: 'string' },
      full: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      keep: { type: 'string' },
      'heap-mib': { type: 'string' },
      trace: { type: 'string' },
    },
  });
  const heapMiB = values['heap-mib'] === undefined ? undefined : Number(values['heap-mib']);
  if (heapMiB !== undefined && (!Number.isInteger(heapMiB) || heapMiB < 256))
    throw new RangeError(`--heap-mib takes a whole number of MiB (at least 256), got ${values['heap-mib']}`);
  if (values.child) {
    process.stdout.write(`${JSON.stringify(await child(Number(values.child), values.dir!, values.trace))}\n`);
    return;
  }
  const sizes = values.sizes ? values.sizes.split(',').map(Number) : [10_000, 100_000, ...(values.full ? [1_000_000] : [])];
  if (sizes.some((n) => !Number.isInteger(n) || n < PER_CLIP))
    throw new RangeError(`--sizes takes comma-separated segment counts of at least ${PER_CLIP}, got ${values.sizes}`);
  const root = values.keep ?? (await mkdtemp(join(tmpdir(), 'emoforge-scale-')));
  const results = new Map<number, Measurement>();
  if (values.trace) await mkdir(values.trace, { recursive: true });
  try {
    for (const n of sizes) {
      const m = await runChild(n, join(root, String(n)), heapMiB, values.trace && join(values.trace, `${n}.ndjson`));
      results.set(n, m);
      const per10k = (ms: number) => (ms / 1000 / n) * 10_000;
      console.log(
        `${String(n).padStart(8)} segments: ${m.segments} reached the sink, ${m.rows} rows, peak ${m.peakMiB.toFixed(0)} MiB, wall ${(m.wallMs / 1000).toFixed(1)} s (${per10k(m.wallMs).toFixed(2)} s per 10k), CPU ${(m.cpuMs / 1000).toFixed(1)} s (${per10k(m.cpuMs).toFixed(2)} s per 10k), heap limit ${m.heapLimitMiB.toFixed(0)} MiB, ${m.malloc.kind === 'set' ? `malloc mmap threshold fixed at ${m.malloc.mmapThresholdBytes / 1024} KiB` : `malloc left as it is (${m.malloc.why})`}; at the largest sampled RSS (${m.atPeak.rssMiB} MiB): heap ${m.atPeak.heapTotalMiB} MiB (${m.atPeak.heapUsedMiB} used), external ${m.atPeak.externalMiB} MiB`,
      );
      if (!values.keep) await rm(join(root, String(n)), { recursive: true, force: true });
    }
  } finally {
    if (!values.keep) await rm(root, { recursive: true, force: true });
  }
  const largest = Math.max(...results.keys());
  const last = results.get(largest)!;
  const base = results.get(100_000);
  const ratio = base ? `${(last.peakMiB / base.peakMiB).toFixed(2)}x of 100k` : 'no 100k run';
  // Against the smallest N: time per segment should not grow with the corpus. CPU is the steadier
  // figure on a shared machine (wall time there is mostly waiting for a core).
  const smallest = Math.min(...results.keys());
  const first = results.get(smallest)!;
  if (smallest !== largest)
    console.log(
      `per 10k at ${largest} against ${smallest}: wall ${(last.wallMs / largest / (first.wallMs / smallest)).toFixed(2)}x, CPU ${(last.cpuMs / largest / (first.cpuMs / smallest)).toFixed(2)}x`,
    );
  console.log(`scale: ${largest} segments, peak ${last.peakMiB.toFixed(0)} MiB (${ratio}), ${((last.wallMs / 1000 / largest) * 10_000).toFixed(2)} s per 10k`);
}

await main();
