// A teacher backed by an OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server,
// LM Studio). It builds the messages from the role's prompt template, asks for structured output
// (a strict JSON schema derived from the stage's zod schema, or JSON mode with the schema in the
// system prompt), and validates the answer with that same zod schema. An answer that does not
// parse or validate is sent back once more (maxInvalidRetries) with the error, then the record is
// dropped with the raw text kept in the reason's detail. Caching, rate limits and transport retries
// are the shared endpoint client's; this class only counts what they did, per role, for the cost
// table.
import type {
  ChatCompletion,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import { countChatInputTokens, estimateChatTokens, type EndpointClient, type EndpointResult } from '../endpoints/index.ts';
import { RecordError, TransientRecordError } from '../errors.ts';
import { loadPromptTemplate, promptValues, renderPrompt, resolvePromptTemplate, type PromptTemplate } from './prompts.ts';
import type { Teacher, TeacherMedia, TeacherRequest, TeacherResponse, TeacherUsage } from './teacher.ts';
import type { Store } from '../store/store.ts';
import type { BatchQueue } from './batch.ts';
import { TeacherCalibration } from './calibration.ts';
import { priceOf, type TeacherUsageLedger, type TokenPrices } from './usage.ts';

/** Sampling parameters sent with every request; part of the fingerprint. */
export interface LlmTeacherParams {
  /** Default 0 (MER-Caption's GPT setting; open models used 0.7 / top_p 0.8 / 512 tokens). */
  readonly temperature: number;
  readonly top_p?: number;
  readonly max_tokens?: number;
  readonly seed?: number;
}

export type StructuredOutput = 'json_schema' | 'json_object';

export interface LlmTeacherOptions {
  /** The teacher's name in the config, written into provenance. */
  readonly name: string;
  /** The endpoint client (shared by every teacher on the same endpoint). */
  readonly client: EndpointClient;
  readonly params: LlmTeacherParams;
  readonly prices: TokenPrices;
  /** 'json_schema' (strict structured outputs) or 'json_object' (JSON mode, schema in the prompt). */
  readonly structuredOutput: StructuredOutput;
  /** Times an unparseable or invalid answer is sent back with the error before the record drops. */
  readonly maxInvalidRetries: number;
  /** Folder holding `<role>.yaml` prompt templates. */
  readonly promptsDir: string;
  /** Roles this teacher answers; their prompts load (and are checked) now. */
  readonly roles: readonly string[];
  /** Where requests, retries, tokens and cost are counted. */
  readonly ledger: TeacherUsageLedger;
  /** The run's spending cap: no new request once it is reached (cached answers are still served). */
  readonly budget?: { readonly maxUSD: number };
  /** YAML path of this teacher's config, for messages (e.g. "teachers.teachers.gpt"). */
  readonly label?: string;
  /** Where observed answer lengths are kept for `--dry-run` projections (none: not kept). */
  readonly store?: Store;
  /** Batch mode: uncached requests go to the OpenAI Batch API through this queue (see batch.ts). */
  readonly batch?: BatchQueue;
  /** Batch mode's price factor, also on a dry run (which builds no queue). Default: the queue's, else 1. */
  readonly priceFactor?: number;
}

/** The raw answer kept in a drop's detail is cut here, so one record cannot bloat the rejects table. */
const RAW_TEXT_LIMIT = 2000;

export class LlmTeacher implements Teacher {
  readonly name: string;
  readonly model: string;
  readonly fingerprint: unknown;
  private readonly client: EndpointClient;
  private readonly options: LlmTeacherOptions;
  private readonly prompts = new Map<string, PromptTemplate>();
  /** Observed input/output tokens per role, across runs, for `--dry-run`. */
  readonly calibration: TeacherCalibration;

  constructor(options: LlmTeacherOptions) {
    if (!Number.isInteger(options.maxInvalidRetries) || options.maxInvalidRetries < 0) {
      throw new RangeError(`maxInvalidRetries must be an integer >= 0, got ${options.maxInvalidRetries}`);
    }
    this.options = options;
    this.name = options.name;
    this.client = options.client;
    this.model = options.client.config.model;
    const label = `${options.label ?? `teachers.${options.name}`}.promptsDir`;
    for (const role of options.roles) this.prompts.set(role, loadPromptTemplate(options.promptsDir, role, label));
    // What shapes the answers: model, sampling, output mode and the prompt texts. Never the
    // endpoint's address, key, limits or retries, so tuning throughput keeps every cache.
    this.fingerprint = {
      kind: 'openai',
      model: this.model,
      params: options.params,
      structuredOutput: options.structuredOutput,
      prompts: Object.fromEntries([...this.prompts].map(([role, t]) => [role, `${t.ref}#${t.digest.slice(0, 16)}`])),
    };
    this.calibration = new TeacherCalibration(this.fingerprint, options.store);
  }

  /**
   * What the first request for `request` would cost, without sending it: 0 when the response cache
   * already holds it, else the input tokens estimated from the exact messages (`--dry-run`).
   */
  async project<T, O>(request: TeacherRequest<T, O>): Promise<{ readonly cached: boolean; readonly inputTokens: number }> {
    const { messages, responseFormat } = this.prepare(request);
    const params = { messages, response_format: responseFormat, ...this.options.params, model: this.client.config.model };
    if (await this.client.isCached('chat.completions', params)) return { cached: true, inputTokens: 0 };
    return { cached: false, inputTokens: countChatInputTokens(params) };
  }

  /** The prices this teacher's tokens are charged at (the batch price in batch mode). */
  get prices(): TokenPrices {
    const { prices, batch } = this.options;
    const f = this.options.priceFactor ?? batch?.config.priceFactor ?? 1;
    if (f === 1) return prices;
    return { inputPerMTokUSD: prices.inputPerMTokUSD * f, outputPerMTokUSD: prices.outputPerMTokUSD * f };
  }

  private prepare<T, O>(request: TeacherRequest<T, O>) {
    const { task } = request;
    const role = task.role;
    const template = this.promptFor(role);
    const prompt = resolvePromptTemplate(template, request.template);
    const rendered = renderPrompt(prompt, promptValues(request.segment, task.promptValues?.(request.options)));
    const schema = jsonSchemaOf(task.output);
    const { structuredOutput } = this.options;
    const messages: ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content:
          structuredOutput === 'json_object'
            ? `${rendered.system}\n\nAnswer with one JSON object, and nothing else, that matches this JSON Schema:\n${JSON.stringify(schema.plain)}`
            : rendered.system,
      },
      { role: 'user', content: request.media ? userContentWithMedia(rendered.user, request.media) : rendered.user },
    ];
    const responseFormat: ChatCompletionCreateParamsNonStreaming['response_format'] =
      structuredOutput === 'json_object'
        ? { type: 'json_object' }
        : { type: 'json_schema', json_schema: { name: `emoforge_${role}`, schema: schema.strict, strict: true } };
    return { role, prompt, schema, messages, responseFormat };
  }

  async generate<T, O>(request: TeacherRequest<T, O>, signal: AbortSignal): Promise<TeacherResponse<T>> {
    signal.throwIfAborted();
    const { role, prompt, schema, messages, responseFormat } = this.prepare(request);
    const { params, maxInvalidRetries } = this.options;
    const usage = { inputTokens: 0, outputTokens: 0 } satisfies TeacherUsage;
    const estimatedInputTokens = countChatInputTokens({ messages, response_format: responseFormat });
    let allCached = true;
    const where = `teacher '${this.name}' (${this.model}) for role '${role}' with template ${prompt.ref}`;
    try {
      for (let attempt = 0; ; attempt++) {
        const result = await this.complete(role, { messages: [...messages], response_format: responseFormat, ...params }, signal);
        usage.inputTokens += result.usage.inputTokens;
        usage.outputTokens += result.usage.outputTokens;
        allCached &&= result.cached;

        const choice = result.value.choices?.[0];
        const refusal = choice?.message?.refusal;
        if ((typeof refusal === 'string' && refusal.trim() !== '') || choice?.finish_reason === 'content_filter') {
          const said = typeof refusal === 'string' && refusal.trim() !== '' ? `: ${truncate(refusal)}` : ' (finish_reason content_filter)';
          throw new RecordError('teacher-refused', `${where} refused to answer${said}`);
        }
        const raw = choice ? (choice.message?.content ?? '') : JSON.stringify(result.value);
        const checked = checkAnswer(raw, request, schema.optionalPaths);
        if (checked.ok) {
          this.options.ledger.add(role, this.name, { answers: 1 });
          if (!allCached) this.calibration.record(role, { estimatedInputTokens, ...usage });
          return { value: checked.value, usage, cached: allCached, teacher: this.name, model: this.model, template: prompt.ref };
        }
        const cut =
          choice?.finish_reason === 'length'
            ? `; the answer was cut at the token limit, raise params.max_tokens (now ${params.max_tokens ?? 'the server default'})`
            : '';
        if (attempt >= maxInvalidRetries) {
          throw new RecordError(
            'teacher-invalid-output',
            `${where} gave no valid answer in ${attempt + 1} attempt(s): ${checked.error}${cut}; tokens in/out ${usage.inputTokens}/${usage.outputTokens}; raw answer: ${truncate(raw)}`,
          );
        }
        this.options.ledger.add(role, this.name, { invalidRetries: 1 });
        messages.push(
          { role: 'assistant', content: raw },
          { role: 'user', content: `That answer is not valid: ${checked.error}. Reply again with only the corrected JSON object.` },
        );
      }
    } catch (error) {
      this.options.ledger.add(role, this.name, { failures: 1 });
      throw error;
    }
  }

  private promptFor(role: string): PromptTemplate {
    let template = this.prompts.get(role);
    if (!template) {
      // A role the registry did not announce (a direct caller): load on first use.
      template = loadPromptTemplate(this.options.promptsDir, role, `${this.options.label ?? `teachers.${this.name}`}.promptsDir`);
      this.prompts.set(role, template);
    }
    return template;
  }

  /** One chat request through the shared client, with its HTTP attempts, cache hit and cost counted. */
  private async complete(
    role: string,
    body: Omit<ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>,
    signal: AbortSignal,
  ): Promise<EndpointResult<ChatCompletion>> {
    // The same operation and params as EndpointClient.chat(), so both share cache entries; the
    // custom send only adds the attempt count, which the client does not report on failure.
    const params = { ...body, model: this.client.config.model };
    let attempts = 0;
    const { ledger, budget, batch } = this.options;
    if (batch && !(await this.client.isCached('chat.completions', params))) {
      if (budget && ledger.spentUSD() >= budget.maxUSD) {
        throw new TransientRecordError(
          'budget-exhausted',
          `budget.maxUSD $${budget.maxUSD} is spent ($${ledger.spentUSD().toFixed(4)} this run): raise budget.maxUSD and run again; answers already paid for come from the cache`,
        );
      }
      return batch.defer(role, this.client.cacheKey('chat.completions', params), params);
    }
    try {
      const result = await this.client.request<ChatCompletion>({
        operation: 'chat.completions',
        params,
        estimatedTokens: estimateChatTokens(params),
        signal,
        async send(openai, requestOptions) {
          // Only requests that would go over HTTP reach send(): a cache hit is never refused.
          if (budget && ledger.spentUSD() >= budget.maxUSD) {
            throw new TransientRecordError(
              'budget-exhausted',
              `budget.maxUSD $${budget.maxUSD} is spent ($${ledger.spentUSD().toFixed(4)} this run): raise budget.maxUSD and run again; answers already paid for come from the cache`,
            );
          }
          attempts++;
          const completion = await openai.chat.completions.create({ ...params, stream: false }, requestOptions);
          const reported = completion.usage ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens } : undefined;
          return { value: completion, usage: reported };
        },
      });
      if (result.cached) this.options.ledger.add(role, this.name, { cacheHits: 1 });
      else this.options.ledger.add(role, this.name, { ...result.usage, usd: priceOf(result.usage, this.options.prices) });
      return result;
    } finally {
      this.options.ledger.add(role, this.name, { calls: attempts, retries: Math.max(0, attempts - 1) });
    }
  }
}

