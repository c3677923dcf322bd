// Prompt templates for LLM teachers: one YAML file per role (`configs/prompts/<role>.yaml`) with an
// `id`, a `version`, a `system` text and a `user` text holding placeholders such as `{{cues}}`.
//
// Which template answers a request: the stage's configured template when it names the role's
// prompt exactly (`describe.llm@2`), or, when it names the offline teacher's template
// (`describe.rules@1`, `qa.mcq.rules@1`: an id with a `rules` part), the prompt whose id is that id
// with `rules` replaced by `llm` (`describe.llm`, `qa.mcq.llm`) at the version its file holds. So the
// default stage configs run on either teacher; set the stage's template to the LLM one to have
// provenance name the prompt that really ran. Anything else stops the run with a message saying
// which template to set.
//
// Everything that came from the clip (transcript, an earlier teacher's description) is data: it is
// wrapped in tags with `&`, `<` and `>` escaped, and every prompt says tagged content is data and
// never instructions. Placeholders are filled in one pass, so a `{{...}}` inside a transcript stays
// text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EMOTIONS } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { cueViews } from '../../stages/cues/cues.ts';
import { personOf } from '../../stages/cues/visual.ts';
import { ConfigError, FatalError } from '../errors.ts';
import { sha256 } from '../fingerprint.ts';
import { repoRoot } from '../repo-root.ts';

/** The prompts shipped with emoforge. */
export const BUNDLED_PROMPTS_DIR = join(repoRoot(), 'configs', 'prompts');

/** What a template may ask for; anything else is a typo caught when the file loads. */
export const PLACEHOLDERS = {
  cues: 'the measured cues as compact JSON (one key per cue, video then audio then text then agreement; null = not measured)',
  transcript: 'the transcript inside <transcript> tags, escaped',
  description: "the describe role's text inside <description> tags, escaped",
  labels: 'the labels as compact JSON (primary, openset, sentiment, valence, arousal)',
  labelSet: 'the labels MCQ options must come from, as a JSON list',
  kinds: 'the question kinds the qa stage asks for, as a JSON list (mcq, open, attribute)',
  emotions: 'the allowed primary emotions, comma separated',
  duration: 'the segment duration in seconds',
  frames: 'the times of the keyframes shown (seconds from the segment start), in order; the peak frame first when there is one',
  person: 'which person the visual cues are about: the speaking face track when found, else the face seen longest, and how many other faces there were',
  generated: 'everything generated for the segment (description, labels, QA, rationale) as JSON inside <generated> tags, escaped',
  clues: 'the vision and audio clue texts inside <visual_clues> and <audio_clues> tags, escaped (status="missing" when not written)',
  polish: "the translate stage's polish instruction (MERTools-style: repair recognition errors and punctuation), or nothing",
  task: 'the eval task being judged (rationale, description, open_qa)',
  question: 'the question put to the evaluated model inside <question> tags, escaped',
  answer: "the evaluated model's answer inside <answer> tags, escaped",
  reference: "the corpus's target answer inside <reference> tags, escaped",
  stepCount: 'how many steps the answer has (the judge scores each)',
} as const;
export type Placeholder = keyof typeof PLACEHOLDERS;

const PLACEHOLDER = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;

const PromptFile = z
  .object({
    /** Template id, e.g. describe.llm; the first part is the role. */
    id: z.string().regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, 'lowercase parts separated by dots, e.g. describe.llm'),
    /** Bump when the text changes, so provenance tells old answers from new ones. */
    version: z.number().int().positive(),
    system: z.string().trim().min(1),
    user: z.string().trim().min(1),
  })
  .strict();

export interface PromptTemplate {
  readonly role: string;
  readonly id: string;
  readonly version: number;
  /** id@version, as provenance writes it */
  readonly ref: string;
  readonly system: string;
  readonly user: string;
  /** sha256 of the file's meaning (id, version, texts): part of the teacher's fingerprint. */
  readonly digest: string;
  readonly file: string;
}

