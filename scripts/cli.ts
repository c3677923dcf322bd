// The emoforge command line: run, sample-clips, inspect, trace, export, audit, review.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../pipelines/audit/html.ts';
import { ConfigError, FatalError, InputError } from '../pipelines/errors.ts';
import type { BatchEvent } from '../pipelines/run/options.ts';
import type { RunSummary } from '../pipelines/run/summary.ts';
import { totalDropped, totalWork } from '../pipelines/stats.ts';
import { EMOFORGE_VERSION } from '../pipelines/version.ts';
import { MIN_OBSERVED } from '../pipelines/teachers/calibration.ts';

// Commands load their modules on demand, so `--help` and light commands start fast.

const USAGE = `emoforge ${EMOFORGE_VERSION} — build instruction-tuning corpora for emotion-aware multimodal LLMs

usage:
  emoforge run CONFIG [--input PATH] [--out PATH] [--store PATH] [--limit N] [--dry-run] [--no-wait] [--rehash]
      run the pipeline CONFIG names (YAML); writes shards/, manifest.json, rejects.parquet,
      stats.json and logs/ under the out folder; --rehash reads every input file again instead
      of recognising unchanged ones by size, times and inode
  emoforge run CONFIG --worker I/N [--input PATH] [--store PATH]
      static worker I of N (0-based; Slurm arrays, Kubernetes indexed jobs): processes the
      partitions p with p % N == I and stores their results; publishes nothing
  emoforge run CONFIG --executor bullmq --redis URL [--input PATH] [--out PATH] [--store PATH]
      queue the partitions in Redis for \`emoforge worker\`s (any number, any machine, same store)
      and publish once all are done; queueing is idempotent, so running it again resumes
  emoforge worker --redis URL [--concurrency N] [--store PATH] [--lock-duration MS]
                  [--stalled-interval MS] [--max-stalled N]
      process queued partitions, each in a child process, until stopped (SIGTERM finishes the
      running ones); teacher rate limits are shared through the same Redis
  emoforge finalize CONFIG [--input PATH] [--out PATH] [--store PATH]
      after every worker: the global steps and the sink over the stored partitions (a partition
      no worker stored is processed here)
  emoforge schedule CONFIG --cron "0 3 * * *" [--once] [--input PATH] [--out PATH] [--store PATH]
      refresh the corpus on a cron schedule (or once, now, with --once): each refresh publishes a
      new version when the output changed (OUT/versions/N, manifest version/parent/diff) and prints
      its summary; never two refreshes of one out folder at once (OUT/.emoforge.lock)
  emoforge sample-clips DIR [--count N] [--people]
      write N (default 12) deterministic demo clips and a manifest.csv into DIR (offline), all
      different; --people: several real people (face-api's group photos), one face speaking
  emoforge inspect OUT_OR_SHARD [--rows N]
      schema, row counts and the first rows of an out folder or one .parquet file
  emoforge trace OUT CLIP_ID_OR_URI
      where did this clip go and why: its segments, the stage that dropped each, the rows it made
  emoforge export OUT --format affectgpt|emer|llamafactory|llava|jsonl [--dest DIR] [--max-tokens N]
                 [--media hardlink|copy|symlink|none] [--corpus mercaptionplus|ovmerd]
                 [--style video-audio|llava-next|qwen-vl] [--reviewed]
      write an out folder as a trainer reads it, into DIR (default OUT/export/FORMAT; new, empty
      or an earlier export): AffectGPT dataset roots per split (--corpus names the CSVs), the
      older EMER layout (gt-eng.csv + AVI with audio, 512 tokens),
      LLaMA-Factory's dataset folder (dataset_info.json), LLaVA-style JSON (--style picks the
      placeholders) or OpenAI-style JSONL; each segment's own video and WAV placed by name
      (--media, default hardlink); samples over N tokens are skipped (default 1024 for
      affectgpt, per name); README.md and export-report.json inside; --reviewed exports only
      rows a reviewer accepted or edited
  emoforge fingerprint DIR -o FILE [--name BENCHMARK] [--store PATH]
      footage fingerprints of every media file under DIR (a benchmark's test clips), for
      ingest.exclude: a corpus clip that is or contains one of them is dropped (benchmark-overlap)
  emoforge audit OUT [--sql "SELECT …"] [--json] [--max-rows N]
      SQL (DuckDB) over a run: tables samples, rejects, stats, drops, teachers, shards; read-only
      (COPY, ATTACH, INSERT and other writing statements are refused). Without --sql: the tables
      and their columns. The run itself writes OUT/report.html and the dataset card OUT/README.md
  emoforge review OUT [--port P] [--host 127.0.0.1] [--reviewer NAME] [--queue Q] [--store PATH]
                 [--log NAME]
      serve the review page over a finished out folder (default http://127.0.0.1:8765/): check,
      edit and reject generated samples; decisions go to the review log in the store (default
      .emoforge, log "default") and the next run applies them. Queues: random, judge, conflict,
      disagreement, flagged, unreviewed, second, rejected, label:EMOTION. Any --host but loopback
      requires the access token the server prints
  emoforge eval OUT --model CONFIG [--split test] [--tasks mcq,ov_labels,…] [--limit N] [--store PATH]
      put each held-out row's question with its keyframes and audio to the model CONFIG names
      (an OpenAI-compatible endpoint, e.g. a vLLM-served fine-tune) and score the answers per task;
      writes OUT/eval/MODEL/SPLIT/{results.parquet,summary.json,usage.json} and a report.html section
  emoforge eval --compare A.json B.json [--json]
      per-task differences B − A on the rows both scored, with paired bootstrap 95% intervals
  emoforge --version | --help

  --debug (with any command) prints stack traces with errors
`;

