// `emoforge inspect OUT_OR_SHARD`: schema, row counts and the first rows.
import { stat } from 'node:fs/promises';
import { printable } from '../../pipelines/printable.ts';
import { join } from 'node:path';
import { formatBytes } from '../../pipelines/audit/html.ts';
import { parquetInfo, readRowsHyparquet, type ParquetInfo } from '../../pipelines/parquet/read.ts';
import { InputError } from '../../pipelines/errors.ts';
import { readManifest } from '../../pipelines/publish/manifest.ts';

export async function inspect(path: string, firstRows: number): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path} does not exist`);
  if (info.isFile()) return inspectShard(path, firstRows);
  const manifest = await readManifest(path);
  if (!manifest)
    throw new InputError(
      `${path} has no manifest.json: pass a finished out folder or one .parquet file (an out folder without a manifest is an unfinished run)`,
    );
  const lines: string[] = [];
  lines.push(
    `corpus ${manifest.corpus} · emoforge ${manifest.emoforge} · schema v${manifest.schemaVersion} · config ${manifest.configFingerprint.slice(0, 12)} · version ${manifest.version ?? 1}${manifest.parent ? ` (parent ${manifest.parent.version})` : ''}`,
  );
  lines.push(
    `splits: ${Object.entries(manifest.splits)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')} rows`,
  );
  lines.push('shards:');
  for (const shard of manifest.shards) lines.push(`  ${shard.file}  ${shard.rows} rows  ${formatBytes(shard.bytes)}  sha256 ${shard.sha256.slice(0, 16)}…`);
  const rejects = await readRowsHyparquet(join(path, manifest.rejects.file));
  const byReason = new Map<string, number>();
  for (const r of rejects) byReason.set(`${r.stage}/${r.reason}`, (byReason.get(`${r.stage}/${r.reason}`) ?? 0) + 1);
  lines.push(`rejects: ${rejects.length}${byReason.size ? ` (${[...byReason].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`);
  if (manifest.media)
    lines.push(`media: ${manifest.media.files} files, ${formatBytes(manifest.media.bytes)} under ${join(path, 'media')} (listed in ${manifest.media.index})`);
  if (manifest.shards[0]) lines.push('', await inspectShard(join(path, manifest.shards[0].file), firstRows));
  return `${lines.join('\n')}\n`;
}

async function inspectShard(path: string, firstRows: number): Promise<string> {
  const info: ParquetInfo = await parquetInfo(path);
  const lines: string[] = [];
  lines.push(
    `${path}: ${info.rows} rows, ${info.rowGroups} row groups, ${formatBytes(info.bytes)}, codecs ${info.codecs.join('/') || 'none'}, created by ${info.createdBy ?? '?'}`,
  );
  lines.push('schema:');
  for (const c of info.columns) lines.push(`  ${c.name}: ${c.type}${c.nullable ? '' : ' not null'}`);
  const rows = (await readRowsHyparquet(path)).slice(0, firstRows);
  rows.forEach((row, i) => {
    lines.push(`row ${i}:`);
    for (const [key, value] of Object.entries(row)) lines.push(`  ${key}: ${preview(value)}`);
  });
  return `${lines.join('\n')}\n`;
}

function preview(value: unknown): string {
  // Embedded media bytes show as their size, not as thousands of numbers.
  const text =
    typeof value === 'string'
      ? value
      : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? `<${formatBytes(v.length)}>` : v));
  const flat = printable((text ?? 'null').replace(/\s+/g, ' '));
  return flat.length > 160 ? `${flat.slice(0, 157)}…` : flat;
}
