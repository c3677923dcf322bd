// What ingest lists: a folder (walked), a glob, or a manifest's rows, each turned into source entries
// or rejects. Inputs are hostile: every entry is resolved to its real path and refused (`path-escape`)
// when that lies outside the input root, before anything is opened; symlink loops, fifos, sockets and
// devices, hidden files and repeated manifest rows are rejects with a reason, never silently skipped.
// The invariant ingest keeps: every source seen (an entry a listing names, a manifest row) is a clip
// or a reject, so `seen = clips + rejects` in stats.json.
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { FatalError } from '../../pipelines/errors.ts';
import { sha256 } from '../../pipelines/fingerprint.ts';
import type { Drop, ManifestFields } from '../../schemas/records.ts';
import { readManifest } from './manifest.ts';

export interface SourceEntry {
  /** absolute path on disk, inside the input root (after resolving links) */
  readonly path: string;
  /** path relative to the input root, with forward slashes */
  readonly uri: string;
  readonly name: string;
  readonly manifest: ManifestFields;
  /** an utterance inside the file (corpus adapters) */
  readonly span?: { readonly start: number; readonly end: number };
}

export interface Listing {
  readonly root: string;
  readonly entries: SourceEntry[];
  readonly drops: Drop[];
}

export interface ListingConfig {
  readonly extensions: readonly string[];
  /** 'reject' (default): dotfiles and dot-folders are rejected `hidden-file`; 'ingest': listed like any other entry. */
  readonly hidden: 'reject' | 'ingest';
}

const MANIFEST_NAMES = ['manifest.csv', 'manifest.jsonl'];
/** Manifest rows resolved at once (stat calls; a 50k-row manifest must not take a stat round trip per row in series). */
const RESOLVE_CONCURRENCY = 32;

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function dropOf(entry: { uri: string }, clipId: string | null, reason: string, detail: string): Drop {
  return { id: clipId ?? sha256(`uri:${entry.uri}`), clipId, uri: entry.uri, stage: 'ingest', reason, detail };
}

export async function listSources(input: string, config: ListingConfig): Promise<Listing> {
  const absolute = resolve(input);
  const info = await stat(absolute).catch(() => undefined);
  if (info?.isFile()) {
    if (!/\.(csv|jsonl)$/i.test(absolute)) {
      throw new FatalError(`--input ${input} is a file but not a manifest (.csv or .jsonl); pass its folder or a glob instead`);
    }
    return fromManifest(absolute, config, false);
  }
  if (info?.isDirectory()) {
    for (const name of MANIFEST_NAMES) {
      const manifestPath = join(absolute, name);
      if (
        await stat(manifestPath).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        return fromManifest(manifestPath, config, true);
    }
    return sorted({ root: absolute, ...(await walkFolder(absolute, config)) });
  }
  if (isDynamicPattern(input)) return sorted(await fromGlob(input, config));
  throw new FatalError(`--input ${input} does not exist (expected a folder, a glob such as "clips/**/*.mp4", or a manifest .csv/.jsonl)`);
}

function sorted(listing: Listing): Listing {
  return { root: listing.root, entries: listing.entries.sort((a, b) => compare(a.uri, b.uri)), drops: listing.drops.sort((a, b) => compare(a.uri, b.uri)) };
}

type Resolved =
  | { readonly kind: 'file'; readonly real: string }
  | { readonly kind: 'dir'; readonly real: string }
  | { readonly kind: 'reject'; readonly reason: string; readonly detail: string };

/** True when `path` (a real path) lies inside `realRoot`. */
function contained(realRoot: string, path: string): boolean {
  const rel = relative(realRoot, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Resolves an entry's links and says what it is, without opening it. */
async function resolveEntry(path: string, realRoot: string, uri: string): Promise<Resolved> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { kind: 'reject', reason: 'symlink-loop', detail: `${uri} is a symlink that leads back to itself` };
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'reject', reason: 'missing', detail: `${uri} does not exist (or is a link to nothing)` };
    return { kind: 'reject', reason: 'missing', detail: `${uri} cannot be resolved (${code ?? (error as Error).message})` };
  }
  if (!contained(realRoot, real))
    return {
      kind: 'reject',
      reason: 'path-escape',
      detail: `${uri} resolves (through a link) to ${real}, outside the input folder ${realRoot}; it was not opened`,
    };
  const info = await stat(real);
  if (info.isDirectory()) return { kind: 'dir', real };
  if (info.isFile()) return { kind: 'file', real };
  return { kind: 'reject', reason: 'not-a-file', detail: `${uri} is ${specialKind(info)}, not a regular file` };
}

