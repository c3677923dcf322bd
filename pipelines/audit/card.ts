// The dataset card: README.md in the out folder, with the Hugging Face front matter the Hub reads
// (licence, task categories, configs per split, features, row counts) and a body that says where the
// data came from (teachers, models, prompt templates, config fingerprint), what each stage kept and
// how to load it. Clip-derived strings are escaped: the Hub renders HTML inside Markdown.
import { stringify } from 'yaml';
import { AUDIO_SAMPLING_RATE, type ColumnSpec } from '../parquet/index.ts';
import type { AuditDigest } from './digest.ts';
import { count, escapeMarkdown as m, fixed, formatBytes } from './html.ts';
import { reviewCardLines } from './review-sections.ts';

/** Inline code in Markdown: nothing inside is rendered, but a backtick would end it and a pipe a table cell. */
function code(text: string): string {
  return `\`${text
    .replace(/`/g, "'")
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')}\``;
}

/** Licence identifiers the Hub knows, in their Hub spelling. */
const HUB_LICENSES = new Set([
  'apache-2.0',
  'mit',
  'bsd-2-clause',
  'bsd-3-clause',
  'cc0-1.0',
  'cc-by-2.0',
  'cc-by-2.5',
  'cc-by-3.0',
  'cc-by-4.0',
  'cc-by-sa-3.0',
  'cc-by-sa-4.0',
  'cc-by-nc-2.0',
  'cc-by-nc-3.0',
  'cc-by-nc-4.0',
  'cc-by-nd-4.0',
  'cc-by-nc-nd-3.0',
  'cc-by-nc-nd-4.0',
  'cc-by-nc-sa-2.0',
  'cc-by-nc-sa-3.0',
  'cc-by-nc-sa-4.0',
  'odc-by',
  'odbl',
  'pddl',
  'cdla-permissive-2.0',
  'cdla-sharing-1.0',
  'gpl-3.0',
  'lgpl-3.0',
  'agpl-3.0',
  'mpl-2.0',
  'unlicense',
  'openrail',
  'c-uda',
]);

export const TASK_CATEGORIES = ['video-text-to-text', 'video-classification'] as const;

/** A manifest licence in the Hub's spelling, or undefined when the Hub does not know it. */
export function hubLicense(licence: string): string | undefined {
  const slug = licence
    .trim()
    .toLowerCase()
    .replace(/\b(licen[cs]e|version)\b/g, ' ')
    .trim()
    .replace(/[\s_]+/g, '-')
    .replace(/-+/g, '-');
  if (HUB_LICENSES.has(slug)) return slug;
  if (HUB_LICENSES.has(`${slug}.0`)) return `${slug}.0`;
  return undefined;
}

/** The `license` front-matter value: the manifest licence(s) when every kept clip has a known one, else `other`. */
export function licenseFor(digest: AuditDigest): { license: string | string[]; licenseName?: string } {
  const given = digest.licences.filter((l) => l.licence !== '(none given)');
  if (given.length === 0 || given.length !== digest.licences.length)
    return given.length ? { license: 'other', licenseName: slugOf(given.map((l) => l.licence).join(' ')) } : { license: 'other' };
  const ids = given.map((l) => hubLicense(l.licence));
  if (ids.every((id): id is string => id !== undefined)) {
    const distinct = [...new Set(ids)].sort();
    return { license: distinct.length === 1 ? distinct[0] : distinct };
  }
  return { license: 'other', licenseName: slugOf(given.map((l) => l.licence).join(' ')) };
}

function slugOf(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'other'
  );
}

function sizeCategory(rows: number): string {
  const bounds: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
    [1e9, '100M<n<1B'],
  ];
  return bounds.find(([bound]) => rows < bound)?.[1] ?? 'n>1T';
}

/** Hub card feature spelling of a column (as `datasets` writes it: Features._to_yaml_list). */
function feature(column: ColumnSpec): Record<string, unknown> {
  if (column.feature) {
    const dtype = column.feature === 'audio' ? { audio: { sampling_rate: AUDIO_SAMPLING_RATE } } : column.feature;
    return column.kind === 'list<string>' || column.kind === 'list<media>' ? { name: column.name, list: dtype } : { name: column.name, dtype };
  }
  if (column.kind === 'string') return { name: column.name, dtype: 'string' };
  if (column.kind === 'double') return { name: column.name, dtype: 'float64' };
  if (column.kind === 'list<string>') return { name: column.name, sequence: 'string' };
  return {
    name: column.name,
    list: [
      { name: 'from', dtype: 'string' },
      { name: 'value', dtype: 'string' },
    ],
  };
}

