// Quality filters in a real run on the demo clips (real ffmpeg, pocketsphinx, face-api, rules
// teacher): a planted refusal, a planted label contradiction, a planted ungrounded rationale and a
// planted duplicate (a remuxed re-upload) are each dropped for their own reason, counted in
// stats.json and written to rejects.parquet; with grounding set to flag, the ungrounded record is
// kept and counted as flagged instead.
import { execFile } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildPlan } from '../../pipelines/config.ts';
import { readRowsHyparquet } from '../../pipelines/parquet/index.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import type { RunSummary } from '../../pipelines/run/summary.ts';
import type { SegmentStage } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import type { Segment } from '../../schemas/records.ts';
import { formatSummary } from '../../scripts/cli.ts';
import { STAGES } from '../../stages/index.ts';
import { demoConfig, readJson, sampleClips, tempDir } from '../helpers.ts';
import { warmStore, warmStoreReady } from '../support/warm-store.ts';

const execFileAsync = promisify(execFile);
const REFUSAL = "I'm sorry, but I can't help with identifying emotions in this video.";
const INVENTED = 'The mean pitch is 480 Hz, very high for adult speech; this fits fearful.';

/**
 * Test-only stage between the teachers and the filter: it turns one clip's description into a
 * refusal and slips an invented measurement into another clip's rationale, as a faulty LLM would.
 */
const PlantConfig = z.object({ refusal: z.string(), ungrounded: z.string() }).strict();
const plant: SegmentStage<z.infer<typeof PlantConfig>> = {
  kind: 'segment',
  name: 'test.plant',
  version: 1,
  configSchema: PlantConfig,
  reads: ['description', 'rationale'],
  adds: [],
  cache: false,
  async run(segment, config): Promise<Segment> {
    if (segment.clip.name === config.refusal) return { ...segment, description: { ...segment.description!, text: REFUSAL } };
    if (segment.clip.name !== config.ungrounded) return segment;
    const steps = [...segment.rationale!.steps];
    steps.splice(steps.length - 1, 0, INVENTED);
    return { ...segment, rationale: { ...segment.rationale!, steps: steps.map((step, i) => `Step ${i + 1}: ${step.replace(/^Step \d+: /, '')}`) } };
  },
};
const registry = new Map([...STAGES, [plant.name, plant]]);

function qualityConfig(grounding: 'drop' | 'flag'): Record<string, unknown> {
  const config = demoConfig({ filter: { consistency: { manifest: true }, grounding } });
  const stages = config.stages as Record<string, unknown>[];
  const at = stages.findIndex((s) => 'filter' in s);
  stages.splice(at, 0, { 'test.plant': { refusal: 'sample_0001', ungrounded: 'sample_0002' } });
  stages.splice(at + 2, 0, { dedup: {} }, { 'filter.corpus': {} });
  return config;
}

async function run(config: Record<string, unknown>, input: string, out: string, store: string): Promise<RunSummary> {
  return runPipeline(buildPlan('quality.yaml', config, registry), {
    store: new LocalStore(store),
    outDir: out,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    input,
  });
}

async function rowNames(out: string): Promise<Set<string>> {
  const shards = (await readdir(join(out, 'shards'))).filter((f) => f.endsWith('.parquet'));
  const rows = (await Promise.all(shards.map((f) => readRowsHyparquet(join(out, 'shards', f))))).flat();
  return new Set(rows.map((r) => String(r.name)));
}

beforeAll(() => warmStoreReady(), 600_000);

