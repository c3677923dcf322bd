// Dotted field paths of a segment ("labels.primary", "cues.visual.dominant", "qa.answer"), checked
// against the Segment schema when the config is read and resolved against records when filtering.
import { z } from 'zod';
import { Segment } from '../../schemas/records.ts';

/** Why a path names no field of Segment, or undefined when it does. */
export function fieldPathProblem(path: string): string | undefined {
  let schema: z.ZodType = Segment;
  const keys = path.split('.');
  for (const [i, key] of keys.entries()) {
    schema = unwrap(schema);
    if (!(schema instanceof z.ZodObject)) return `"${keys.slice(0, i).join('.')}" has no fields, so "${path}" names nothing`;
    const shape = schema.shape as Record<string, z.ZodType>;
    if (!(key in shape)) {
      const where = i === 0 ? 'a segment' : `"${keys.slice(0, i).join('.')}"`;
      return `${where} has no field "${key}" (fields: ${Object.keys(shape).join(', ')})`;
    }
    schema = shape[key];
  }
  return undefined;
}

/** Optional, nullable, default and array wrappers removed: a path steps through arrays into their items. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return current;
  }
}

/**
 * Is the field there? Absent, null, blank text and empty lists are missing. Through a list, every
 * item must have the rest of the path ("qa.answer": at least one QA item, each with an answer).
 */
export function hasField(record: unknown, path: string): boolean {
  return present(record, path.split('.'));
}

function present(value: unknown, keys: readonly string[]): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0 && value.every((item) => present(item, keys));
  if (keys.length === 0) return typeof value === 'string' ? value.trim() !== '' : true;
  if (typeof value !== 'object') return false;
  return present((value as Record<string, unknown>)[keys[0]], keys.slice(1));
}