/** Split names in the order the corpus publishes them (train, validation, test unless renamed). */
function splitOrder(input: AuditDigest['input']): string[] {
  const published = [...new Set(input.shards.map((s) => s.split))];
  const named = input.splitNames ?? [];
  return [...named.filter((n) => published.includes(n)), ...published.filter((n) => !named.includes(n))];
}

/** The human-reviewed subset as a config of its own, when rows were reviewed. */
function reviewedConfig(input: AuditDigest['input']): Record<string, unknown>[] {
  const shards = input.reviewedShards ?? [];
  if (shards.length === 0) return [];
  const splits = splitOrder(input).filter((split) => shards.some((s) => s.split === split));
  return [{ config_name: 'reviewed', data_files: splits.map((split) => ({ split, path: `reviewed/${split}-*.parquet` })) }];
}

/** The card's front matter as an object (what the Hub parses). */
export function cardMetadata(digest: AuditDigest): Record<string, unknown> {
  const { input } = digest;
  const splits = splitOrder(input);
  const perSplit = splits.map((split) => {
    const shards = input.shards.filter((s) => s.split === split);
    return { name: split, num_bytes: shards.reduce((n, s) => n + s.bytes, 0), num_examples: shards.reduce((n, s) => n + s.rows, 0) };
  });
  const licence = licenseFor(digest);
  const languages = [
    ...new Set(digest.languages.map((l) => l.language.split('-')[0].toLowerCase()).filter((l) => /^[a-z]{2,3}$/.test(l) && l !== 'und')),
  ].sort();
  return {
    pretty_name: input.corpus,
    license: licence.license,
    ...(licence.licenseName ? { license_name: licence.licenseName } : {}),
    ...(languages.length ? { language: languages } : {}),
    task_categories: [...TASK_CATEGORIES],
    tags: ['emotion', 'affective-computing', 'multimodal', 'instruction-tuning', 'emoforge'],
    size_categories: [sizeCategory(digest.totals.rows)],
    configs: [{ config_name: 'default', data_files: splits.map((split) => ({ split, path: `shards/${split}-*.parquet` })) }, ...reviewedConfig(input)],
    dataset_info: {
      features: input.columns.map(feature),
      splits: perSplit,
      download_size: digest.totals.bytes,
    },
  };
}

