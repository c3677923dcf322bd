// Cold demo benchmark: `emoforge run configs/demo.yaml` on the same demo clips with an empty store
// and out folder, by this checkout and by another git revision of emoforge (a temporary worktree
// sharing this checkout's node_modules), in alternating order, timed with /usr/bin/time -v (wall
// and user+sys CPU seconds, so a busy machine shows up as wall time, not as CPU). Prints the
// medians and the ratio of this checkout to the baseline.
//
//   npx tsx scripts/bench/demo.ts --baseline <git ref> [--clips 12] [--repeat 3]
//   npx tsx scripts/bench/demo.ts            # this checkout only
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { REPO, sampleClips } from '../../tests/helpers.ts';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    clips: { type: 'string', default: '12' },
    repeat: { type: 'string', default: '3' },
  },
});
const clips = Number(args.clips);
const repeat = Number(args.repeat);
if (!Number.isInteger(clips) || clips < 1) throw new RangeError(`--clips must be a positive integer, got ${args.clips}`);
if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`--repeat must be a positive integer, got ${args.repeat}`);

interface Side {
  readonly label: string;
  readonly checkout: string;
  readonly wall: number[];
  readonly cpu: number[];
}

interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

/** One cold run: fresh store and out folder, the checkout's own demo config and CLI. */
async function coldRun(checkout: string, input: string): Promise<Timing> {
  const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-demo-'));
  try {
    const cli = join(checkout, 'scripts', 'emoforge.mjs');
    const argv = [
      '-v',
      process.execPath,
      cli,
      'run',
      join(checkout, 'configs', 'demo.yaml'),
      '--input',
      input,
      '--out',
      join(work, 'out'),
      '--store',
      join(work, 'store'),
    ];
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn('/usr/bin/time', argv, { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${cli} run exited ${code}:\n${text.slice(-2000)}`))));
    });
    const field = (name: string) =>
      Number(
        new RegExp(`${name}: ([0-9.:]+)`)
          .exec(stderr)?.[1]
          ?.split(':')
          .reduce((total, part) => total * 60 + Number(part), 0),
      );
    return { wall: field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)'), cpu: field('User time \\(seconds\\)') + field('System time \\(seconds\\)') };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const input = await sampleClips(clips);
const sides: Side[] = [{ label: 'this checkout', checkout: REPO, wall: [], cpu: [] }];
let baselineDir: string | undefined;
if (args.baseline) {
  baselineDir = await mkdtemp(join(tmpdir(), 'emoforge-bench-baseline-'));
  await exec('git', ['-C', REPO, 'worktree', 'add', '--detach', baselineDir, args.baseline]);
  await symlink(join(REPO, 'node_modules'), join(baselineDir, 'node_modules'));
  sides.push({ label: `baseline ${args.baseline}`, checkout: baselineDir, wall: [], cpu: [] });
}
try {
  for (let round = 0; round < repeat; round++) {
    // Alternate which side goes first, so neither always runs on a cooler machine or a warmer page cache.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const timing = await coldRun(side.checkout, input);
      side.wall.push(timing.wall);
      side.cpu.push(timing.cpu);
      process.stdout.write(`round ${round + 1}: ${side.label}: ${timing.wall.toFixed(1)} s wall, ${timing.cpu.toFixed(1)} CPU s\n`);
    }
  }
} finally {
  if (baselineDir)
    await exec('git', ['-C', REPO, 'worktree', 'remove', '--force', baselineDir]).catch(() => rm(baselineDir!, { recursive: true, force: true }));
}
for (const side of sides)
  process.stdout.write(
    `${side.label}: median ${median(side.wall).toFixed(1)} s wall, ${median(side.cpu).toFixed(1)} CPU s over ${repeat} cold runs of ${clips} clips\n`,
  );
if (sides.length === 2) {
  const [current, baseline] = sides;
  process.stdout.write(
    `cold demo: ${(median(current.wall) / median(baseline.wall)).toFixed(2)}x wall, ${(median(current.cpu) / median(baseline.cpu)).toFixed(2)}x CPU of ${baseline.label}\n`,
  );
}
