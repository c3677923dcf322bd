// `emoforge trace OUT CLIP_ID_OR_URI`: where did this clip go and why — which segments it made,
// which stage dropped what with which reason, and which rows reached which split.
import { printable, printableLines } from '../../pipelines/printable.ts';
import { join } from 'node:path';
import { readRowsHyparquet, type ReadRow } from '../../pipelines/parquet/read.ts';
import { InputError } from '../../pipelines/errors.ts';
import { readManifest } from '../../pipelines/publish/manifest.ts';

export async function trace(outDir: string, query: string): Promise<{ found: boolean; text: string }> {
  const manifest = await readManifest(outDir);
  if (!manifest) throw new InputError(`${outDir} has no manifest.json: trace needs a finished out folder`);
  const matches = (clipId: unknown, uri: unknown, id?: unknown) =>
    (typeof clipId === 'string' && query.length >= 6 && clipId.startsWith(query.toLowerCase())) ||
    uri === query ||
    (typeof uri === 'string' && uri.endsWith(`/${query}`)) ||
    (typeof id === 'string' && query.length >= 6 && id.startsWith(query.toLowerCase()));

  const rejects = (await readRowsHyparquet(join(outDir, manifest.rejects.file))).filter((r) => matches(r.clip_id, r.uri, r.id));
  const rows: ReadRow[] = [];
  for (const shard of manifest.shards) {
    for (const row of await readRowsHyparquet(join(outDir, shard.file))) if (matches(row.clip_id, row.uri, row.segment_id)) rows.push(row);
  }
  if (rejects.length === 0 && rows.length === 0) {
    return {
      found: false,
      text: `no clip matches ${printable(JSON.stringify(query))} in ${outDir}: give a clip id (or its first 6+ characters), a segment id, or the uri as listed by inspect\n`,
    };
  }
  const lines: string[] = [];
  const clips = new Map<string, string>();
  for (const r of [...rows, ...rejects]) clips.set(String(r.clip_id ?? r.id), String(r.uri));
  for (const [clipId, uri] of clips) {
    lines.push(`clip ${clipId}  ${printable(uri)}`);
    const clipRejects = rejects.filter((r) => (r.clip_id ?? r.id) === clipId);
    const wholeClip = clipRejects.filter((r) => r.id === clipId || r.clip_id === null);
    for (const r of wholeClip) lines.push(`  dropped at ${r.stage}: ${r.reason} — ${r.detail}`);
    const segments = new Map<string, { start: number; end: number; rows: ReadRow[] }>();
    for (const row of rows.filter((r) => r.clip_id === clipId)) {
      const entry = segments.get(String(row.segment_id)) ?? { start: Number(row.start), end: Number(row.end), rows: [] };
      entry.rows.push(row);
      segments.set(String(row.segment_id), entry);
    }
    for (const r of clipRejects.filter((r) => r.id !== clipId && r.clip_id !== null)) {
      lines.push(`  segment ${String(r.id).slice(0, 12)}…  dropped at ${r.stage}: ${r.reason} — ${r.detail}`);
    }
    for (const [segmentId, s] of [...segments].sort((a, b) => a[1].start - b[1].start)) {
      const first = s.rows[0];
      const tasks = s.rows
        .map((r) => r.task)
        .sort()
        .join(', ');
      lines.push(
        `  segment ${segmentId.slice(0, 12)}…  ${s.start.toFixed(2)}–${s.end.toFixed(2)}s  kept → ${first.split}: ${s.rows.length} rows (${tasks}); primary emotion ${first.primary_emotion}${first.label ? `, manifest label ${first.label}` : ''}`,
      );
      lines.push(`    transcript: ${JSON.stringify(first.transcript)}`);
    }
    if (segments.size === 0 && wholeClip.length === 0 && clipRejects.length === 0) lines.push('  no rows and no rejects');
  }
  // Names and details are outside text: a clip named with escape sequences must not drive the terminal.
  return { found: true, text: `${printableLines(lines.join('\n'))}\n` };
}
