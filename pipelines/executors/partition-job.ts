// The processor of one queued partition, run by BullMQ in a child process of `emoforge worker`
// (a sandboxed processor): media tools, ASR, DSP and parquet-free JSON work all happen here, so
// the worker's own event loop stays free to renew job leases however busy the partition is.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Clip, Segment } from '../../schemas/records.ts';
import { buildPlan, type Plan } from '../config.ts';
import { fingerprint } from '../fingerprint.ts';
import { setMalloc } from '../malloc.ts';
import { runPartitionJob } from '../run/queue-job.ts';
import { decodePartitionInputs } from '../run/stored-partition.ts';
import { openStore, type Store } from '../store/index.ts';
import { STAGES } from '../../stages/index.ts';
import { WORKER_STORE_ENV, type PartitionJobData, type PartitionJobReturn } from './queue-settings.ts';

const plans = new Map<string, Plan>();
const stores = new Map<string, Store>();
let log: Logger | undefined;

/** The part of a BullMQ job (or its sandbox proxy) this processor reads. */
interface QueuedJob {
  readonly id?: string;
  readonly data: PartitionJobData;
}

/**
 * An s3:// input: the clips this partition reads, pulled into this machine's mirror of the input
 * (only those, and only when missing or of another size). Returns the mirror folder.
 */
async function pullPartitionInputs(location: string, items: readonly (Clip | Segment)[]): Promise<string> {
  const { mirrorFolder } = await import('../publish/store-mirror.ts');
  let input = stores.get(location);
  if (!input) stores.set(location, (input = openStore(location)));
  const root = mirrorFolder('input', input.location);
  const uris = new Set(items.map((item) => ('clip' in item ? item.clip.uri : item.uri)));
  for (const uri of uris) {
    const path = join(root, ...uri.split('/'));
    const have = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    if (have !== null && have === (await input.size(uri))) continue;
    await mkdir(dirname(path), { recursive: true });
    const download = (input as Store & { download?: (key: string, path: string) => Promise<void> }).download;
    if (download) await download.call(input, uri, path);
    else {
      const bytes = await input.get(uri);
      if (!bytes) throw new Error(`clip ${uri} is not in the input ${location} any more`);
      await writeFile(path, bytes);
    }
  }
  return root;
}

export async function processPartitionJob(job: QueuedJob): Promise<PartitionJobReturn> {
  const data = job.data;
  log ??= pino({ level: process.env.EMOFORGE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, pino.destination(2));
  // A job process reads and writes ~20 MB partitions, as a run does (pipelines/malloc.ts); once per process.
  setMalloc();
  const planKey = fingerprint(data.configFile, data.config);
  let plan = plans.get(planKey);
  if (!plan) plans.set(planKey, (plan = buildPlan(data.configFile, data.config, STAGES)));
  const location = process.env[WORKER_STORE_ENV] || data.store;
  let store = stores.get(location);
  if (!store) stores.set(location, (store = openStore(location)));
  const inputs = await store.get(data.inputs);
  if (!inputs)
    throw new Error(
      `the inputs of partition ${data.partition} (${data.inputs}) are not in the store ${location}: does this worker reach the coordinator's store?`,
    );
  const items = decodePartitionInputs(inputs, `${data.inputs} in ${location}`);
  const root = data.inputLocation ? await pullPartitionInputs(data.inputLocation, items) : data.root;
  const result = await runPartitionJob(
    plan,
    { phase: data.phase, key: data.key, items, root },
    { store, log: log.child({ job: job.id, partition: data.partition, phase: data.phase }), signal: new AbortController().signal },
  );
  const stored = !result.transientDrops;
  return { stored, segments: result.count, drops: result.drops.length, ...(stored ? {} : { result }) };
}
