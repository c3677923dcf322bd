// What the out folder held before this run, so the report can say what changed. The published
// shards are the compact record of the previous run: their manifest lists them with sha256s, and
// DuckDB reads only the five small columns a diff needs before the new shards replace them.
import { join } from 'node:path';
import type { OutManifest } from '../../schemas/manifest.ts';
import { readManifest } from '../publish/manifest.ts';

export interface PreviousRow {
  readonly id: string;
  readonly segmentId: string;
  readonly name: string;
  readonly primary: string;
  readonly split: string;
}

export type PreviousRunState =
  | { readonly kind: 'none' }
  | { readonly kind: 'other-corpus'; readonly corpus: string }
  | { readonly kind: 'unreadable'; readonly detail: string }
  | { readonly kind: 'run'; readonly configFingerprint: string; readonly createdAt: string; readonly rows: readonly PreviousRow[] };

/** The previous finished run of `corpus` in `outDir`; call before anything in the folder changes. */
export async function readPreviousRun(outDir: string, corpus: string): Promise<PreviousRunState> {
  let manifest: OutManifest | undefined;
  try {
    manifest = await readManifest(outDir);
  } catch (error) {
    return { kind: 'unreadable', detail: (error as Error).message };
  }
  if (!manifest) return { kind: 'none' };
  if (manifest.corpus !== corpus) return { kind: 'other-corpus', corpus: manifest.corpus };
  const files = manifest.shards.map((s) => join(outDir, s.file));
  try {
    const rows = files.length ? await readRows(files) : [];
    // Manifests since versions carry a version number instead of a clock time.
    return {
      kind: 'run',
      configFingerprint: manifest.configFingerprint,
      createdAt: manifest.createdAt ?? (manifest.version ? `version ${manifest.version}` : ''),
      rows,
    };
  } catch (error) {
    return { kind: 'unreadable', detail: (error as Error).message.split('\n')[0] };
  }
}

async function readRows(files: readonly string[]): Promise<PreviousRow[]> {
  // Loaded here (~180 modules): a first run, with no previous shards, never needs it.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
    const reader = await connection.runAndReadAll(`SELECT id, segment_id, name, primary_emotion, split FROM read_parquet([${list}]) ORDER BY id`);
    return reader.getRows().map(([id, segmentId, name, primary, split]) => ({
      id: String(id),
      segmentId: String(segmentId),
      name: String(name),
      primary: String(primary),
      split: String(split),
    }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export interface SegmentBrief {
  readonly id: string;
  readonly name: string;
  readonly primary: string;
  readonly split: string;
}

export interface RunChanges {
  readonly previous: { readonly configFingerprint: string; readonly createdAt: string; readonly rows: number; readonly segments: number };
  readonly rowsAdded: number;
  readonly rowsRemoved: number;
  readonly rowsKept: number;
  readonly segmentsAdded: readonly SegmentBrief[];
  readonly segmentsRemoved: readonly SegmentBrief[];
  /** segments in both runs whose primary emotion changed */
  readonly labelShifts: readonly { readonly id: string; readonly name: string; readonly from: string; readonly to: string }[];
  readonly splitMoves: readonly { readonly id: string; readonly name: string; readonly from: string; readonly to: string }[];
}

/** Rows and segments added and removed, label shifts and split moves between two runs. */
export function diffRuns(previous: Extract<PreviousRunState, { kind: 'run' }>, current: readonly PreviousRow[]): RunChanges {
  const before = new Set(previous.rows.map((r) => r.id));
  const after = new Set(current.map((r) => r.id));
  const bySegment = (rows: readonly PreviousRow[]) => {
    const map = new Map<string, SegmentBrief>();
    for (const r of rows) if (!map.has(r.segmentId)) map.set(r.segmentId, { id: r.segmentId, name: r.name, primary: r.primary, split: r.split });
    return map;
  };
  const old = bySegment(previous.rows);
  const now = bySegment(current);
  const order = (a: { name: string; id: string }, b: { name: string; id: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  const labelShifts = [];
  const splitMoves = [];
  for (const [id, s] of now) {
    const was = old.get(id);
    if (!was) continue;
    if (was.primary !== s.primary) labelShifts.push({ id, name: s.name, from: was.primary, to: s.primary });
    if (was.split !== s.split) splitMoves.push({ id, name: s.name, from: was.split, to: s.split });
  }
  return {
    previous: { configFingerprint: previous.configFingerprint, createdAt: previous.createdAt, rows: before.size, segments: old.size },
    rowsAdded: [...after].filter((id) => !before.has(id)).length,
    rowsRemoved: [...before].filter((id) => !after.has(id)).length,
    rowsKept: [...after].filter((id) => before.has(id)).length,
    segmentsAdded: [...now.values()].filter((s) => !old.has(s.id)).sort(order),
    segmentsRemoved: [...old.values()].filter((s) => !now.has(s.id)).sort(order),
    labelShifts: labelShifts.sort(order),
    splitMoves: splitMoves.sort(order),
  };
}
