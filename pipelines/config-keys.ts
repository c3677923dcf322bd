// "Did you mean": the valid keys of a zod schema at a path of the value it parsed, and the one
// closest to a key the schema refused, so a config typo (`templat`, `labelSett`) is answered with
// the key that was meant.
import type { z } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, unknown>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
}

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** The object schemas a value at `path` may be parsed by (several through unions and pipes). */
function objectsAt(schema: unknown, path: readonly PropertyKey[], depth = 0): Def[] {
  const def = defOf(schema);
  if (!def || depth > 64) return [];
  switch (def.type) {
    case 'object':
      if (path.length === 0) return [def];
      return objectsAt(def.shape?.[String(path[0])], path.slice(1), depth + 1);
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return objectsAt(def.innerType, path, depth + 1);
    case 'pipe':
      return [...objectsAt(def.in, path, depth + 1), ...objectsAt(def.out, path, depth + 1)];
    case 'union':
      return (def.options ?? []).flatMap((option) => objectsAt(option, path, depth + 1));
    case 'intersection':
      return [...objectsAt(def.left, path, depth + 1), ...objectsAt(def.right, path, depth + 1)];
    case 'array':
      return path.length > 0 && typeof path[0] === 'number' ? objectsAt(def.element, path.slice(1), depth + 1) : [];
    case 'record':
      return path.length > 0 ? objectsAt(def.valueType, path.slice(1), depth + 1) : [];
    default:
      return [];
  }
}

/** Valid keys at `path` of the value `schema` parses, sorted. */
export function validKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((def) => Object.keys(def.shape ?? {})))].sort();
}

/** The valid key closest to `key` (edit distance, case-insensitive), when it is close enough to be a typo. */
export function closestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of valid) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