class UsageError extends Error {}

export async function main(args: string[]): Promise<number> {
  // --debug (anywhere) prints stack traces; EMOFORGE_DEBUG=1 does the same.
  const debug = args.includes('--debug') || process.env.EMOFORGE_DEBUG === '1';
  const argv = args.filter((a) => a !== '--debug');
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'finalize':
        return await runCommand(rest, 'finalize');
      case 'worker':
        return await workerCommand(rest);
      case 'schedule':
        return await scheduleCommand(rest);
      case 'sample-clips':
        return await sampleClipsCommand(rest);
      case 'inspect':
        return await inspectCommand(rest);
      case 'trace':
        return await traceCommand(rest);
      case 'export':
        return await exportCommand(rest);
      case 'audit':
        return await auditCommand(rest);
      case 'fingerprint':
        return await fingerprintCliCommand(rest);
      case 'review':
        return await reviewCommand(rest);
      case 'eval':
        return await evalCliCommand(rest);
      case '--version':
      case '-v':
        process.stdout.write(`${EMOFORGE_VERSION}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`emoforge: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof InputError) {
      process.stderr.write(`emoforge: ${error.message}\n`);
      return 2;
    }
    const { isFsError, fsFailure } = await import('../pipelines/fs-errors.ts');
    const fatal = error instanceof FatalError ? error : isFsError(error) ? fsFailure(error) : undefined;
    if (fatal) {
      process.stderr.write(`emoforge: ${fatal.message}\n${debug ? `${stackOf(error)}\n` : ''}`);
      return 1;
    }
    process.stderr.write(
      `emoforge: unexpected error: ${debug ? stackOf(error) : `${(error as Error).message ?? String(error)} (run again with --debug for the stack trace, and report it)`}\n`,
    );
    return 1;
  }
}

/** The stack of an error and of each cause behind it. */
function stackOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(depth === 0 ? String((e as Error).stack ?? e) : `caused by: ${String((e as Error).stack ?? e)}`);
  }
  return parts.join('\n');
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}

