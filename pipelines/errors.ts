// Error classes dispatched with instanceof. Messages say what to do next; wrappers keep `cause`.

/** Worth retrying: network, 429, 5xx, timeouts. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

/** Bad input for one record: that record is dropped, the run goes on. */
export class RecordError extends Error {
  override name = 'RecordError';
  constructor(readonly reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Stop the run: bad config, missing binary, broken store. */
export class FatalError extends Error {
  override name = 'FatalError';
}

/** A config that does not validate; `issues` name the YAML path and what is allowed. */
export class ConfigError extends FatalError {
  override name = 'ConfigError';
  constructor(readonly file: string, readonly issues: string[]) {
    super(`${file} is not a valid emoforge config:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}
