// The zstd page compressor. hyparquet-writer calls compressors synchronously, so the wasm module
// is initialised once (async) before the first file is opened.
import { compress, init } from '@bokuweb/zstd-wasm';

let ready: Promise<void> | undefined;

/** Resolves once the zstd wasm module is loaded; safe to call many times. */
export function zstdReady(): Promise<void> {
  ready ??= init();
  return ready;
}

/** hyparquet-writer `compressors` for ZSTD at `level` (call `zstdReady()` first). */
export function zstdCompressors(level: number): { ZSTD: (input: Uint8Array) => Uint8Array } {
  return { ZSTD: (input: Uint8Array) => compress(input, level) };
}