async function runCommand(args: string[], command: 'run' | 'finalize' = 'run'): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      out: { type: 'string' },
      store: { type: 'string' },
      limit: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      rehash: { type: 'boolean' },
      ...(command === 'run' ? { worker: { type: 'string' }, executor: { type: 'string' }, redis: { type: 'string' } } : {}),
    },
  });
  if (positionals.length !== 1) throw new UsageError(`${command} takes one CONFIG file, e.g. emoforge ${command} configs/demo.yaml`);
  const workerSpec = typeof values.worker === 'string' ? values.worker : undefined;
  if (workerSpec !== undefined && values['dry-run'])
    throw new UsageError('--worker and --dry-run do not go together: project costs with one plain --dry-run run');
  let shard: import('../pipelines/executors/static-shard.ts').WorkerShard | undefined;
  const staticShard = workerSpec === undefined ? undefined : await import('../pipelines/executors/static-shard.ts');
  try {
    shard = staticShard?.parseWorkerShard(workerSpec!);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const executorName = typeof values.executor === 'string' ? values.executor : 'local';
  const redisUrl = typeof values.redis === 'string' ? values.redis : undefined;
  if (executorName !== 'local' && executorName !== 'bullmq')
    throw new UsageError(`--executor is local (default) or bullmq, got ${JSON.stringify(executorName)}`);
  if (executorName === 'bullmq' && !redisUrl) throw new UsageError('--executor bullmq needs --redis URL, e.g. --redis redis://localhost:6379');
  if (executorName === 'bullmq' && workerSpec !== undefined)
    throw new UsageError('--executor bullmq and --worker do not go together: queue workers take partitions as they come');
  if (executorName === 'bullmq' && values['dry-run'])
    throw new UsageError('--executor bullmq and --dry-run do not go together: a dry run projects costs in one process, run it without the queue');
  const [{ buildPlan, loadConfigFile }, { createProgress }, { runPipeline }, { isS3Location }, { STAGES }, setup] = await Promise.all([
    import('../pipelines/config.ts'),
    import('../pipelines/progress.ts'),
    import('../pipelines/runner.ts'),
    import('../pipelines/store/index.ts'),
    import('../stages/index.ts'),
    import('./run-setup.ts'),
  ]);
  const configFile = positionals[0];
  const rawConfig = await loadConfigFile(configFile);
  const plan = buildPlan(configFile, rawConfig, STAGES);
  if (
    executorName === 'bullmq' &&
    Object.values((plan.teachers as { teachers?: Record<string, { batch?: unknown } | undefined> } | undefined)?.teachers ?? {}).some((t) => t?.batch)
  ) {
    // Deferred batch requests live in the process that made them, which on a queue is a worker's child.
    throw new UsageError('batch-mode teachers (teachers.*.batch) are not supported with --executor bullmq yet: use the local executor or --worker I/N');
  }
  // s3:// input and out folders live in local mirrors: clips are pulled before the run, and the out folder
  // is published after it (manifest.json last). See pipelines/publish/store-mirror.ts.
  const inputLocation = values.input ?? (plan.source.config as { input?: string }).input;
  // Dry runs and static-shard workers publish nothing: no lock, no mirror pulled.
  const out = await setup.openOutFolder({
    location: values.out ?? plan.config.out,
    command: `emoforge ${command} ${configFile}`,
    publishes: !values['dry-run'] && workerSpec === undefined,
  });
  const outDir = out.dir;
  const refusedInputs: { uri: string; detail: string }[] = [];
  if (inputLocation && isS3Location(inputLocation)) {
    const mirror = await setup.pullInputMirror(inputLocation);
    values.input = mirror.dir;
    refusedInputs.push(...mirror.refused);
    process.stdout.write(mirror.line);
  }
  const store = await setup.openRunStore(values.store, plan.config.store);
  const limit = positiveInt('limit', values.limit);
  const { log, file: logFile } = await setup.openRunLog(outDir, 'run');
  const interrupt = setup.interruptibleRun(
    () => new FatalError('interrupted: finished partitions are kept, run the same command again to resume'),
    () => process.stderr.write('\nemoforge: stopping (finished partitions are kept; run again to resume; ^C again to quit now)\n'),
  );

  const isTty = Boolean(process.stdout.isTTY);
  const stageOrder = plan.ordered.map((p) => p.stage.name);
  const progress = createProgress(process.stdout, isTty, stageOrder);
  log.info({ config: resolve(configFile), out: outDir, store: store.location, version: EMOFORGE_VERSION, fingerprint: plan.fingerprint }, 'run started');
  let summary: RunSummary;
  try {
    const onBatches = (e: BatchEvent) => {
      const line = e.submitted
        ? `batch pass ${e.pass}: ${e.submitted} requests submitted; ${e.pending} waiting in ${e.openBatches} open batch(es)`
        : `batch pass ${e.pass}: ${e.pending} requests waiting in ${e.openBatches} open batch(es)`;
      process.stdout.write(`${line}${e.openBatches && !values['no-wait'] ? ' (polling; ^C is safe, the next run resumes without resubmitting)' : ''}\n`);
    };
    const executor =
      shard && staticShard
        ? new staticShard.StaticShardExecutor(shard, { log })
        : executorName === 'bullmq'
          ? new (await import('../pipelines/executors/queue-executor.ts')).QueueExecutor({
              redis: redisUrl!,
              store,
              config: rawConfig,
              configFile: resolve(configFile),
              log,
              inputLocation: inputLocation && isS3Location(inputLocation) ? inputLocation : undefined,
            })
          : undefined;
    if (executorName === 'bullmq') process.stdout.write(`queueing partitions in ${redisUrl} for emoforge worker (store ${store.location})\n`);
    summary = await runPipeline(plan, {
      store,
      outDir,
      log,
      signal: interrupt.signal,
      input: values.input,
      refusedInputs,
      limit,
      rehash: values.rehash,
      progress,
      dryRun: values['dry-run'],
      waitForBatches: !values['no-wait'],
      onBatches,
      executor,
    });
    const published = summary.sink ? await out.publish() : undefined;
    if (out.store && published) {
      log.info({ out: out.store.location, ...published }, 'published to the store');
      process.stdout.write(
        `published ${out.store.location}/manifest.json: ${published.uploaded} files uploaded (${published.bytes} bytes), ${published.unchanged} unchanged, ${published.deleted} stale removed\n`,
      );
    }
  } catch (error) {
    log.error({ err: error }, 'run failed');
    throw error;
  } finally {
    progress.stop();
    interrupt.dispose();
    await out.release();
  }
  log.info({ wallMs: Math.round(summary.wallMs), clips: summary.clips, segments: summary.segments, drops: summary.drops }, 'run finished');
  log.flush();
  process.stdout.write(formatSummary(plan.config.name, stageOrder, summary, outDir, logFile));
  // Records failed transiently and nothing was published: not a success, and not a crash either.
  if (!summary.sink && summary.incomplete && !summary.dryRun) {
    const { incompleteMessage } = await import('../pipelines/publish/publish-guard.ts');
    process.stderr.write(`emoforge: ${incompleteMessage(summary.incomplete)}\n`);
    return 3;
  }
  return 0;
}