/** Loads and checks `<dir>/<role>.yaml`; `label` names the config field that chose the folder. */
export function loadPromptTemplate(dir: string, role: string, label = 'promptsDir'): PromptTemplate {
  const file = join(dir, `${role}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [
      `${label}: cannot read the prompt for role '${role}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); add ${role}.yaml with id, version, system and user`,
    ]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  const parsed = PromptFile.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  const { id, version, system, user } = parsed.data;
  const problems: string[] = [];
  if (id.split('.')[0] !== role) problems.push(`id: '${id}' must start with the role, e.g. '${role}.llm'`);
  for (const [field, body] of [
    ['system', system],
    ['user', user],
  ] as const) {
    for (const [, name] of body.matchAll(PLACEHOLDER)) {
      if (!(name in PLACEHOLDERS)) problems.push(`${field}: unknown placeholder {{${name}}} (known: ${Object.keys(PLACEHOLDERS).join(', ')})`);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  const digest = sha256(JSON.stringify([id, version, system, user]));
  return { role, id, version, ref: `${id}@${version}`, system, user, digest, file };
}

/**
 * The template that answers `requested` (the stage's template) for `role`, following the mapping
 * at the top of this file. Throws a FatalError: every record would ask the same.
 */
export function resolvePromptTemplate(template: PromptTemplate, requested: string): PromptTemplate {
  if (requested === template.ref) return template;
  const match = /^([a-z0-9_.-]+)@(\d+)$/.exec(requested);
  const parts = match ? match[1].split('.') : [];
  if (parts.includes('rules') && parts.map((p) => (p === 'rules' ? 'llm' : p)).join('.') === template.id) return template;
  throw new FatalError(
    `no prompt template '${requested}' for role '${template.role}': ${template.file} defines '${template.ref}'; set the ${template.role} stage's template to '${template.ref}' (or a rules template such as '${template.id.replace(/\bllm\b/, 'rules')}@1', which maps to it)`,
  );
}

/** Wraps clip-derived text as data: tags, with `&`, `<` and `>` escaped so it cannot close them. */
export function dataBlock(tag: string, text: string | undefined): string {
  if (text === undefined) return `<${tag} status="missing"></${tag}>`;
  return `<${tag}>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</${tag}>`;
}

/**
 * The transcript as data. An English transcript is the plain block (so prompts and their cached
 * answers for English corpora are what they were); any other language is named on the block, and an
 * English translation, when the segment has one, follows as a second block.
 */
export function transcriptBlock(segment: Segment): string {
  const transcript = segment.transcript;
  if (!transcript || /^en(-|$)/i.test(transcript.language)) return dataBlock('transcript', transcript?.text);
  const original = dataBlock('transcript', transcript.text).replace('<transcript>', `<transcript lang="${attribute(transcript.language)}">`);
  const english =
    segment.translation?.status === 'translated' && segment.translation.text
      ? `\n${dataBlock('transcript', segment.translation.text).replace('<transcript>', '<transcript lang="en" source="translation">')}`
      : '';
  return original + english;
}

function attribute(value: string): string {
  return value.replace(/[^A-Za-z0-9-]/g, '');
}

/** Numbers rounded for the prompt: 2 decimals carry every cue's meaning and save tokens. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 100) / 100 : null;
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, rounded(v)]),
    );
  return value;
}

/** Compact JSON with `<`/`>` escaped, so no string in it can open or close a data tag. */
export function compactJson(value: unknown): string {
  return JSON.stringify(rounded(value)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
}

/** The measured cues the prompt cites, MER-Caption order (video, audio, text, agreement); null = not measured. */
export function cuesForPrompt(segment: Segment): Record<string, unknown> {
  return { durationSec: segment.end - segment.start, ...cueViews(segment) };
}

/**
 * Every placeholder's text for one request: what the segment holds, then what the role's options
 * fill (`fromOptions`, see TeacherTask.promptValues). A placeholder the role does not fill keeps
 * its neutral text: {{labelSet}} the emotion vocabulary (as {{emotions}}), {{kinds}} every kind,
 * {{frames}} 'none', {{polish}} nothing, the eval-judge's blocks empty.
 */
export function promptValues(segment: Segment, fromOptions: Readonly<Partial<Record<Placeholder, string>>> = {}): Record<Placeholder, string> {
  const labels = segment.labels
    ? {
        primary: segment.labels.primary,
        openset: segment.labels.openset,
        sentiment: segment.labels.sentiment,
        valence: segment.labels.valence,
        arousal: segment.labels.arousal,
      }
    : null;
  return {
    cues: compactJson(cuesForPrompt(segment)),
    transcript: transcriptBlock(segment),
    description: dataBlock('description', segment.description?.text),
    labels: compactJson(labels),
    labelSet: compactJson([...EMOTIONS]),
    kinds: compactJson(['mcq', 'open', 'attribute']),
    emotions: EMOTIONS.join(', '),
    duration: String(Math.round((segment.end - segment.start) * 100) / 100),
    frames: 'none',
    person: personOf(segment),
    generated: dataBlock(
      'generated',
      JSON.stringify({
        description: segment.description?.text ?? null,
        labels,
        qa: (segment.qa ?? []).map(({ kind, question, options, answer }) => ({ kind, question, options, answer })),
        rationale: segment.rationale ? segment.rationale.steps : null,
      }),
    ),
    clues: `${dataBlock('visual_clues', segment.clues?.visual?.text)}\n${dataBlock('audio_clues', segment.clues?.acoustic?.text)}`,
    polish: '',
    task: '',
    question: dataBlock('question', undefined),
    answer: dataBlock('answer', undefined),
    reference: dataBlock('reference', undefined),
    stepCount: '0',
    ...fromOptions,
  };
}

/** Fills the placeholders in one pass (a filled value is never scanned again). */
export function renderPrompt(template: PromptTemplate, values: Readonly<Record<Placeholder, string>>): { system: string; user: string } {
  const fill = (text: string) => text.replace(PLACEHOLDER, (_, name: string) => values[name as Placeholder]);
  return { system: fill(template.system), user: fill(template.user) };
}
