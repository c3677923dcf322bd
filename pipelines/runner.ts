// The runner: ingest → partitions of clips through the record stages → the sink. It owns caching
// (per-record stage results and whole partition results, both content-addressed in the store),
// counters, drops, timing and concurrency; stages only transform records. Its parts live in
// pipelines/run/; this is the entry, and the loop over batch passes.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Plan } from './config.ts';
import { setMalloc } from './malloc.ts';
import { runPass } from './run/pass.ts';
import type { RunOptions } from './run/options.ts';
import type { RunSummary } from './run/summary.ts';
import { createTeacherRegistry } from './teachers/registry.ts';

export async function runPipeline(plan: Plan, options: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const { store, log, signal } = options;
  // Large buffers in their own mappings, given back when freed (pipelines/malloc.ts).
  log.debug({ malloc: setMalloc() }, 'malloc');
  const teachers = createTeacherRegistry(plan.teachers, { store, log, signal, budget: plan.config.budget, dryRun: options.dryRun === true });
  const batches = teachers.batches?.enabled() ? teachers.batches : undefined;
  let submitted = 0;
  try {
    return await runPasses();
  } finally {
    await options.executor?.close?.();
  }

  async function runPasses(): Promise<RunSummary> {
    for (let pass = 1; ; pass++) {
      const summary = await runPass(plan, options, teachers, started);
      if (!batches || summary.sink || summary.dryRun || !summary.batchPending)
        return batches ? { ...summary, batches: { passes: pass, submitted, waiting: false } } : summary;
      // Records are waiting for batch answers: submit what this pass deferred, wait, run again.
      const now = await batches.submit(signal);
      submitted += now;
      let progress = await batches.poll(signal);
      options.onBatches?.({ pass, submitted: now, ...progress });
      if (options.waitForBatches === false)
        return { ...summary, wallMs: performance.now() - started, batches: { passes: pass, submitted, waiting: progress.openBatches > 0 } };
      while (progress.openBatches > 0) {
        await sleep(batches.pollIntervalMs(), undefined, { signal });
        progress = await batches.poll(signal);
        options.onBatches?.({ pass, submitted: 0, ...progress });
      }
      log.info({ pass }, 'batches ended; running the next pass');
    }
  }
}
