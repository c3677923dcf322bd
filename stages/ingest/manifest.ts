// Manifest files (CSV in the style of MER label files, or JSONL) → rows of locator + manifest fields.
// Manifests are hostile input: values are kept as data, and a row that is not usable becomes a
// rejected row with a reason instead of stopping the run.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../../pipelines/errors.ts';
import type { ManifestFields } from '../../schemas/records.ts';

export interface ManifestRow {
  /** 1-based line (CSV record / JSONL line) for messages. */
  readonly line: number;
  /** name, path or uri of the media, as written. */
  readonly locator: string | undefined;
  /** true when the locator came from a `name` column (may lack the extension). */
  readonly byName: boolean;
  readonly fields: ManifestFields;
}

export interface ManifestParseResult {
  readonly rows: ManifestRow[];
  readonly errors: { line: number; detail: string }[];
}

const LOCATOR_COLUMNS = ['path', 'uri', 'file', 'video', 'name'];
type TextField = 'label' | 'speaker' | 'group' | 'text' | 'licence';
const FIELD_COLUMNS: Record<TextField, string[]> = {
  label: ['label', 'emotion', 'discrete'],
  speaker: ['speaker', 'spk', 'speaker_id'],
  group: ['group', 'source', 'video_id'],
  text: ['text', 'subtitle', 'transcript', 'english', 'sentence'],
  licence: ['licence', 'license'],
};

export async function readManifest(path: string): Promise<ManifestParseResult> {
  const text = await readFile(path, 'utf8');
  if (/\.jsonl$/i.test(path)) return fromRecords(parseJsonl(text));
  const parsed = parseCsv(text);
  // A CSV whose first row names no column we know has no header: taking its first data row as one
  // would turn the whole file into rows without a locator (0 clips, and the first row lost).
  const known = new Set([...LOCATOR_COLUMNS, ...Object.values(FIELD_COLUMNS).flat()]);
  if (parsed.header.length && !parsed.header.some((name) => known.has(name.toLowerCase()))) {
    throw new InputError(
      `${basename(path)} has no header row: its first row holds ${parsed.header.map((n) => JSON.stringify(n)).join(', ')}, none of them a column emoforge knows. ` +
        `Add a first line naming the columns, e.g. "name,label,speaker" (file columns: ${LOCATOR_COLUMNS.join(', ')}; fields: ${Object.values(FIELD_COLUMNS).flat().join(', ')})`,
    );
  }
  return fromRecords(parsed);
}

function fromRecords(parsed: {
  records: { line: number; values: Record<string, unknown> }[];
  errors: { line: number; detail: string }[];
}): ManifestParseResult {
  const rows: ManifestRow[] = [];
  for (const { line, values } of parsed.records) {
    const lower: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (value === null || value === undefined) continue;
      lower[key.trim().toLowerCase()] = String(value).trim();
    }
    const locatorColumn = LOCATOR_COLUMNS.find((column) => lower[column]);
    const fields: ManifestFields = {};
    for (const [field, columns] of Object.entries(FIELD_COLUMNS) as [TextField, string[]][]) {
      const column = columns.find((c) => lower[c] !== undefined && lower[c] !== '');
      if (column) fields[field] = lower[column];
    }
    rows.push({ line, locator: locatorColumn ? lower[locatorColumn] : undefined, byName: locatorColumn === 'name', fields });
  }
  return { rows, errors: parsed.errors };
}

function parseJsonl(text: string) {
  const records: { line: number; values: Record<string, unknown> }[] = [];
  const errors: { line: number; detail: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line) return;
    try {
      const value = JSON.parse(line);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
      records.push({ line: index + 1, values: value as Record<string, unknown> });
    } catch (error) {
      errors.push({ line: index + 1, detail: `line ${index + 1} is not a JSON object: ${(error as Error).message}` });
    }
  });
  return { records, errors };
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF, first record is the header. */
export function parseCsv(text: string) {
  const table: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.some((c) => c !== '')) table.push({ line: recordLine, cells });
      cells = [];
      cell = '';
      line++;
      recordLine = line;
    } else cell += ch;
  }
  cells.push(cell);
  if (cells.some((c) => c !== '')) table.push({ line: recordLine, cells });

  const records: { line: number; values: Record<string, unknown> }[] = [];
  const errors: { line: number; detail: string }[] = [];
  const header = table.shift();
  if (!header) return { records, errors, header: [] as string[] };
  const names = header.cells.map((c) => c.trim());
  for (const row of table) {
    if (row.cells.length !== names.length) {
      errors.push({ line: row.line, detail: `line ${row.line} has ${row.cells.length} fields, the header has ${names.length}` });
      continue;
    }
    const values: Record<string, unknown> = {};
    names.forEach((name, i) => (values[name] = row.cells[i]));
    records.push({ line: row.line, values });
  }
  return { records, errors, header: names };
}
