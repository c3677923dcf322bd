// Ingest benchmark: N distinct small media files (`--media mixed`, the default: 4 in 5 MP4 clips of
// H.264 + AAC, the rest WAV; `--media wav` or `--media mp4` for one kind), then
// the ingest stage over them with an empty store (cold: every file hashed and probed) and again with
// the same store (re-run: nothing changed), by this checkout and, side by side, by another git
// revision of emoforge (a temporary worktree sharing this checkout's node_modules). Each run is a
// child process; wall seconds and CPU seconds (the child and its ffprobe processes) are printed, and
// the ratios of the baseline to this checkout.
//
// The WAVs are written here; the MP4s are a few clips encoded by ffmpeg once, each copy made distinct
// by a trailing 'free' box holding its number (a box every MP4 reader skips), so that each file has
// its own sha256 and is probed on its own while the headers read are those of real clips.
//
//   npx tsx scripts/bench/ingest.ts [--files 5000] [--media mixed|wav|mp4] [--baseline <git ref>] [--concurrency N]
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { pcm16WavHeader } from '../../pipelines/media/wav.ts';
import { REPO } from '../../tests/helpers.ts';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '5000' },
    media: { type: 'string', default: 'mixed' },
    baseline: { type: 'string' },
    concurrency: { type: 'string' },
    // internal: one timed ingest in this process
    child: { type: 'string' },
    input: { type: 'string' },
    store: { type: 'string' },
  },
});
const files = Number(args.files);
if (!Number.isInteger(files) || files < 1) throw new RangeError(`--files must be a positive integer, got ${args.files}`);
if (!['mixed', 'wav', 'mp4'].includes(args.media!)) throw new RangeError(`--media must be mixed, wav or mp4, got ${args.media}`);

// 3 s of 48 kHz stereo: 576 KB a file, about what a 4 s MP4 clip weighs, so hashing costs what it would.
const SAMPLE_RATE = 48_000;
const CHANNELS = 2;
const SECONDS = 3;

/** A PCM WAV of a tone whose pitch is the file's number: every file's bytes differ. */
function wav(n: number): Buffer {
  const frames = SAMPLE_RATE * SECONDS;
  const data = Buffer.alloc(frames * 2 * CHANNELS);
  const freq = 110 + (n % 4000) * 0.5 + Math.floor(n / 4000) * 0.25;
  for (let i = 0; i < frames; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE));
    for (let c = 0; c < CHANNELS; c++) data.writeInt16LE(v, (i * CHANNELS + c) * 2);
  }
  const header = pcm16WavHeader(data.length, SAMPLE_RATE, CHANNELS);
  return Buffer.concat([header, data]);
}

interface Timing {
  wall: number;
  cpu: number;
  clips: number;
  /** ffprobe processes started */
  ffprobes: number;
}

