// The OpenAI Batch API for LLM teachers (half the price, answers within 24 h). A run in batch mode
// works in passes. In a pass, a request that the response cache cannot answer is not sent: it joins
// the teacher's next batch and its record leaves the pass as a transient `teacher-batch-pending`
// drop (not cached; its partition is redone). After the pass the new requests are submitted — a
// JSONL file uploaded with purpose "batch", then a batch created for /v1/chat/completions — and
// emoforge polls every open batch until it ends, writes each answer into the response cache under
// the key a direct call would have used, and runs the next pass, which finds the answers there (and
// may submit the next role's requests). Every answer is paid once: whatever ends in the cache is
// never asked again, by this run or any other.
//
// Resumable: the store keeps one record per open batch (`batches/<teacher>/open/<id>.json`, with
// the cache key of every request in it) and a pointer per submitted request
// (`batches/<teacher>/requests/<hash>.json`), written right after the batch is created. A run that
// dies while waiting finds them on its next start: the requests are not submitted again, the open
// batches are polled to the end. Lines that failed, and batches that failed, expired or were
// cancelled, release their requests for the next submission, up to `maxAttempts` per request and
// run, after which the record is dropped `teacher-batch-failed` (transient: a later run tries again).
// The window between the batch's creation and the write of its record is not covered: a crash
// exactly there leaves a batch emoforge does not know about (visible in the provider's dashboard).
import type OpenAI from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { EndpointClient, EndpointUsage } from '../endpoints/index.ts';
import { openaiLib } from '../endpoints/openai-lib.ts';
import { TransientRecordError } from '../errors.ts';
import type { Store } from '../store/store.ts';

export const BatchConfig = z
  .object({
    /** Polling interval while batches run, milliseconds. Default 30000. */
    pollIntervalMs: z.number().int().positive().default(30_000),
    /** Requests per batch file (OpenAI allows 50,000 and 200 MB). Default 50000. */
    maxRequestsPerBatch: z.number().int().positive().max(50_000).default(50_000),
    /** Price factor of batch tokens against `prices` (OpenAI: 0.5). Default 0.5. */
    priceFactor: z.number().positive().max(1).default(0.5),
    /** Submissions per request in one run before its record is dropped teacher-batch-failed. Default 2. */
    maxAttempts: z.number().int().positive().default(2),
  })
  .strict();
export type BatchConfig = z.output<typeof BatchConfig>;

interface OpenBatch {
  readonly format: typeof FORMAT;
  readonly batchId: string;
  readonly inputFileId: string;
  /** custom_id → cache key and role */
  readonly requests: Record<string, { readonly key: string; readonly role: string }>;
}

interface RequestPointer {
  readonly format: typeof FORMAT;
  /** The open batch holding it, or null when released after a failure. */
  readonly batchId: string | null;
  /** Submissions over every run (for the record; maxAttempts counts those of one run). */
  readonly attempts: number;
  readonly lastError?: string;
}

const FORMAT = 'emoforge.batch.v1';

/** What a finished batch line gave: an answer to cache and count, or a failure to release. */
export interface SettledAnswer {
  readonly role: string;
  readonly usage: EndpointUsage;
}

export interface BatchProgress {
  /** Requests waiting in batches that have not ended. */
  readonly pending: number;
  readonly openBatches: number;
}

/** One teacher's batch queue (requests of every role it answers go in the same batches). */
export class BatchQueue {
  private readonly queued = new Map<string, { key: string; role: string; body: Record<string, unknown> }>();
  /** Submissions per request in this run: maxAttempts counts per run, so a later run tries again. */
  private readonly submittedHere = new Map<string, number>();
  private readonly prefix: string;

  constructor(
    private readonly teacher: string,
    readonly config: BatchConfig,
    private readonly client: EndpointClient,
    private readonly store: Store,
    private readonly log: Logger,
    /** Called once per answered line with its reported usage (for the cost table). */
    private readonly onAnswer: (answer: SettledAnswer) => void,
    private readonly onFailure: (role: string) => void,
  ) {
    this.prefix = `batches/${teacher}`;
  }

