// What a teacher's answers really cost, remembered across runs so `--dry-run` can project from them.
// For every answer paid for (not a cache hit) a teacher records, per role: the input tokens it
// estimated before sending, the input and output tokens the server reported (invalid-output retries
// included, since a projection must pay for them too). A dry run then scales its input estimate by
// reported/estimated and takes the mean output per answer, once a role has MIN_OBSERVED answers;
// before that it falls back to the rules teacher's stand-in text.
//
// Stored per teacher fingerprint (model, params, prompts), so a new prompt or model starts afresh,
// under `teachers/calibration/<fingerprint>.json`. Workers that finish at the same time may each
// write their sums over the other's; the figures are estimates, and the next run adds again.
import type { Logger } from 'pino';
import { fingerprint } from '../fingerprint.ts';
import type { Store } from '../store/store.ts';

/** Answers a role needs before its observed lengths replace the stand-in's. */
export const MIN_OBSERVED = 3;

export interface RoleObservations {
  answers: number;
  estimatedInputTokens: number;
  inputTokens: number;
  outputTokens: number;
}

type Table = Record<string, RoleObservations>;

const FORMAT = 'emoforge.teacher-calibration.v1';

export class TeacherCalibration {
  private readonly key: string;
  private readonly added: Table = {};
  private stored: Promise<Table> | undefined;

  constructor(
    teacherFingerprint: unknown,
    private readonly store: Store | undefined,
    private readonly log?: Logger,
  ) {
    this.key = `teachers/calibration/${fingerprint('teacher-calibration', teacherFingerprint)}.json`;
  }

  /** One paid answer: what was estimated and what the server reported. */
  record(role: string, observed: Omit<RoleObservations, 'answers'>): void {
    const row = (this.added[role] ??= { answers: 0, estimatedInputTokens: 0, inputTokens: 0, outputTokens: 0 });
    row.answers += 1;
    row.estimatedInputTokens += observed.estimatedInputTokens;
    row.inputTokens += observed.inputTokens;
    row.outputTokens += observed.outputTokens;
  }

  /** Everything observed for a role: earlier runs' and this run's. */
  async observed(role: string): Promise<RoleObservations | undefined> {
    const stored = (await this.load())[role];
    const added = this.added[role];
    if (!stored && !added) return undefined;
    const sum = { answers: 0, estimatedInputTokens: 0, inputTokens: 0, outputTokens: 0 };
    for (const row of [stored, added]) {
      if (!row) continue;
      for (const k of Object.keys(sum) as (keyof RoleObservations)[]) sum[k] += row[k];
    }
    return sum;
  }

  /** Adds this run's observations to the stored ones. A no-op when nothing was paid for. */
  async persist(): Promise<void> {
    if (!this.store || Object.keys(this.added).length === 0) return;
    const merged: Table = structuredClone(await this.load());
    for (const [role, row] of Object.entries(this.added)) {
      const into = (merged[role] ??= { answers: 0, estimatedInputTokens: 0, inputTokens: 0, outputTokens: 0 });
      for (const k of Object.keys(row) as (keyof RoleObservations)[]) into[k] += row[k];
    }
    await this.store.put(this.key, `${JSON.stringify({ format: FORMAT, roles: merged }, null, 1)}\n`);
    this.stored = Promise.resolve(merged);
    for (const role of Object.keys(this.added)) delete this.added[role];
  }

  private load(): Promise<Table> {
    this.stored ??= (async () => {
      const bytes = await this.store?.get(this.key);
      if (!bytes) return {};
      try {
        const parsed = JSON.parse(bytes.toString('utf8')) as { format?: string; roles?: Table };
        if (parsed.format === FORMAT && parsed.roles && typeof parsed.roles === 'object') return parsed.roles;
      } catch {
        // fall through: an unreadable file is ignored and rewritten by the next persist
      }
      this.log?.warn({ key: this.key }, 'ignoring an unreadable teacher calibration file');
      return {};
    })();
    return this.stored;
  }
}

/** A dry run's projection for one request, from observations when there are enough. */
export function projectFromObservations(observed: RoleObservations | undefined, estimatedInputTokens: number, standInOutputTokens: number) {
  if (!observed || observed.answers < MIN_OBSERVED || observed.estimatedInputTokens <= 0) {
    return { inputTokens: estimatedInputTokens, outputTokens: standInOutputTokens, basis: 'stand-in' as const };
  }
  return {
    inputTokens: Math.round((estimatedInputTokens * observed.inputTokens) / observed.estimatedInputTokens),
    outputTokens: Math.round(observed.outputTokens / observed.answers),
    basis: 'observed' as const,
  };
}
