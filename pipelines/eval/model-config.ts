// `emoforge eval --model CONFIG`: the model under evaluation behind an OpenAI-compatible endpoint
// (a vLLM-served fine-tune is the common case), how its requests carry the row's media, and which
// teacher judges the answers that need a judge (role `eval-judge`; default the offline rules judge).
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EndpointConfig } from '../endpoints/index.ts';
import { ConfigError } from '../errors.ts';
import { LlmTeacherParams, TeacherPrices } from '../teachers/registry.ts';

export const EvalMediaConfig = z
  .object({
    /** Keyframes sent as images, evenly chosen in time order; 0 sends none. Default 8 (AffectGPT samples 8). */
    frames: z.number().int().min(0).max(64).default(8),
    /** Image detail: 'low' (default), 'high' or 'auto'. */
    imageDetail: z.enum(['low', 'high', 'auto']).default('low'),
    /** Send the row's 16 kHz WAV as input_audio. Default true; set false for vision-only models. */
    audio: z.boolean().default(true),
    /**
     * Send the segment's own video as a `video_url` part (a data: URL of the MP4) instead of keyframes,
     * for endpoints that take video (vLLM with a video model). Default false.
     */
    video: z.boolean().default(false),
  })
  .strict();

export const EvalModelConfig = z
  .object({
    /** The folder name under OUT/eval/ and the name in summaries. Default: endpoint.model with other characters than [A-Za-z0-9._-] as '-'. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit')
      .optional(),
    /** baseURL, apiKeyEnv, model, timeouts, retries and limits: the same block as a teacher's. */
    endpoint: EndpointConfig,
    /** Sampling; default temperature 0. */
    params: LlmTeacherParams.prefault({}),
    /** USD per million tokens, for the cost line; default 0 (a local server). */
    prices: TeacherPrices.prefault({}),
    /** A system message sent before every question; default none (a fine-tune answers as it was trained). */
    system: z.string().min(1).optional(),
    media: EvalMediaConfig.prefault({}),
    /** Where answers are cached (the run's store). Default .emoforge; --store overrides. */
    store: z.string().min(1).optional(),
    /** Teachers and roles as in a run config; only `roles.eval-judge` is used. Default: the rules judge. */
    teachers: z.unknown().optional(),
  })
  .strict();
export type EvalModelConfig = z.output<typeof EvalModelConfig>;

export function modelName(config: EvalModelConfig): string {
  return config.name ?? (config.endpoint.model.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'model');
}

export async function loadEvalModelConfig(file: string): Promise<EvalModelConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [
      `cannot read the model config (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); write one with endpoint: { baseURL, model } (see README, "Evaluating a model")`,
    ]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [`YAML syntax error: ${(error as Error).message}`]);
  }
  const parsed = EvalModelConfig.safeParse(raw ?? {});
  if (!parsed.success)
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  return parsed.data;
}
