// Error classes dispatched with instanceof. Messages say what to do next; wrappers keep `cause`.
//
// A record that fails is either a permanent failure (the same input fails the same way on every
// run: bad input, a deterministic tool error, a request the endpoint will always refuse) or a
// transient one (network, 429/5xx, a timeout, a killed child, a pending batch, a spent budget).
// The runner caches a permanent failure's drop like any result and stores its partition; a
// transient failure is not cached, its partition is not stored, the next run retries it, and a
// publish never removes the rows it had (see pipelines/run/failure-policy.ts and stages/write.ts).

export interface FailureOptions extends ErrorOptions {
  /** What failed, named for the user: "teachers.llm.endpoint (model 'm' at http://…)", "ffmpeg". */
  readonly service?: string;
}

/** Worth retrying: network, 429, 5xx, timeouts. Out of a stage, it is a transient record failure. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly service?: string;
  constructor(message: string, options?: FailureOptions) {
    super(message, options);
    this.service = options?.service;
  }
}

/** One record failed and is dropped with `reason`; the run goes on. Permanent unless `transient`. */
export class RecordError extends Error {
  override name = 'RecordError';
  /** True when a later run may succeed: the drop is not cached and the record is retried. */
  readonly transient: boolean;
  readonly service?: string;
  constructor(
    readonly reason: string,
    message: string,
    options?: FailureOptions & { readonly transient?: boolean },
  ) {
    super(message, options);
    this.transient = options?.transient === true;
    this.service = options?.service;
  }
}

/** A record failure that may pass by the next run (a killed child, a pending batch, a spent budget). */
export class TransientRecordError extends RecordError {
  override name = 'TransientRecordError';
  constructor(reason: string, message: string, options?: FailureOptions) {
    super(reason, message, { ...options, transient: true });
  }
}

/** Stop the run: bad config, missing binary, broken store. */
export class FatalError extends Error {
  override name = 'FatalError';
}

/** An input that cannot be read as given (a manifest without a header row): fix it and run again (exit 2). */
export class InputError extends FatalError {
  override name = 'InputError';
}

/** A config that does not validate; `issues` name the YAML path and what is allowed. */
export class ConfigError extends FatalError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly issues: string[],
  ) {
    super(`${file} is not a valid emoforge config:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}
