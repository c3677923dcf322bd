// How emoforge reaches one OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server,
// LM Studio). The key itself never appears here: only the name of the environment variable that
// holds it, so configs, logs, fingerprints and error messages can be shared safely.
import { z } from 'zod';

export const EndpointLimits = z
  .object({
    /** Requests started per minute, spread evenly (a burst of at most one second's share). Default 500. */
    requestsPerMinute: z.number().positive().default(500),
    /** Tokens per minute (estimated before a call, settled with reported usage). Default 200000. */
    tokensPerMinute: z.number().positive().default(200_000),
    /** Requests in flight at once. Default 4. */
    concurrency: z.number().int().positive().default(4),
  })
  .strict();
export type EndpointLimits = z.output<typeof EndpointLimits>;

export const EndpointConfig = z
  .object({
    /** The API root including the version path, e.g. https://api.openai.com/v1 or http://localhost:8000/v1. */
    baseURL: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://api.openai.com/v1' }),
    /** Name of the environment variable holding the API key. Default OPENAI_API_KEY. */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as OPENAI_API_KEY')
      .default('OPENAI_API_KEY'),
    /** Model id sent with every request; part of every cache key (the baseURL is not). */
    model: z.string().min(1),
    /** Per-attempt timeout in milliseconds. Default 60000. */
    timeoutMs: z.number().int().positive().default(60_000),
    /** Retries after the first attempt for retryable failures (429, 5xx, timeouts, dropped connections). Default 4. */
    maxRetries: z.number().int().nonnegative().default(4),
    /** First backoff ceiling in milliseconds; doubles per retry, full jitter. Default 500. */
    initialBackoffMs: z.number().int().nonnegative().default(500),
    /** Largest backoff in milliseconds (wins over initialBackoffMs), also the cap on a server's Retry-After. Default 60000. */
    maxBackoffMs: z.number().int().nonnegative().default(60_000),
    limits: EndpointLimits.prefault({}),
  })
  // No cross-field refinements: teacher configs extend this object with their own fields.
  .strict();
export type EndpointConfig = z.output<typeof EndpointConfig>;
export type EndpointConfigInput = z.input<typeof EndpointConfig>;

/**
 * What of an endpoint shapes its answers: the model. Where it is served, the key's variable and
 * every throughput setting (timeouts, retries, backoff, limits) are left out, so tuning them never
 * invalidates a cache — the same rule as the endpoint's response cache.
 */
export function endpointIdentity(config: EndpointConfig): { readonly model: string } {
  return { model: config.model };
}