function specialKind(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isFIFO()) return 'a fifo (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Walks a folder: media files (by extension) are entries; links are resolved and followed when they
 * stay inside the root (a folder reached twice is a loop); hidden entries, special files, links
 * that escape, loop or dangle are rejects. Files of other extensions are not sources.
 */
async function walkFolder(root: string, config: ListingConfig): Promise<{ entries: SourceEntry[]; drops: Drop[] }> {
  const realRoot = await realpath(root);
  const wanted = new Set(config.extensions.map((e) => e.toLowerCase()));
  const isMedia = (name: string) => wanted.has(extname(name).slice(1).toLowerCase());
  const entries: SourceEntry[] = [];
  const drops: Drop[] = [];
  const reject = (uri: string, reason: string, detail: string) => drops.push(dropOf({ uri }, null, reason, detail));

  const walk = async (dir: string, prefix: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const children = (await readdir(dir, { withFileTypes: true })).sort((a, b) => compare(a.name, b.name));
    for (const child of children) {
      const path = join(dir, child.name);
      const uri = `${prefix}${child.name}`;
      const media = isMedia(child.name);
      if (child.name.startsWith('.') && config.hidden === 'reject' && (media || child.isDirectory() || child.isSymbolicLink())) {
        const shown = child.isDirectory() ? `${uri}/` : uri;
        reject(shown, 'hidden-file', `${uri} is hidden (its name starts with a dot); set ingest.hidden: ingest to take hidden files`);
        continue;
      }
      if (child.isDirectory()) {
        const real = await realpath(path);
        await walk(path, `${uri}/`, new Set([...ancestors, real]));
        continue;
      }
      if (child.isFile()) {
        if (media) entries.push({ path, uri, name: basename(child.name, extname(child.name)), manifest: {} });
        continue;
      }
      if (child.isSymbolicLink()) {
        const resolved = await resolveEntry(path, realRoot, uri);
        if (resolved.kind === 'file') {
          if (media) entries.push({ path: resolved.real, uri, name: basename(child.name, extname(child.name)), manifest: {} });
        } else if (resolved.kind === 'dir') {
          if (ancestors.has(resolved.real) || resolved.real === realRoot)
            reject(uri, 'symlink-loop', `${uri} links to a folder that contains it (${resolved.real}); not followed`);
          else await walk(resolved.real, `${uri}/`, new Set([...ancestors, resolved.real]));
        } else if (media || resolved.reason !== 'missing') reject(uri, resolved.reason, resolved.detail);
        continue;
      }
      // A fifo, socket or device: never data, and opening a fifo would block.
      reject(uri, 'not-a-file', `${uri} is ${specialKind(child)}, not a regular file`);
    }
  };
  await walk(root, '', new Set([realRoot]));
  return { entries, drops };
}

/**
 * A glob: the folder before its first wildcard is walked like a folder input (so links, loops, fifos
 * and dotfiles get the same checks, and no link is followed outside it), and what the pattern matches
 * is kept: entries and rejects alike.
 */
async function fromGlob(input: string, config: ListingConfig): Promise<Listing> {
  const root = resolve(staticPrefix(input));
  if (
    !(await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return { root, entries: [], drops: [] };
  const matches = picomatch(resolve(input), { dot: true });
  const walked = await walkFolder(root, config);
  const matched = (uri: string) => matches(join(root, ...uri.replace(/\/$/, '').split('/')));
  return { root, entries: walked.entries.filter((e) => matched(e.uri)), drops: walked.drops.filter((d) => matched(d.uri)) };
}

function staticPrefix(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '.';
}

/** `map` with at most `limit` calls in flight, results in input order (a plain pool: no queue per item). */
export async function mapBounded<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(1, items.length)) }, worker));
  return results;
}

type RowOutcome = { readonly entry: SourceEntry; readonly line: number } | { readonly drop: Drop };

