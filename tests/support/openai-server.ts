// A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: audio transcriptions (multipart,
// json / verbose_json / text) and chat completions (plain text or json_schema replies, with usage),
// with fault injection (status codes with Retry-After, hangs, dropped connections, invalid JSON),
// latency, an optional requests-per-minute limit answered with 429 and Retry-After, scripted chat
// replies (refusals, finish reasons, a sequence of answers), bodies cut off mid-way, and a log of
// every request (headers included, and the usage a chat reply reported) for assertions.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { countTokens, encodeChat } from 'gpt-tokenizer/model/gpt-4o';

/** What the server does instead of answering. */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }
  | { readonly kind: 'hang' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'invalid-json' }
  | { readonly kind: 'truncated' };

export const faults = {
  /** An error status with an OpenAI-style error body; `retryAfter` sets the Retry-After header as given. */
  status(status: number, options: { retryAfter?: string; headers?: Record<string, string>; message?: string; code?: string } = {}): Fault {
    const headers = { ...(options.retryAfter !== undefined ? { 'retry-after': options.retryAfter } : {}), ...options.headers };
    return {
      kind: 'status',
      status,
      headers,
      body: { error: { message: options.message ?? `injected ${status}`, type: 'test_fault', code: options.code ?? null } },
    };
  },
  rateLimited(retryAfterSeconds?: number): Fault {
    return faults.status(429, {
      retryAfter: retryAfterSeconds === undefined ? undefined : String(retryAfterSeconds),
      message: 'Rate limit reached',
      code: 'rate_limit_exceeded',
    });
  },
  /** Never answers (until the client gives up or the server closes). */
  hang: (): Fault => ({ kind: 'hang' }),
  /** Reads the request, then destroys the socket without a reply. */
  drop: (): Fault => ({ kind: 'drop' }),
  /** 200 with a body that is not JSON. */
  invalidJson: (): Fault => ({ kind: 'invalid-json' }),
  /** 200 whose Content-Length promises a whole JSON body, of which half is sent before the socket closes. */
  truncated: (): Fault => ({ kind: 'truncated' }),
};

export interface UploadedFile {
  readonly name: string;
  readonly type: string;
  readonly bytes: number;
  readonly sha256: string;
  /** The bytes (kept for the files API; batch input files are JSONL). */
  readonly content: Buffer;
}

/** How the Batch API behaves (files, batches, output files). */
export interface BatchBehaviour {
  /** GETs of a batch before it completes (validating → in_progress → … → final). Default 2. */
  pollsToComplete?: number;
  /** Final status of the next batches created, in order; then 'completed'. */
  outcomes?: ('completed' | 'failed' | 'expired' | 'cancelled')[];
  /** Lines answered with an error (in the error file) instead of a completion. */
  errorFor?: (customId: string, body: any) => boolean;
}

interface ServerBatch {
  id: string;
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  polls: number;
  outcome: 'completed' | 'failed' | 'expired' | 'cancelled';
  status: string;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names, as received. */
  readonly headers: Readonly<Record<string, string>>;
  /** The bearer token presented, if any. */
  readonly apiKey: string | undefined;
  /** Milliseconds since the server started, when the request's headers arrived. */
  readonly receivedAt: number;
  /** Parsed JSON body (chat) */
  readonly json?: any;
  /** Multipart text fields (transcriptions); repeated fields keep every value. */
  readonly fields?: Readonly<Record<string, string[]>>;
  readonly file?: UploadedFile;
  /** 'ok', 'unauthorized', 'unsupported', 'rate-limited', or the injected fault ('status:429', 'hang', 'drop', 'invalid-json'). */
  outcome: string;
  /** The usage a successful chat reply reported (absent when it reported none). */
  reportedUsage?: { readonly prompt_tokens: number; readonly completion_tokens: number };
  /** Milliseconds since the server started, when the reply ended or the connection closed. */
  closedAt?: number;
}

export interface TranscriptionBehaviour {
  /** Text returned; a function of the upload, or by default "a clip of N bytes" words. */
  text?: string | ((file: UploadedFile, fields: Readonly<Record<string, string[]>>) => string);
  /** Language reported in verbose_json when the request gives none. Default 'english' (as OpenAI reports it). */
  language?: string;
  /** Answer 400 when timestamp_granularities is sent (like servers without word timings). Default true. */
  supportsTimestampGranularities?: boolean;
  /** Answer 400 to response_format verbose_json. Default true. */
  supportsVerboseJson?: boolean;
}

