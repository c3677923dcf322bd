// What a failed endpoint call means for the run. Retryable (429, 5xx, timeouts, dropped
// connections, garbled replies) goes back through backoff; a refused key, a missing model or an
// exhausted quota stops the run (every later call would fail the same way); a request the endpoint
// rejects (400, 413, 422) drops that one record, permanently: the server would refuse the same request
// again, so the drop is cached. Retryable failures that outlast the retries drop their record
// transiently: the next run asks again. Every message says what to do next and never carries the
// key, even when a server echoes it back.
import type { APIError } from 'openai';
import { FatalError, RecordError, RetryableError, type FailureOptions } from '../errors.ts';
import { openaiIfLoaded } from './openai-lib.ts';

/** A failure worth retrying; `retryAfterMs` is the server's hint, when it gave one. */
export class EndpointRetryableError extends RetryableError {
  override name = 'EndpointRetryableError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
    options?: FailureOptions,
  ) {
    super(message, options);
  }
}

/** The endpoint refused this request (bad input for this record); the record is dropped. */
export class EndpointRejectedError extends RecordError {
  override name = 'EndpointRejectedError';
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super('endpoint-rejected', message, options);
  }
}

/** The endpoint cannot serve this run (key, permission, model, quota): stop and fix the config. */
export class EndpointFatalError extends FatalError {
  override name = 'EndpointFatalError';
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface FailureContext {
  /** e.g. "audio.transcriptions" */
  readonly operation: string;
  readonly model: string;
  /** baseURL without credentials */
  readonly endpoint: string;
  readonly apiKeyEnv: string;
  /** Names the endpoint for "which teachers or tools failed", e.g. "teachers.llm.endpoint". */
  readonly label?: string;
  /** Removes the key from text a server sent back. */
  readonly scrub: (text: string) => string;
  /** Retry delay the response asked for, if any. */
  readonly retryAfterMs?: number;
}

/** Turns whatever the openai package threw into one of emoforge's error classes. */
export function classifyFailure(error: unknown, context: FailureContext): EndpointRetryableError | EndpointRejectedError | EndpointFatalError {
  const where = `${context.operation} with model '${context.model}' at ${context.endpoint}`;
  const detail = context.scrub(serverMessage(error)).slice(0, 500);
  // The original error stays out of `cause` when its text or body could hold the key.
  const cause = {
    cause: error instanceof Error && isClean(error, context.scrub) ? error : undefined,
    service: `${context.label ?? 'endpoint'} (model '${context.model}' at ${context.endpoint})`,
  };

  const openai = openaiIfLoaded();
  if (openai && error instanceof openai.APIUserAbortError) return new EndpointRetryableError(`${where} was aborted`, undefined, undefined, cause);
  if (openai && error instanceof openai.APIConnectionError) {
    // APIConnectionTimeoutError is a subclass: the per-request timeout fired.
    return new EndpointRetryableError(
      `${where}: ${detail} (connection failed or timed out; retrying helps when the endpoint is up)`,
      undefined,
      context.retryAfterMs,
      cause,
    );
  }
  if (isApiError(error) && typeof error.status === 'number') {
    const status = error.status;
    if (status === 401) {
      return new EndpointFatalError(`${where}: 401 unauthorized (${detail}): set ${context.apiKeyEnv} to a valid key for this endpoint`, status, cause);
    }
    if (status === 403) {
      return new EndpointFatalError(
        `${where}: 403 forbidden (${detail}): the key in ${context.apiKeyEnv} may not use this model or endpoint; use a key with access or change model`,
        status,
        cause,
      );
    }
    if (status === 404) {
      return new EndpointFatalError(
        `${where}: 404 not found (${detail}): check baseURL (it usually ends in /v1) and that the endpoint serves model '${context.model}'`,
        status,
        cause,
      );
    }
    if (status === 429 && (error.code === 'insufficient_quota' || /insufficient_quota/.test(detail))) {
      return new EndpointFatalError(
        `${where}: 429 quota exhausted (${detail}): add credit to the account behind ${context.apiKeyEnv} or use another key`,
        status,
        cause,
      );
    }
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new EndpointRetryableError(`${where}: ${status} (${detail})`, status, context.retryAfterMs, cause);
    }
    return new EndpointRejectedError(
      `${where}: ${status} rejected (${detail}): the endpoint refused this request's input; see the message for the parameter it names`,
      status,
      cause,
    );
  }
  // A 200 whose body is not the JSON the SDK expects (a proxy's HTML page, a cut-off body).
  if (error instanceof SyntaxError) return new EndpointRetryableError(`${where}: the reply was not valid JSON (${detail})`, undefined, undefined, cause);
  return new EndpointRetryableError(`${where}: ${detail}`, undefined, context.retryAfterMs, cause);
}

function isClean(error: Error, scrub: (text: string) => string): boolean {
  const text = `${error.message} ${isApiError(error) ? JSON.stringify(error.error ?? null) : ''}`;
  return scrub(text) === text;
}

/** An openai API error (none can exist before the package is loaded). */
export function isApiError(error: unknown): error is APIError {
  const openai = openaiIfLoaded();
  return openai !== undefined && error instanceof openai.APIError;
}

function serverMessage(error: unknown): string {
  if (isApiError(error)) {
    const body = error.error as { message?: unknown } | undefined;
    if (body && typeof body.message === 'string') return body.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** baseURL for messages and logs: no user:password, no query string. */
export function displayEndpoint(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(invalid baseURL)';
  }
}
