// Run as `node --expose-gc --import tsx tests/support/malloc-probe.ts`: sets malloc as a run does
// (pipelines/malloc.ts), frees a 20 MB buffer (a partition read), then allocates eight 1 MiB ones
// and prints how many bytes of glibc's own mappings (mallinfo2's hblkhd) they added: with the
// threshold fixed, each is a mapping of its own; with glibc's moving threshold, they come from the
// arena (the 20 MB block freed raised the threshold past them).
import { createRequire } from 'node:module';
import { setMalloc, trimMalloc } from '../../pipelines/malloc.ts';

const require = createRequire(import.meta.url);
const koffi = require('koffi');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const libc = koffi.load('libc.so.6');
const fields = ['arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost'];
const Mallinfo2 = koffi.struct('mallinfo2', Object.fromEntries(fields.map((f) => [f, 'size_t'])));
const mallinfo2 = libc.func('mallinfo2', Mallinfo2, []);
const mapped = () => Number((mallinfo2() as { hblkhd: number | bigint }).hblkhd);

const setting = setMalloc();
const baseline = mapped();
let big: Buffer | undefined = Buffer.alloc(20 * 1024 * 1024, 1);
big[0] = 2;
big = undefined;
// V8 frees a dead buffer's memory on a background thread after the collection: wait until it has.
for (let i = 0; i < 100 && mapped() > baseline + 1024 * 1024; i++) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const before = mapped();
const held = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1024 * 1024, i));
const grown = mapped() - before;
trimMalloc();
process.stdout.write(`${JSON.stringify({ setting, mappedBytes: grown, held: held.length })}\n`);
