// A column spec is the one description from which the Parquet schema, the Hugging Face features
// and the row checks are derived, so the three can never disagree.
// The writer's own hyparquet copy types the schema it accepts.
import type { SchemaElement } from 'hyparquet-writer';

/**
 * Column kinds the shard writer knows how to encode. `list<turn>` = list<struct{from, value}>;
 * `media` = struct{bytes: binary, path: string} (a media file embedded the way Hugging Face stores
 * Audio/Image/Video values), `list<media>` a list of those.
 */
export const COLUMN_KINDS = ['string', 'double', 'list<string>', 'list<turn>', 'media', 'list<media>'] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

/** How Hugging Face `datasets` decodes a media column: a path (string kinds) or `{bytes, path}` (media kinds). */
export const MEDIA_FEATURES = ['audio', 'image', 'video'] as const;
export type MediaFeature = (typeof MEDIA_FEATURES)[number];

/** A media file embedded in a row: its bytes and its path relative to the dataset folder. */
export interface EmbeddedMedia {
  readonly bytes: Uint8Array | null;
  readonly path: string | null;
}

/** One output column; `schemas/sample.ts` COLUMNS is a `readonly ColumnSpec[]`. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  /** Nullable columns accept `null`/`undefined`; list elements and turn fields are never null. */
  readonly nullable: boolean;
  readonly description: string;
  /** A media column: the Hugging Face feature its values decode as (string and list<string> hold paths). */
  readonly feature?: MediaFeature;
}

/** The fields of a `list<turn>` element, in schema order. */
export const TURN_FIELDS = ['from', 'value'] as const;

/** Throws a message naming the bad column when the spec cannot be written. */
export function validateColumns(columns: readonly ColumnSpec[]): void {
  if (!Array.isArray(columns) || columns.length === 0) {
    throw new TypeError(`columns must be a non-empty array of column specs, got ${JSON.stringify(columns)}`);
  }
  const seen = new Set<string>();
  for (const column of columns) {
    if (typeof column?.name !== 'string' || column.name === '') {
      throw new TypeError(`columns: every column needs a non-empty name, got ${JSON.stringify(column)}`);
    }
    if (seen.has(column.name)) throw new TypeError(`columns: duplicate column name "${column.name}"`);
    seen.add(column.name);
    if (!COLUMN_KINDS.includes(column.kind)) {
      throw new TypeError(`columns: column "${column.name}" has kind ${JSON.stringify(column.kind)}, expected one of ${COLUMN_KINDS.join(', ')}`);
    }
    if (typeof column.nullable !== 'boolean') {
      throw new TypeError(`columns: column "${column.name}" needs nullable: true | false`);
    }
    if (column.feature !== undefined && !MEDIA_FEATURES.includes(column.feature)) {
      throw new TypeError(`columns: column "${column.name}" has feature ${JSON.stringify(column.feature)}, expected one of ${MEDIA_FEATURES.join(', ')}`);
    }
    const holdsMedia = column.kind === 'media' || column.kind === 'list<media>';
    if (holdsMedia && column.feature === undefined)
      throw new TypeError(`columns: column "${column.name}" of kind ${column.kind} needs a feature (${MEDIA_FEATURES.join(', ')})`);
    if (column.feature !== undefined && !holdsMedia && column.kind !== 'string' && column.kind !== 'list<string>') {
      throw new TypeError(`columns: column "${column.name}" of kind ${column.kind} cannot hold media`);
    }
  }
}

const STRING_LEAF = { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } } as const;

/** The two fields of an embedded media value, as Hugging Face's Audio/Image/Video arrow storage names them. */
function mediaFields(): SchemaElement[] {
  return [
    { name: 'bytes', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY' },
    { name: 'path', repetition_type: 'OPTIONAL', ...STRING_LEAF },
  ];
}

/**
 * The flat (depth-first) Parquet schema. Lists use the standard 3-level LIST layout
 * (`<name> (LIST) { repeated group list { required element } }`) that arrow, DuckDB and
 * Spark all read as a plain list.
 */
export function parquetSchemaFor(columns: readonly ColumnSpec[]): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: columns.length }];
  for (const { name, kind, nullable } of columns) {
    const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED';
    if (kind === 'string') {
      schema.push({ name, repetition_type, ...STRING_LEAF });
    } else if (kind === 'double') {
      schema.push({ name, repetition_type, type: 'DOUBLE' });
    } else if (kind === 'media') {
      schema.push({ name, repetition_type, num_children: 2 }, ...mediaFields());
    } else {
      schema.push(
        { name, repetition_type, num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      );
      if (kind === 'list<string>') {
        schema.push({ name: 'element', repetition_type: 'REQUIRED', ...STRING_LEAF });
      } else if (kind === 'list<media>') {
        schema.push({ name: 'element', repetition_type: 'REQUIRED', num_children: 2 }, ...mediaFields());
      } else {
        schema.push({ name: 'element', repetition_type: 'REQUIRED', num_children: TURN_FIELDS.length });
        for (const field of TURN_FIELDS) schema.push({ name: field, repetition_type: 'REQUIRED', ...STRING_LEAF });
      }
    }
  }
  return schema;
}

const STRING_FEATURE = { dtype: 'string', _type: 'Value' } as const;

/**
 * Hugging Face `datasets` features for the `huggingface` key-value entry. Lists use the plain
 * JSON-array form (`[feature]`): datasets < 4 reads it as a list (its `Sequence` would turn a list
 * of structs into a struct of lists), and datasets >= 4 converts it to `List(feature)`.
 */
export function huggingFaceFeatures(columns: readonly ColumnSpec[]): Record<string, unknown> {
  const features: Record<string, unknown> = {};
  for (const { name, kind, feature } of columns) {
    // A media column decodes as its feature whether it holds paths or embedded bytes: `datasets`
    // casts a string to {bytes: null, path} (Audio/Image/Video.cast_storage) when it reads the shard.
    const media = feature && mediaFeature(feature);
    if (media && (kind === 'string' || kind === 'media')) features[name] = media;
    else if (media) features[name] = [media];
    else if (kind === 'string') features[name] = STRING_FEATURE;
    else if (kind === 'double') features[name] = { dtype: 'float64', _type: 'Value' };
    else if (kind === 'list<string>') features[name] = [STRING_FEATURE];
    else features[name] = [Object.fromEntries(TURN_FIELDS.map((field) => [field, STRING_FEATURE]))];
  }
  return features;
}

/** Our WAVs are 16 kHz mono, so `datasets` decodes them without resampling. */
export const AUDIO_SAMPLING_RATE = 16000;

function mediaFeature(feature: MediaFeature): Record<string, unknown> {
  if (feature === 'audio') return { _type: 'Audio', sampling_rate: AUDIO_SAMPLING_RATE };
  return { _type: feature === 'image' ? 'Image' : 'Video' };
}

/** The `huggingface` key-value metadata entry that `datasets.load_dataset("parquet")` reads. */
export function huggingFaceMetadata(columns: readonly ColumnSpec[]): { key: string; value: string } {
  return { key: 'huggingface', value: JSON.stringify({ info: { features: huggingFaceFeatures(columns) } }) };
}
