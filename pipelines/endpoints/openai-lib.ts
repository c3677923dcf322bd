// The openai package (about 300 modules) is loaded when a run first calls an endpoint, not when
// emoforge starts: a run whose teachers and ASR are all offline never loads it.
type OpenAILib = typeof import('openai');

let lib: OpenAILib | undefined;

/** The openai package, imported on first use. */
export async function openaiLib(): Promise<OpenAILib> {
  lib ??= await import('openai');
  return lib;
}

/** The openai package if something has imported it; an error can only be one of its classes then. */
export function openaiIfLoaded(): OpenAILib | undefined {
  return lib;
}