/** One scripted chat reply; unset fields fall back to the behaviour's defaults. */
export interface ChatReply {
  /** The message content as sent (a JSON request gets it verbatim too); null for none. */
  readonly content?: string | null;
  /** Sets message.refusal (content becomes null unless given). */
  readonly refusal?: string;
  /** Default 'stop'. */
  readonly finishReason?: 'stop' | 'length' | 'content_filter' | 'tool_calls';
}

export interface ChatBehaviour {
  /**
   * Scripted replies: called for each chat request that reaches the route, with its 0-based index
   * among those requests (reset() starts again at 0); undefined falls back to `json` / `content`.
   */
  reply?: (body: any, index: number) => ChatReply | undefined;
  /** Message content for a plain request. Default "ok". */
  content?: string | ((body: any) => string);
  /** Value serialised as the content when the request asks for response_format json_schema / json_object. */
  json?: unknown | ((body: any) => unknown);
  /** Usage to report; default estimated from the characters. `null` reports none. */
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/**
 * A provider-style request limit. Only answered requests count; a refused one gets 429 at once (no
 * latency) with Retry-After in whole seconds, rounded up, until the window has room again.
 */
export interface RateLimit {
  readonly requestsPerMinute: number;
  /**
   * 'minute': at most requestsPerMinute in any sliding 60 s. 'second': a per-second share, as
   * providers enforce a per-minute limit over shorter periods: a bucket holding one second's share
   * (at least 1), refilled continuously at requestsPerMinute / 60 per second. Default 'minute'.
   */
  readonly window?: 'minute' | 'second';
}

export interface OpenAIServerOptions {
  /** The only key the server accepts. Default 'sk-test-emoforge-0123456789'. */
  readonly apiKey?: string;
  readonly latencyMs?: number;
  /** Default: no limit. */
  readonly rateLimit?: RateLimit;
  readonly transcription?: TranscriptionBehaviour;
  readonly chat?: ChatBehaviour;
  readonly batch?: BatchBehaviour;
}

interface QueuedFault {
  fault: Fault;
  path: string | undefined;
  remaining: number;
  /** Skip requests (same path and body) that a fault of this kind already failed. */
  distinct: boolean;
}

export interface FaultOptions {
  /**
   * Fail only requests no `distinct` fault has failed before (same path and body): a retry passes,
   * so queued faults spread over distinct requests however the client's requests interleave.
   * Without it, a lone client's retries take every queued fault in turn.
   */
  readonly distinct?: boolean;
}

export class OpenAICompatibleServer {
  /** e.g. http://127.0.0.1:41234/v1 */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly requests: RecordedRequest[] = [];
  latencyMs: number;
  transcription: TranscriptionBehaviour;
  chat: ChatBehaviour;
  batch: BatchBehaviour;
  rateLimit: RateLimit | undefined;
  /** Files uploaded or produced (batch output), by id. */
  readonly files = new Map<string, { name: string; purpose: string; content: Buffer }>();
  /** Batches created, by id. */
  readonly batches = new Map<string, ServerBatch>();
  /** 'minute': when each request the limit let through arrived (performance.now()), oldest first. */
  private admitted: number[] = [];
  /** 'second': the bucket's level and when it was last refilled; undefined is full. */
  private bucket: { level: number; at: number } | undefined;
  private readonly faultQueue: QueuedFault[] = [];
  /** path + body of each request a `distinct` fault failed. */
  private readonly faulted = new Set<string>();
  private chatCount = 0;
  private readonly sockets = new Set<Socket>();
  private readonly startedAt = performance.now();

  private constructor(
    private readonly server: Server,
    options: OpenAIServerOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.baseURL = `http://127.0.0.1:${port}/v1`;
    this.apiKey = options.apiKey ?? 'sk-test-emoforge-0123456789';
    this.latencyMs = options.latencyMs ?? 0;
    this.transcription = { ...options.transcription };
    this.chat = { ...options.chat };
    this.batch = { ...options.batch };
    this.rateLimit = options.rateLimit;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => void this.handle(req, res));
  }

