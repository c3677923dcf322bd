// A WorkerPool module for tests/pipelines/worker-pool.test.ts: answers a job after `ms` milliseconds
// with the worker's thread id.
import { threadId } from 'node:worker_threads';
import { isWorkerFor, serveJobs } from '../../pipelines/worker-thread.ts';

export const THREAD_ID_ROLE = 'emoforge-test-thread-id';

if (isWorkerFor(THREAD_ID_ROLE))
  serveJobs<{ ms: number }, number>(async ({ ms }) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return threadId;
  });
