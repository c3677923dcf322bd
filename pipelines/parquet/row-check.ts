// Rows are checked against the column spec before encoding, so a bad value fails with the column
// and row named instead of an anonymous error from deep inside the Parquet encoder, and a string
// with a lone surrogate is refused rather than silently written as U+FFFD.
import { FatalError } from '../errors.ts';
import type { ColumnSpec } from './column-spec.ts';

/** A row that does not match the column spec: upstream validation let it through, so stop. */
export class ParquetRowError extends FatalError {
  override name = 'ParquetRowError';
}

const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Throws `ParquetRowError` when `row` does not fit `columns`; otherwise returns a rough size of the
 * row's values (UTF-16 code units + 8 per number), used to cap row groups by bytes.
 */
export function checkRow(row: Record<string, unknown>, columns: readonly ColumnSpec[], rowNumber: number): number {
  if (row === null || typeof row !== 'object') {
    throw new ParquetRowError(`row ${rowNumber} is ${describe(row)}, expected an object with the spec's columns`);
  }
  let size = 0;
  for (const { name, kind, nullable } of columns) {
    const value = row[name];
    const problem =
      value === null || value === undefined
        ? nullable
          ? undefined
          : 'is missing (column is not nullable)'
        : kind === 'string'
          ? stringProblem(value)
          : kind === 'double'
            ? typeof value === 'number'
              ? undefined
              : `is ${describe(value)}, expected a number`
            : kind === 'list<string>'
              ? listProblem(value, (element) => stringProblem(element))
              : kind === 'media'
                ? mediaProblem(value)
                : kind === 'list<media>'
                  ? listProblem(value, mediaProblem)
                  : listProblem(value, turnProblem);
    if (problem) throw new ParquetRowError(`row ${rowNumber}, column "${name}" (${kind}) ${problem}`);
    size += sizeOf(value);
  }
  return size;
}

function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number') return 8;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) {
    let size = 4;
    for (const element of value) size += sizeOf(element);
    return size;
  }
  if (value && typeof value === 'object') {
    let size = 0;
    for (const field of Object.values(value)) size += sizeOf(field);
    return size;
  }
  return 0;
}

/** An embedded media value: `{bytes, path}`, bytes a Uint8Array (or null), path a string (or null), not both null. */
function mediaProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `is ${describe(value)}, expected {bytes, path}`;
  const media = value as Record<string, unknown>;
  if (media.bytes !== null && media.bytes !== undefined && !(media.bytes instanceof Uint8Array))
    return `field "bytes" is ${describe(media.bytes)}, expected bytes`;
  if (media.path !== null && media.path !== undefined) {
    const problem = stringProblem(media.path);
    if (problem) return `field "path" ${problem}`;
  }
  if ((media.bytes ?? null) === null && (media.path ?? null) === null) return 'has neither bytes nor path';
  return undefined;
}

function stringProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `is ${describe(value)}, expected a string`;
  if (!isWellFormed(value)) return 'contains a lone UTF-16 surrogate and cannot be written as UTF-8';
  return undefined;
}

function listProblem(value: unknown, elementProblem: (element: unknown) => string | undefined): string | undefined {
  if (!Array.isArray(value)) return `is ${describe(value)}, expected an array`;
  for (let i = 0; i < value.length; i++) {
    const problem = elementProblem(value[i]);
    if (problem) return `element ${i} ${problem}`;
  }
  return undefined;
}

function turnProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return `is ${describe(value)}, expected {from, value}`;
  const turn = value as Record<string, unknown>;
  const problem = stringProblem(turn.from);
  if (problem) return `field "from" ${problem}`;
  const valueProblem = stringProblem(turn.value);
  return valueProblem && `field "value" ${valueProblem}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value).slice(0, 40)}`;
}
