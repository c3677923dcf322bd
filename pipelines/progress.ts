// Progress: on a TTY, a live per-stage table redrawn in place on stderr; elsewhere (CI, pipes,
// files) plain log lines only, one per finished partition.
import { printableLines } from './printable.ts';
import type { ProgressListener } from './run/options.ts';
import { totalDropped, type StatsTable } from './stats.ts';

export function createProgress(stream: NodeJS.WriteStream, isTty: boolean, stageOrder: readonly string[]): ProgressListener & { stop(): void } {
  return isTty ? new TtyProgress(stream, stageOrder) : new LineProgress(stream);
}

class LineProgress implements ProgressListener {
  constructor(private readonly stream: NodeJS.WriteStream) {}
  watch(): void {}
  phase(name: string, total?: number): void {
    this.stream.write(`emoforge: ${name}${total === undefined ? '' : ` (${total} partitions)`}\n`);
  }
  ingestProgress(): void {}
  partitionDone(done: number, total: number, cached: boolean): void {
    this.stream.write(`emoforge: partition ${done}/${total} done${cached ? ' (cached)' : ''}\n`);
  }
  stop(): void {}
}

class TtyProgress implements ProgressListener {
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  private state = { phase: 'starting', ingest: [0, 0], partitions: [0, 0] };
  private snapshot: () => StatsTable = () => ({});
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly stageOrder: readonly string[],
  ) {
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }
  watch(snapshot: () => StatsTable): void {
    this.snapshot = snapshot;
  }
  phase(name: string, total?: number): void {
    this.state.phase = name;
    if (name === 'partitions') this.state.partitions = [0, total ?? 0];
    this.draw();
  }
  ingestProgress(done: number, total: number): void {
    this.state.ingest = [done, total];
  }
  partitionDone(done: number, total: number): void {
    this.state.partitions = [done, total];
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
  }
  private draw(): void {
    const { ingest, partitions, phase } = this.state;
    const stats = this.snapshot();
    const out: string[] = [];
    out.push(
      `emoforge ${phase}   ingest ${bar(ingest[0], ingest[1])} ${ingest[0]}/${ingest[1]}   partitions ${bar(partitions[0], partitions[1])} ${partitions[0]}/${partitions[1]}`,
    );
    out.push(`  ${'stage'.padEnd(16)}${'in'.padStart(8)}${'out'.padStart(8)}${'dropped'.padStart(9)}${'cached'.padStart(8)}`);
    for (const name of this.stageOrder) {
      const s = stats[name];
      if (!s) continue;
      out.push(
        `  ${name.padEnd(16)}${String(s.in).padStart(8)}${String(s.out).padStart(8)}${String(totalDropped(s)).padStart(9)}${String(s.cached).padStart(8)}`,
      );
    }
    const clear = this.lines ? `\x1b[${this.lines}A\x1b[0J` : '';
    this.stream.write(`${clear + printableLines(out.join('\n'))}\n`);
    this.lines = out.length;
  }
}

function bar(done: number, total: number, width = 20): string {
  const filled = total ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