  static async start(options: OpenAIServerOptions = {}): Promise<OpenAICompatibleServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new OpenAICompatibleServer(server, options);
  }

  /** The next `count` requests (to `path`, e.g. '/v1/chat/completions', or to any path) get `fault`. */
  failNext(fault: Fault, count = 1, path?: string, options: FaultOptions = {}): this {
    this.faultQueue.push({ fault, path, remaining: count, distinct: options.distinct ?? false });
    return this;
  }

  /** Requests whose path is `path` (all when omitted). */
  requestsTo(path?: string): RecordedRequest[] {
    return path === undefined ? [...this.requests] : this.requests.filter((r) => r.path === path);
  }

  /** Every distinct bearer token presented (a test expects only its own key). */
  presentedKeys(): Set<string | undefined> {
    return new Set(this.requests.map((r) => r.apiKey));
  }

  /** Forgets logged requests, queued faults and the rate limit's window. */
  reset(): void {
    this.requests.length = 0;
    this.faultQueue.length = 0;
    this.faulted.clear();
    this.admitted = [];
    this.bucket = undefined;
    this.chatCount = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private nextFault(path: string, body: Buffer): Fault | undefined {
    const key = `${path}\n${body.toString('latin1')}`;
    const seen = this.faulted.has(key);
    const index = this.faultQueue.findIndex((q) => (q.path === undefined || q.path === path) && !(q.distinct && seen));
    if (index < 0) return undefined;
    const queued = this.faultQueue[index];
    if (--queued.remaining <= 0) this.faultQueue.splice(index, 1);
    if (queued.distinct) this.faulted.add(key);
    return queued.fault;
  }

  /** Milliseconds until the rate limit has room (0: admitted now, and counted). */
  private rateLimitWait(): number {
    const limit = this.rateLimit;
    if (!limit) return 0;
    const now = performance.now();
    if (limit.window === 'second') {
      const perMs = limit.requestsPerMinute / 60_000;
      const capacity = Math.max(1, limit.requestsPerMinute / 60);
      const bucket = (this.bucket ??= { level: capacity, at: now });
      bucket.level = Math.min(capacity, bucket.level + (now - bucket.at) * perMs);
      bucket.at = now;
      if (bucket.level < 1) return (1 - bucket.level) / perMs;
      bucket.level -= 1;
      return 0;
    }
    let expired = 0;
    while (expired < this.admitted.length && this.admitted[expired] <= now - 60_000) expired++;
    if (expired) this.admitted = this.admitted.slice(expired);
    if (this.admitted.length < limit.requestsPerMinute) {
      this.admitted.push(now);
      return 0;
    }
    return this.admitted[this.admitted.length - limit.requestsPerMinute] + 60_000 - now;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now() - this.startedAt;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    const body = await readBody(req);
    const record: RecordedRequest = { method: req.method ?? 'GET', path, headers, apiKey: bearer, receivedAt, outcome: 'ok' };
    this.requests.push(record);
    res.on('close', () => (record.closedAt = performance.now() - this.startedAt));

    const contentType = headers['content-type'] ?? '';
    let fields: Record<string, string[]> = {};
    if (contentType.startsWith('multipart/form-data')) {
      const parsed = parseMultipart(body, contentType);
      fields = parsed.fields;
      Object.assign(record, { fields, file: parsed.file });
    } else if (body.length) {
      try {
        Object.assign(record, { json: JSON.parse(body.toString('utf8')) });
      } catch {
        /* left unparsed: the route answers 400 */
      }
    }

    if (bearer !== this.apiKey) {
      record.outcome = 'unauthorized';
      // Echoes the presented key, as a careless server might: clients must not repeat it.
      return sendJson(res, 401, {
        error: { message: `Incorrect API key provided: ${bearer ?? '(none)'}`, type: 'invalid_request_error', code: 'invalid_api_key' },
      });
    }

    const limitedMs = this.rateLimitWait();
    if (limitedMs > 0) {
      record.outcome = 'rate-limited';
      const { requestsPerMinute, window = 'minute' } = this.rateLimit!;
      const message = `Rate limit reached: ${requestsPerMinute} requests per minute (enforced per ${window}); try again in ${Math.ceil(limitedMs)} ms`;
      return sendJson(res, 429, { error: { message, type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': String(Math.ceil(limitedMs / 1000)) });
    }

    const fault = this.nextFault(path, body);
    if (this.latencyMs > 0) await delay(this.latencyMs);
    if (fault) {
      record.outcome = fault.kind === 'status' ? `status:${fault.status}` : fault.kind;
      switch (fault.kind) {
        case 'status':
          return sendJson(res, fault.status, fault.body ?? {}, fault.headers);
        case 'hang':
          return; // the socket stays open until the client gives up or close() destroys it
        case 'drop':
          req.socket.destroy();
          return;
        case 'invalid-json':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"text": "cut off');
          return;
        case 'truncated': {
          const whole = Buffer.from(
            JSON.stringify({
              id: 'chatcmpl-truncated',
              object: 'chat.completion',
              choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(200) }, finish_reason: 'stop' }],
            }),
          );
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(whole.length) });
          res.write(whole.subarray(0, whole.length >> 1), () => req.socket.destroy());
          return;
        }
      }
    }

    if (req.method === 'POST' && path === '/v1/audio/transcriptions') return this.transcribe(record, fields, res);
    if (req.method === 'POST' && path === '/v1/chat/completions') return this.complete(record, res);
    if (req.method === 'POST' && path === '/v1/files') return this.uploadFile(record, fields, res);
    const fileContent = /^\/v1\/files\/([\w-]+)\/content$/.exec(path);
    if (req.method === 'GET' && fileContent) return this.fileContent(record, fileContent[1], res);
    if (req.method === 'POST' && path === '/v1/batches') return this.createBatch(record, res);
    const batchPath = /^\/v1\/batches\/([\w-]+)$/.exec(path);
    if (req.method === 'GET' && batchPath) return this.retrieveBatch(record, batchPath[1], res);
    record.outcome = 'not-found';
    sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
  }

  private transcribe(record: RecordedRequest, fields: Record<string, string[]>, res: ServerResponse): void {
    const file = record.file;
    const model = fields.model?.[0];
    if (!file || !model) {
      record.outcome = 'bad-request';
      return sendJson(res, 400, { error: { message: 'file and model are required', type: 'invalid_request_error' } });
    }
    const format = fields.response_format?.[0] ?? 'json';
    const granularities = [...(fields['timestamp_granularities[]'] ?? []), ...(fields.timestamp_granularities ?? [])];
    if (format === 'verbose_json' && this.transcription.supportsVerboseJson === false) {
      record.outcome = 'unsupported';
      return sendJson(res, 400, {
        error: {
          message: `response_format 'verbose_json' is not compatible with model ${model}; use json or text`,
          param: 'response_format',
          type: 'invalid_request_error',
        },
      });
    }
    if (granularities.length && this.transcription.supportsTimestampGranularities === false) {
      record.outcome = 'unsupported';
      return sendJson(res, 400, {
        error: { message: 'timestamp_granularities is not supported by this server', param: 'timestamp_granularities', type: 'invalid_request_error' },
      });
    }
    const configured = this.transcription.text;
    const text = typeof configured === 'function' ? configured(file, fields) : (configured ?? `a clip of ${file.bytes} bytes`);
    if (format === 'text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
      return;
    }
    if (format !== 'verbose_json') return sendJson(res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(wavSeconds(file.bytes)) } });

    // Spread the words evenly over the audio (16 kHz mono s16 WAV assumed for the duration).
    const duration = Math.max(0.1, wavSeconds(file.bytes));
    const tokens = text.split(/\s+/).filter(Boolean);
    const step = duration / Math.max(1, tokens.length);
    const words = tokens.map((word, i) => ({ word, start: round(i * step), end: round((i + 1) * step) }));
    const middle = Math.ceil(tokens.length / 2);
    const segments = [tokens.slice(0, middle), tokens.slice(middle)]
      .filter((part) => part.length)
      .map((part, i) => {
        const start = i === 0 ? 0 : middle * step;
        return {
          id: i,
          seek: 0,
          start: round(start),
          end: round(start + part.length * step),
          text: ` ${part.join(' ')}`,
          tokens: [],
          temperature: 0,
          avg_logprob: -0.2,
          compression_ratio: 1.2,
          no_speech_prob: 0.01,
        };
      });
    const response: Record<string, unknown> = {
      task: 'transcribe',
      language: fields.language?.[0] ?? this.transcription.language ?? 'english',
      duration: round(duration),
      text,
    };
    if (granularities.includes('segment') || granularities.length === 0) response.segments = segments;
    if (granularities.includes('word')) response.words = words;
    sendJson(res, 200, response);
  }

  private complete(record: RecordedRequest, res: ServerResponse): void {
    const body = record.json;
    if (!body || !Array.isArray(body.messages) || typeof body.model !== 'string') {
      record.outcome = 'bad-request';
      return sendJson(res, 400, { error: { message: 'model and messages are required', type: 'invalid_request_error' } });
    }
    const { completion, usage } = this.answerChat(body, this.chat.reply?.(body, this.chatCount++));
    if (usage) record.reportedUsage = usage;
    sendJson(res, 200, completion);
  }

  /** The chat completion a request gets (a scripted reply, else the behaviour's json / content). */
  private answerChat(
    body: any,
    scripted: ChatReply | undefined,
  ): { completion: unknown; usage: { prompt_tokens: number; completion_tokens: number } | undefined } {
    const wantsJson = body.response_format?.type === 'json_schema' || body.response_format?.type === 'json_object';
    const { json, content } = this.chat;
    const refusal = scripted?.refusal ?? null;
    const text: string | null =
      scripted && (scripted.content !== undefined || refusal !== null)
        ? (scripted.content ?? null)
        : wantsJson
          ? JSON.stringify(typeof json === 'function' ? (json as (b: unknown) => unknown)(body) : (json ?? {}))
          : typeof content === 'function'
            ? content(body)
            : (content ?? 'ok');
    const usage =
      this.chat.usage === null ? undefined : (this.chat.usage ?? { prompt_tokens: promptTokens(body), completion_tokens: countTokens(text ?? refusal ?? '') });
    const completion = {
      id: `chatcmpl-${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12)}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal }, finish_reason: scripted?.finishReason ?? 'stop', logprobs: null }],
      ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
    };
    return { completion, usage };
  }

  private uploadFile(record: RecordedRequest, fields: Record<string, string[]>, res: ServerResponse): void {
    const purpose = fields.purpose?.[0];
    if (!record.file || !purpose) {
      record.outcome = 'bad-request';
      return sendJson(res, 400, { error: { message: 'file and purpose are required', type: 'invalid_request_error' } });
    }
    const id = `file-${createHash('sha256').update(record.file.content).update(String(this.files.size)).digest('hex').slice(0, 16)}`;
    this.files.set(id, { name: record.file.name, purpose, content: record.file.content });
    sendJson(res, 200, { id, object: 'file', bytes: record.file.bytes, created_at: 1_700_000_000, filename: record.file.name, purpose, status: 'processed' });
  }

  private fileContent(record: RecordedRequest, id: string, res: ServerResponse): void {
    const file = this.files.get(id);
    if (!file) {
      record.outcome = 'not-found';
      return sendJson(res, 404, { error: { message: `No such File object: ${id}`, type: 'invalid_request_error' } });
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.content.length) });
    res.end(file.content);
  }

  private createBatch(record: RecordedRequest, res: ServerResponse): void {
    const body = record.json;
    const input = this.files.get(String(body?.input_file_id));
    if (!input || body.endpoint !== '/v1/chat/completions' || body.completion_window !== '24h') {
      record.outcome = 'bad-request';
      return sendJson(res, 400, {
        error: {
          message: 'input_file_id of an uploaded file, endpoint /v1/chat/completions and completion_window 24h are required',
          type: 'invalid_request_error',
        },
      });
    }
    const lines = input.content
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const id = `batch_${this.batches.size + 1}_${createHash('sha256').update(input.content).digest('hex').slice(0, 8)}`;
    const outcome = this.batch.outcomes?.shift() ?? 'completed';
    const batch: ServerBatch = {
      id,
      inputFileId: body.input_file_id,
      endpoint: body.endpoint,
      completionWindow: body.completion_window,
      polls: 0,
      outcome,
      status: 'validating',
      outputFileId: null,
      errorFileId: null,
      counts: { total: lines.length, completed: 0, failed: 0 },
      metadata: body.metadata ?? null,
    };
    this.batches.set(id, batch);
    sendJson(res, 200, this.batchObject(batch));
  }

  private retrieveBatch(record: RecordedRequest, id: string, res: ServerResponse): void {
    const batch = this.batches.get(id);
    if (!batch) {
      record.outcome = 'not-found';
      return sendJson(res, 404, { error: { message: `No such Batch object: ${id}`, type: 'invalid_request_error' } });
    }
    batch.polls++;
    const polls = this.batch.pollsToComplete ?? 2;
    if (batch.status === 'validating' || batch.status === 'in_progress') {
      if (batch.polls >= polls) this.finishBatch(batch);
      else batch.status = 'in_progress';
    }
    sendJson(res, 200, this.batchObject(batch));
  }

  /** Runs every line through the chat behaviour (an expired batch answers only its first half). */
  private finishBatch(batch: ServerBatch): void {
    if (batch.outcome === 'failed' || batch.outcome === 'cancelled') {
      batch.status = batch.outcome;
      return;
    }
    const lines = this.files
      .get(batch.inputFileId)!
      .content.toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const answered = batch.outcome === 'expired' ? lines.slice(0, lines.length >> 1) : lines;
    const outputs: string[] = [];
    const errors: string[] = [];
    for (const line of answered) {
      const request = JSON.parse(line) as { custom_id: string; body: any };
      if (this.batch.errorFor?.(request.custom_id, request.body)) {
        errors.push(
          JSON.stringify({
            id: `req_${outputs.length + errors.length}`,
            custom_id: request.custom_id,
            response: { status_code: 500, request_id: 'r', body: { error: { message: 'injected batch line error', type: 'server_error' } } },
            error: null,
          }),
        );
        continue;
      }
      const { completion, usage } = this.answerChat(request.body, undefined);
      const entry = {
        id: `req_${outputs.length + errors.length}`,
        custom_id: request.custom_id,
        response: { status_code: 200, request_id: 'r', body: completion },
        error: null,
      };
      outputs.push(JSON.stringify(entry));
      this.batchUsage.push({ customId: request.custom_id, usage });
    }
    for (const line of lines.slice(answered.length)) {
      const request = JSON.parse(line) as { custom_id: string };
      errors.push(
        JSON.stringify({
          id: `req_x`,
          custom_id: request.custom_id,
          response: null,
          error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
        }),
      );
    }
    const store = (content: string[]) => {
      const id = `file-out-${this.files.size}`;
      this.files.set(id, { name: 'batch_output.jsonl', purpose: 'batch_output', content: Buffer.from(content.map((l) => `${l}\n`).join('')) });
      return id;
    };
    batch.outputFileId = outputs.length ? store(outputs) : null;
    batch.errorFileId = errors.length ? store(errors) : null;
    batch.counts = { total: lines.length, completed: outputs.length, failed: errors.length };
    batch.status = batch.outcome;
  }

  /** Usage reported in batch outputs, in order (tests sum it against the cost table). */
  readonly batchUsage: { customId: string; usage: { prompt_tokens: number; completion_tokens: number } | undefined }[] = [];

  private batchObject(batch: ServerBatch): unknown {
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      errors: null,
      input_file_id: batch.inputFileId,
      completion_window: batch.completionWindow,
      status: batch.status,
      output_file_id: batch.outputFileId,
      error_file_id: batch.errorFileId,
      created_at: 1_700_000_000,
      request_counts: batch.counts,
      metadata: batch.metadata,
    };
  }
}

/**
 * Prompt tokens as a provider counts them: the chat-formatted messages in the o200k_base encoding
 * (gpt-tokenizer's own chat accounting), 85 per low-detail image, 765 per other image, 10 per second
 * of 16 kHz WAV audio, and the structured-output schema.
 */
function promptTokens(body: any): number {
  let media = 0;
  const messages = (body.messages as any[]).map((m) => {
    if (!Array.isArray(m.content)) return { role: m.role, content: String(m.content ?? '') };
    const text: string[] = [];
    for (const part of m.content) {
      if (part.type === 'text') text.push(part.text);
      else if (part.type === 'image_url') media += part.image_url?.detail === 'low' ? 85 : 765;
      else if (part.type === 'input_audio') media += Math.ceil((((part.input_audio?.data ?? '').length * 3) / 4 / 32_000) * 10);
    }
    return { role: m.role, content: text.join('\n') };
  });
  const schema = body.response_format?.type === 'json_schema' ? countTokens(JSON.stringify(body.response_format.json_schema?.schema ?? {})) : 0;
  return encodeChat(messages, 'gpt-4o').length + media + schema;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipart(body: Buffer, contentType: string): { fields: Record<string, string[]>; file?: UploadedFile } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const fields: Record<string, string[]> = {};
  let file: UploadedFile | undefined;
  if (!boundary) return { fields };
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let position = body.indexOf(delimiter);
  while (position >= 0) {
    const start = position + delimiter.length;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const content = part.subarray(split + 4);
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      if (name !== undefined && filename !== undefined) {
        const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1] ?? 'application/octet-stream';
        file = { name: filename, type, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex'), content: Buffer.from(content) };
      } else if (name !== undefined) {
        (fields[name] ??= []).push(content.toString('utf8'));
      }
    }
    position = next;
  }
  return { fields, file };
}

/** Seconds of 16 kHz mono 16-bit audio in a WAV of this many bytes (44-byte header). */
function wavSeconds(bytes: number): number {
  return Math.max(0, bytes - 44) / 32_000;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
