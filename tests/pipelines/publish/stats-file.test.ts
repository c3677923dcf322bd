// stats.json: the same counters give the same bytes, whatever order records met the reasons in.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStatsFile } from '../../../pipelines/publish/stats-file.ts';
import type { StatsTable } from '../../../pipelines/stats.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emoforge-stats-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const totals = { sources: 2, segments: 3, rows: 9, rejected: 1, carried: 0, carriedRecords: 0, mediaFiles: 4, mediaBytes: 100 };

describe('writeStatsFile', () => {
  it('writes counts by reason and by work kind in name order, stages in their own order', async () => {
    const filter = (dropped: Record<string, number>, flagged: Record<string, number>, work: Record<string, number>) => ({
      in: 3,
      out: 1,
      dropped,
      flagged,
      cached: 0,
      wallMs: 5,
      work,
    });
    const a: StatsTable = {
      segment: { in: 2, out: 3, dropped: {}, cached: 0, wallMs: 1, work: { ffmpeg: 2 } },
      filter: filter({ 'too-short': 1, 'refusal-text': 1 }, { 'ungrounded-rationale': 1, 'human-edited': 2 }, { teacher: 1, dsp: 3 }),
    };
    const b: StatsTable = {
      segment: { in: 2, out: 3, dropped: {}, cached: 0, wallMs: 1, work: { ffmpeg: 2 } },
      filter: filter({ 'refusal-text': 1, 'too-short': 1 }, { 'human-edited': 2, 'ungrounded-rationale': 1 }, { dsp: 3, teacher: 1 }),
    };
    await writeStatsFile(join(dir), 'c', a, {}, totals);
    const first = await readFile(join(dir, 'stats.json'), 'utf8');
    await writeStatsFile(join(dir), 'c', b, {}, totals);
    expect(await readFile(join(dir, 'stats.json'), 'utf8')).toBe(first);
    const parsed = JSON.parse(first);
    expect(Object.keys(parsed.stages)).toEqual(['segment', 'filter']);
    expect(Object.keys(parsed.stages.filter.dropped)).toEqual(['refusal-text', 'too-short']);
    expect(Object.keys(parsed.stages.filter.flagged)).toEqual(['human-edited', 'ungrounded-rationale']);
    expect(Object.keys(parsed.stages.filter.work)).toEqual(['dsp', 'teacher']);
  });
});