export function formatSummary(name: string, stageOrder: string[], summary: RunSummary, outDir: string, logFile: string): string {
  const lines: string[] = [];
  if (summary.sink) {
    const rows = Object.values(summary.sink.splits).reduce((a, b) => a + b, 0);
    const splits = Object.entries(summary.sink.splits)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    lines.push(
      `\nemoforge run ${name}: ${summary.clips} clips → ${summary.segments} segments → ${rows} rows (${splits}); ${summary.drops} records rejected (see rejects.parquet)`,
    );
  } else if (summary.mode.kind === 'static-worker') {
    const p = summary.partitions;
    lines.push(
      `\nemoforge run ${name} --worker ${summary.mode.index}/${summary.mode.count}: ${p.total - (p.skipped ?? 0) - p.cached - (p.remote ?? 0)} partitions processed here, ${p.cached} already stored, ${p.remote ?? 0} waited for from other workers, ${p.skipped ?? 0} left to them; nothing was published. When every worker has ended: emoforge finalize CONFIG (same --store)`,
    );
  } else if (summary.incomplete && !summary.dryRun) {
    lines.push(
      `\nemoforge run ${name}: incomplete: ${summary.incomplete.records} records failed transiently; run again. ${summary.clips} clips → ${summary.segments} segments; nothing was published (no earlier version to keep their rows from)`,
    );
  } else if (summary.batches?.waiting) {
    lines.push(
      `\nemoforge run ${name}: ${summary.batches.submitted} teacher requests are in batches that have not ended; nothing was published. Run the same command again later to collect the answers and continue (nothing is submitted twice).`,
    );
  } else {
    lines.push(
      `\nemoforge run ${name} --dry-run: ${summary.clips} clips → ${summary.segments} segments; no teacher endpoint was called and nothing was published`,
    );
  }
  lines.push(
    `  ${'stage'.padEnd(16)}${'in'.padStart(7)}${'out'.padStart(7)}${'dropped'.padStart(9)}${'cached'.padStart(8)}  ${'work done'.padEnd(24)}${'time'.padStart(8)}`,
  );
  for (const stage of stageOrder) {
    const s = summary.stats[stage];
    if (!s) continue;
    const work =
      Object.entries(s.work)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '-';
    lines.push(
      `  ${stage.padEnd(16)}${String(s.in).padStart(7)}${String(s.out).padStart(7)}${String(totalDropped(s)).padStart(9)}${String(s.cached).padStart(8)}  ${work.padEnd(24)}${(s.wallMs / 1000).toFixed(1).padStart(7)}s`,
    );
    const reasons = Object.entries(s.dropped)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    if (reasons) lines.push(`  ${''.padEnd(16)}dropped: ${reasons}`);
    const flagged = Object.entries(s.flagged ?? {})
      .map(([r, n]) => `${r} ${n}`)
      .join(', ');
    if (flagged) lines.push(`  ${''.padEnd(16)}flagged (kept): ${flagged}`);
  }
  const work = totalWork(summary.stats);
  const media = (work.ffmpeg ?? 0) + (work.ffprobe ?? 0);
  // Teacher calls are HTTP requests, failed ones included: an outage is not "everything came from the cache".
  const usage = Object.values(summary.teacherUsage).flatMap((byTeacher) => Object.values(byTeacher));
  const generation = summary.dryRun
    ? (work.teacher ?? 0)
    : Math.max(
        work.teacher ?? 0,
        usage.reduce((n, u) => n + u.calls, 0),
      );
  const failedCalls = summary.dryRun ? 0 : usage.reduce((n, u) => n + u.failures, 0);
  lines.push(
    `cache: ${summary.partitions.cached}/${summary.partitions.total} partitions reused; ` +
      (media + (work.asr ?? 0) + generation + (work.dsp ?? 0) === 0
        ? 'no media work, no ASR, no generation (everything came from the cache)'
        : `media work ${media} (ffmpeg ${work.ffmpeg ?? 0}, ffprobe ${work.ffprobe ?? 0}), ASR ${work.asr ?? 0}, DSP ${work.dsp ?? 0}, teacher calls ${generation}${failedCalls ? ` (${failedCalls} generations failed)` : ''}`),
  );
  if (summary.incomplete && !summary.dryRun) {
    for (const f of summary.incomplete.failed)
      lines.push(`failed: ${f.service} in ${f.stage}: ${f.reason} for ${f.records} record${f.records === 1 ? '' : 's'} (transient: the next run retries them)`);
  }
  let projectedUSD = 0;
  for (const [role, byTeacher] of Object.entries(summary.teacherUsage)) {
    for (const [teacher, u] of Object.entries(byTeacher)) {
      if (u.calls + u.cacheHits === 0) continue;
      projectedUSD += u.usd;
      if (summary.dryRun) {
        const basis = summary.projectionBasis?.[`${role}/${teacher}`];
        const from = basis
          ? basis.basis === 'observed'
            ? ` (lengths from ${basis.observedAnswers} earlier answers)`
            : ' (output lengths from the offline teacher: no earlier answers yet)'
          : '';
        lines.push(
          `projected ${role}/${teacher}: ${u.calls} calls, ${u.cacheHits} answered from the cache, ~${u.inputTokens}+${u.outputTokens} tokens, ~$${u.usd.toFixed(4)}${from}`,
        );
        continue;
      }
      lines.push(
        `teacher ${role}/${teacher}: ${u.calls} calls (${u.retries} retries, ${u.invalidRetries} invalid-output retries), ${u.cacheHits} cache hits, ${u.inputTokens}+${u.outputTokens} tokens, $${u.usd.toFixed(4)}${u.failures ? `, ${u.failures} failed` : ''}`,
      );
    }
  }
  if (!summary.sink) {
    if (!summary.dryRun) {
      lines.push(`log:    ${logFile}\ntime:   ${(summary.wallMs / 1000).toFixed(1)}s\n`);
      return lines.join('\n');
    }
    lines.push(
      `projected teacher cost: ~$${projectedUSD.toFixed(4)} (input tokens counted on the exact prompts; output tokens from this teacher's earlier answers where there are ${MIN_OBSERVED} or more, else from the offline teacher's)`,
    );
    lines.push(`log:    ${logFile}\ntime:   ${(summary.wallMs / 1000).toFixed(1)}s\n`);
    return lines.join('\n');
  }
  lines.push(summary.sink.unchanged ? 'shards: unchanged (byte-identical to the published ones)' : `shards: ${summary.sink.shards.length} written`);
  if (summary.sink.media) {
    const m = summary.sink.media;
    const placed = [m.linked ? `${m.linked} hard-linked` : '', m.copied ? `${m.copied} copied` : '', m.pruned ? `${m.pruned} no longer named removed` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(`media:  ${m.files} files, ${formatBytes(m.bytes)} under ${join(outDir, 'media')}${placed ? ` (${placed})` : ''}`);
  }
  if (summary.sink.carried?.rows) {
    const c = summary.sink.carried;
    lines.push(`carried: ${c.rows} rows of ${c.records} records that failed transiently kept from version ${c.fromVersion ?? '?'} (run again to refresh them)`);
  }
  if (summary.sink.version) lines.push(summary.sink.version.line);
  lines.push(`output: ${join(outDir, 'manifest.json')}\nlog:    ${logFile}\ntime:   ${(summary.wallMs / 1000).toFixed(1)}s\n`);
  return lines.join('\n');
}

async function workerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      concurrency: { type: 'string' },
      store: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'max-stalled': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError('worker takes no positional arguments: the jobs carry the config');
  if (!values.redis) throw new UsageError('worker needs --redis URL, e.g. emoforge worker --redis redis://localhost:6379');
  const [{ startQueueWorker }, { onStopSignals, storeLocation, workerLog }] = await Promise.all([
    import('../pipelines/executors/queue-worker.ts'),
    import('./run-setup.ts'),
  ]);
  const lease = {
    ...(values['lock-duration'] ? { lockDurationMs: positiveInt('lock-duration', values['lock-duration']) } : {}),
    ...(values['stalled-interval'] ? { stalledIntervalMs: positiveInt('stalled-interval', values['stalled-interval']) } : {}),
    ...(values['max-stalled'] ? { maxStalledCount: positiveInt('max-stalled', values['max-stalled']) } : {}),
  };
  const log = workerLog();
  const worker = await startQueueWorker({
    redis: values.redis,
    concurrency: positiveInt('concurrency', values.concurrency),
    store: values.store ? storeLocation(values.store) : undefined,
    lease,
    log,
    onJob: (e) =>
      process.stdout.write(
        `${e.ok ? 'done' : 'failed'} partition ${e.partition} (phase ${e.phase}, job ${e.id.slice(0, 12)}) in ${(e.ms / 1000).toFixed(1)}s: ${e.detail}\n`,
      ),
  });
  process.stdout.write(`emoforge worker ${process.pid}: waiting for partitions in ${values.redis}\n`);
  await new Promise<void>((resolvePromise) => {
    onStopSignals(() => {
      process.stdout.write('emoforge worker: stopping after the running partitions (again to quit now)\n');
      void worker.close().then(resolvePromise);
    });
  });
  return 0;
}