/** The prompt text followed by the keyframes (temporal order) as data-URL images and the WAV as input_audio. */
export function userContentWithMedia(text: string, media: TeacherMedia): ChatCompletionContentPart[] {
  const parts: ChatCompletionContentPart[] = [{ type: 'text', text }];
  for (const image of media.images ?? []) {
    parts.push({
      type: 'image_url',
      image_url: { url: `data:image/jpeg;base64,${Buffer.from(image.jpeg).toString('base64')}`, detail: media.imageDetail ?? 'low' },
    });
  }
  if (media.wav) parts.push({ type: 'input_audio', input_audio: { data: Buffer.from(media.wav).toString('base64'), format: 'wav' } });
  return parts;
}

function truncate(text: string): string {
  return text.length <= RAW_TEXT_LIMIT ? text : `${text.slice(0, RAW_TEXT_LIMIT)}… (${text.length} characters)`;
}

// ---------------------------------------------------------------------------------------------
// Structured output: the stage's zod schema as JSON Schema, in the strict form OpenAI accepts.
// ---------------------------------------------------------------------------------------------

type JsonSchema = Record<string, unknown>;

interface SchemaForms {
  /** As zod writes it (for the json_object prompt: constraints help the model). */
  readonly plain: JsonSchema;
  /** Every property required (optional ones nullable), no additional properties, no constraint keywords. */
  readonly strict: JsonSchema;
  /** Object paths ('items.*.options') whose property may be omitted: a null there is dropped before validation. */
  readonly optionalPaths: ReadonlySet<string>;
}

