// ingest against real files and real ffprobe: manifests (CSV, JSONL), folders, globs, and every
// way a source can be turned away.
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StageContext, WorkKind } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { ingest } from '../../stages/ingest.ts';
import { sampleClips, stageContext, tempDir } from '../helpers.ts';

function context(store: string): StageContext & { counts: Partial<Record<WorkKind, number>> } {
  const { ctx, work } = stageContext({ store: new LocalStore(store), stage: 'ingest' });
  return Object.assign(ctx, { counts: work });
}

const config = ingest.configSchema.parse({});

describe('ingest', () => {
  let clips: string;
  beforeAll(async () => {
    clips = await sampleClips(6);
  }, 300_000);

  it('uses a folder manifest: listed files get its fields, unlisted media come unlabelled, listed-but-missing are rejected', async () => {
    const dir = await tempDir();
    await copyFile(join(clips, 'sample_0001.mp4'), join(dir, 'a.mp4'));
    await copyFile(join(clips, 'sample_0002.mp4'), join(dir, 'b.mp4'));
    await writeFile(join(dir, 'manifest.csv'), 'name,label,speaker,text\na,happy,s1,"hello, ""world"""\nghost,sad,s2,not here\n');
    const ctx = context(await tempDir());
    const result = await ingest.run(config, { input: dir, partitions: 4 }, ctx);
    expect(result.clips.map((c) => c.uri)).toEqual(['a.mp4', 'b.mp4']);
    const a = result.clips.find((c) => c.uri === 'a.mp4')!;
    expect(a.manifest).toEqual({ label: 'happy', speaker: 's1', text: 'hello, "world"' });
    expect(a.name).toBe('a');
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(a.partition).toBeLessThan(4);
    expect(a.probe.hasAudio && a.probe.hasVideo).toBe(true);
    expect(result.clips.find((c) => c.uri === 'b.mp4')!.manifest).toEqual({});
    expect(result.drops).toMatchObject([{ uri: 'ghost', reason: 'missing', stage: 'ingest', clipId: null }]);
    expect(ctx.counts.probe).toBe(2);
    // The sample clips (H.264 + AAC) are read natively: no ffprobe process.
    expect(ctx.counts.ffprobe ?? 0).toBe(0);
    // A second ingest reuses the probe results stored by content hash.
    const again = context(ctx.store.location);
    await ingest.run(config, { input: dir, partitions: 4 }, again);
    expect(again.counts.probe ?? 0).toBe(0);
  });

  it('refuses manifest paths that escape the manifest folder, directly or through a symlink', async () => {
    const root = await tempDir();
    const dir = join(root, 'corpus');
    await mkdir(dir);
    await copyFile(join(clips, 'sample_0001.mp4'), join(root, 'outside.mp4'));
    await copyFile(join(clips, 'sample_0003.mp4'), join(dir, 'inside.mp4'));
    await symlink(join(root, 'outside.mp4'), join(dir, 'link.mp4'));
    await writeFile(
      join(dir, 'list.jsonl'),
      [
        JSON.stringify({ path: '../outside.mp4', label: 'happy' }),
        JSON.stringify({ path: '/etc/passwd' }),
        JSON.stringify({ path: 'link.mp4' }),
        JSON.stringify({ path: 'inside.mp4', label: 'angry', speaker: 'x' }),
        '{not json',
        JSON.stringify({ uri: 's3://bucket/clip.mp4' }),
      ].join('\n'),
    );
    const result = await ingest.run(config, { input: join(dir, 'list.jsonl'), partitions: 2 }, context(await tempDir()));
    expect(result.clips.map((c) => [c.uri, c.manifest.label])).toEqual([['inside.mp4', 'angry']]);
    const reasons = result.drops.map((d) => `${d.uri} ${d.reason}`).sort();
    expect(reasons).toEqual(
      [
        '../outside.mp4 path-escape',
        '/etc/passwd path-escape',
        'link.mp4 path-escape',
        'list.jsonl#L5 bad-manifest-row',
        's3://bucket/clip.mp4 unsupported-uri',
      ].sort(),
    );
  });

  it('takes a glob, honours --limit in sorted order, and rejects too-long clips', async () => {
    const ctx = context(await tempDir());
    const result = await ingest.run({ ...config, maxDurationSec: 2.5 }, { input: `${clips}/sample_000[1-4].mp4`, partitions: 1, limit: 3 }, ctx);
    const seen = [...result.clips.map((c) => c.uri), ...result.drops.map((d) => d.uri)].sort();
    expect(seen).toEqual(['sample_0001.mp4', 'sample_0002.mp4', 'sample_0003.mp4']);
    for (const d of result.drops) expect(d.reason).toBe('too-long');
  });

  it('tells the user what to pass when the input does not exist', async () => {
    await expect(ingest.run(config, { input: '/nonexistent/folder', partitions: 1 }, context(await tempDir()))).rejects.toThrow(
      /does not exist \(expected a folder, a glob/,
    );
  });
});