async function scheduleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { cron: { type: 'string' }, once: { type: 'boolean' }, input: { type: 'string' }, out: { type: 'string' }, store: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('schedule takes one CONFIG file, e.g. emoforge schedule configs/demo.yaml --cron "0 3 * * *"');
  const { CronError, checkLocal, checkTrigger } = await import('./commands/cron.ts');
  try {
    // What the command line alone shows wrong, before the pipeline loads.
    checkTrigger(values);
    if (values.out !== undefined) checkLocal(values.out, values.input);
  } catch (error) {
    if (error instanceof CronError) throw new UsageError(error.message);
    throw error;
  }
  const [{ schedule }, { interruptibleRun }] = await Promise.all([import('./commands/schedule.ts'), import('./run-setup.ts')]);
  const interrupt = interruptibleRun(() => new FatalError('interrupted: the schedule was stopped; finished partitions are kept'));
  try {
    return await schedule({
      configFile: positionals[0],
      cron: values.cron,
      once: values.once,
      input: values.input,
      out: values.out,
      store: values.store,
      write: (line) => process.stdout.write(line),
      signal: interrupt.signal,
    });
  } catch (error) {
    if (error instanceof CronError) throw new UsageError(error.message);
    throw error;
  } finally {
    interrupt.dispose();
  }
}

