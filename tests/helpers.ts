// Shared test fixtures: real demo clips made once per machine and count, a CLI runner, and a way
// to run the pipeline in-process against a temporary store and out folder.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { stringify } from 'yaml';
import type { RunSummary } from '../pipelines/run/summary.ts';
import type { StageContext, WorkKind } from '../pipelines/stage.ts';
import { LocalStore } from '../pipelines/store/local-store.ts';
import type { Store } from '../pipelines/store/store.ts';
import type { TeacherRegistry } from '../pipelines/teachers/teacher.ts';
import type { Clip } from '../schemas/records.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The most clips any test asks for: smaller sets are its first clips. */
const ALL_CLIPS = 12;

/** A folder of `count` demo clips + manifest.csv; made once (atomically) and copied per caller. */
export async function sampleClips(count: number): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'emoforge-clips-'));
  await cp(await sharedClips(count), copy, { recursive: true });
  return copy;
}

async function sharedClips(count: number): Promise<string> {
  // Keyed by the generator's own source too, so a changed generator never serves stale clips.
  const generator = createHash('sha256')
    .update(await readFile(join(REPO, 'scripts/sample-clips.ts')))
    .digest('hex')
    .slice(0, 12);
  const shared = join(tmpdir(), `emoforge-test-clips-${count}-${generator}`);
  if (
    await stat(join(shared, 'manifest.csv')).then(
      () => true,
      () => false,
    )
  )
    return shared;
  const building = await mkdtemp(join(tmpdir(), 'emoforge-clips-build-'));
  if (count < ALL_CLIPS) {
    // makeSampleClips plans clip i from i alone, so the first `count` of the full set (files and
    // manifest rows) are byte for byte what makeSampleClips(count) makes, without making them again.
    const all = await sharedClips(ALL_CLIPS);
    const lines = (await readFile(join(all, 'manifest.csv'), 'utf8')).split('\n').slice(0, count + 1);
    for (const line of lines.slice(1)) await cp(join(all, `${line.split(',')[0]}.mp4`), join(building, `${line.split(',')[0]}.mp4`));
    await writeFile(join(building, 'manifest.csv'), `${lines.join('\n')}\n`);
  } else {
    const { makeSampleClips } = await import('../scripts/sample-clips.ts');
    await makeSampleClips(building, { count });
  }
  await rename(building, shared).catch(async () => rm(building, { recursive: true, force: true }));
  return shared;
}

export async function tempDir(prefix = 'emoforge-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** The demo config with overrides per stage (by name); `false` leaves that stage out. */
export function demoConfig(overrides: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  const stages: [string, Record<string, unknown>][] = [
    ['ingest', {}],
    ['segment', { strategy: 'whole', frames: 2 }],
    ['transcribe', { engine: 'pocketsphinx' }],
    ['cues.visual', {}],
    ['cues.acoustic', {}],
    ['cues.lexical', {}],
    ['cues.agreement', {}],
    ['describe', {}],
    ['labels', {}],
    ['qa', {}],
    ['rationale', {}],
    ['filter', {}],
    ['write', { seed: 'test' }],
  ];
  return {
    name: 'test-corpus',
    partitions: 4,
    concurrency: 2,
    ...top,
    stages: stages.filter(([name]) => overrides[name] !== false).map(([name, config]) => ({ [name]: { ...config, ...((overrides[name] as object) ?? {}) } })),
  };
}

export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'config.yaml');
  await writeFile(file, stringify(config));
  return file;
}

export interface InProcessRun {
  summary: RunSummary;
  outDir: string;
}

/** Runs the pipeline in this process. */
export async function runInProcess(
  config: Record<string, unknown>,
  paths: { input: string; out: string; store: string },
  options: { dryRun?: boolean; limit?: number; waitForBatches?: boolean } = {},
): Promise<InProcessRun> {
  // Loaded here, not at the top: a test file that only starts the CLI does not pay for importing the pipeline.
  const [{ buildPlan }, { runPipeline }, { STAGES }] = await Promise.all([
    import('../pipelines/config.ts'),
    import('../pipelines/runner.ts'),
    import('../stages/index.ts'),
  ]);
  const plan = buildPlan('test.yaml', config, STAGES);
  await mkdir(paths.out, { recursive: true });
  const summary = await runPipeline(plan, {
    store: new LocalStore(paths.store),
    outDir: paths.out,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    input: paths.input,
    dryRun: options.dryRun,
    limit: options.limit,
    waitForBatches: options.waitForBatches,
  });
  return { summary, outDir: paths.out };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `emoforge ARGS` as a user would (a child process, stdout not a TTY). */
export function cli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [join(REPO, 'scripts/emoforge.mjs'), ...args],
      { cwd: options.cwd ?? REPO, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolvePromise({ code: error ? (((error as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [join(REPO, 'scripts/emoforge.mjs'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function readJson<T = any>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** A real StageContext for calling one stage directly: real store, silent log, counted work and flags. */
export function stageContext(options: {
  store: Store;
  stage: string;
  signal?: AbortSignal;
  teachers?: TeacherRegistry;
  sourcePath?: (clip: Clip) => Promise<string>;
}): { ctx: StageContext; work: Partial<Record<WorkKind, number>>; flags: string[] } {
  const work: Partial<Record<WorkKind, number>> = {};
  const flags: string[] = [];
  const ctx: StageContext = {
    store: options.store,
    log: pino({ level: 'silent' }),
    signal: options.signal ?? new AbortController().signal,
    work: { add: (kind, amount = 1) => void (work[kind] = (work[kind] ?? 0) + amount) },
    flag: (reason) => void flags.push(reason),
    teachers: options.teachers ?? {
      forRole: () => {
        throw new Error(`${options.stage} must not call a teacher`);
      },
    },
    scratch: () => mkdtemp(join(tmpdir(), 'emoforge-scratch-')),
    sourcePath: options.sourcePath ?? (() => Promise.reject(new Error(`${options.stage} must not read the source clip`))),
  };
  return { ctx, work, flags };
}

/** sha256 of every shard in OUT/shards, by file name (to compare runs byte for byte). */
export async function shardHashes(out: string): Promise<Record<string, string>> {
  const files = (await readdir(join(out, 'shards'))).sort();
  const hashes: Record<string, string> = {};
  for (const f of files)
    hashes[f] = createHash('sha256')
      .update(await readFile(join(out, 'shards', f)))
      .digest('hex');
  return hashes;
}

/** Keys under a prefix of a local store folder, sorted. */
export async function storeKeys(store: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const key of new LocalStore(store).list(prefix)) found.push(key);
  return found.sort();
}