/** Keywords strict structured outputs reject (or servers handle unevenly); zod checks them after. */
const CONSTRAINT_KEYWORDS = [
  '$schema',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'default',
];

const schemaForms = new WeakMap<z.ZodType, SchemaForms>();

function jsonSchemaOf(schema: z.ZodType): SchemaForms {
  let forms = schemaForms.get(schema);
  if (!forms) {
    // The model's answer is the schema's input: fields with defaults may be left out.
    const plain = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    delete plain.$schema;
    const optionalPaths = new Set<string>();
    forms = { plain, strict: strictForm(plain, '', optionalPaths), optionalPaths };
    schemaForms.set(schema, forms);
  }
  return forms;
}

function strictForm(node: unknown, path: string, optionalPaths: Set<string>): JsonSchema {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (CONSTRAINT_KEYWORDS.includes(key)) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      const required = new Set(((node as JsonSchema).required as string[] | undefined) ?? []);
      out.properties = Object.fromEntries(
        Object.entries(value as JsonSchema).map(([name, child]) => {
          const strict = strictForm(child, `${path}${name}.`, optionalPaths);
          if (required.has(name)) return [name, strict];
          optionalPaths.add(`${path}${name}`);
          return [name, { anyOf: [strict, { type: 'null' }] }];
        }),
      );
      out.required = Object.keys(value as JsonSchema);
      out.additionalProperties = false;
    } else if (key === 'items') out.items = strictForm(value, `${path}*.`, optionalPaths);
    else if (key === 'required' || key === 'additionalProperties') continue;
    else if (Array.isArray(value)) out[key] = value.map((v) => strictForm(v, path, optionalPaths));
    else if (value && typeof value === 'object' && (key === '$defs' || key === 'definitions')) {
      out[key] = Object.fromEntries(Object.entries(value as JsonSchema).map(([name, child]) => [name, strictForm(child, path, optionalPaths)]));
    } else out[key] = value;
  }
  if (out.type === 'object' && !('properties' in out)) {
    out.properties = {};
    out.required = [];
    out.additionalProperties = false;
  }
  return out;
}

