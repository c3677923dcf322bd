// The sink's external sort: rows come back in key order whether or not they spilled to run files.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPILL_BYTES, RowSpill, sharedSpillBudgets } from '../../../pipelines/parquet/row-spill.ts';
import { mulberry32 } from '../../../pipelines/random.ts';
import { tempDir } from '../../helpers.ts';

interface Row {
  readonly id: string;
  readonly text: string;
  readonly score: number | null;
}

function rows(n: number, seed: number): Row[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => ({
    id:
      Math.floor(random() * 2 ** 52)
        .toString(16)
        .padStart(13, '0') + String(i),
    text: `row ${i} ${'x'.repeat(Math.floor(random() * 50))}`,
    score: i % 7 === 0 ? null : random(),
  }));
}

async function collect(spill: RowSpill<Row>, keep?: (row: Row) => boolean): Promise<Row[]> {
  const out: Row[] = [];
  for await (const row of spill.sorted(keep)) out.push(row);
  return out;
}

/** The same rows in a spill with a 20 KB budget (under DIR/runs) and in one that holds them all (DIR/none). */
async function spilledAndHeld(input: readonly Row[]): Promise<{ dir: string; spilled: RowSpill<Row>; held: RowSpill<Row> }> {
  const dir = await tempDir('emoforge-spill-');
  const spilled = new RowSpill<Row>(join(dir, 'runs'), 'train', 20_000);
  const held = new RowSpill<Row>(join(dir, 'none'), 'train');
  for (const row of input) {
    await spilled.add(row.id, row);
    await held.add(row.id, row);
  }
  return { dir, spilled, held };
}

describe('RowSpill', () => {
  it('gives the same rows in key order from many run files as from memory, and again on a second read', async () => {
    const input = rows(5000, 7);
    const expected = [...input].sort((a, b) => (a.id < b.id ? -1 : 1));
    const { dir, spilled, held } = await spilledAndHeld(input);
    expect((await readdir(join(dir, 'runs'))).length).toBeGreaterThan(5);
    await expect(readdir(join(dir, 'none'))).rejects.toThrow();
    expect(await collect(spilled)).toEqual(expected);
    expect(await collect(held)).toEqual(expected);
    expect(await collect(spilled, (r) => r.score === null)).toEqual(expected.filter((r) => r.score === null));
    expect(spilled.count).toBe(5000);
    // Rows added after a read (the slab was let go) join the next read.
    const late = { id: '0', text: 'late', score: null };
    await spilled.add(late.id, late);
    expect(await collect(spilled)).toEqual([late, ...expected]);
  });

  it('gives the same rows after finish(), spilled or held, and takes rows again after it', async () => {
    const input = rows(3000, 5);
    const expected = [...input].sort((a, b) => (a.id < b.id ? -1 : 1));
    const { dir, spilled, held } = await spilledAndHeld(input);
    const runs = (await readdir(join(dir, 'runs'))).length;
    await spilled.finish();
    await held.finish();
    // The spilled split's held rows became one more run; the held split stays off disk.
    expect((await readdir(join(dir, 'runs'))).length).toBe(runs + 1);
    await expect(readdir(join(dir, 'none'))).rejects.toThrow();
    expect(await collect(spilled)).toEqual(expected);
    expect(await collect(held)).toEqual(expected);
    // More rows after finish(): a full slab again (no run per row), and every row in order.
    const more = rows(500, 6).map((row) => ({ ...row, id: `z${row.id}` }));
    for (const row of more) await held.add(row.id, row);
    await expect(readdir(join(dir, 'none'))).rejects.toThrow();
    expect(await collect(held)).toEqual([...expected, ...[...more].sort((a, b) => (a.id < b.id ? -1 : 1))]);
    expect(held.count).toBe(3500);
  });

  it('writes runs longer than its write chunk whole, multi-byte text and a row larger than the budget included', async () => {
    const input = rows(300, 11).map((row, i) => ({ ...row, text: `${'é–'.repeat(3000 + i)}\n${row.text}` }));
    // 2.4 MB of UTF-8 in one row: more than the budget and than a write chunk.
    input[150] = { ...input[150], text: 'é'.repeat(1_200_000) };
    const dir = await tempDir('emoforge-spill-');
    const spilled = new RowSpill<Row>(join(dir, 'runs'), 'train', 1_500_000);
    for (const row of input) await spilled.add(row.id, row);
    expect((await readdir(join(dir, 'runs'))).length).toBeGreaterThan(2);
    expect(await collect(spilled)).toEqual([...input].sort((a, b) => (a.id < b.id ? -1 : 1)));
    const held = new RowSpill<Row>(join(dir, 'none'), 'train', 10_000_000);
    for (const row of input) await held.add(row.id, row);
    expect(await collect(held)).toEqual([...input].sort((a, b) => (a.id < b.id ? -1 : 1)));
  });

  it('merges hundreds of runs with smaller read buffers, rows longer than a buffer included', async () => {
    // ~600 runs: each run is read 16 KiB at a time (8 MiB over the runs), so rows of up to 40 KB
    // cross one buffer or several.
    const random = mulberry32(5);
    const input = rows(1800, 13).map((row) => ({ ...row, text: `${row.text} ${'y'.repeat(Math.floor(random() * 40_000))}` }));
    const dir = await tempDir('emoforge-spill-');
    const spilled = new RowSpill<Row>(join(dir, 'runs'), 'train', 60_000);
    for (const row of input) await spilled.add(row.id, row);
    expect((await readdir(join(dir, 'runs'))).length).toBeGreaterThan(512);
    expect(await collect(spilled)).toEqual([...input].sort((a, b) => (a.id < b.id ? -1 : 1)));
  });
});

describe('sharedSpillBudgets', () => {
  it("shares one budget by the splits' shares, with a floor for small or empty shares", () => {
    const MiB = 1024 * 1024;
    expect(sharedSpillBudgets({ train: 0.8, validation: 0.1, test: 0.1 })).toEqual({
      train: Math.round(0.8 * DEFAULT_SPILL_BYTES),
      validation: Math.round(0.1 * DEFAULT_SPILL_BYTES),
      test: Math.round(0.1 * DEFAULT_SPILL_BYTES),
    });
    expect(sharedSpillBudgets({ train: 1, validation: 0, test: 0 }, 48 * MiB)).toEqual({ train: 48 * MiB, validation: 4 * MiB, test: 4 * MiB });
    expect(sharedSpillBudgets({ a: 0, b: 0 }, 10 * MiB, 1)).toEqual({ a: 5 * MiB, b: 5 * MiB });
  });
});
