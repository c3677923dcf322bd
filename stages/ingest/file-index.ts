// What the last ingest of an input root learned of each file: its identity on disk (size, mtime and
// ctime in nanoseconds, inode, device) and its sha256, so that a re-run recognises an unchanged file without
// reading its bytes again. One object per input root in the store; a file whose identity differs in
// any field is hashed again, and `--rehash` (SourceOptions.rehash) ignores the index altogether.
import type { BigIntStats } from 'node:fs';
import { z } from 'zod';
import { sha256 } from '../../pipelines/fingerprint.ts';
import type { Store } from '../../pipelines/store/store.ts';
import { Probe } from '../../schemas/records.ts';

const FileEntry = z
  .object({ size: z.string(), mtimeNs: z.string(), ctimeNs: z.string(), ino: z.string(), dev: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })
  .strict();
type FileEntry = z.infer<typeof FileEntry>;
// probes: ffprobe's permanent verdict per sha256 of the files listed (the store's probe cache holds
// the same, one object per file; here a re-run reads them all in one object).
/** ffprobe's permanent verdict on some bytes: what it read, or why the file is no clip (a killed ffprobe is never kept). */
export const ProbeVerdict = z.union([
  z.object({ probe: Probe }).strict(),
  z.object({ error: z.object({ reason: z.string(), detail: z.string() }).strict() }).strict(),
]);
export type ProbeVerdict = z.infer<typeof ProbeVerdict>;
const IndexFile = z
  .object({ version: z.literal(1), root: z.string(), files: z.record(z.string(), FileEntry), probes: z.record(z.string(), ProbeVerdict) })
  .strict();

/**
 * The identity of a file on disk as the index keeps it. The ctime matters: a tool that rewrites a file
 * in place and restores its mtime (rsync --inplace -t) cannot restore the ctime.
 */
export function identityOf(stats: BigIntStats): Omit<FileEntry, 'sha256'> {
  return { size: String(stats.size), mtimeNs: String(stats.mtimeNs), ctimeNs: String(stats.ctimeNs), ino: String(stats.ino), dev: String(stats.dev) };
}

export class IngestFileIndex {
  private readonly seen = new Map<string, FileEntry>();
  private readonly probes = new Map<string, ProbeVerdict>();
  private changed = false;
  /** Files recognised by their identity (not read) and files hashed, this run. */
  reused = 0;
  hashed = 0;

  private constructor(
    private readonly key: string,
    private readonly root: string,
    private readonly previous: ReadonlyMap<string, FileEntry>,
    private readonly previousProbes: ReadonlyMap<string, ProbeVerdict>,
  ) {}

  /** The index of `root` from the store; empty when there is none, it does not parse, or `rehash` is asked. */
  static async load(store: Store, root: string, options: { readonly rehash?: boolean } = {}): Promise<IngestFileIndex> {
    const key = `cache/ingest/files/${sha256(root)}.json`;
    let previous = new Map<string, FileEntry>();
    let probes = new Map<string, ProbeVerdict>();
    if (!options.rehash) {
      const bytes = await store.get(key);
      // A damaged index costs a re-hash, never a wrong id: it is only a shortcut.
      const parsed = bytes ? IndexFile.safeParse(safeJson(bytes.toString('utf8'))) : undefined;
      if (parsed?.success && parsed.data.root === root) {
        previous = new Map(Object.entries(parsed.data.files));
        probes = new Map(Object.entries(parsed.data.probes));
      }
    }
    return new IngestFileIndex(key, root, previous, probes);
  }

  /** The sha256 of `path`: from the index when its identity is unchanged, else from `hash()`. */
  async sha256Of(path: string, stats: BigIntStats, hash: () => Promise<string>): Promise<string> {
    const identity = identityOf(stats);
    const known = this.previous.get(path);
    if (known && (Object.keys(identity) as (keyof typeof identity)[]).every((field) => known[field] === identity[field])) {
      this.reused++;
      this.seen.set(path, known);
      return known.sha256;
    }
    const digest = await hash();
    this.hashed++;
    this.changed = true;
    this.seen.set(path, { ...identity, sha256: digest });
    return digest;
  }

  /** The probe verdict the last run kept for these bytes, if any. */
  probeOf(sha: string): ProbeVerdict | undefined {
    return this.previousProbes.get(sha);
  }

  /** Keeps a permanent probe verdict for these bytes (a transient failure is never kept). */
  noteProbe(sha: string, verdict: ProbeVerdict): void {
    if (this.probes.has(sha)) return;
    this.probes.set(sha, verdict);
    if (!this.previousProbes.has(sha)) this.changed = true;
  }

  /** Writes the files seen this run (vanished ones drop out) when anything changed. */
  async save(store: Store): Promise<void> {
    if (!this.changed && this.seen.size === this.previous.size && this.probes.size === this.previousProbes.size) return;
    const files: Record<string, FileEntry> = {};
    for (const path of [...this.seen.keys()].sort()) files[path] = this.seen.get(path)!;
    const probes: Record<string, ProbeVerdict> = {};
    for (const [sha, verdict] of [...this.probes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) probes[sha] = verdict;
    await store.put(this.key, JSON.stringify({ version: 1, root: this.root, files, probes }));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
