// The checks `emoforge schedule` makes before anything else: a cron expression croner accepts (or
// --once), and a local out folder and input. Imports croner alone, so bad usage is refused before the
// pipeline loads.
import { Cron } from 'croner';
import { isS3Location } from '../../pipelines/store/index.ts';

/** A schedule that cannot start (a cron expression croner refuses, an s3:// out folder); the message says what is wrong and what to do. */
export class CronError extends Error {
  override name = 'CronError';
}

/** Parses a cron expression (5 fields, or 6 with seconds first) or throws CronError. */
function validateCron(expression: string): Cron {
  try {
    return new Cron(expression, { paused: true });
  } catch (error) {
    throw new CronError(
      `--cron ${JSON.stringify(expression)} is not a valid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')} ` +
        `(use five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *" for 03:00 every day)`,
    );
  }
}

/** Throws CronError when neither a valid --cron nor --once is given. */
export function checkTrigger(options: { readonly cron?: string; readonly once?: boolean }): void {
  if (!options.once && !options.cron) throw new CronError('schedule needs --cron "EXPR" (e.g. "0 3 * * *") or --once');
  if (options.cron) validateCron(options.cron).stop();
}

/** Throws CronError when the out folder or the input is in S3: a schedule refreshes local folders. */
export function checkLocal(outLocation: string, input: string | undefined): void {
  if (isS3Location(outLocation) || isS3Location(input ?? '')) {
    throw new CronError(
      `schedule refreshes a local out folder from a local input; for ${outLocation} run \`emoforge run\` from cron or a Kubernetes CronJob (the store may be s3://)`,
    );
  }
}