export function renderCard(digest: AuditDigest): string {
  const { input } = digest;
  const front = stringify(cardMetadata(digest), { lineWidth: 0 });
  const splits = (cardMetadata(digest).dataset_info as { splits: { name: string; num_examples: number }[] }).splits;
  const media = input.media;
  const embedded = media?.embedded ?? false;
  const lines: string[] = [
    '---',
    front.trimEnd(),
    '---',
    '',
    `# ${m(input.corpus)}`,
    '',
    `An instruction-tuning corpus for emotion-aware multimodal LLMs, built by emoforge ${m(input.emoforge)} from ${count(input.sourcesSeen)} source files: ` +
      `${count(digest.totals.segments)} segments kept, ${count(digest.totals.rows)} training rows (${splits.map((s) => `${m(s.name)} ${count(s.num_examples)}`).join(', ') || 'none'}), ` +
      `${count(digest.totals.rejected)} records rejected with a reason. Splits are group-disjoint (speaker, else manifest group, else clip).`,
    '',
    '## Load it',
    '',
    '```python',
    'from datasets import load_dataset',
    embedded
      ? 'ds = load_dataset("PATH/TO/THIS/FOLDER")   # or load_dataset("OWNER/NAME") once pushed'
      : 'import os; os.chdir("PATH/TO/THIS/FOLDER")   # media paths are relative to this folder',
    ...(embedded ? [] : ['ds = load_dataset(".")']),
    `row = ds["${splits[0]?.name ?? 'train'}"][0]`,
    'row["audio"], row["frames"][0], row["video"]   # decoded on access: audio array, PIL image, video decoder',
    '```',
    '',
    `\`load_dataset\` finds the splits (${splits.map((s) => code(s.name)).join(', ') || 'none'}) through the \`configs\` above and reads the media columns as typed features ` +
      `(\`video\`: Video, \`audio\`: Audio at ${AUDIO_SAMPLING_RATE} Hz, \`frames\` and \`face_crops\`: lists of Image), declared in every shard's \`huggingface\` metadata.`,
    embedded
      ? 'The shards embed every media file (`{bytes, path}`), so the Parquet alone is the dataset: push it as it is.'
      : `Every media file a row names is inside this folder, under \`media/\` (${count(media?.files ?? 0)} files, ${formatBytes(media?.bytes ?? 0)}, listed with sizes and sha256 in \`media.jsonl\`), by a path relative to the folder. ` +
        '`datasets` opens such a path from the working directory, hence the `chdir`; copy or move the whole folder and it still works.',
    '',
    embedded
      ? 'Push to the Hub: `huggingface-cli upload OWNER/NAME PATH/TO/THIS/FOLDER . --repo-type dataset` (or `ds.push_to_hub("OWNER/NAME")`).'
      : 'Push to the Hub: from this folder, `ds.push_to_hub("OWNER/NAME")` embeds the media bytes as it uploads (`datasets` reads each file); or build the corpus with `write: { embedMedia: true }` and upload the folder with `huggingface-cli upload OWNER/NAME . . --repo-type dataset`.',
    'With DuckDB: `SELECT task, count(*) FROM read_parquet(\'shards/*.parquet\') GROUP BY task`; with emoforge: `emoforge audit . --sql "SELECT * FROM drops"`, and `emoforge export` for trainers that read other layouts.',
    '',
    '## Files',
    '',
    '| path | what |',
    '|---|---|',
    ...input.shards.map((s) => `| ${code(s.file)} | ${m(s.split)}: ${count(s.rows)} rows, ${count(s.bytes)} bytes |`),
    ...(input.reviewedShards ?? []).map((s) => `| ${code(s.file)} | human-reviewed subset, ${m(s.split)}: ${count(s.rows)} rows, ${count(s.bytes)} bytes |`),
    `| \`media/\` | ${count(media?.files ?? 0)} media files (${formatBytes(media?.bytes ?? 0)}): segment videos, 16 kHz mono WAVs, keyframes, face crops |`,
    '| `media.jsonl` | every media file with its size and sha256 |',
    '| `rejects.parquet` | every record that left early, with stage, reason and detail |',
    '| `stats.json` | per stage: in, out, dropped by reason, cache hits, work, wall time; teacher usage |',
    '| `report.html` | the audit report of the run (open it in a browser; it works offline) |',
    '| `manifest.json` | shards with sha256, written last |',
    '',
    '## Tasks',
    '',
    '| task | rows |',
    '|---|---:|',
    ...digest.tasks.map((t) => `| ${m(t.task)} | ${count(t.rows)} |`),
    '',
    '## Columns',
    '',
    '| column | type | description |',
    '|---|---|---|',
    ...input.columns.map((c) => `| ${code(c.name)} | ${m(c.kind)}${c.nullable ? ' (nullable)' : ''} | ${m(c.description)} |`),
    '',
    '## Provenance',
    '',
    `- emoforge ${m(input.emoforge)}; config fingerprint ${code(input.configFingerprint)}`,
    `- stages: ${input.stages.map((s) => `${m(s.name)}@${s.version}`).join(' → ')}`,
    '',
    '| field | teacher | model | prompt template | segments |',
    '|---|---|---|---|---:|',
    ...digest.provenance.map((p) => `| ${m(p.field)} | ${m(p.teacher)} | ${m(p.model)} | ${code(p.template)} | ${count(p.segments)} |`),
    '',
  ];
  if (digest.teachers.length) {
    lines.push('| role | teacher | requests | cache hits | input tokens | output tokens | USD |', '|---|---|---:|---:|---:|---:|---:|');
    for (const t of digest.teachers)
      lines.push(
        `| ${m(t.role)} | ${m(t.teacher)} | ${count(t.usage.calls)} | ${count(t.usage.cacheHits)} | ${count(t.usage.inputTokens)} | ${count(t.usage.outputTokens)} | $${fixed(t.usage.usd, 4)} |`,
      );
    lines.push('');
  } else lines.push('No teacher endpoint was called in the run that wrote this card (offline rules teacher or cached answers).', '');
  lines.push('## Stage funnel', '', '| stage | in | out | dropped | reasons |', '|---|---:|---:|---:|---|');
  for (const { stage, stats } of digest.funnel) {
    const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    const reasons = Object.entries(stats.dropped)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([r, n]) => `${m(r)} ${count(n)}`)
      .join(', ');
    lines.push(`| ${m(stage)} | ${count(stats.in)} | ${count(stats.out)} | ${count(dropped)} | ${reasons || '–'} |`);
  }
  lines.push('', ...reviewCardLines(digest));
  lines.push('## Labels', '', '| primary emotion | segments before filtering | kept |', '|---|---:|---:|');
  for (const l of digest.labels) lines.push(`| ${m(l.label)} | ${count(l.before)} | ${count(l.after)} |`);
  lines.push('', '## Licence', '');
  if (digest.licences.length) {
    lines.push('Each source clip keeps its own licence (manifest `licence` column); the corpus inherits them.', '', '| licence | clips |', '|---|---:|');
    for (const l of digest.licences) lines.push(`| ${m(l.licence)} | ${count(l.clips)} |`);
  } else lines.push('No clip was kept.');
  lines.push('');
  return lines.join('\n');
}
