// glibc's malloc, set for a run that streams large buffers through a long-lived process.
//
// Buffers outside the JS heap (a partition read from the store, ~20 MB at 4,000 segments; spill and
// Parquet buffers of a megabyte or so) come from malloc. glibc serves a request past its mmap
// threshold (128 KiB) with a mapping of its own, returned to the system when freed, but it raises
// the threshold to the size of each such block freed (up to 32 MiB). After the first partition
// read, every buffer below ~20 MB comes from the heap arenas, whose freed pages stay in the
// process: at a million segments that was a few hundred MiB of RSS that neither the JS heap nor
// Node's external memory accounted for (README "Memory at scale"). Fixing the threshold at 128 KiB
// (which also stops it moving) keeps large buffers in their own mappings; `trimMalloc` hands freed
// arena pages back between phases.
//
// Done through koffi (a C FFI shipped prebuilt in its npm package) on Linux with glibc, once per
// process. Elsewhere (musl, macOS, Windows), or when the user set MALLOC_MMAP_THRESHOLD_ or
// GLIBC_TUNABLES themselves, malloc is left as it is. EMOFORGE_MALLOC=default leaves it alone too.
import { lazyRequire } from './lazy-require.ts';

/** The mmap threshold a run sets: glibc's own default, held fixed. */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;

/** mallopt's parameter number for the mmap threshold (glibc malloc.h). */
const M_MMAP_THRESHOLD = -3;

export type MallocSetting = { readonly kind: 'set'; readonly mmapThresholdBytes: number } | { readonly kind: 'left'; readonly why: string };

interface Libc {
  mallopt(param: number, value: number): number;
  malloc_trim(pad: number): number;
}

const koffi = lazyRequire<{ load(path: string): { func(signature: string): (...args: number[]) => number } }>('koffi');

let setting: MallocSetting | undefined;
let libc: Libc | undefined;

/** Sets the mmap threshold (once per process: once set, later calls return that). */
export function setMalloc(env: NodeJS.ProcessEnv = process.env): MallocSetting {
  if (setting?.kind === 'set') return setting;
  setting = decide(env);
  return setting;
}

function decide(env: NodeJS.ProcessEnv): MallocSetting {
  if (env.EMOFORGE_MALLOC === 'default') return { kind: 'left', why: 'EMOFORGE_MALLOC=default' };
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.GLIBC_TUNABLES !== undefined)
    return { kind: 'left', why: 'MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES is set: malloc follows it' };
  if (process.platform !== 'linux') return { kind: 'left', why: `not Linux (${process.platform})` };
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  if (!report?.header?.glibcVersionRuntime) return { kind: 'left', why: 'not glibc' };
  try {
    const lib = koffi().load('libc.so.6');
    const found: Libc = { mallopt: lib.func('int mallopt(int, int)'), malloc_trim: lib.func('int malloc_trim(size_t)') };
    if (found.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) !== 1) return { kind: 'left', why: 'mallopt refused the mmap threshold' };
    libc = found;
    return { kind: 'set', mmapThresholdBytes: MMAP_THRESHOLD_BYTES };
  } catch (error) {
    return { kind: 'left', why: `koffi could not reach glibc: ${(error as Error).message}` };
  }
}

/** Hands the arenas' free pages back to the system (after a phase let go of its buffers); a no-op unless setMalloc set it. */
export function trimMalloc(): void {
  libc?.malloc_trim(0);
}
