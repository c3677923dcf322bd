// clues (optional, before describe): AffectGPT's MER-Caption pipeline first had a video LLM write
// the visual clues and an audio LLM the acoustic clues, then merged them with the subtitle. This
// stage asks the `vision` role to describe facial expression, gaze, posture and scene from 3-8 of
// the segment's keyframes in temporal order (the described face's peak-expression frame first when
// cues.visual kept one; identity never described), and the `audio` role to
// describe tone, pitch, intensity and rhythm from the segment's WAV. The describe prompt then
// receives both texts as data. The offline `rules` teacher writes both from the measured cues.
import { z } from 'zod';
import { ClueText, Provenance, type Segment } from '../schemas/records.ts';
import type { StageContext } from '../pipelines/stage.ts';
import { generateFor, teacherStage } from '../pipelines/teachers/generate.ts';
import { writeAudioClues, writeVisionClues } from '../pipelines/teachers/rules-teacher.ts';
import { teacherTask } from '../pipelines/teachers/task.ts';

/** What either clue role returns; the stage adds the frame times and provenance. */
const ClueOutput = ClueText.pick({ text: true });

/** What the `vision` role is told about the keyframes it is shown. */
const VisionOptions = z
  .object({
    /** Seconds from the segment start of each image, in the order shown. */
    frameTimes: z.array(z.number()).optional(),
    /** The first image is the described face's peak-expression frame. Default false. */
    peakFirst: z.boolean().default(false),
  })
  .strict();

export const visionTask = teacherTask({
  role: 'vision',
  output: ClueOutput,
  options: VisionOptions,
  promptValues: ({ frameTimes, peakFirst }) =>
    frameTimes
      ? { frames: frameTimes.map((t, i) => `image ${i + 1}${i === 0 && peakFirst ? ' (the peak expression)' : ''} at ${t.toFixed(2)} s`).join(', ') }
      : {},
  rules: writeVisionClues,
});

export const audioTask = teacherTask({ role: 'audio', output: ClueOutput, rules: writeAudioClues });

export const CluesConfig = z
  .object({
    /** Which clue texts to write: 'video' (vision role), 'audio' (audio role). Default both. */
    modalities: z
      .array(z.enum(['video', 'audio']))
      .min(1, 'modalities needs video, audio or both')
      .transform((m) => (['video', 'audio'] as const).filter((x) => m.includes(x)))
      .default(['video', 'audio']),
    /** The vision role sees at least this many keyframes, else the visual clue is skipped. Default 3. */
    minFrames: z.number().int().min(1).max(64).default(3),
    /** ... and at most this many, evenly chosen in temporal order. Default 8. */
    maxFrames: z.number().int().min(1).max(64).default(8),
    /** Image detail for vision models: 'low' (cheapest: 85 tokens an image on OpenAI), 'high', 'auto'. */
    imageDetail: z.enum(['low', 'high', 'auto']).default('low'),
    /** Template ids@version per role; the rules ones map to configs/prompts/{vision,audio}.yaml on LLM teachers. */
    visionTemplate: Provenance.shape.template.default(visionTask.template),
    audioTemplate: Provenance.shape.template.default(audioTask.template),
  })
  .strict()
  .refine((c) => c.minFrames <= c.maxFrames, { message: 'minFrames must not exceed maxFrames', path: ['minFrames'] });
export type CluesConfig = z.output<typeof CluesConfig>;

/** `count` items evenly spread over `items`, first and last included, in order. */
export function evenlyChosen<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  if (count === 1) return [items[Math.floor(items.length / 2)]];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]);
}

export const cluesStage = teacherStage({
  name: 'clues',
  // 2: the peak-expression frame first, and the vision prompt names the person the cues describe.
  version: 2,
  configSchema: CluesConfig,
  reads: ['frames', 'audio'],
  adds: ['clues'],
  tasks: [visionTask, audioTask],
  async run(segment: Segment, config: CluesConfig, ctx: StageContext): Promise<Segment> {
    const clues: NonNullable<Segment['clues']> = { ...segment.clues };
    if (config.modalities.includes('video')) {
      const frames = [...(segment.frames ?? [])].sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
      if (frames.length >= config.minFrames) {
        // The peak-expression frame of the described face (cues.visual), when there is one, goes first.
        const peak = segment.cues?.visual?.peak?.frame;
        const chosen = peak ? [peak, ...evenlyChosen(frames, Math.max(1, config.maxFrames - 1))] : evenlyChosen(frames, config.maxFrames);
        const images = await Promise.all(
          chosen.map(async (ref) => {
            const jpeg = await ctx.store.get(ref.key);
            if (!jpeg) throw new Error(`keyframe ${ref.key} is missing from the store ${ctx.store.location}; re-run the segment stage`);
            return { jpeg, time: ref.time ?? 0 };
          }),
        );
        const frameTimes = images.map((i) => i.time);
        const { value, provenance } = await generateFor(
          ctx,
          visionTask,
          config.visionTemplate,
          segment,
          { frameTimes, peakFirst: !!peak },
          { images, imageDetail: config.imageDetail },
        );
        clues.visual = { text: value.text, frames: frameTimes, provenance };
      } else {
        ctx.log.debug({ segment: segment.id, frames: frames.length, minFrames: config.minFrames }, 'too few keyframes for a visual clue');
      }
    }
    if (config.modalities.includes('audio') && segment.audio) {
      const wav = await ctx.store.get(segment.audio.key);
      if (!wav) throw new Error(`audio ${segment.audio.key} is missing from the store ${ctx.store.location}; re-run the segment stage`);
      const { value, provenance } = await generateFor(ctx, audioTask, config.audioTemplate, segment, undefined, { wav });
      clues.acoustic = { text: value.text, provenance };
    }
    return { ...segment, clues };
  },
});
