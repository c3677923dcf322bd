// emoforge schedule CONFIG --cron EXPR [--once]: refreshes a corpus on a schedule (croner). Each
// refresh re-reads the config, takes the out folder's lock (a refresh still running, here or in
// another process, makes the next trigger skip with a message), runs the pipeline (unchanged work
// comes from the store's caches) and prints the new version's summary line. SIGINT/SIGTERM stop the
// schedule; a refresh in progress is interrupted like `emoforge run` (finished partitions are kept)
// and the lock is released.
import { resolve } from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { buildPlan, loadConfigFile } from '../../pipelines/config.ts';
import { FatalError } from '../../pipelines/errors.ts';
import { LockHeldError } from '../../pipelines/publish/lock.ts';
import { describeFailures } from '../../pipelines/publish/publish-guard.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import { totalWork } from '../../pipelines/stats.ts';
import { EMOFORGE_VERSION } from '../../pipelines/version.ts';
import { STAGES } from '../../stages/index.ts';
import { openOutFolder, openRunLog, openRunStore, type OutFolder } from '../run-setup.ts';
import { checkLocal, checkTrigger } from './cron.ts';

export interface ScheduleOptions {
  readonly configFile: string;
  readonly cron?: string;
  readonly once?: boolean;
  readonly input?: string;
  readonly out?: string;
  readonly store?: string;
  readonly write: (line: string) => void;
  /** Stops the schedule (the CLI aborts it on SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
}

export interface RefreshOutcome {
  readonly status: 'published' | 'incomplete' | 'skipped-locked' | 'failed' | 'interrupted';
  readonly line: string;
}

/** Runs the schedule until `signal` aborts (or one refresh with `once`); returns the exit code. */
export async function schedule(options: ScheduleOptions): Promise<number> {
  checkTrigger(options);
  // Fail on a bad config now, not at 03:00.
  const first = buildPlan(options.configFile, await loadConfigFile(options.configFile), STAGES);
  const outLocation = options.out ?? first.config.out;
  checkLocal(outLocation, options.input);
  const outDir = resolve(outLocation);
  const { log } = await openRunLog(outDir, 'schedule');
  log.info(
    { config: resolve(options.configFile), out: outDir, cron: options.cron ?? null, once: Boolean(options.once), version: EMOFORGE_VERSION },
    'schedule started',
  );

  if (options.once) {
    const outcome = await refresh(options, outDir, log);
    return outcome.status === 'published' ? 0 : outcome.status === 'incomplete' ? 3 : 1;
  }

  let running: Promise<RefreshOutcome> | undefined;
  const job = new Cron(options.cron!, { protect: true }, async () => {
    if (options.signal.aborted) return;
    running = refresh(options, outDir, log);
    await running;
    running = undefined;
    const next = job.nextRun();
    if (next) options.write(`${stamp()} next refresh at ${next.toISOString()}\n`);
  });
  options.write(
    `${stamp()} emoforge schedule ${first.config.name}: cron "${options.cron}", out ${outDir}; next refresh at ${job.nextRun()?.toISOString() ?? 'never'} (^C stops)\n`,
  );
  await new Promise<void>((resolveStop) => {
    if (options.signal.aborted) resolveStop();
    else options.signal.addEventListener('abort', () => resolveStop(), { once: true });
  });
  job.stop();
  if (running) {
    options.write(`${stamp()} stopping: interrupting the refresh in progress (finished partitions are kept)\n`);
    await running;
  }
  options.write(`${stamp()} schedule stopped\n`);
  log.info('schedule stopped');
  log.flush();
  return 0;
}

/** One refresh under the out folder's lock; never throws (the schedule goes on after a failed refresh). */
async function refresh(options: ScheduleOptions, outDir: string, log: Logger): Promise<RefreshOutcome> {
  const started = performance.now();
  let out: OutFolder;
  try {
    out = await openOutFolder({ location: outDir, command: `emoforge schedule ${options.configFile}`, publishes: true });
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    const line = `${stamp()} refresh skipped: ${error.message}`;
    log.warn({ holder: error.holder }, 'refresh skipped: locked');
    options.write(`${line}\n`);
    return { status: 'skipped-locked', line };
  }
  try {
    const plan = buildPlan(options.configFile, await loadConfigFile(options.configFile), STAGES);
    const store = await openRunStore(options.store, plan.config.store);
    log.info({ fingerprint: plan.fingerprint }, 'refresh started');
    const summary = await runPipeline(plan, { store, outDir: out.dir, log, signal: options.signal, input: options.input, waitForBatches: true });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const work = totalWork(summary.stats);
    const rows = summary.sink ? Object.values(summary.sink.splits).reduce((a, b) => a + b, 0) : 0;
    const version = summary.sink?.version?.line ?? (summary.incomplete ? 'incomplete, nothing published' : 'nothing published');
    const calls = Math.max(
      work.teacher ?? 0,
      Object.values(summary.teacherUsage)
        .flatMap((t) => Object.values(t))
        .reduce((n, u) => n + u.calls, 0),
    );
    // An outage is logged and retried at the next trigger; the published version keeps its rows.
    const failed = summary.incomplete
      ? `; ${describeFailures(summary.incomplete)}${summary.sink ? `, their rows carried from the published version` : ''}: retrying at the next trigger`
      : '';
    const line =
      `${stamp()} refresh ${plan.config.name}: ${version}; ${summary.clips} clips → ${rows} rows; ` +
      `cache ${summary.partitions.cached}/${summary.partitions.total} partitions; teacher calls ${calls}, media work ${(work.ffmpeg ?? 0) + (work.ffprobe ?? 0)}, ASR ${work.asr ?? 0}${failed}; ${seconds}s`;
    if (summary.incomplete)
      log.warn(
        { records: summary.incomplete.records, failed: summary.incomplete.failed, published: Boolean(summary.sink) },
        'refresh incomplete: records failed transiently',
      );
    log.info(
      {
        version: summary.sink?.version?.number ?? null,
        unchanged: summary.sink?.version?.unchanged ?? null,
        diff: summary.sink?.version?.diff?.rows ?? null,
        wallMs: Math.round(performance.now() - started),
      },
      'refresh finished',
    );
    options.write(`${line}\n`);
    return { status: summary.sink ? 'published' : summary.incomplete ? 'incomplete' : 'failed', line };
  } catch (error) {
    const interrupted = options.signal.aborted;
    const line = `${stamp()} refresh ${interrupted ? 'interrupted' : 'failed'}: ${(error as Error).message}`;
    log.error({ err: error }, interrupted ? 'refresh interrupted' : 'refresh failed');
    options.write(`${line}\n`);
    if (!interrupted && !(error instanceof FatalError)) options.write(`${(error as Error).stack ?? ''}\n`);
    return { status: interrupted ? 'interrupted' : 'failed', line };
  } finally {
    await out.release();
  }
}

function stamp(): string {
  return new Date().toISOString();
}
