// Demo-clip figures quoted in README: pocketsphinx's word error rate on the demo clips, and how many
// rules-teacher rationale steps the grounding check (stages/filter/grounding.ts) finds ungrounded,
// under the demo config's grounding settings and under a strict setting. Runs configs/demo.yaml
// in-process as `emoforge run` does (fresh store and out folder), with one stage inserted before
// `filter` that keeps each segment as the filter receives it.
// - WER: words-weighted over the clips; the reference is the manifest text as the transcribe stage
//   reads it (its `manifest` engine), scored by tests/support/speech.ts's wordErrorRate.
// - Grounding: every rationale step checked with the demo filter's settings, then with the strict
//   setting STRICT below (no tolerance but a number's own rounding, the dominant facial expression
//   only, a step citing nothing is ungrounded unless it concludes).
//
//   npx tsx scripts/bench/demo-figures.ts [--clips 12] [--input DIR]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { EmotionVocabulary } from '../../pipelines/affect/emotion-words.ts';
import { type AnyStage, buildPlan, loadConfigFile } from '../../pipelines/config.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import { isDrop, type SegmentStage } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import type { Segment } from '../../schemas/records.ts';
import { type FilterConfig, filter } from '../../stages/filter.ts';
import { GroundingConfig, groundRationale } from '../../stages/filter/grounding.ts';
import { STAGES } from '../../stages/index.ts';
import { transcribe } from '../../stages/transcribe.ts';
import { REPO, sampleClips } from '../../tests/helpers.ts';
import { wordErrorRate } from '../../tests/support/speech.ts';

/** The strict grounding setting: every option at its strictest. */
const STRICT = { numberTolerance: 0, minExpressionProbability: 1, uncited: 'ungrounded' } as const;

const { values: args } = parseArgs({
  options: { clips: { type: 'string', default: '12' }, input: { type: 'string' } },
});
const clipCount = Number(args.clips);
if (!Number.isInteger(clipCount) || clipCount < 1) throw new RangeError(`--clips must be a positive integer, got ${args.clips}`);

interface Seen {
  readonly segment: Segment;
  /** The manifest text as transcribe's `manifest` engine makes it, when the clip has one. */
  readonly reference?: string;
}

const seen: Seen[] = [];
const manifestEngine = transcribe.configSchema.parse({ engine: 'manifest' });
const capture: SegmentStage<Record<string, never>> = {
  kind: 'segment',
  name: 'bench.demo-figures',
  version: 1,
  configSchema: z.object({}).strict(),
  reads: ['transcript', 'rationale'],
  adds: [],
  cache: false,
  async run(segment, _config, ctx) {
    const manifest = await transcribe.run(segment, manifestEngine, ctx);
    seen.push({ segment, reference: isDrop(manifest) ? undefined : manifest.transcript?.text });
    return segment;
  },
};

const configFile = join(REPO, 'configs', 'demo.yaml');
const demo = (await loadConfigFile(configFile)) as { stages: (string | Record<string, unknown>)[] };
const stageName = (entry: string | Record<string, unknown>) => (typeof entry === 'string' ? entry : Object.keys(entry)[0]);
const at = demo.stages.findIndex((entry) => stageName(entry) === 'filter');
if (at < 0) throw new Error(`${configFile} has no filter stage`);
const plan = buildPlan(
  configFile,
  { ...demo, stages: [...demo.stages.slice(0, at), capture.name, ...demo.stages.slice(at)] },
  new Map<string, AnyStage>([...STAGES, [capture.name, capture]]),
);
const filterConfig = plan.ordered.find((p) => p.stage === filter)!.config as FilterConfig;

const input = args.input ?? (await sampleClips(clipCount));
const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-demo-figures-'));
try {
  process.stderr.write(`running ${configFile} on ${input} …\n`);
  await runPipeline(plan, {
    store: new LocalStore(join(work, 'store')),
    outDir: join(work, 'out'),
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    input,
  });
} finally {
  await rm(work, { recursive: true, force: true });
  if (!args.input) await rm(input, { recursive: true, force: true });
}
seen.sort((a, b) => a.segment.clip.name.localeCompare(b.segment.clip.name) || a.segment.index - b.segment.index);

// Word error rate, weighted by reference words (counted as the transcribe tests count them).
let errors = 0;
let referenceWords = 0;
let scored = 0;
for (const { segment, reference } of seen) {
  const hypothesis = segment.transcript?.text ?? '';
  if (!reference) {
    process.stdout.write(`${segment.clip.name}: no manifest text, left out of the WER\n`);
    continue;
  }
  const words = reference.split(' ').length;
  const error = wordErrorRate(reference, hypothesis);
  errors += error * words;
  referenceWords += words;
  scored++;
  process.stdout.write(`${segment.clip.name}: WER ${error.toFixed(3)} of ${words} words: "${hypothesis}" for "${reference}"\n`);
}
process.stdout.write(
  `pocketsphinx WER ${(errors / referenceWords).toFixed(3)} over ${referenceWords} manifest words of ${scored} demo clips (${seen.length} segments reached filter)\n`,
);

// Grounding, as the demo filter checks it and strictly.
const vocabulary = new EmotionVocabulary(filterConfig.consistency.synonyms);
const settings: [string, GroundingConfig][] = [
  ['demo config', filterConfig.grounding],
  ['strict', GroundingConfig.parse({ ...filterConfig.grounding, ...STRICT })],
];
const withRationale = seen.filter(({ segment }) => segment.rationale);
const teachers = [...new Set(withRationale.map(({ segment }) => segment.rationale!.provenance.teacher))].join(', ');
for (const [label, grounding] of settings) {
  let checked = 0;
  let ungrounded = 0;
  const details: string[] = [];
  for (const { segment } of withRationale) {
    checked += segment.rationale!.steps.length;
    const issues = groundRationale(segment, grounding, vocabulary);
    ungrounded += new Set(issues.map((issue) => issue.step)).size;
    for (const issue of issues) details.push(`  ${segment.clip.name} step ${issue.step}: ${issue.why}\n`);
  }
  process.stdout.write(
    `grounding, ${label} (numberTolerance ${grounding.numberTolerance}, minExpressionProbability ${grounding.minExpressionProbability}, uncited ${grounding.uncited}): ` +
      `${checked} steps of ${withRationale.length} rationales (teacher ${teachers}) checked, ${ungrounded} ungrounded\n${details.join('')}`,
  );
}
