// The processor of one queued partition, run by BullMQ in a child process of `emoforge worker`
// (a sandboxed processor): media tools, ASR, DSP and parquet-free JSON work all happen here, so
// the worker's own event loop stays free to renew job leases however busy the partition is.
import pino, { type Logger } from 'pino';
import type { Clip, Segment } from '../../schemas/records.ts';
import { buildPlan, type Plan } from '../config.ts';
import { fingerprint } from '../fingerprint.ts';
import { runPartitionJob } from '../runner.ts';
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

export async function processPartitionJob(job: QueuedJob): Promise<PartitionJobReturn> {
  const data = job.data;
  log ??= pino({ level: process.env.EMOFORGE_LOG_LEVEL ?? 'warn', base: { pid: process.pid } }, pino.destination(2));
  const planKey = fingerprint(data.configFile, data.config);
  let plan = plans.get(planKey);
  if (!plan) plans.set(planKey, (plan = buildPlan(data.configFile, data.config, STAGES)));
  const location = process.env[WORKER_STORE_ENV] || data.store;
  let store = stores.get(location);
  if (!store) stores.set(location, (store = openStore(location)));
  const inputs = await store.get(data.inputs);
  if (!inputs) throw new Error(`the inputs of partition ${data.partition} (${data.inputs}) are not in the store ${location}: does this worker reach the coordinator's store?`);
  const items = JSON.parse(inputs.toString('utf8')) as (Clip | Segment)[];
  const result = await runPartitionJob(plan, { phase: data.phase, key: data.key, items, root: data.root }, { store, log: log.child({ job: job.id, partition: data.partition, phase: data.phase }), signal: new AbortController().signal });
  const stored = !result.transientDrops;
  return { stored, segments: result.segments.length, drops: result.drops.length, ...(stored ? {} : { result }) };
}
