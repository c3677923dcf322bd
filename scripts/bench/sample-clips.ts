// sample-clips benchmark: the generator as it is against the generator at an older commit, side by
// side in one session, each making `--count` clips into a fresh folder in its own process under
// /usr/bin/time (CPU = user + system of the process and its flite/ffmpeg children; the machine's
// other load shows in wall time, not in CPU time). Also counts distinct files (sha256) per side and
// how many of the first clips came out byte-identical on both sides.
//
//   npx tsx scripts/bench/sample-clips.ts [--count 60] [--old bc0405f] [--keep DIR]
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { repoRoot } from '../../pipelines/repo-root.ts';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '60' },
    old: { type: 'string', default: 'bc0405f' },
    keep: { type: 'string' },
    // internal: the child process that runs one generator
    generator: { type: 'string' },
    dir: { type: 'string' },
  },
});
const count = Number(args.count);

if (args.generator) {
  const { makeSampleClips } = (await import(resolve(args.generator))) as typeof import('../sample-clips.ts');
  await makeSampleClips(args.dir!, { count });
  process.exit(0);
}

interface Side {
  name: string;
  cpu: number;
  wall: number;
  files: Map<string, string>;
}

async function measure(name: string, generator: string, dir: string): Promise<Side> {
  const { stderr } = await run(
    '/usr/bin/time',
    ['-f', 'bench-time %U %S %e', process.execPath, '--import', 'tsx', import.meta.filename, '--generator', generator, '--dir', dir, '--count', String(count)],
    { cwd: repoRoot(), maxBuffer: 16 << 20 },
  );
  const line = stderr.split('\n').find((l) => l.startsWith('bench-time '));
  if (!line) throw new Error(`no timing from /usr/bin/time for ${name}: ${stderr}`);
  const [user, system, wall] = line.split(' ').slice(1).map(Number);
  const files = new Map<string, string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.mp4')).sort()) {
    files.set(
      file,
      createHash('sha256')
        .update(await readFile(join(dir, file)))
        .digest('hex'),
    );
  }
  return { name, cpu: user + system, wall, files };
}

const root = args.keep ?? (await mkdtemp(join(tmpdir(), 'emoforge-bench-sample-clips-')));
const repo = repoRoot();
// the old generator goes to the temp folder, its relative imports pointed at this tree's files
const oldSource = join(root, `sample-clips-${args.old}.ts`);
try {
  const { stdout } = await run('git', ['show', `${args.old}:scripts/sample-clips.ts`], { cwd: repo, maxBuffer: 16 << 20 });
  await writeFile(oldSource, stdout.replace(/from '\.\.\//g, `from '${repo}/`).replace(/from '\.\//g, `from '${repo}/scripts/`));
  const before = await measure(`${args.old} (before)`, oldSource, join(root, 'old'));
  const after = await measure('this tree (after)', join(repo, 'scripts', 'sample-clips.ts'), join(root, 'new'));

  const row = (s: Side) =>
    `${s.name.padEnd(20)} ${String(s.files.size).padStart(6)} ${s.cpu.toFixed(1).padStart(8)} ${s.wall.toFixed(1).padStart(8)} ` +
    `${(s.cpu / count).toFixed(3).padStart(11)} ${(s.wall / count).toFixed(3).padStart(12)} ${String(new Set(s.files.values()).size).padStart(9)}`;
  console.log(`sample-clips --count ${count}, one session (${root})`);
  console.log(
    `${'generator'.padEnd(20)} ${'clips'.padStart(6)} ${'CPU s'.padStart(8)} ${'wall s'.padStart(8)} ${'CPU s/clip'.padStart(11)} ${'wall s/clip'.padStart(12)} ${'distinct'.padStart(9)}`,
  );
  console.log(row(before));
  console.log(row(after));
  console.log(`speed-up per clip: ${(before.cpu / after.cpu).toFixed(1)}x CPU, ${(before.wall / after.wall).toFixed(1)}x wall`);
  const same = [...before.files].filter(([file, hash]) => after.files.get(file) === hash).length;
  console.log(`byte-identical on both sides: ${same} of ${Math.min(before.files.size, after.files.size)} clips`);
} finally {
  await rm(oldSource, { force: true });
  if (!args.keep) await rm(root, { recursive: true, force: true });
}