describe('quality filters in a pipeline run', () => {
  let input: string;
  let work: string;
  let store: string;

  beforeAll(async () => {
    input = await sampleClips(4);
    // The planted contradiction: sample_0003 speaks angrily and the teacher labels it angry, but
    // its manifest now says happy.
    const manifest = join(input, 'manifest.csv');
    const text = await readFile(manifest, 'utf8');
    expect(text).toContain('sample_0003,angry,');
    await writeFile(manifest, text.replace('sample_0003,angry,', 'sample_0003,happy,'));
    // The planted duplicate: sample_0004 remuxed (new bytes, so a new clip id; the same content).
    await execFileAsync('ffmpeg', [
      '-v',
      'error',
      '-i',
      join(input, 'sample_0004.mp4'),
      '-c',
      'copy',
      '-metadata',
      'title=re-upload',
      join(input, 'zz_reupload_0004.mp4'),
    ]);
    const row = text.split('\n').find((line) => line.startsWith('sample_0004,'))!;
    await appendFile(manifest, `${row.replace('sample_0004,', 'zz_reupload_0004,').replace(/,spk\d+,/, ',spk09,')}\n`);
    work = await tempDir('emoforge-quality-');
    // The suite's warm store: the media and face tracks of these clips come from the demo run.
    store = await warmStore(join(work, 'store'));
  }, 600_000);

  it('drops the refusal, the contradiction, the ungrounded rationale and the duplicate for their own reasons, in stats and rejects', async () => {
    const out = join(work, 'out-drop');
    const summary = await run(qualityConfig('drop'), input, out, store);
    expect(summary.segments).toBe(1);

    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    const byUri = new Map(rejects.map((r) => [String(r.uri), r]));
    expect(byUri.get('sample_0001.mp4')).toMatchObject({
      stage: 'filter',
      reason: 'refusal-text',
      detail: expect.stringContaining(`description says "I can't"`),
    });
    expect(byUri.get('sample_0002.mp4')).toMatchObject({
      stage: 'filter',
      reason: 'ungrounded-rationale',
      detail: expect.stringMatching(/states 480 Hz, but no stored value \(hz\) is within 5%/),
    });
    expect(byUri.get('sample_0003.mp4')).toMatchObject({
      stage: 'filter',
      reason: 'label-mismatch-manifest',
      detail: expect.stringMatching(/^manifest label 'happy' \(happy\) vs labels\.primary angry, openset \[angry/),
    });
    // The duplicate pair: the copy sorted first by segment id is kept; the other names it.
    const duplicate = rejects.find((r) => r.reason === 'duplicate-footage');
    expect(duplicate).toMatchObject({
      stage: 'dedup',
      reason: 'duplicate-footage',
      detail: expect.stringMatching(
        /^same footage as kept segment [0-9a-f]+ \((sample|zz_reupload)_0004\.mp4\): keyframes 0\.0 of 64 bits apart, audio bit error rate 0\.000 at offset 0\.00 s$/,
      ),
    });
    expect(['sample_0004.mp4', 'zz_reupload_0004.mp4']).toContain(String(duplicate!.uri));
    expect(rejects).toHaveLength(4);

    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.stages.filter).toMatchObject({ in: 5, out: 2, dropped: { 'refusal-text': 1, 'ungrounded-rationale': 1, 'label-mismatch-manifest': 1 } });
    expect(stats.stages.filter.flagged).toBeUndefined();
    expect(stats.stages.dedup).toMatchObject({ in: 2, out: 1, dropped: { 'duplicate-footage': 1 } });
    expect(stats.stages['filter.corpus']).toMatchObject({ in: 1, out: 1, dropped: {} });
    expect((await rowNames(out)).size).toBe(1);
    expect(['sample_0004', 'zz_reupload_0004']).toContain([...(await rowNames(out))][0]);
  }, 600_000);

  it('with grounding: flag, keeps the ungrounded record and counts it as flagged, also from a cached partition', async () => {
    for (const attempt of ['fresh', 'cached']) {
      const out = join(work, `out-flag-${attempt}`);
      const summary = await run(qualityConfig('flag'), input, out, store);
      // The fresh run reuses the media and cue partitions of the run above, not the filter's.
      if (attempt === 'cached') expect(summary.partitions.cached).toBe(summary.partitions.total);
      else expect(summary.partitions.cached).toBeLessThan(summary.partitions.total);
      const stats = await readJson(join(out, 'stats.json'));
      expect(stats.stages.filter).toMatchObject({
        in: 5,
        out: 3,
        dropped: { 'refusal-text': 1, 'label-mismatch-manifest': 1 },
        flagged: { 'ungrounded-rationale': 1 },
      });
      expect(await rowNames(out)).toContain('sample_0002');
      expect((await rowNames(out)).size).toBe(2);
      expect(formatSummary('quality', ['filter'], summary, out, 'run.jsonl')).toMatch(/\n {18}flagged \(kept\): ungrounded-rationale 1\n/);
    }
  }, 600_000);
});