  /**
   * A request the cache could not answer: queue it for the next batch (unless a batch already holds
   * it), then throw the transient drop that takes its record out of this pass.
   */
  async defer(role: string, key: string, body: Record<string, unknown>): Promise<never> {
    const id = customIdOf(key);
    const pointer = await this.pointer(id);
    if (pointer?.batchId) {
      throw new TransientRecordError(
        'teacher-batch-pending',
        `teacher '${this.teacher}': the ${role} request is in batch ${pointer.batchId}; emoforge picks the answer up when the batch ends`,
      );
    }
    const tried = this.submittedHere.get(id) ?? 0;
    if (tried >= this.config.maxAttempts) {
      throw new TransientRecordError(
        'teacher-batch-failed',
        `teacher '${this.teacher}': the ${role} request failed in ${tried} batch(es) (last: ${pointer?.lastError ?? 'unknown'}); run again to retry it, or use the teacher without batch`,
      );
    }
    this.queued.set(id, { key, role, body });
    throw new TransientRecordError('teacher-batch-pending', `teacher '${this.teacher}': the ${role} request joins the next batch`);
  }

  /** Submits every queued request in batches of at most maxRequestsPerBatch. Returns how many were submitted. */
  async submit(signal: AbortSignal): Promise<number> {
    const entries = [...this.queued.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    this.queued.clear();
    for (let start = 0; start < entries.length; start += this.config.maxRequestsPerBatch) {
      const chunk = entries.slice(start, start + this.config.maxRequestsPerBatch);
      const jsonl = chunk.map(([id, r]) => `${JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: r.body })}\n`).join('');
      const file = await this.call('files.create', signal, async (openai, options) => ({
        value: await openai.files.create(
          { file: await (await openaiLib()).toFile(Buffer.from(jsonl), 'emoforge-batch.jsonl', { type: 'application/jsonl' }), purpose: 'batch' },
          options,
        ),
      }));
      const batch = await this.call('batches.create', signal, async (openai, options) => ({
        value: await openai.batches.create(
          { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { emoforge_teacher: this.teacher } },
          options,
        ),
      }));
      const record: OpenBatch = {
        format: FORMAT,
        batchId: batch.id,
        inputFileId: file.id,
        requests: Object.fromEntries(chunk.map(([id, r]) => [id, { key: r.key, role: r.role }])),
      };
      await this.store.put(`${this.prefix}/open/${safeId(batch.id)}.json`, JSON.stringify(record));
      for (const [id] of chunk) {
        const previous = await this.pointer(id);
        this.submittedHere.set(id, (this.submittedHere.get(id) ?? 0) + 1);
        await this.writePointer(id, { format: FORMAT, batchId: batch.id, attempts: (previous?.attempts ?? 0) + 1 });
      }
      this.log.info({ teacher: this.teacher, batch: batch.id, requests: chunk.length }, 'batch submitted');
    }
    return entries.length;
  }

  /** Polls every open batch once; caches the answers of those that ended. */
  async poll(signal: AbortSignal): Promise<BatchProgress> {
    let pending = 0;
    let openBatches = 0;
    for await (const key of this.store.list(`${this.prefix}/open/`)) {
      const bytes = await this.store.get(key);
      if (!bytes) continue;
      const record = JSON.parse(bytes.toString('utf8')) as OpenBatch;
      const batch = await this.call('batches.retrieve', signal, async (openai, options) => ({ value: await openai.batches.retrieve(record.batchId, options) }));
      const total = Object.keys(record.requests).length;
      if (['validating', 'in_progress', 'finalizing', 'cancelling'].includes(batch.status)) {
        pending += total;
        openBatches++;
        const counts = batch.request_counts;
        this.log.info(
          { teacher: this.teacher, batch: batch.id, status: batch.status, completed: counts?.completed, failed: counts?.failed, total },
          'batch running',
        );
        continue;
      }
      await this.settle(record, batch.status, batch.output_file_id ?? null, batch.error_file_id ?? null, signal);
      await this.store.delete(key);
    }
    return { pending, openBatches };
  }

  private async settle(record: OpenBatch, status: string, outputFileId: string | null, errorFileId: string | null, signal: AbortSignal): Promise<void> {
    const answered = new Set<string>();
    const errors = new Map<string, string>();
    if (outputFileId) {
      const text = await this.download(outputFileId, signal);
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as { custom_id: string; response?: { status_code: number; body: ChatCompletion }; error?: { message?: string } | null };
        const request = record.requests[entry.custom_id];
        if (!request) continue;
        if (entry.response?.status_code === 200 && entry.response.body?.choices) {
          const reported = entry.response.body.usage;
          const usage = reported ? { inputTokens: reported.prompt_tokens, outputTokens: reported.completion_tokens } : { inputTokens: 0, outputTokens: 0 };
          await this.client.putCached(request.key, entry.response.body, usage);
          this.onAnswer({ role: request.role, usage });
          answered.add(entry.custom_id);
        } else errors.set(entry.custom_id, entry.error?.message ?? `status ${entry.response?.status_code}`);
      }
    }
    if (errorFileId) {
      const text = await this.download(errorFileId, signal);
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as {
          custom_id: string;
          response?: { status_code?: number; body?: { error?: { message?: string } } } | null;
          error?: { message?: string; code?: string } | null;
        };
        errors.set(entry.custom_id, entry.error?.message ?? entry.response?.body?.error?.message ?? `status ${entry.response?.status_code}`);
      }
    }
    for (const [id, request] of Object.entries(record.requests)) {
      if (answered.has(id)) {
        await this.store.delete(`${this.prefix}/requests/${id}.json`);
        continue;
      }
      const reason = errors.get(id) ?? `batch ${record.batchId} ended ${status} without an answer`;
      const previous = await this.pointer(id);
      await this.writePointer(id, { format: FORMAT, batchId: null, attempts: previous?.attempts ?? 1, lastError: reason });
      this.onFailure(request.role);
    }
    this.log.info(
      { teacher: this.teacher, batch: record.batchId, status, answered: answered.size, failed: Object.keys(record.requests).length - answered.size },
      'batch settled',
    );
  }

  private async download(fileId: string, signal: AbortSignal): Promise<string> {
    return this.call('files.content', signal, async (openai, options) => ({ value: await (await openai.files.content(fileId, options)).text() }));
  }

  private async pointer(id: string): Promise<RequestPointer | undefined> {
    const bytes = await this.store.get(`${this.prefix}/requests/${id}.json`);
    return bytes ? (JSON.parse(bytes.toString('utf8')) as RequestPointer) : undefined;
  }

  private async writePointer(id: string, pointer: RequestPointer): Promise<void> {
    await this.store.put(`${this.prefix}/requests/${id}.json`, JSON.stringify(pointer));
  }

  /** One uncached API call through the endpoint client's limits and retries. */
  private async call<T>(
    operation: string,
    signal: AbortSignal,
    send: (openai: OpenAI, options: { readonly signal: AbortSignal; readonly timeout: number; readonly maxRetries: 0 }) => Promise<{ value: T }>,
  ): Promise<T> {
    const result = await this.client.request<T>({ operation, params: { operation }, cache: false, signal, send });
    return result.value;
  }
}

/** The custom_id of a request: its cache key's hash (unique per request, safe in store keys). */
export function customIdOf(cacheKey: string): string {
  return cacheKey.slice(cacheKey.lastIndexOf('/') + 1).replace(/\.json$/, '');
}

function safeId(batchId: string): string {
  return batchId.replace(/[^A-Za-z0-9._-]/g, '_');
}
