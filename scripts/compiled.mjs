// The compiled copy of emoforge's TypeScript (.build/, written by scripts/build.mjs) and whether it
// is current. Plain JavaScript so that the `emoforge` command can ask before any loader exists.
// Running from the compiled copy spares every process tsx's loader thread and each worker thread's
// in-thread compile (0.8–1.3 CPU s a run measured, see README "Layout"); when any source file differs
// from what was compiled, the command runs the TypeScript through tsx as before, so an edit is
// never shadowed by a stale build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the compiled copy goes, under the repository root. */
export const BUILD_DIR = '.build';
/** The folders compiled, and single files whose change means a rebuild (compiler settings, dependencies). */
export const SOURCE_DIRS = ['pipelines', 'stages', 'schemas', 'scripts'];
export const SOURCE_FILES = ['tsconfig.json', 'package-lock.json'];
/** The record of what was compiled: every source file's size and modification time. */
export const STAMP_FILE = 'sources.json';

function walk(root, rel, into) {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = `${rel}/${entry.name}`;
    if (entry.isDirectory()) walk(root, path, into);
    else if (entry.isFile()) {
      const stat = statSync(join(root, path));
      into[path] = `${stat.size}:${stat.mtimeMs}`;
    }
  }
}

/** Every source file under `root`, as { path: "size:mtime" }, in a stable order. */
export function sourceStamp(root) {
  const files = {};
  for (const dir of SOURCE_DIRS) walk(root, dir, files);
  for (const file of SOURCE_FILES) {
    const stat = statSync(join(root, file), { throwIfNoEntry: false });
    if (stat) files[file] = `${stat.size}:${stat.mtimeMs}`;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** True when `.build/` holds a compile of exactly the sources `root` has now. */
export function compiledIsCurrent(root) {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(join(root, BUILD_DIR, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  const now = sourceStamp(root);
  const names = Object.keys(now);
  if (names.length !== Object.keys(recorded).length) return false;
  return names.every((name) => recorded[name] === now[name]);
}