/** Strict mode makes optional fields nullable; the stage schema wants them absent instead. */
function dropOptionalNulls(value: unknown, optionalPaths: ReadonlySet<string>, path = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => dropOptionalNulls(item, optionalPaths, `${path}*.`));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (child === null && optionalPaths.has(`${path}${key}`)) continue;
    out[key] = dropOptionalNulls(child, optionalPaths, `${path}${key}.`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checking an answer: JSON, the stage's schema, then what each role promises beyond the schema.
// ---------------------------------------------------------------------------------------------

type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

function checkAnswer<T, O>(raw: string, request: TeacherRequest<T, O>, optionalPaths: ReadonlySet<string>): Checked<T> {
  // Local servers in JSON mode often wrap the object in a Markdown fence.
  const text = raw.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/i, '$1');
  if (text === '') return { ok: false, error: 'the answer was empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `the answer is not JSON (${(error as Error).message})` };
  }
  const parsed = request.task.output.safeParse(dropOptionalNulls(json, optionalPaths));
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 8).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    return { ok: false, error: `the JSON does not match the schema: ${issues.join('; ')}` };
  }
  const problems = request.task.check?.(parsed.data, request.options) ?? [];
  if (problems.length) return { ok: false, error: problems.join('; ') };
  return { ok: true, value: parsed.data };
}
