// README's reject list is complete: every reason the code can emit (a drop, a RecordError, a
// rejects row written by ingest, the runner's own) is in the README table, and the table names no
// reason the code cannot emit.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers.ts';

const REASON = "'([a-z0-9]+(?:-[a-z0-9]+)*)'";
// Where a reason is written as a literal: drop('r', …), dropOf(…, 'r', …), new RecordError('r', …),
// runCommand(…, 'r', …), super('r', …), { reason: 'r' }, stats.dropped['r'], and ingest's `? 'corrupt' : 'not-media'`.
const PATTERNS = [
  new RegExp(`\\b(?:drop|dropOf|rowDrop|RecordError|TransientRecordError|runCommand|reject|super)\\([^'\`)]*${REASON}`, 'g'),
  new RegExp(`\\breason: ${REASON}`, 'g'),
  new RegExp(`dropped\\[${REASON}\\]`, 'g'),
  new RegExp(`const reason = [^;]*\\? ${REASON} : ${REASON}`, 'g'),
];
// probe() throws RecordError('unreadable'); ingest, its only caller, turns it into corrupt / not-media / probe-failed.
const INTERNAL = new Set(['unreadable']);

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(REPO, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

describe("README's reject reasons", () => {
  it('list exactly the reasons the code can emit', async () => {
    const emitted = new Set<string>();
    for (const file of [...(await sources('stages')), ...(await sources('pipelines'))]) {
      const text = await readFile(file, 'utf8');
      for (const pattern of PATTERNS)
        for (const match of text.matchAll(pattern)) for (const reason of match.slice(1)) if (reason && !INTERNAL.has(reason)) emitted.add(reason);
    }
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Reject reasons'), readme.indexOf('\n## ', readme.indexOf('## Reject reasons') + 3));
    const documented = new Set([...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]));
    // The scan finds what it should (a sample from every kind of source).
    for (const reason of [
      'path-escape',
      'media-extract-failed',
      'stage-error',
      'service-unavailable',
      'endpoint-rejected',
      'duplicate-row',
      'corrupt',
      'not-media',
      'near-duplicate',
    ])
      expect(emitted).toContain(reason);
    expect([...emitted].filter((r) => !documented.has(r)).sort(), 'emitted but not in README').toEqual([]);
    expect([...documented].filter((r) => !emitted.has(r)).sort(), 'in README but never emitted').toEqual([]);
  });
});