async function sampleClipsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { count: { type: 'string' }, people: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('sample-clips takes one output folder, e.g. emoforge sample-clips demo/clips');
  const count = positiveInt('count', values.count);
  const { makeSampleClips, MAX_SAMPLE_CLIPS } = await import('./sample-clips.ts');
  if (count !== undefined && count > MAX_SAMPLE_CLIPS) throw new UsageError(`--count can be at most ${MAX_SAMPLE_CLIPS} (distinct clips), got ${count}`);
  const isTty = Boolean(process.stdout.isTTY);
  const clips = await makeSampleClips(resolve(positionals[0]), {
    count,
    people: values.people ?? false,
    onProgress: (done, total, name) => {
      if (isTty) process.stdout.write(`\rsample-clips: ${done}/${total} ${name}\x1b[K`);
    },
  });
  if (isTty) process.stdout.write('\n');
  process.stdout.write(`sample-clips: wrote ${clips.length} clips and manifest.csv to ${resolve(positionals[0])}\n`);
  return 0;
}

async function inspectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { rows: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('inspect takes one out folder or .parquet file');
  const { inspect } = await import('./commands/inspect.ts');
  process.stdout.write(await inspect(resolve(positionals[0]), positiveInt('rows', values.rows) ?? 3));
  return 0;
}

