// A partition's stored result, a line per record: what goes in comes back, in order, and a damaged
// object (cut short, a line that is not JSON, another format, extra lines) is a clear error naming
// it, never a partition with fewer segments.
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../pipelines/errors.ts';
import {
  decodePartitionInputs,
  decodePartitionResult,
  encodePartitionInputs,
  encodePartitionResult,
  PARTITION_FORMAT,
  PARTITION_INPUTS_FORMAT,
  storedSegments,
} from '../../../pipelines/run/stored-partition.ts';
import type { StatsTable } from '../../../pipelines/stats.ts';
import type { Drop, Segment } from '../../../schemas/records.ts';

/** Segments with multi-byte text, newlines and line separators inside strings, some long enough to cross the encoder's chunks. */
function segments(count: number): Segment[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `segment-${String(i).padStart(4, '0')}`,
    clipId: `clip-${i >> 2}`,
    index: i & 3,
    start: i,
    end: i + 0.5,
    transcript: { text: `line one\nline two – “quoted” ${'é'.repeat(i % 7)}\u2028${i % 97 === 0 ? 'x'.repeat(70_000) : ''}`, language: 'en' },
  })) as unknown as Segment[];
}

/** Every segment `storedSegments` gives, read to the end (where a damaged object is found out). */
function decodePartitionSegments(bytes: Buffer, where: string): Segment[] {
  const stored = storedSegments(bytes, where);
  const segments: Segment[] = [];
  for (let segment = stored.next(); segment; segment = stored.next()) segments.push(segment);
  return segments;
}

const drops: Drop[] = [
  { id: 'segment-9999', clipId: 'clip-9', uri: 'clip9.mp4', stage: 'filter', reason: 'too-short', detail: 'lasts 0.2 s\nbelow 0.5 s' },
  { id: 'clip-x', clipId: 'clip-x', uri: 'x.mp4', stage: 'segment', reason: 'no-audio', detail: '' },
];
const stats: StatsTable = { filter: { in: 3, out: 2, cached: 0, dropped: { 'too-short': 1 }, wallMs: 1.5, work: {} } };

describe('stored partition results', () => {
  it('round-trips segments, drops and stats, a line per record after a header line', () => {
    const result = { segments: segments(500), drops, stats };
    const bytes = encodePartitionResult(result);
    const lines = bytes.toString('utf8').split('\n');
    expect(lines).toHaveLength(1 + 500 + drops.length + 1);
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines[0])).toEqual({ format: PARTITION_FORMAT, segments: 500, drops: 2, stats });
    expect(decodePartitionResult(bytes, 'p')).toEqual({ count: 500, ...result });
    // The record phase reads a stored result without its segments: the count, drops and stats.
    expect(decodePartitionResult(bytes, 'p', { segments: false })).toEqual({ count: 500, drops, stats });
    expect(decodePartitionSegments(bytes, 'p')).toEqual(result.segments);
  });

  it('the same result gives the same bytes; an empty partition is its header alone', () => {
    expect(encodePartitionResult({ segments: segments(40), drops, stats }).equals(encodePartitionResult({ segments: segments(40), drops, stats }))).toBe(true);
    const empty = encodePartitionResult({ segments: [], drops: [], stats: {} });
    expect(empty.toString('utf8')).toBe(`${JSON.stringify({ format: PARTITION_FORMAT, segments: 0, drops: 0, stats: {} })}\n`);
    expect(decodePartitionResult(empty, 'p')).toEqual({ count: 0, segments: [], drops: [], stats: {} });
  });

  it('an object cut short, at a line end or inside a line, is an error that names it', () => {
    const bytes = encodePartitionResult({ segments: segments(30), drops, stats });
    const lineEnds = [...bytes.entries()].filter(([, byte]) => byte === 0x0a).map(([at]) => at);
    for (const cut of [0, 10, lineEnds[0] + 1, lineEnds[5] + 1, lineEnds[5] + 40, bytes.length - 1]) {
      const truncated = bytes.subarray(0, cut);
      const counted = (bytes: Buffer, where: string) => decodePartitionResult(bytes, where, { segments: false });
      for (const decode of [decodePartitionResult, decodePartitionSegments, counted]) {
        expect(() => decode(truncated, 'partitions/ab/abc.ndjson in /store')).toThrow(FatalError);
        expect(() => decode(truncated, 'partitions/ab/abc.ndjson in /store')).toThrow(
          /partitions\/ab\/abc\.ndjson in \/store is damaged: .*Delete it and run again/,
        );
      }
    }
  });

  it('a line that is not JSON, another format, a bad header or lines beyond the count are errors', () => {
    const bytes = encodePartitionResult({ segments: segments(3), drops, stats });
    const text = bytes.toString('utf8');
    const lines = text.split('\n');
    const damaged = (edit: string[]) => Buffer.from(edit.join('\n'), 'utf8');
    expect(() => decodePartitionResult(damaged([lines[0], lines[1], '{"id": "seg', ...lines.slice(3)]), 'p')).toThrow(/line 3 is not JSON/);
    expect(() => decodePartitionResult(damaged([lines[0].replace(PARTITION_FORMAT, 'other/9'), ...lines.slice(1)]), 'p')).toThrow(/format "other\/9"/);
    expect(() => decodePartitionResult(damaged(['{"format":"x"}', ...lines.slice(1)]), 'p')).toThrow(/format "x"/);
    expect(() => decodePartitionResult(damaged([`{"format":"${PARTITION_FORMAT}","segments":-1,"drops":0,"stats":{}}`, '']), 'p')).toThrow(/counts/);
    expect(() => decodePartitionResult(Buffer.from(`${text}${lines[1]}\n`), 'p')).toThrow(/more than the 6 lines/);
    // The whole-document JSON results of earlier versions are not this format (their keys differ too).
    expect(() => decodePartitionResult(Buffer.from(JSON.stringify({ segments: segments(2), drops, stats })), 'p')).toThrow(FatalError);
  });

  it("a queued partition's input records round-trip the same way, and a cut-short or foreign object is an error", () => {
    const records = segments(120);
    const bytes = encodePartitionInputs(records);
    expect(JSON.parse(bytes.toString('utf8').split('\n')[0])).toEqual({ format: PARTITION_INPUTS_FORMAT, records: 120 });
    expect(decodePartitionInputs(bytes, 'i')).toEqual(records);
    expect(decodePartitionInputs(encodePartitionInputs([]), 'i')).toEqual([]);
    expect(() => decodePartitionInputs(bytes.subarray(0, bytes.length - 1), 'queue/inputs/ab/abc.ndjson in /store')).toThrow(
      /queue\/inputs\/ab\/abc\.ndjson in \/store is damaged: .*truncated/,
    );
    expect(() => decodePartitionInputs(Buffer.from(JSON.stringify(records)), 'i')).toThrow(FatalError);
    expect(() => decodePartitionInputs(encodePartitionResult({ segments: records, drops: [], stats: {} }), 'i')).toThrow(/not emoforge\.partition-inputs/);
  });
});
