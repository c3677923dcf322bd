// Ingest benchmark: N distinct small WAV files (written here, no ffmpeg needed to make them), then
// the ingest stage over them three times with one store: cold (every file hashed and probed), a
// re-run (nothing changed), and a re-run with --rehash. Wall and CPU seconds (this process and its
// ffprobe children) for each, and the ratio of cold to re-run.
//
//   npx tsx scripts/bench/ingest.ts [--files 5000] [--concurrency N] [--keep DIR]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { ingest } from '../../stages/ingest.ts';
import { stageContext } from '../../tests/helpers.ts';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '5000' },
    concurrency: { type: 'string' },
    keep: { type: 'string' },
  },
});
const files = Number(args.files);
if (!Number.isInteger(files) || files < 1) throw new RangeError(`--files must be a positive integer, got ${args.files}`);

const SAMPLE_RATE = 16_000;
const SECONDS = 0.5;

/** A 16 kHz mono PCM WAV of a tone whose pitch is the file's number: every file's bytes differ. */
function wav(n: number): Buffer {
  const samples = SAMPLE_RATE * SECONDS;
  const data = Buffer.alloc(samples * 2);
  const freq = 110 + (n % 4000) * 0.5 + Math.floor(n / 4000) * 0.25;
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const work = args.keep ?? (await mkdtemp(join(tmpdir(), 'emoforge-bench-ingest-')));
const input = join(work, 'clips');
await mkdir(input, { recursive: true });
// 100 files a folder, as a corpus tree would have them.
for (let n = 0; n < files; n++) {
  const dir = join(input, `f${String(Math.floor(n / 100)).padStart(3, '0')}`);
  if (n % 100 === 0) await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `clip-${String(n).padStart(5, '0')}.wav`), wav(n));
}

const store = new LocalStore(join(work, 'store'));
const config = ingest.configSchema.parse(args.concurrency === undefined ? {} : { concurrency: Number(args.concurrency) });

interface Timing {
  wall: number;
  cpu: number;
  clips: number;
}

async function timed(rehash: boolean): Promise<Timing> {
  const { ctx } = stageContext({ store, stage: 'ingest' });
  const before = process.resourceUsage();
  const started = performance.now();
  const result = await ingest.run(config, { input, partitions: 16, ...(rehash ? { rehash } : {}) }, ctx);
  const wall = (performance.now() - started) / 1000;
  const after = process.resourceUsage();
  // resourceUsage counts this process only; children's CPU comes from the kernel's accounting of
  // reaped children (RUSAGE_CHILDREN), which Node does not expose: read it from /proc/self/stat.
  const cpu = (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6;
  return { wall, cpu: cpu + (await childCpuSince(childCpuAtStart)), clips: result.clips.length };
}

let childCpuAtStart = 0;
async function childCpu(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1].split(' ');
  // fields 16 and 17 of /proc/PID/stat (cutime, cstime), counted from the state field (3)
  return (Number(stat[13]) + Number(stat[14])) / 100;
}
async function childCpuSince(start: number): Promise<number> {
  return (await childCpu()) - start;
}

const results: [string, Timing][] = [];
for (const [label, rehash] of [['cold', false], ['re-run', false], ['re-run --rehash', true]] as const) {
  childCpuAtStart = await childCpu();
  const t = await timed(rehash);
  results.push([label, t]);
  console.log(`${label.padEnd(16)} ${t.clips} clips  wall ${t.wall.toFixed(2)} s  cpu ${t.cpu.toFixed(2)} s`);
}
const [cold, rerun] = [results[0][1], results[1][1]];
console.log(`ingest: ${files} files, cold ${cold.wall.toFixed(1)} s, re-run ${rerun.wall.toFixed(2)} s (${(cold.wall / rerun.wall).toFixed(1)}x faster)`);
if (!args.keep) await rm(work, { recursive: true, force: true });