/** CPU seconds of this process's reaped children (cutime + cstime of /proc/self/stat, in clock ticks of 1/100 s). */
async function childrenCpu(): Promise<number> {
  const fields = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

if (args.child) {
  // One ingest by the checkout args.child names, over args.input with the store args.store.
  const checkout = args.child;
  const { ingest } = await import(pathToFileURL(join(checkout, 'stages/ingest.ts')).href);
  const { LocalStore } = await import(pathToFileURL(join(checkout, 'pipelines/store/local-store.ts')).href);
  const { stageContext } = await import(pathToFileURL(join(checkout, 'tests/helpers.ts')).href);
  const { ctx, work } = stageContext({ store: new LocalStore(args.store!), stage: 'ingest' });
  const config = ingest.configSchema.parse(args.concurrency === undefined ? {} : { concurrency: Number(args.concurrency) });
  const before = process.resourceUsage();
  const childrenBefore = await childrenCpu();
  const started = performance.now();
  const result = await ingest.run(config, { input: args.input!, partitions: 16 }, ctx);
  const wall = (performance.now() - started) / 1000;
  const after = process.resourceUsage();
  const cpu = (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6 + (await childrenCpu()) - childrenBefore;
  process.stdout.write(JSON.stringify({ wall, cpu, clips: result.clips.length, ffprobes: work.ffprobe ?? 0 } satisfies Timing));
  process.exit(0);
}

const exec = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-ingest-'));
const input = join(work, 'clips');
await mkdir(input, { recursive: true });

/** Four-second talking-head-sized clips (640x360 H.264 + 48 kHz stereo AAC, ~1 Mbit/s), some with the moov first. */
async function mp4Templates(): Promise<Buffer[]> {
  const templates: Buffer[] = [];
  for (const [i, faststart] of [false, true, false, true].entries()) {
    const path = join(work, `template-${i}.mp4`);
    await exec('ffmpeg', [
      ...['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc2=s=640x360:r=25:d=${3.5 + i * 0.25}`],
      ...['-f', 'lavfi', '-i', `sine=f=${220 + i * 110}:d=${3.5 + i * 0.25}`],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '900k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ar', '48000', '-ac', '2', '-shortest'],
      ...(faststart ? ['-movflags', '+faststart'] : []),
      path,
    ]);
    templates.push(await readFile(path));
  }
  return templates;
}

/** A template with a trailing 16-byte 'free' box holding `n`: distinct bytes, the same headers. */
function mp4(templates: Buffer[], n: number): Buffer {
  const free = Buffer.alloc(16);
  free.writeUInt32BE(16, 0);
  free.write('free', 4, 'latin1');
  free.writeBigUInt64BE(BigInt(n), 8);
  return Buffer.concat([templates[n % templates.length], free]);
}

const templates = args.media === 'wav' ? [] : await mp4Templates();
// 100 files a folder, as a corpus tree would have them.
for (let n = 0; n < files; n++) {
  const dir = join(input, `f${String(Math.floor(n / 100)).padStart(3, '0')}`);
  if (n % 100 === 0) await mkdir(dir, { recursive: true });
  const isMp4 = args.media === 'mp4' || (args.media === 'mixed' && n % 5 !== 4);
  await writeFile(join(dir, `clip-${String(n).padStart(5, '0')}.${isMp4 ? 'mp4' : 'wav'}`), isMp4 ? mp4(templates, n) : wav(n));
}

interface ProcessTiming {
  /** the child process as /usr/bin/time -v saw it: start-up (tsx, imports) included */
  wall: number;
  cpu: number;
  maxRssMb: number;
}

async function timedIngest(checkout: string, store: string): Promise<Timing & { process: ProcessTiming }> {
  const argv = [
    join(REPO, 'node_modules', '.bin', 'tsx'),
    join(REPO, 'scripts', 'bench', 'ingest.ts'),
    '--child',
    checkout,
    '--input',
    input,
    '--store',
    store,
    ...(args.concurrency ? ['--concurrency', args.concurrency] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-v', ...argv], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ingest by ${checkout} exited ${code}: ${err.slice(-2000)}`));
      const field = (name: string) => /: (.*)$/m.exec(err.split('\n').find((line) => line.trim().startsWith(name)) ?? '')?.[1] ?? '';
      const clock = field('Elapsed (wall clock) time')
        .split(':')
        .reduce((total, part) => total * 60 + Number(part), 0);
      const process = {
        wall: clock,
        cpu: Number(field('User time')) + Number(field('System time')),
        maxRssMb: Number(field('Maximum resident set size')) / 1024,
      };
      resolve({ ...JSON.parse(out), process });
    });
  });
}

const sides: { label: string; checkout: string }[] = [{ label: 'this checkout', checkout: REPO }];
let baselineTree: string | undefined;
try {
  if (args.baseline) {
    baselineTree = join(work, 'baseline');
    await exec('git', ['-C', REPO, 'worktree', 'add', '--detach', baselineTree, args.baseline]);
    await symlink(join(REPO, 'node_modules'), join(baselineTree, 'node_modules'));
    sides.unshift({ label: `baseline ${args.baseline}`, checkout: baselineTree });
  }
  const results = new Map<string, { cold: Timing & { process: ProcessTiming }; rerun: Timing & { process: ProcessTiming } }>();
  for (const side of sides) {
    const store = join(work, `store-${results.size}`);
    const cold = await timedIngest(side.checkout, store);
    const rerun = await timedIngest(side.checkout, store);
    results.set(side.label, { cold, rerun });
    for (const [what, t] of [
      ['cold', cold],
      ['re-run', rerun],
    ] as const) {
      console.log(
        `${side.label.padEnd(28)} ${what.padEnd(7)} ${t.clips} clips  ${t.ffprobes} ffprobes  wall ${t.wall.toFixed(2)} s  cpu ${t.cpu.toFixed(2)} s` +
          `  (/usr/bin/time -v of the process: wall ${t.process.wall.toFixed(2)} s, cpu ${t.process.cpu.toFixed(2)} s, max rss ${t.process.maxRssMb.toFixed(0)} MB)`,
      );
    }
  }
  const mine = results.get('this checkout')!;
  if (args.baseline) {
    const base = results.get(`baseline ${args.baseline}`)!;
    console.log(
      `ingest: ${files} files (${args.media}), cold ${(base.cold.wall / mine.cold.wall).toFixed(2)}x wall (${(base.cold.cpu / mine.cold.cpu).toFixed(2)}x cpu), re-run ${(base.rerun.wall / mine.rerun.wall).toFixed(2)}x wall (${(base.rerun.cpu / mine.rerun.cpu).toFixed(2)}x cpu) faster than ${args.baseline}`,
    );
  } else {
    console.log(`ingest: ${files} files (${args.media}), cold ${mine.cold.wall.toFixed(1)} s, re-run ${mine.rerun.wall.toFixed(2)} s`);
  }
} finally {
  if (baselineTree) await exec('git', ['-C', REPO, 'worktree', 'remove', '--force', baselineTree]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
