// Worker threads for TypeScript modules, and a small job protocol over them. The main side keeps a
// pool of workers started on first use; a worker serves one job at a time and drops jobs cancelled
// before they start. Idle workers are unref'd so they never keep a process alive.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData, type ResourceLimits, type Transferable } from 'node:worker_threads';
import { RecordError } from './errors.ts';

/**
 * Starts a TypeScript module (or its compiled copy) as a worker thread. On Node 20 ESM loader hooks never reach a worker:
 * execArgv `--import tsx` and importing tsx inside the worker both end in ERR_UNKNOWN_FILE_EXTENSION
 * (nodejs/node#47747, fixed in 22). tsx's CommonJS require hook works in-thread, so an eval'd
 * bootstrap registers it and requires the module. tsx is resolved from here, not from the working
 * directory, so the CLI works from any folder.
 *
 * @param module the module's `import.meta.url`, a file URL or an absolute path
 */
export function startTypeScriptWorker(module: string | URL, options: { readonly workerData?: unknown; readonly resourceLimits?: ResourceLimits } = {}): Worker {
  const file = module instanceof URL || module.startsWith('file:') ? fileURLToPath(module) : module;
  // The compiled copy (.build/, see scripts/build.mjs) is plain JavaScript: started as it is.
  if (file.endsWith('.js')) return new Worker(file, { workerData: options.workerData, resourceLimits: options.resourceLimits });
  const tsxCjs = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const bootstrap = `require(${JSON.stringify(tsxCjs)}).register(); require(${JSON.stringify(file)});`;
  return new Worker(bootstrap, { eval: true, workerData: options.workerData, resourceLimits: options.resourceLimits });
}

interface JobMessage<Request> {
  readonly type: 'job';
  readonly id: number;
  readonly request: Request;
}
interface CancelMessage {
  readonly type: 'cancel';
  readonly id: number;
}
/** Errors cross the thread boundary as plain data; RecordError keeps its reason and whether it is transient. */
interface SerialisedError {
  readonly name: string;
  readonly message: string;
  readonly reason?: string;
  readonly transient?: boolean;
}
type JobReply<Result> =
  | { readonly id: number; readonly ok: true; readonly result: Result }
  | { readonly id: number; readonly ok: false; readonly error: SerialisedError };

interface WorkerConfig {
  readonly role: string;
}

/** True in a worker thread that a WorkerPool started for `role`. */
export function isWorkerFor(role: string): boolean {
  return !isMainThread && parentPort !== null && (workerData as WorkerConfig | null)?.role === role;
}

/**
 * Worker side: answers the pool's jobs with `handle`, one at a time and one per macrotask, so a
 * cancel posted while a job runs is seen before the next job starts.
 */
export function serveJobs<Request, Result>(handle: (request: Request) => Promise<Result>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs must be called in a worker thread');
  const queue: JobMessage<Request>[] = [];
  let scheduled = false;
  const schedule = () => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const job = queue.shift();
      if (!job) return;
      void handle(job.request)
        .then(
          (result): JobReply<Result> => ({ id: job.id, ok: true, result }),
          (error: unknown): JobReply<Result> => ({ id: job.id, ok: false, error: serialise(error) }),
        )
        .then((reply) => port.postMessage(reply))
        .finally(schedule);
    });
  };
  port.on('message', (message: JobMessage<Request> | CancelMessage) => {
    if (message.type === 'cancel') {
      const index = queue.findIndex((job) => job.id === message.id);
      if (index >= 0) queue.splice(index, 1);
    } else {
      queue.push(message);
      schedule();
    }
  });
}

function serialise(error: unknown): SerialisedError {
  if (error instanceof RecordError) return { name: error.name, message: error.message, reason: error.reason, transient: error.transient };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

export interface WorkerPoolOptions {
  /** The worker module (its `import.meta.url`); it calls serveJobs when isWorkerFor(role). */
  readonly module: string;
  /** Tells the module it runs as this pool's worker. */
  readonly role: string;
  /** What the workers do, for error messages ("face analysis"). */
  readonly label: string;
  /** Workers started at most; a new one starts only when all are busy. Default 1. */
  readonly size?: number;
}

interface PendingJob<Result> {
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

interface WorkerSlot<Result> {
  readonly worker: Worker;
  readonly pending: Map<number, PendingJob<Result>>;
}

/** Main side: runs jobs on a lazily started pool of TypeScript worker threads. */
export class WorkerPool<Request, Result> {
  readonly #options: WorkerPoolOptions;
  readonly #size: number;
  readonly #slots: WorkerSlot<Result>[] = [];
  #nextJobId = 1;

  constructor(options: WorkerPoolOptions) {
    const size = options.size ?? 1;
    if (!Number.isInteger(size) || size < 1) throw new Error(`WorkerPool size must be a positive integer, got ${size}`);
    this.#options = options;
    this.#size = size;
  }

  /**
   * Runs one job. Rejects with the signal's reason on abort (a job still queued in the worker is
   * dropped there), with a RecordError when the worker threw one, else with an Error naming the pool.
   */
  run(request: Request, signal: AbortSignal, transfer: readonly Transferable[] = []): Promise<Result> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const slot = this.#pickSlot();
    const id = this.#nextJobId++;
    return new Promise<Result>((resolve, reject) => {
      const onAbort = () => {
        if (!slot.pending.delete(id)) return;
        slot.worker.postMessage({ type: 'cancel', id } satisfies CancelMessage);
        settleIdle(slot);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done =
        <T>(settle: (value: T) => void) =>
        (value: T) => {
          signal.removeEventListener('abort', onAbort);
          settle(value);
        };
      slot.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      slot.worker.ref();
      slot.worker.postMessage({ type: 'job', id, request } satisfies JobMessage<Request>, [...transfer]);
    });
  }

  /** Stops the workers (pending jobs are rejected); the next job starts a new pool. */
  async close(): Promise<void> {
    const closing = this.#slots.splice(0, this.#slots.length);
    await Promise.all(closing.map((slot) => slot.worker.terminate()));
  }

  #pickSlot(): WorkerSlot<Result> {
    if (this.#slots.length < this.#size && this.#slots.every((slot) => slot.pending.size > 0)) this.#slots.push(this.#start());
    return this.#slots.reduce((best, slot) => (slot.pending.size < best.pending.size ? slot : best));
  }

  #start(): WorkerSlot<Result> {
    const { module, role, label } = this.#options;
    const worker = startTypeScriptWorker(module, { workerData: { role } satisfies WorkerConfig });
    const slot: WorkerSlot<Result> = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (reply: JobReply<Result>) => {
      const job = slot.pending.get(reply.id);
      if (!job) return; // cancelled
      slot.pending.delete(reply.id);
      settleIdle(slot);
      if (reply.ok) job.resolve(reply.result);
      else if (reply.error.reason !== undefined)
        job.reject(new RecordError(reply.error.reason, reply.error.message, { transient: reply.error.transient === true }));
      else job.reject(new Error(`${label} failed: ${reply.error.message}`));
    });
    const fail = (error: Error) => {
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots.splice(index, 1);
      for (const job of slot.pending.values()) job.reject(new Error(`${label} worker stopped: ${error.message}`, { cause: error }));
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return slot;
  }
}

/** An idle worker must not keep the process alive. */
function settleIdle<Result>(slot: WorkerSlot<Result>): void {
  if (slot.pending.size === 0) slot.worker.unref();
}