async function traceCommand(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 2) throw new UsageError('trace takes an out folder and a clip id (or its prefix) or uri');
  const { trace } = await import('./commands/trace.ts');
  const result = await trace(resolve(positionals[0]), positionals[1]);
  process.stdout.write(result.text);
  return result.found ? 0 : 1;
}

async function auditCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { sql: { type: 'string' }, json: { type: 'boolean' }, 'max-rows': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('audit takes one out folder, e.g. emoforge audit demo/out --sql "SELECT stage, reason, count FROM drops"');
  const [{ audit }, { AuditError }] = await Promise.all([import('./commands/audit.ts'), import('../pipelines/audit/index.ts')]);
  try {
    process.stdout.write(
      await audit({ outDir: resolve(positionals[0]), sql: values.sql, json: values.json, maxRows: positiveInt('max-rows', values['max-rows']) ?? 100 }),
    );
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    process.stderr.write(`emoforge audit: ${error.message}\n`);
    return 2;
  }
  return 0;
}

async function fingerprintCliCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, name: { type: 'string' }, store: { type: 'string' } },
  });
  if (positionals.length !== 1 || !values.output)
    throw new UsageError('fingerprint takes one folder and -o FILE, e.g. emoforge fingerprint benchmarks/mer-unibench -o mer-unibench.fingerprints.jsonl');
  const { fingerprintCommand } = await import('./commands/fingerprint.ts');
  const progress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rfingerprinted ${done}/${total}`) : undefined;
  const { text } = await fingerprintCommand({ dir: positionals[0], output: values.output, name: values.name, store: values.store, onFile: progress });
  if (progress) process.stderr.write('\n');
  process.stdout.write(text);
  return 0;
}

async function reviewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      reviewer: { type: 'string' },
      queue: { type: 'string' },
      store: { type: 'string' },
      log: { type: 'string' },
      resolve: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('review takes one out folder, e.g. emoforge review demo/out');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(values.port)}`);
  const [{ reviewCommand: serve }, { ReviewOptionError }, { RESOLVE_POLICIES }] = await Promise.all([
    import('./commands/review.ts'),
    import('../pipelines/review/server.ts'),
    import('../pipelines/review/resolve.ts'),
  ]);
  const policy = RESOLVE_POLICIES.find((p) => p === (values.resolve ?? 'strictest'));
  if (!policy) throw new UsageError(`--resolve must be one of ${RESOLVE_POLICIES.join(', ')}, got ${JSON.stringify(values.resolve)}`);
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve({
      out: positionals[0],
      store: values.store,
      log: values.log,
      host: values.host,
      port,
      reviewer: values.reviewer,
      queue: values.queue,
      resolve: policy,
      write: (line) => process.stdout.write(line),
    });
  } catch (error) {
    if (error instanceof ReviewOptionError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolveStop);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      dest: { type: 'string' },
      'max-tokens': { type: 'string' },
      media: { type: 'string' },
      reviewed: { type: 'boolean' },
      corpus: { type: 'string' },
      style: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('export takes one out folder, e.g. emoforge export demo/out --format affectgpt');
  const { FORMATS, MEDIA_MODES, AFFECTGPT_CORPORA, LLAVA_STYLES, ExportOptionError } = await import('../pipelines/export/formats.ts');
  const format = FORMATS.find((f) => f === values.format);
  if (!format) throw new UsageError(`export needs --format ${FORMATS.join('|')}${values.format === undefined ? '' : `, got ${JSON.stringify(values.format)}`}`);
  const media = MEDIA_MODES.find((m) => m === (values.media ?? 'hardlink'));
  if (!media) throw new UsageError(`--media must be one of ${MEDIA_MODES.join(', ')}, got ${JSON.stringify(values.media)}`);
  if (values.corpus !== undefined && format !== 'affectgpt') throw new UsageError('--corpus is for --format affectgpt (mercaptionplus or ovmerd)');
  const affectgptCorpus = AFFECTGPT_CORPORA.find((c) => c === (values.corpus ?? 'mercaptionplus'));
  if (!affectgptCorpus) throw new UsageError(`--corpus must be one of ${AFFECTGPT_CORPORA.join(', ')}, got ${JSON.stringify(values.corpus)}`);
  if (values.style !== undefined && format !== 'llava') throw new UsageError(`--style is for --format llava (${LLAVA_STYLES.join(', ')})`);
  const llavaStyle = LLAVA_STYLES.find((s) => s === (values.style ?? 'video-audio'));
  if (!llavaStyle) throw new UsageError(`--style must be one of ${LLAVA_STYLES.join(', ')}, got ${JSON.stringify(values.style)}`);
  const { exportCommand: runExport } = await import('./commands/export.ts');
  try {
    const { text } = await runExport({
      outDir: resolve(positionals[0]),
      format,
      dest: values.dest === undefined ? undefined : resolve(values.dest),
      maxTokens: positiveInt('max-tokens', values['max-tokens']),
      media,
      reviewed: values.reviewed === true,
      affectgptCorpus,
      llavaStyle,
    });
    process.stdout.write(text);
  } catch (error) {
    if (error instanceof ExportOptionError) throw new UsageError(error.message);
    throw error;
  }
  return 0;
}

async function evalCliCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      split: { type: 'string' },
      tasks: { type: 'string' },
      limit: { type: 'string' },
      store: { type: 'string' },
      compare: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const { evalCommand, compareCommand, EvalOptionError } = await import('./commands/eval.ts');
  const write = (text: string) => process.stdout.write(text);
  if (values.compare) {
    if (positionals.length !== 2)
      throw new UsageError(
        'eval --compare takes two summary.json files, e.g. emoforge eval --compare out-a/eval/m/test/summary.json out-b/eval/m/test/summary.json',
      );
    return compareCommand(positionals[0], positionals[1], values.json === true, write);
  }
  if (positionals.length !== 1 || !values.model)
    throw new UsageError('eval takes one out folder and --model CONFIG, e.g. emoforge eval demo/out --model configs/eval/vllm.yaml');
  try {
    return await evalCommand({
      out: positionals[0],
      modelConfig: values.model,
      split: values.split,
      tasks: values.tasks,
      limit: positiveInt('limit', values.limit),
      store: values.store,
      write,
    });
  } catch (error) {
    if (error instanceof EvalOptionError) throw new UsageError(error.message);
    throw error;
  }
}