async function fromManifest(manifestPath: string, config: ListingConfig, withFolder: boolean): Promise<Listing> {
  const root = dirname(manifestPath);
  const realRoot = await realpath(root);
  const manifestName = basename(manifestPath);
  const parsed = await readManifest(manifestPath);
  const rowDrop = (line: number, reason: string, detail: string, uri = `${manifestName}#L${line}`): Drop => ({
    id: sha256(`manifest:${manifestName}:${line}`),
    clipId: null,
    uri,
    stage: 'ingest',
    reason,
    detail,
  });
  const drops: Drop[] = parsed.errors.map(({ line, detail }) => rowDrop(line, 'bad-manifest-row', detail));

  const names = folderNames();
  const outcomes = await mapBounded(parsed.rows, RESOLVE_CONCURRENCY, async (row): Promise<RowOutcome> => {
    if (!row.locator) return { drop: rowDrop(row.line, 'bad-manifest-row', `line ${row.line} has no name/path/uri column value`) };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(row.locator)) {
      return {
        drop: {
          id: sha256(`uri:${row.locator}`),
          clipId: null,
          uri: row.locator,
          stage: 'ingest',
          reason: 'unsupported-uri',
          detail: `line ${row.line}: only local paths are supported by this store (got ${row.locator})`,
        },
      };
    }
    const candidate = resolve(root, row.locator);
    const uri = relative(root, candidate).split(sep).join('/');
    if (uri === '' || uri === '..' || uri.startsWith('../') || isAbsolute(uri)) {
      return {
        drop: {
          id: sha256(`uri:${row.locator}`),
          clipId: null,
          uri: row.locator,
          stage: 'ingest',
          reason: 'path-escape',
          detail: `line ${row.line}: ${JSON.stringify(row.locator)} points outside the manifest's folder ${root}`,
        },
      };
    }
    const found = await locate(candidate, row.byName, config, names);
    if (found === undefined)
      return {
        drop: {
          id: sha256(`uri:${uri}`),
          clipId: null,
          uri,
          stage: 'ingest',
          reason: 'missing',
          detail: `line ${row.line}: ${row.locator} is listed in ${manifestName} but no such file exists`,
        },
      };
    const foundUri = relative(root, found).split(sep).join('/');
    const resolved = await resolveEntry(found, realRoot, foundUri);
    if (resolved.kind === 'reject') {
      const detail =
        resolved.reason === 'missing'
          ? `line ${row.line}: ${row.locator} is listed in ${manifestName} but no such file exists`
          : `line ${row.line}: ${resolved.detail}`;
      return { drop: { id: sha256(`uri:${foundUri}`), clipId: null, uri: foundUri, stage: 'ingest', reason: resolved.reason, detail } };
    }
    if (resolved.kind === 'dir')
      return {
        drop: {
          id: sha256(`uri:${foundUri}`),
          clipId: null,
          uri: foundUri,
          stage: 'ingest',
          reason: 'not-a-file',
          detail: `line ${row.line}: ${row.locator} is a folder, not a media file`,
        },
      };
    const name = row.byName ? basename(row.locator, extname(found) === extname(row.locator) ? extname(row.locator) : '') : undefined;
    return { entry: { path: resolved.real, uri: foundUri, name: name ?? basename(found, extname(found)), manifest: row.fields }, line: row.line };
  });
  // In manifest order, so the first row naming a file is the one that counts.
  const entries = new Map<string, { entry: SourceEntry; line: number }>();
  for (const outcome of outcomes) {
    if ('drop' in outcome) {
      drops.push(outcome.drop);
      continue;
    }
    const first = entries.get(outcome.entry.uri);
    if (first)
      drops.push(
        rowDrop(
          outcome.line,
          'duplicate-row',
          `line ${outcome.line} lists ${outcome.entry.uri} again (first listed on line ${first.line}); only the first row counts`,
        ),
      );
    else entries.set(outcome.entry.uri, outcome);
  }
  const listed = [...entries.values()].map((e) => e.entry);
  if (withFolder) {
    // Media in the folder that the manifest does not list are ingested unlabelled; the walk's
    // rejects count unless a manifest row already accounts for that path.
    const accounted = new Set([...entries.keys(), ...drops.map((d) => d.uri)]);
    const walked = await walkFolder(root, config);
    for (const entry of walked.entries) if (!entries.has(entry.uri)) listed.push(entry);
    for (const drop of walked.drops) if (!accounted.has(drop.uri)) drops.push(drop);
  }
  return sorted({ root, entries: listed, drops });
}

/** Folder listings by path, read once: a manifest names many files of few folders. */
type FolderNames = (dir: string) => Promise<ReadonlySet<string>>;

function folderNames(): FolderNames {
  const cache = new Map<string, Promise<ReadonlySet<string>>>();
  return (dir) => {
    let names = cache.get(dir);
    if (!names)
      cache.set(
        dir,
        (names = readdir(dir).then(
          (list) => new Set(list),
          () => new Set<string>(),
        )),
      );
    return names;
  };
}

/**
 * The path a manifest row names, if its folder lists it; a `name` may omit the extension (MER label
 * files do): each media extension is tried. Looked up in the folder's listing, not by a stat per try.
 */
async function locate(candidate: string, byName: boolean, config: ListingConfig, names: FolderNames): Promise<string | undefined> {
  const listed = await names(dirname(candidate));
  const base = basename(candidate);
  if (listed.has(base)) return candidate;
  if (!byName) return undefined;
  const extension = config.extensions.find((e) => listed.has(`${base}.${e}`));
  return extension === undefined ? undefined : `${candidate}.${extension}`;
}
