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

const IDENTITY_FIELDS = ['size', 'mtimeNs', 'ctimeNs', 'ino', 'dev'] as const satisfies readonly (keyof FileEntry)[];

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
      const json = bytes ? safeJson(bytes.toString('utf8')) : undefined;
      // The index as this code writes it is taken as it is; zod, ten times slower on 5,000 files, judges anything else.
      const parsed = asWritten(json) ?? IndexFile.safeParse(json).data;
      if (parsed?.root === root) {
        previous = new Map(Object.entries(parsed.files));
        probes = new Map(Object.entries(parsed.probes));
      }
    }
    return new IngestFileIndex(key, root, previous, probes);
  }

  /** The sha256 the last run found for `path` when its identity is unchanged since (nothing is noted: see `reuse`). */
  unchanged(path: string, stats: BigIntStats): string | undefined {
    const known = this.previous.get(path);
    if (known === undefined) return undefined;
    const identity = identityOf(stats);
    return IDENTITY_FIELDS.every((field) => known[field] === identity[field]) ? known.sha256 : undefined;
  }

  /** The sha256 of `path` when its identity is unchanged, noted as seen this run without reading the file; else undefined. */
  reuse(path: string, stats: BigIntStats): string | undefined {
    const sha = this.unchanged(path, stats);
    if (sha === undefined) return undefined;
    this.reused++;
    this.seen.set(path, this.previous.get(path)!);
    return sha;
  }

  /** The sha256 of `path`: from the index when its identity is unchanged, else from `hash()`. */
  async sha256Of(path: string, stats: BigIntStats, hash: () => Promise<string>): Promise<string> {
    const reused = this.reuse(path, stats);
    if (reused !== undefined) return reused;
    const identity = identityOf(stats);
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

type IndexFile = z.infer<typeof IndexFile>;

const INDEX_KEYS = ['version', 'root', 'files', 'probes'];
const ENTRY_KEYS = ['size', 'mtimeNs', 'ctimeNs', 'ino', 'dev', 'sha256'];
const ERROR_KEYS = ['reason', 'detail'];
const SHA256 = /^[0-9a-f]{64}$/;
/** Probe's fields in its schema's order, each with the check zod makes (integers: safe integers, at least as strict as zod). */
const PROBE_FIELDS: ReadonlyMap<string, (value: unknown) => boolean> = new Map([
  ['duration', (v) => typeof v === 'number' && v >= 0],
  ['formatName', (v) => typeof v === 'string'],
  ['hasVideo', (v) => typeof v === 'boolean'],
  ['hasAudio', (v) => typeof v === 'boolean'],
  ['videoCodec', (v) => typeof v === 'string'],
  ['audioCodec', (v) => typeof v === 'string'],
  ['width', Number.isSafeInteger],
  ['height', Number.isSafeInteger],
  ['fps', (v) => typeof v === 'number'],
  ['sampleRate', Number.isSafeInteger],
  ['channels', Number.isSafeInteger],
]);
const PROBE_ORDER = [...PROBE_FIELDS.keys()];
const PROBE_REQUIRED: ReadonlySet<string> = new Set(['duration', 'formatName', 'hasVideo', 'hasAudio']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` is an object with exactly these keys, in this order (zod's output order). */
function hasKeys(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const own = Object.keys(value);
  return own.length === keys.length && own.every((key, i) => key === keys[i]);
}

function isProbe(value: unknown): boolean {
  if (!isRecord(value)) return false;
  let at = 0;
  for (const field in value) {
    if (!Object.hasOwn(value, field)) return false;
    // The fields present, in schema order: skip the optional ones absent before this one.
    while (at < PROBE_ORDER.length && PROBE_ORDER[at] !== field) {
      if (PROBE_REQUIRED.has(PROBE_ORDER[at])) return false;
      at++;
    }
    if (at === PROBE_ORDER.length || !PROBE_FIELDS.get(field)!(value[field])) return false;
    at++;
  }
  for (; at < PROBE_ORDER.length; at++) if (PROBE_REQUIRED.has(PROBE_ORDER[at])) return false;
  return true;
}

/**
 * The parsed index when it is exactly what `save` writes: every key known, in zod's order, every
 * value of its type, so that IndexFile.parse would return an equal object; undefined for anything
 * else (zod then decides, and may still accept it). A shortcut only: it never accepts what zod refuses.
 */
function asWritten(json: unknown): IndexFile | undefined {
  if (!hasKeys(json, INDEX_KEYS) || json.version !== 1 || typeof json.root !== 'string' || !isRecord(json.files) || !isRecord(json.probes)) return undefined;
  // A key JSON.parse keeps as an own property but an object built by assignment would not.
  if (Object.hasOwn(json.files, '__proto__') || Object.hasOwn(json.probes, '__proto__')) return undefined;
  for (const entry of Object.values(json.files)) {
    if (!hasKeys(entry, ENTRY_KEYS)) return undefined;
    for (const key of ENTRY_KEYS) if (typeof entry[key] !== 'string') return undefined;
    if (!SHA256.test(entry.sha256 as string)) return undefined;
  }
  for (const verdict of Object.values(json.probes)) {
    if (hasKeys(verdict, ['probe'])) {
      if (!isProbe(verdict.probe)) return undefined;
    } else if (hasKeys(verdict, ['error'])) {
      if (!hasKeys(verdict.error, ERROR_KEYS) || typeof verdict.error.reason !== 'string' || typeof verdict.error.detail !== 'string') return undefined;
    } else return undefined;
  }
  return json as IndexFile;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
