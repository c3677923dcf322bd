// Ingest benchmark: N distinct small WAV files (written here, no ffmpeg needed to make them), then
// the ingest stage over them with an empty store (cold: every file hashed and probed) and again with
// the same store (re-run: nothing changed), by this checkout and, side by side, by another git
// revision of emoforge (a temporary worktree sharing this checkout's node_modules). Each run is a
// child process; wall seconds and CPU seconds (the child and its ffprobe processes) are printed, and
// the ratios of the baseline to this checkout.
//
//   npx tsx scripts/bench/ingest.ts [--files 5000] [--baseline <git ref>] [--concurrency N]
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { REPO } from '../../tests/helpers.ts';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '5000' },
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
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(CHANNELS, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 2 * CHANNELS, 28);
  header.writeUInt16LE(2 * CHANNELS, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

interface Timing {
  wall: number;
  cpu: number;
  clips: number;
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
  const { ctx } = stageContext({ store: new LocalStore(args.store!), stage: 'ingest' });
  const config = ingest.configSchema.parse(args.concurrency === undefined ? {} : { concurrency: Number(args.concurrency) });
  const before = process.resourceUsage();
  const childrenBefore = await childrenCpu();
  const started = performance.now();
  const result = await ingest.run(config, { input: args.input!, partitions: 16 }, ctx);
  const wall = (performance.now() - started) / 1000;
  const after = process.resourceUsage();
  const cpu = (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6 + (await childrenCpu()) - childrenBefore;
  process.stdout.write(JSON.stringify({ wall, cpu, clips: result.clips.length } satisfies Timing));
  process.exit(0);
}

const exec = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-ingest-'));
const input = join(work, 'clips');
await mkdir(input, { recursive: true });
// 100 files a folder, as a corpus tree would have them.
for (let n = 0; n < files; n++) {
  const dir = join(input, `f${String(Math.floor(n / 100)).padStart(3, '0')}`);
  if (n % 100 === 0) await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `clip-${String(n).padStart(5, '0')}.wav`), wav(n));
}

async function timedIngest(checkout: string, store: string): Promise<Timing> {
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
    const child = spawn(argv[0], argv.slice(1), { cwd: checkout, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ingest by ${checkout} exited ${code}`))));
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
  const results = new Map<string, { cold: Timing; rerun: Timing }>();
  for (const side of sides) {
    const store = join(work, `store-${results.size}`);
    const cold = await timedIngest(side.checkout, store);
    const rerun = await timedIngest(side.checkout, store);
    results.set(side.label, { cold, rerun });
    for (const [what, t] of [
      ['cold', cold],
      ['re-run', rerun],
    ] as const) {
      console.log(`${side.label.padEnd(28)} ${what.padEnd(7)} ${t.clips} clips  wall ${t.wall.toFixed(2)} s  cpu ${t.cpu.toFixed(2)} s`);
    }
  }
  const mine = results.get('this checkout')!;
  if (args.baseline) {
    const base = results.get(`baseline ${args.baseline}`)!;
    console.log(
      `ingest: ${files} files, cold ${(base.cold.wall / mine.cold.wall).toFixed(2)}x wall (${(base.cold.cpu / mine.cold.cpu).toFixed(2)}x cpu), re-run ${(base.rerun.wall / mine.rerun.wall).toFixed(2)}x wall (${(base.rerun.cpu / mine.rerun.cpu).toFixed(2)}x cpu) faster than ${args.baseline}`,
    );
  } else {
    console.log(`ingest: ${files} files, cold ${mine.cold.wall.toFixed(1)} s, re-run ${mine.rerun.wall.toFixed(2)} s`);
  }
} finally {
  if (baselineTree) await exec('git', ['-C', REPO, 'worktree', 'remove', '--force', baselineTree]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
